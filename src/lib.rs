//! Neume: melodies invented by a neural network, as MIDI.
//!
//! - [`clip`]: the musician's own melody, varied and continued;
//! - [`encoding`]: the melody grid shared by the trainer and the runtime;
//! - [`midi`]: standard MIDI files in and out;
//! - [`played`]: the notes as they sound (swing and gate), for files and playback alike;
//! - [`onnx`]: the ONNX file format, read and written without a protobuf compiler;
//! - [`model_file`]: what a Neume model file is, and the checks before a runtime sees one;
//! - [`runtime`]: loading and running a generator model;
//! - [`generate`]: sampling melodies from a model;
//! - [`key_finding`]: which key a melody or the notes being played are in;
//! - [`ratings`]: the user's likes and dislikes, which steer new melodies;
//! - [`rng`]: seeded random numbers, the same in every version;
//! - [`theory`]: scales, key names and key signatures;
//! - `plugin` (feature `plugin`): the CLAP/VST3 plugin and its editor.

pub mod attributes;
pub mod clip;
pub mod encoding;
pub mod generate;
pub mod gp_classifier;
pub mod key_finding;
pub mod linalg;
pub mod midi;
pub mod model_file;
pub mod onnx;
pub mod played;
#[cfg(feature = "plugin")]
pub mod plugin;
pub mod preference;
pub mod ratings;
pub mod rng;
pub mod runtime;
pub mod session_run;
pub mod steering;
pub mod theory;

/// The default model's decoder, trained on the public-domain collections of the folk and
/// chorale corpus (see `models/README.md`).
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../models/neume-default.onnx");

/// The default model's encoder.
pub const DEFAULT_ENCODER: &[u8] = include_bytes!("../models/neume-default.encoder.onnx");

/// Loads the embedded default model, decoder and encoder.
pub fn default_generator() -> Result<runtime::Generator, runtime::ModelError> {
    runtime::Generator::from_bytes(DEFAULT_MODEL, "default model (models/neume-default.onnx)")?
        .with_encoder(DEFAULT_ENCODER, "default model (models/neume-default.encoder.onnx)")
}
