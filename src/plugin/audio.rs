//! Everything that runs on the audio thread, and nothing else: the sequencer, the MIDI output's
//! bookkeeping, capture, audition, the Preview voice, the key listener and the playback
//! settings. Every type here is fixed-size; nothing here allocates, locks, logs or waits
//! (the tests run with `assert_process_allocs`).

pub mod audition;
pub mod capture;
pub mod key_listener;
pub mod midi_out;
pub mod params_view;
pub mod process;
pub mod sequencer;
pub mod settings;
pub mod voice;
