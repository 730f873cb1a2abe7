//! Music as data, with no model and no thread of its own (any thread; never the audio thread
//! unless a module says so): scales and keys, the played form of notes, the knobs'
//! attributes, key finding, MIDI files and the musician's clip.

pub mod attributes;
pub mod chord_file;
pub mod chords;
pub mod clip;
pub mod copies;
pub mod key_finding;
pub mod midi;
pub mod played;
pub mod theory;
