//! Neume: melodies invented by a neural network, as MIDI.
//!
//! The shared contracts sit at the top; each folder is one part of the architecture:
//! - [`encoding`]: the melody grid and the meters, the one contract of trainer and runtime;
//! - [`rng`]: seeded random numbers, the same in every version;
//! - [`music`]: scales and keys, notes as played, the knobs' attributes, key finding, MIDI
//!   files, the musician's clip;
//! - [`model`]: the ONNX format, the model-file contract and its checks, the runtime;
//! - [`sampling`]: a model's logits to a melody (masks, form plans, the sampler's steering);
//! - [`taste`]: the listener's ratings and the preference model they teach;
//! - `plugin` (feature `plugin`): the CLAP/VST3 plugin, by thread: `plugin::audio` (the audio
//!   thread), `plugin::cross` (the types both sides touch), `plugin::worker`,
//!   `plugin::editor` (GUI).

pub mod encoding;
pub mod model;
pub mod music;
#[cfg(feature = "plugin")]
pub mod plugin;
pub mod rng;
pub mod sampling;
pub mod taste;

/// The default model's decoder, trained on the public-domain collections of the folk and
/// chorale corpus (see `models/README.md`).
pub const DEFAULT_MODEL: &[u8] = include_bytes!("../models/neume-default.onnx");

/// The default model's encoder.
pub const DEFAULT_ENCODER: &[u8] = include_bytes!("../models/neume-default.encoder.onnx");

/// The default model's copy index: the runs of the tunes it learned from
/// (`music::copies`, built by `neume-train copies`).
pub const DEFAULT_COPIES: &[u8] = include_bytes!("../models/neume-default.copies");

/// The default model's copy index, read once per process and shared: every plugin instance
/// of the default model holds the same one (2 MB).
pub fn default_copy_index() -> Result<std::sync::Arc<music::copies::CopyIndex>, String> {
    static INDEX: std::sync::OnceLock<Result<std::sync::Arc<music::copies::CopyIndex>, String>> =
        std::sync::OnceLock::new();
    INDEX
        .get_or_init(|| {
            music::copies::CopyIndex::from_bytes(
                DEFAULT_COPIES,
                "default model (models/neume-default.copies)",
            )
            .map(std::sync::Arc::new)
        })
        .clone()
}

/// Loads the embedded default model, decoder and encoder.
pub fn default_generator() -> Result<model::runtime::Generator, model::runtime::ModelError> {
    model::runtime::Generator::from_bytes(
        DEFAULT_MODEL,
        "default model (models/neume-default.onnx)",
    )?
    .with_encoder(DEFAULT_ENCODER, "default model (models/neume-default.encoder.onnx)")
}
