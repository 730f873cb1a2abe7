//! The model-file contract: what a Neume model file is (tensor names, metadata keys, the
//! operators, attributes and opsets it may use) and the checks a file passes before any runtime
//! sees it. Shared by the runtime (which loads files) and the trainer (which writes them).
//! Runs on any thread but the audio thread: reading and checking allocate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::encoding::{
    Meter, StepLayout, ENCODING_VERSION, MAX_BAR_STEPS, OLDEST_PLAYABLE_VERSION, PITCH_COUNT,
    PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE,
};
use crate::model::onnx;
use crate::music::attributes::Attribute;

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
fn attribute_problem(
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

/// What a model's metadata says, checked against this build's encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Length of the latent vector: the point drawn from the prior, moved by the knobs,
    /// rated and stored.
    pub latent_size: usize,
    /// Length of the detail code that follows the latent point in the decoder's input and the
    /// encoder's output (0 for most models): zero in a draw from the prior, an encoded clip's
    /// own code to bring its notes back.
    pub detail_size: usize,
    /// Bars of the windows the model learned on (the decoder's bar input counts modulo them).
    pub bars: usize,
    /// Model family (`vae`).
    pub kind: String,
    /// Stacked GRU layers of the decoder.
    pub layers: usize,
    /// State size of each GRU layer.
    pub hidden: usize,
    /// Sampling temperature the model was tuned for.
    pub temperature: f32,
    /// Main directions of variation of the latent space with their standard deviations
    /// (from [`meta::LATENT_DIRECTIONS`]; empty when the model has none).
    pub directions: Vec<(f32, Vec<f32>)>,
    /// The encoding version the model was trained with (2 or 3).
    pub encoding_version: u32,
    /// The meters it knows (4/4 only for version 2).
    pub meters: Vec<Meter>,
    /// Latent dimensions tied to attributes: `(attribute, dimension, scale)`.
    pub knob_attributes: Vec<(Attribute, usize, f32)>,
    /// All metadata, for display.
    pub metadata: BTreeMap<String, String>,
}

impl ModelInfo {
    /// Steps of one window in 4/4.
    pub fn steps(&self) -> usize {
        self.bars * STEPS_PER_BAR
    }

    /// How the decoder's step input is laid out.
    pub fn layout(&self) -> StepLayout {
        StepLayout { version: self.encoding_version, bars: self.bars }
    }

    /// Width of the decoder's step input.
    pub fn step_input(&self) -> usize {
        self.layout().features() + self.decoder_latent()
    }

    /// Width of what the decoder reads after the step features: the latent point, then the
    /// detail code.
    pub fn decoder_latent(&self) -> usize {
        self.latent_size + self.detail_size
    }

    /// Steps of the encoder's input window.
    pub fn encoder_steps(&self) -> usize {
        encoder_steps(self.encoding_version, self.bars)
    }

    /// Whether the model can play `meter`; the error names the meters it knows.
    pub fn check_meter(&self, meter: Meter) -> Result<(), ModelError> {
        if self.meters.contains(&meter) {
            return Ok(());
        }
        let known = self.meters.iter().map(Meter::to_string).collect::<Vec<_>>().join(", ");
        let why = if self.encoding_version == 2 {
            " (a model trained before meters were learned: retrain it with this neume-train)"
        } else {
            ""
        };
        Err(ModelError::Input(format!("this model knows {known} only{why}; {meter} is not one")))
    }

    /// The names of `count` knobs, in the order of [`ModelInfo::knob_directions`]: the
    /// attributes the model ties to its first directions (`Density` …), then `Latent i`.
    pub fn knob_names(&self, count: usize) -> Vec<String> {
        (0..count)
            .map(|i| match self.knob_attributes.get(i) {
                Some((attribute, ..)) => attribute.name().to_string(),
                None => format!("Latent {}", i + 1),
            })
            .collect()
    }

    /// The knob of a name (`density`, `Latent 6`, `latent6`), as an index into
    /// [`ModelInfo::knob_names`]; the error lists the model's knobs.
    pub fn knob_index(&self, name: &str, count: usize) -> Result<usize, String> {
        let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        let names = self.knob_names(count);
        names.iter().position(|n| squash(n).eq_ignore_ascii_case(&squash(name))).ok_or_else(|| {
            format!("this model has no knob `{name}`; its knobs are {}", names.join(", "))
        })
    }

    /// The latent move of knob values (standard deviations along each knob's direction):
    /// what is added to every phrase's point.
    pub fn knob_shift(&self, knobs: &[f32]) -> Vec<f32> {
        let mut shift = vec![0.0; self.latent_size];
        for (knob, (scale, direction)) in knobs.iter().zip(self.knob_directions(knobs.len())) {
            shift.iter_mut().zip(&direction).for_each(|(v, d)| *v += knob * scale * d);
        }
        shift
    }

    /// The latent dimension and scale of a named knob, if the model ties one to `attribute`.
    pub fn knob_attribute(&self, attribute: Attribute) -> Option<(usize, f32)> {
        self.knob_attributes.iter().find(|(a, ..)| *a == attribute).map(|&(_, d, s)| (d, s))
    }

    /// `count` directions for latent knobs, each with the standard deviation one knob unit
    /// stands for: the model's measured directions first, then latent axes (scale 1).
    pub fn knob_directions(&self, count: usize) -> Vec<(f32, Vec<f32>)> {
        let mut out: Vec<(f32, Vec<f32>)> = self.directions.iter().take(count).cloned().collect();
        for axis in (0..self.latent_size).take(count.saturating_sub(out.len())) {
            let mut unit = vec![0.0; self.latent_size];
            unit[axis] = 1.0;
            out.push((1.0, unit));
        }
        out
    }

    /// Where the model comes from, in one line: its training collections and their licence
    /// (empty when the metadata does not say).
    pub fn provenance(&self) -> String {
        let data = self.metadata.get(meta::TRAINING_DATA);
        let licence = self.metadata.get(meta::DATA_LICENCE);
        match (data, licence) {
            (Some(d), Some(l)) => format!("{d} ({l})"),
            (Some(d), None) => d.clone(),
            (None, Some(l)) => format!("data licence: {l}"),
            (None, None) => String::new(),
        }
    }

    /// The id shared by a model's decoder and encoder files ([`meta::MODEL_ID`]), if any.
    pub fn model_id(&self) -> Option<&str> {
        self.metadata.get(meta::MODEL_ID).map(String::as_str)
    }

    /// What the ratings file keys this model's lines by: `id:` and its id, or for a model
    /// without one `name` (`default`, or its path): points only mean something in their
    /// model's latent space.
    pub fn ratings_key(&self, name: &str) -> String {
        self.model_id().map_or_else(|| name.to_string(), |id| format!("id:{id}"))
    }
}

/// Parses the optional latent directions of a model's metadata.
fn parse_directions(
    md: &BTreeMap<String, String>,
    latent_size: usize,
) -> Result<Vec<(f32, Vec<f32>)>, String> {
    let (Some(dirs), Some(scales)) = (md.get(meta::LATENT_DIRECTIONS), md.get(meta::LATENT_SCALES))
    else {
        return Ok(Vec::new());
    };
    let floats = |text: &str| -> Result<Vec<f32>, String> {
        text.split(',')
            .map(|v| {
                v.trim()
                    .parse::<f32>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| format!("`{v}` is not a finite number"))
            })
            .collect()
    };
    let scales = floats(scales).map_err(|e| format!("metadata `{}`: {e}", meta::LATENT_SCALES))?;
    let vectors: Vec<Vec<f32>> = dirs
        .split(';')
        .map(floats)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("metadata `{}`: {e}", meta::LATENT_DIRECTIONS))?;
    if vectors.len() != scales.len() || vectors.len() > latent_size {
        return Err(format!(
            "{} latent directions and {} scales for a latent size of {latent_size}",
            vectors.len(),
            scales.len()
        ));
    }
    if let Some(v) = vectors.iter().find(|v| v.len() != latent_size) {
        return Err(format!(
            "a latent direction has {} values, the latent size is {latent_size}",
            v.len()
        ));
    }
    Ok(scales.into_iter().zip(vectors).collect())
}

/// Steps of an encoder's input window in encoding `version`.
fn encoder_steps(version: u32, bars: usize) -> usize {
    bars * if version == 2 { STEPS_PER_BAR } else { MAX_BAR_STEPS }
}

/// Parses `4/4=100,6/8=20` (counts optional).
fn parse_meters(text: &str) -> Result<Vec<Meter>, String> {
    let mut out = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let signature = part.split('=').next().unwrap_or(part);
        let meter =
            Meter::parse(signature).map_err(|e| format!("metadata `{}`: {e}", meta::METERS))?;
        if !out.contains(&meter) {
            out.push(meter);
        }
    }
    if out.is_empty() {
        return Err(format!("metadata `{}` names no meter", meta::METERS));
    }
    Ok(out)
}

/// Parses `Density=0:0.93,Contour=3:1.1`: attribute, latent dimension, scale.
fn parse_knob_attributes(
    text: &str,
    latent_size: usize,
) -> Result<Vec<(Attribute, usize, f32)>, String> {
    let bad =
        |part: &str, why: &str| format!("metadata `{}`: `{part}` {why}", meta::KNOB_ATTRIBUTES);
    let mut out: Vec<(Attribute, usize, f32)> = Vec::new();
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, rest) =
            part.split_once('=').ok_or_else(|| bad(part, "is not name=dim:scale"))?;
        let attribute =
            Attribute::from_name(name).ok_or_else(|| bad(part, "names no attribute"))?;
        let (dim, scale) = rest.split_once(':').unwrap_or((rest, "1"));
        let dim: usize = dim.trim().parse().map_err(|_| bad(part, "has no dimension number"))?;
        let scale: f32 = scale.trim().parse().map_err(|_| bad(part, "has no scale"))?;
        if dim >= latent_size || !(scale.is_finite() && scale > 0.0) {
            return Err(bad(
                part,
                "is outside the latent space or has a scale that is not positive",
            ));
        }
        if out.iter().any(|(a, d, _)| *a == attribute || *d == dim) {
            return Err(bad(part, "repeats an attribute or a dimension"));
        }
        out.push((attribute, dim, scale));
    }
    Ok(out)
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
    fn name(self) -> &'static str {
        match self {
            Role::Decoder => "decoder",
            Role::Encoder => "encoder",
        }
    }
}

/// Checks a decoder file's structure and metadata without running it.
pub fn validate(bytes: &[u8], path: &str) -> Result<ModelInfo, ModelError> {
    validate_role(bytes, path, Role::Decoder)
}

/// Checks a model file of the given role without running it.
pub fn validate_role(bytes: &[u8], path: &str, role: Role) -> Result<ModelInfo, ModelError> {
    let invalid = |problem: String| ModelError::Invalid { path: path.to_string(), problem };
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(invalid(format!(
            "file is {} bytes, more than the {} allowed",
            bytes.len(),
            MAX_MODEL_BYTES
        )));
    }
    let summary = onnx::summarize(bytes).map_err(|e| invalid(e.to_string()))?;
    let md = &summary.metadata;
    let get = |key: &str| -> Result<&String, ModelError> {
        md.get(key)
            .ok_or_else(|| invalid(format!("metadata key `{key}` is missing: not a Neume model")))
    };
    let number = |key: &str| -> Result<usize, ModelError> {
        let v = get(key)?;
        v.parse().map_err(|_| invalid(format!("metadata `{key}` = `{v}` is not a number")))
    };
    let expect = |key: &str, want: usize| -> Result<(), ModelError> {
        let got = number(key)?;
        if got == want {
            Ok(())
        } else {
            Err(invalid(format!("metadata `{key}` is {got}, this build of Neume needs {want}")))
        }
    };
    let version = number(meta::ENCODING_VERSION)?;
    if version == 1 {
        return Err(invalid(format!(
            "a version 1 Neume model (an MLP decoder that writes all steps at once); this Neume plays version {OLDEST_PLAYABLE_VERSION}..={ENCODING_VERSION} \
             models (a decoder stepped one 16th at a time): retrain it with this version's neume-train, or use the default model"
        )));
    }
    if !(OLDEST_PLAYABLE_VERSION as usize..=ENCODING_VERSION as usize).contains(&version) {
        return Err(invalid(format!(
            "metadata `{}` is {version}, this build of Neume plays versions {OLDEST_PLAYABLE_VERSION}..={ENCODING_VERSION}",
            meta::ENCODING_VERSION
        )));
    }
    let version = version as u32;
    expect(meta::STEPS_PER_BAR, STEPS_PER_BAR)?;
    expect(meta::PITCH_LOW, usize::from(PITCH_LOW))?;
    expect(meta::PITCH_COUNT, PITCH_COUNT)?;
    if *get(meta::VOCAB)? != vocab_string() {
        return Err(invalid(format!(
            "metadata `{}` does not match this build's vocabulary",
            meta::VOCAB
        )));
    }
    let found_role = get(meta::ROLE)?;
    if found_role != role.name() {
        return Err(invalid(format!(
            "this is a model's {found_role} file, not its {}",
            role.name()
        )));
    }
    let latent_size = number(meta::LATENT_SIZE)?;
    if !(1..=4096).contains(&latent_size) {
        return Err(invalid(format!("latent size {latent_size} is outside 1..=4096")));
    }
    let detail_size = match md.get(meta::DETAIL_SIZE) {
        None => 0,
        Some(_) => number(meta::DETAIL_SIZE)?,
    };
    if detail_size > 4096 - latent_size {
        return Err(invalid(format!(
            "latent size {latent_size} and detail size {detail_size} make more than 4096"
        )));
    }
    let bars = number(meta::BARS)?;
    if !(1..=16).contains(&bars) {
        return Err(invalid(format!("model bars {bars} is outside 1..=16")));
    }
    let layers = number(meta::LAYERS)?;
    if !(1..=8).contains(&layers) {
        return Err(invalid(format!("{layers} GRU layers is outside 1..=8")));
    }
    let hidden = number(meta::HIDDEN)?;
    if !(1..=4096).contains(&hidden) {
        return Err(invalid(format!("GRU state size {hidden} is outside 1..=4096")));
    }
    let kind = get(meta::MODEL_KIND)?.clone();
    if kind != "vae" {
        return Err(invalid(format!("model kind `{kind}` is not `vae`")));
    }
    let temperature = match md.get(meta::TEMPERATURE) {
        None => 1.0,
        Some(v) => match v.parse::<f32>() {
            Ok(t) if (0.05..=2.0).contains(&t) => t,
            _ => {
                return Err(invalid(format!(
                    "metadata `{}` = `{v}` is not a temperature in 0.05..=2",
                    meta::TEMPERATURE
                )))
            }
        },
    };
    if let Some(op) = summary.op_types.iter().find(|op| !ALLOWED_OPS.contains(&op.as_str())) {
        return Err(invalid(format!(
            "operator `{op}` is not one Neume runs (allowed: {})",
            ALLOWED_OPS.join(", ")
        )));
    }
    if !TESTED_OPSETS.contains(&summary.opset) {
        return Err(invalid(format!(
            "ONNX opset {} of the default domain is not one Neume is tested with ({}..={})",
            summary.opset,
            TESTED_OPSETS.start(),
            TESTED_OPSETS.end()
        )));
    }
    if let Some(problem) = summary
        .op_types
        .iter()
        .zip(&summary.attributes)
        .find_map(|(op, attributes)| attribute_problem(op, attributes, hidden))
    {
        return Err(invalid(problem));
    }
    if let Some(name) = summary.external_tensors.first() {
        return Err(invalid(format!("tensor `{name}` keeps its data in another file (external data), which Neume does not read")));
    }
    if summary.functions > 0 {
        return Err(invalid(format!(
            "the file defines {} model-local function(s), which Neume does not run",
            summary.functions
        )));
    }
    if summary.subgraphs > 0 {
        return Err(invalid("a node carries a subgraph, which Neume does not run".into()));
    }
    let (inputs, outputs): (Vec<(String, Vec<i64>)>, Vec<(String, Vec<i64>)>) = match role {
        Role::Decoder => {
            let layout = StepLayout { version, bars };
            let step_input = (layout.features() + latent_size + detail_size) as i64;
            let state = |name: String| (name, vec![1, hidden as i64]);
            (
                std::iter::once((STEP_INPUT.to_string(), vec![1, step_input]))
                    .chain((0..layers).map(|l| state(state_input(l))))
                    .collect(),
                std::iter::once((LOGITS.to_string(), vec![1, VOCAB_SIZE as i64]))
                    .chain((0..layers).map(|l| state(state_output(l))))
                    .collect(),
            )
        }
        Role::Encoder => (
            vec![(
                ENCODER_INPUT.to_string(),
                vec![1, encoder_steps(version, bars) as i64, VOCAB_SIZE as i64],
            )],
            vec![
                (MU.to_string(), vec![1, (latent_size + detail_size) as i64]),
                (LOGVAR.to_string(), vec![1, (latent_size + detail_size) as i64]),
            ],
        ),
    };
    let check = |infos: &[onnx::TensorInfo],
                 want: &[(String, Vec<i64>)],
                 what: &str|
     -> Result<(), ModelError> {
        let found: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
        let wanted: Vec<&str> = want.iter().map(|(n, _)| n.as_str()).collect();
        if found != wanted {
            return Err(invalid(format!("expected {what} {wanted:?}, found {found:?}")));
        }
        for (info, (name, dims)) in infos.iter().zip(want) {
            let want_dims: Vec<Option<i64>> = dims.iter().map(|&d| Some(d)).collect();
            if info.elem_type != onnx::DATA_TYPE_FLOAT || info.dims != want_dims {
                return Err(invalid(format!(
                    "expected float tensor `{name}` of shape {dims:?}, found type {} of shape {:?}",
                    info.elem_type, info.dims
                )));
            }
        }
        Ok(())
    };
    check(&summary.inputs, &inputs, "inputs")?;
    check(&summary.outputs, &outputs, "outputs")?;
    let directions = parse_directions(md, latent_size).map_err(invalid)?;
    let meters = match (version, md.get(meta::METERS)) {
        (2, _) => vec![Meter::FourFour],
        (_, Some(text)) => parse_meters(text).map_err(invalid)?,
        (_, None) => return Err(invalid(format!("metadata key `{}` is missing", meta::METERS))),
    };
    let knob_attributes = match md.get(meta::KNOB_ATTRIBUTES) {
        Some(text) => parse_knob_attributes(text, latent_size).map_err(invalid)?,
        None => Vec::new(),
    };
    Ok(ModelInfo {
        latent_size,
        detail_size,
        bars,
        kind,
        layers,
        hidden,
        temperature,
        directions,
        encoding_version: version,
        meters,
        knob_attributes,
        metadata: summary.metadata,
    })
}

/// Reads a model file: only a regular file, at most [`MAX_MODEL_BYTES`], checked before and
/// while reading (a FIFO or `/dev/zero` named in a project must not block or exhaust the host).
pub fn read_model_file(path: &Path) -> Result<Vec<u8>, ModelError> {
    use std::io::Read;
    let name = path.display().to_string();
    let io = |source| ModelError::Io { path: name.clone(), source };
    let invalid = |problem: String| ModelError::Invalid { path: name.clone(), problem };
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(invalid("not a regular file".into()));
    }
    if metadata.len() > MAX_MODEL_BYTES as u64 {
        return Err(invalid(format!(
            "file is {} bytes, more than the {} allowed",
            metadata.len(),
            MAX_MODEL_BYTES
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(MAX_MODEL_BYTES as u64 + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(invalid(format!(
            "file grew past the {MAX_MODEL_BYTES} bytes allowed while being read"
        )));
    }
    Ok(bytes)
}

/// Where a decoder file's encoder lives: `name.onnx` → `name.encoder.onnx`.
pub fn encoder_path(decoder: &Path) -> PathBuf {
    let stem = decoder.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    decoder.with_file_name(format!("{stem}.encoder.onnx"))
}
