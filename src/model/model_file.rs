//! The model-file contract: what a Neume model file is (tensor names, metadata keys, the
//! operators, attributes and opsets it may use, its size). What a file's metadata says is
//! [`ModelInfo`] (`model_info.rs`); the checks a file passes before any runtime sees it are in
//! `validation.rs`. Shared by the runtime (which loads files) and the trainer (which writes
//! them). Runs on any thread but the audio thread.

use std::path::{Path, PathBuf};

use crate::encoding::{PITCH_COUNT, PITCH_LOW};
use crate::model::onnx;

pub use crate::model::model_info::ModelInfo;
pub use crate::model::validation::{read_model_file, validate, validate_role};

/// Decoder input: one step's features and the latent point, `[1, step_input]` (see
/// [`crate::encoding::step_input`]).
pub const STEP_INPUT: &str = "x";
/// Decoder output: the next token's logits, `[1, VOCAB_SIZE]`.
pub const LOGITS: &str = "logits";
/// Encoder input: a one-hot window in the model's frame, `[1, bars * MAX_BAR_STEPS, VOCAB_SIZE]`
/// (version 3; the steps past the window's end are all zero), `[1, bars * 16, VOCAB_SIZE]` in
/// version 2.
pub const ENCODER_INPUT: &str = "tokens";
/// Encoder output: the posterior mean, `[1, latent]`.
pub const MU: &str = "mu";
/// Encoder output: the posterior log-variance, `[1, latent]`.
pub const LOGVAR: &str = "logvar";

/// Decoder input: the state of GRU layer `layer`, `[1, hidden]` (zeros at step 0).
pub fn state_input(layer: usize) -> String {
    format!("state{layer}")
}

/// Decoder output: the new state of GRU layer `layer`, fed back as [`state_input`].
pub fn state_output(layer: usize) -> String {
    format!("state{layer}_out")
}

/// Metadata keys every Neume model carries.
pub mod meta {
    /// [`crate::encoding::ENCODING_VERSION`] the model was trained with.
    pub const ENCODING_VERSION: &str = "neume.encoding_version";
    /// Length of the latent vector (the prior's part, what is drawn, steered and stored).
    pub const LATENT_SIZE: &str = "neume.latent_size";
    /// Length of the detail code after it in the decoder's input and the encoder's output
    /// (absent: 0). Zero in a draw from the prior; an encoded clip's own code brings its notes
    /// back.
    pub const DETAIL_SIZE: &str = "neume.detail_size";
    /// Bars the model generates at once.
    pub const BARS: &str = "neume.bars";
    /// Grid steps per bar.
    pub const STEPS_PER_BAR: &str = "neume.steps_per_bar";
    /// Lowest pitch of the token range.
    pub const PITCH_LOW: &str = "neume.pitch_low";
    /// Number of pitches in the token range.
    pub const PITCH_COUNT: &str = "neume.pitch_count";
    /// Vocabulary, in index order: `rest,hold,48,49,…`.
    pub const VOCAB: &str = "neume.vocab";
    /// The model family: `vae`, the only one this version plays.
    pub const MODEL_KIND: &str = "neume.model_kind";
    /// Optional: the sampling temperature chosen on the validation set (default 1).
    pub const TEMPERATURE: &str = "neume.temperature";
    /// Optional: main directions of variation of the latent space, measured on training data
    /// (unit vectors, `;` between vectors, `,` between values), strongest first. The plugin's
    /// latent knobs move along them.
    pub const LATENT_DIRECTIONS: &str = "neume.latent_directions";
    /// Optional: standard deviation of the training data along each direction (`,` between values).
    pub const LATENT_SCALES: &str = "neume.latent_scales";
    /// `decoder` (one autoregressive step) or `encoder` (window → latent posterior).
    pub const ROLE: &str = "neume.role";
    /// Stacked GRU layers of the decoder (one state input each).
    pub const LAYERS: &str = "neume.layers";
    /// State size of each GRU layer.
    pub const HIDDEN: &str = "neume.hidden";
    /// Identifies one trained model: its decoder and encoder files carry the same id, and the
    /// user's ratings are kept per id.
    pub const MODEL_ID: &str = "neume.model_id";
    /// Provenance: the collections the model was trained on.
    pub const TRAINING_DATA: &str = "neume.training_data";
    /// Provenance: the licence of that data (`public-domain` or `non-commercial`).
    pub const DATA_LICENCE: &str = "neume.data_licence";
    /// Provenance: when it was trained (UTC date).
    pub const TRAINED: &str = "neume.trained";
    /// Provenance: the command that trained it.
    pub const COMMAND: &str = "neume.command";
    /// Provenance: figures measured on held-out data (`name=value` pairs, `;` between them).
    pub const FIGURES: &str = "neume.figures";
    /// Version 3: the meters the model was trained on, with their training windows
    /// (`6/8=21000,4/4=…`). A version 2 model knows 4/4 only.
    pub const METERS: &str = "neume.meters";
    /// Optional: latent dimensions tied to attributes, each with the standard deviation one
    /// knob unit stands for (`Density=0:0.93,Rhythm=1:1.02,…`). They are also the first
    /// [`LATENT_DIRECTIONS`] (unit axes), in this order, so knob `i` is named by entry `i`.
    pub const KNOB_ATTRIBUTES: &str = "neume.knob_attributes";
}

/// The vocabulary string stored in [`meta::VOCAB`].
pub fn vocab_string() -> String {
    let mut parts = vec!["rest".to_string(), "hold".to_string()];
    parts.extend((0..PITCH_COUNT).map(|i| (usize::from(PITCH_LOW) + i).to_string()));
    parts.join(",")
}

/// Generator families (`neume.model_kind`) that run through this contract: a VAE's decoder,
/// or the same decoder trained adversarially (`gan`).
pub const MODEL_KINDS: &[&str] = &["vae", "gan"];

/// Operators the runtime accepts in a model file. Anything else is refused before a runtime
/// sees the file (a panic inside tract would abort the host process).
pub const ALLOWED_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Sub",
    "Mul",
    "Relu",
    "LeakyRelu",
    "Tanh",
    "Sigmoid",
    "Clip",
    "Concat",
    "Split",
    "Reshape",
    "GRU",
];

/// Opsets of the default ONNX domain Neume's models are written and tested with (the
/// trainer's exporter writes 17); files declaring another are refused.
pub const TESTED_OPSETS: std::ops::RangeInclusive<i64> = 17..=17;

/// Why a node's attributes are outside what the model contract allows, if they are: a `GRU`
/// is forward, `linear_before_reset = 1`, of the model's state size, with the default
/// activations and no clipping; `Concat` and `Split` take an axis of a tensor of rank at most
/// 3 and nothing else. Other allowed operators are not checked here.
pub(crate) fn attribute_problem(
    op: &str,
    attributes: &[(String, onnx::AttributeValue)],
    hidden: usize,
) -> Option<String> {
    use onnx::AttributeValue::{Int, String as Text};
    let bad = |name: &str, value: &onnx::AttributeValue| {
        Some(format!("operator `{op}` has attribute `{name}` = {value:?}, which the model contract does not allow"))
    };
    match op {
        "GRU" => {
            let mut saw_hidden = false;
            let mut saw_lbr = false;
            for (name, value) in attributes {
                match (name.as_str(), value) {
                    ("hidden_size", Int(h)) if *h == hidden as i64 => saw_hidden = true,
                    ("linear_before_reset", Int(1)) => saw_lbr = true,
                    ("direction", Text(d)) if d == "forward" => {}
                    ("layout", Int(0)) => {}
                    _ => return bad(name, value),
                }
            }
            if !saw_hidden || !saw_lbr {
                return Some(format!(
                    "operator `GRU` needs hidden_size = {hidden} and linear_before_reset = 1"
                ));
            }
            None
        }
        "Concat" | "Split" => {
            for (name, value) in attributes {
                match (name.as_str(), value) {
                    ("axis", Int(axis)) if (-3..=2).contains(axis) => {}
                    _ => return bad(name, value),
                }
            }
            if op == "Concat" && !attributes.iter().any(|(n, _)| n == "axis") {
                return Some("operator `Concat` has no axis".into());
            }
            None
        }
        _ => None,
    }
}

/// Largest model file accepted, in bytes.
pub const MAX_MODEL_BYTES: usize = 256 << 20;

/// What went wrong loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// The file is not a Neume model, or not one this version can play.
    #[error("{path}: {problem}")]
    Invalid { path: String, problem: String },
    /// The runtime refused the model or failed running it.
    #[error("{path}: ONNX runtime error: {source}")]
    Runtime { path: String, source: ort::Error },
    /// What the model was asked to run on is unusable (a non-finite latent point).
    #[error("{0}")]
    Input(String),
}

/// Which of a model's two files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// One autoregressive step: step input and states in, logits and states out.
    Decoder,
    /// A one-hot window in, the latent posterior's mean and log-variance out.
    Encoder,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Decoder => "decoder",
            Role::Encoder => "encoder",
        }
    }
}

/// Where a decoder file's encoder lives: `name.onnx` → `name.encoder.onnx`.
pub fn encoder_path(decoder: &Path) -> PathBuf {
    let stem = decoder.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    decoder.with_file_name(format!("{stem}.encoder.onnx"))
}
