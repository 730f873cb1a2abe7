//! The checks a model file passes before any runtime sees it: its size, that it is a regular
//! file, its ONNX structure (operators, attributes, opsets, tensor names and shapes) and its
//! metadata (read into [`ModelInfo`]). Any thread but the audio thread: reading allocates.

use std::path::Path;

use crate::encoding::{
    Meter, StepLayout, ENCODING_VERSION, OLDEST_PLAYABLE_VERSION, PITCH_COUNT, PITCH_LOW,
    STEPS_PER_BAR, VOCAB_SIZE,
};
use crate::model::model_file::{
    attribute_problem, meta, state_input, state_output, vocab_string, ModelError, Role,
    ALLOWED_OPS, ENCODER_INPUT, LOGITS, LOGVAR, MAX_MODEL_BYTES, MODEL_KINDS, MU, STEP_INPUT,
    TESTED_OPSETS,
};
use crate::model::model_info::{
    encoder_steps, parse_directions, parse_knob_attributes, parse_meters, ModelInfo,
};
use crate::model::onnx;

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
    if !MODEL_KINDS.contains(&kind.as_str()) {
        return Err(invalid(format!(
            "model kind `{kind}` is not one Neume runs ({})",
            MODEL_KINDS.join(", ")
        )));
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
