//! Neume: melodies invented by a neural network, as MIDI.
//!
//! - [`encoding`]: the melody grid shared by the trainer and the runtime;
//! - [`midi`]: standard MIDI files in and out;
//! - [`onnx`]: the model file format, read and written without a protobuf compiler;
//! - [`runtime`]: loading and running a generator model;
//! - [`generate`]: sampling melodies from a model;
//! - [`ratings`]: the user's likes and dislikes, which steer new melodies;
//! - `plugin` (feature `plugin`): the CLAP/VST3 plugin and its editor.

pub mod encoding;
pub mod generate;
pub mod midi;
pub mod onnx;
#[cfg(feature = "plugin")]
pub mod plugin;
pub mod ratings;
pub mod runtime;

/// The default model, trained on the folk and chorale corpus (see `models/README.md`).
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../models/neume-default.onnx");

/// Loads the embedded default model.
pub fn default_generator() -> Result<runtime::Generator, runtime::ModelError> {
    runtime::Generator::from_bytes(DEFAULT_MODEL, "default model (models/neume-default.onnx)")
}
