//! Playback settings: what the audio thread reads from the parameters once per block, as plain
//! `Copy` data. The parameters (`params.rs`) fill it; the sequencer (`audio_thread.rs`) and the
//! MIDI output read it; neither file imports the other.

/// Playback settings read from the parameters once per block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PlaySettings {
    /// Octave shift, −2..=2.
    pub octave: i8,
    /// Note-on velocity, 1..=127.
    pub velocity: u8,
    /// Sounding fraction of each note's length, 0.05..=1.
    pub gate: f32,
    /// Delay of odd 16ths as a fraction of half a step, 0..=1 (0.67 ≈ triplet swing).
    pub swing: f32,
    /// Swap a new melody in at the next bar line (else at once).
    pub swap_at_bar: bool,
    /// The MIDI channel the melody plays on, 0..=15 (the sequencer ignores it; the output
    /// sends on it).
    pub channel: u8,
}

impl Default for PlaySettings {
    fn default() -> Self {
        PlaySettings {
            octave: 0,
            velocity: 100,
            gate: 0.9,
            swing: 0.0,
            swap_at_bar: true,
            channel: 0,
        }
    }
}
