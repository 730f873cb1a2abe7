//! Running a generator model: the ONNX Runtime library when it can be found, the
//! pure-Rust tract backend otherwise, behind the same `ort` API.
//!
//! Runs on whatever thread owns the [`Generator`] (a worker thread in the plugin, never the
//! audio thread): loading and `run` both allocate.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::Tensor;

use crate::encoding::{ENCODING_VERSION, PITCH_COUNT, PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE};
use crate::onnx;

/// Name of the model's only input: the latent point, `[1, latent_size]`.
pub const INPUT_NAME: &str = "z";
/// Name of the model's only output: token logits, `[1, bars * STEPS_PER_BAR, VOCAB_SIZE]`.
pub const OUTPUT_NAME: &str = "logits";

/// Metadata keys every Neume model carries.
pub mod meta {
    /// [`crate::encoding::ENCODING_VERSION`] the model was trained with.
    pub const ENCODING_VERSION: &str = "neume.encoding_version";
    /// Length of the latent vector.
    pub const LATENT_SIZE: &str = "neume.latent_size";
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
    /// `gan` or `vae`.
    pub const MODEL_KIND: &str = "neume.model_kind";
    /// Optional: the sampling temperature chosen on the validation set (default 1).
    pub const TEMPERATURE: &str = "neume.temperature";
    /// Optional: main directions of variation of the latent space, measured on training data
    /// (unit vectors, `;` between vectors, `,` between values), strongest first. The plugin's
    /// latent knobs move along them.
    pub const LATENT_DIRECTIONS: &str = "neume.latent_directions";
    /// Optional: standard deviation of the training data along each direction (`,` between values).
    pub const LATENT_SCALES: &str = "neume.latent_scales";
}

/// The vocabulary string stored in [`meta::VOCAB`].
pub fn vocab_string() -> String {
    let mut parts = vec!["rest".to_string(), "hold".to_string()];
    parts.extend((0..PITCH_COUNT).map(|i| (usize::from(PITCH_LOW) + i).to_string()));
    parts.join(",")
}

/// Operators the runtime accepts in a model file. Anything else is refused before a runtime
/// sees the file (a panic inside tract would abort the host process).
pub const ALLOWED_OPS: &[&str] = &["Gemm", "MatMul", "Add", "Relu", "LeakyRelu", "Tanh", "Sigmoid", "Reshape"];

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
}

/// Which ONNX backend this process uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The native ONNX Runtime library, loaded from this absolute path.
    Native(PathBuf),
    /// The pure-Rust tract backend.
    Tract,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Backend::Native(path) => write!(f, "ONNX Runtime ({})", path.display()),
            Backend::Tract => write!(f, "tract (pure Rust)"),
        }
    }
}

/// The process-wide backend and ONNX environment, chosen once and never dropped: sessions
/// of every instance share it.
pub struct BackendState {
    /// The backend in use.
    pub backend: Backend,
    /// The environment sessions are created in; `None` when no backend could start.
    pub environment: Option<ort::environment::Environment>,
    /// Why earlier native-library candidates were refused.
    pub notes: Vec<String>,
}

static BACKEND: OnceLock<BackendState> = OnceLock::new();

/// The backend chosen so far, if any model was loaded.
pub fn backend_state() -> Option<&'static BackendState> {
    BACKEND.get()
}

/// Places to look for the native library: `NEUME_ORT_LIB` alone when it is set (a file;
/// point it at nothing to force the fallback), else the directories given, each also with
/// an `onnxruntime/` subfolder.
pub fn native_library_candidates(dirs: &[PathBuf]) -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("NEUME_ORT_LIB") {
        return vec![PathBuf::from(path)];
    }
    let mut out = Vec::new();
    for dir in dirs {
        for dir in [dir.clone(), dir.join("onnxruntime")] {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with("libonnxruntime.so")
                        || name == "libonnxruntime.dylib"
                        || name == "onnxruntime.dll"
                })
                .filter(|p| !p.to_string_lossy().contains("providers"))
                .collect();
            found.sort();
            out.extend(found);
        }
    }
    out
}

/// Directories beside the running executable: its own folder and `../onnxruntime`
/// (where the test script installs the library under `target/`).
pub fn executable_dirs() -> Vec<PathBuf> {
    let Ok(exe) = std::env::current_exe() else { return Vec::new() };
    let mut dirs = Vec::new();
    if let Some(dir) = exe.parent() {
        dirs.push(dir.to_path_buf());
        if let Some(up) = dir.parent() {
            dirs.push(up.to_path_buf());
            if let Some(up2) = up.parent() {
                dirs.push(up2.to_path_buf());
            }
        }
    }
    dirs
}

/// Chooses the backend once per process: the first native library in `candidates` that
/// loads, else tract. Later calls return the first choice.
pub fn init_backend(candidates: &[PathBuf]) -> &'static BackendState {
    BACKEND.get_or_init(|| {
        let mut notes = Vec::new();
        for path in candidates {
            let Ok(path) = std::path::absolute(path) else { continue };
            if !path.is_file() {
                notes.push(format!("{}: no such file", path.display()));
                continue;
            }
            match ort::init_from(&path).map_err(|e| e.to_string()).and_then(|b| {
                b.with_name("neume").with_telemetry(false).build().map_err(|e| e.to_string())
            }) {
                Ok(env) => return BackendState { backend: Backend::Native(path), environment: Some(env), notes },
                Err(e) => notes.push(format!("{}: {e}", path.display())),
            }
        }
        init_tract(notes)
    })
}

#[cfg(feature = "tract")]
fn init_tract(notes: Vec<String>) -> BackendState {
    ort::set_api(ort_tract::api());
    let environment = ort::init().with_name("neume").build().ok();
    BackendState { backend: Backend::Tract, environment, notes }
}

#[cfg(not(feature = "tract"))]
fn init_tract(mut notes: Vec<String>) -> BackendState {
    notes.push("this build has no pure-Rust fallback (feature `tract`)".into());
    BackendState { backend: Backend::Tract, environment: None, notes }
}

/// What a model's metadata says, checked against this build's encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Length of the latent vector.
    pub latent_size: usize,
    /// Bars generated per run.
    pub bars: usize,
    /// `gan` or `vae`.
    pub kind: String,
    /// Sampling temperature the model was tuned for.
    pub temperature: f32,
    /// Main directions of variation of the latent space with their standard deviations
    /// (from [`meta::LATENT_DIRECTIONS`]; empty when the model has none).
    pub directions: Vec<(f32, Vec<f32>)>,
    /// All metadata, for display.
    pub metadata: BTreeMap<String, String>,
}

impl ModelInfo {
    /// Steps generated per run.
    pub fn steps(&self) -> usize {
        self.bars * STEPS_PER_BAR
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
}

/// Parses the optional latent directions of a model's metadata.
fn parse_directions(md: &BTreeMap<String, String>, latent_size: usize) -> Result<Vec<(f32, Vec<f32>)>, String> {
    let (Some(dirs), Some(scales)) = (md.get(meta::LATENT_DIRECTIONS), md.get(meta::LATENT_SCALES)) else {
        return Ok(Vec::new());
    };
    let floats = |text: &str| -> Result<Vec<f32>, String> {
        text.split(',')
            .map(|v| v.trim().parse::<f32>().ok().filter(|x| x.is_finite()).ok_or_else(|| format!("`{v}` is not a finite number")))
            .collect()
    };
    let scales = floats(scales).map_err(|e| format!("metadata `{}`: {e}", meta::LATENT_SCALES))?;
    let vectors: Vec<Vec<f32>> = dirs.split(';').map(floats).collect::<Result<_, _>>().map_err(|e| format!("metadata `{}`: {e}", meta::LATENT_DIRECTIONS))?;
    if vectors.len() != scales.len() || vectors.len() > latent_size {
        return Err(format!("{} latent directions and {} scales for a latent size of {latent_size}", vectors.len(), scales.len()));
    }
    if let Some(v) = vectors.iter().find(|v| v.len() != latent_size) {
        return Err(format!("a latent direction has {} values, the latent size is {latent_size}", v.len()));
    }
    Ok(scales.into_iter().zip(vectors).collect())
}

/// Checks a model file's structure and metadata without running it.
pub fn validate(bytes: &[u8], path: &str) -> Result<ModelInfo, ModelError> {
    let invalid = |problem: String| ModelError::Invalid { path: path.to_string(), problem };
    if bytes.len() > MAX_MODEL_BYTES {
        return Err(invalid(format!("file is {} bytes, more than the {} allowed", bytes.len(), MAX_MODEL_BYTES)));
    }
    let summary = onnx::summarize(bytes).map_err(|e| invalid(e.to_string()))?;
    let md = &summary.metadata;
    let get = |key: &str| -> Result<&String, ModelError> {
        md.get(key).ok_or_else(|| invalid(format!("metadata key `{key}` is missing: not a Neume model")))
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
    expect(meta::ENCODING_VERSION, ENCODING_VERSION as usize)?;
    expect(meta::STEPS_PER_BAR, STEPS_PER_BAR)?;
    expect(meta::PITCH_LOW, usize::from(PITCH_LOW))?;
    expect(meta::PITCH_COUNT, PITCH_COUNT)?;
    if *get(meta::VOCAB)? != vocab_string() {
        return Err(invalid(format!("metadata `{}` does not match this build's vocabulary", meta::VOCAB)));
    }
    let latent_size = number(meta::LATENT_SIZE)?;
    if !(1..=4096).contains(&latent_size) {
        return Err(invalid(format!("latent size {latent_size} is outside 1..=4096")));
    }
    let bars = number(meta::BARS)?;
    if !(1..=16).contains(&bars) {
        return Err(invalid(format!("model bars {bars} is outside 1..=16")));
    }
    let kind = get(meta::MODEL_KIND)?.clone();
    if kind != "gan" && kind != "vae" {
        return Err(invalid(format!("model kind `{kind}` is neither `gan` nor `vae`")));
    }
    let temperature = match md.get(meta::TEMPERATURE) {
        None => 1.0,
        Some(v) => match v.parse::<f32>() {
            Ok(t) if (0.05..=2.0).contains(&t) => t,
            _ => return Err(invalid(format!("metadata `{}` = `{v}` is not a temperature in 0.05..=2", meta::TEMPERATURE))),
        },
    };
    if let Some(op) = summary.op_types.iter().find(|op| !ALLOWED_OPS.contains(&op.as_str())) {
        return Err(invalid(format!("operator `{op}` is not one Neume runs (allowed: {})", ALLOWED_OPS.join(", "))));
    }
    let shape_of = |infos: &[onnx::TensorInfo], name: &str, want: &[i64]| -> Result<(), ModelError> {
        let found: Vec<&str> = infos.iter().map(|i| i.name.as_str()).collect();
        let [info] = infos else {
            return Err(invalid(format!("expected exactly one tensor `{name}`, found {found:?}")));
        };
        let want_dims: Vec<Option<i64>> = want.iter().map(|&d| Some(d)).collect();
        if info.name != name || info.elem_type != onnx::DATA_TYPE_FLOAT || info.dims != want_dims {
            return Err(invalid(format!(
                "expected float tensor `{name}` of shape {want:?}, found `{}` (type {}) of shape {:?}",
                info.name, info.elem_type, info.dims
            )));
        }
        Ok(())
    };
    shape_of(&summary.inputs, INPUT_NAME, &[1, latent_size as i64])?;
    shape_of(&summary.outputs, OUTPUT_NAME, &[1, (bars * STEPS_PER_BAR) as i64, VOCAB_SIZE as i64])?;
    let directions = parse_directions(md, latent_size).map_err(invalid)?;
    Ok(ModelInfo { latent_size, bars, kind, temperature, directions, metadata: summary.metadata })
}

/// A loaded generator: latent point in, token logits out. One per worker thread
/// (`Session::run` needs `&mut`).
pub struct Generator {
    session: Session,
    info: ModelInfo,
    name: String,
    backend: Backend,
}

impl Generator {
    /// Validates and loads a model from memory; `name` identifies it in errors. The backend
    /// must have been chosen with [`init_backend`] (done here with the executable's
    /// directories if not).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Generator, ModelError> {
        let info = validate(bytes, name)?;
        let state = init_backend(&native_library_candidates(&executable_dirs()));
        let Some(environment) = &state.environment else {
            return Err(ModelError::Invalid {
                path: name.to_string(),
                problem: format!("no ONNX backend could start: {}", state.notes.join("; ")),
            });
        };
        let runtime = |source| ModelError::Runtime { path: name.to_string(), source };
        let builder = Session::builder(environment).map_err(runtime)?;
        // A guest in someone else's process: one thread, no spinning.
        let mut builder = builder
            .with_intra_threads(1)
            .and_then(|b| b.with_inter_threads(1))
            .and_then(|b| b.with_parallel_execution(false))
            .and_then(|b| b.with_intra_op_spinning(false))
            .and_then(|b| b.with_inter_op_spinning(false))
            .map_err(|e| runtime(e.into()))?;
        let session = builder.commit_from_memory(bytes).map_err(runtime)?;
        let mut generator = Generator { session, info, name: name.to_string(), backend: state.backend.clone() };
        // Warm-up: the first run is slower, and a model that cannot run fails here.
        generator.run(&vec![0.0; generator.info.latent_size])?;
        Ok(generator)
    }

    /// Reads, validates and loads a model file.
    pub fn from_file(path: &Path) -> Result<Generator, ModelError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ModelError::Io { path: name.clone(), source })?;
        Self::from_bytes(&bytes, &name)
    }

    /// The model's metadata.
    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The name the model was loaded under (its path, or `default`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backend running it.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Runs the model on one latent point; returns logits `[steps * VOCAB_SIZE]`, row-major
    /// by step.
    pub fn run(&mut self, z: &[f32]) -> Result<Vec<f32>, ModelError> {
        let name = &self.name;
        let invalid = |problem: String| ModelError::Invalid { path: name.clone(), problem };
        let runtime = |source| ModelError::Runtime { path: name.clone(), source };
        if z.len() != self.info.latent_size {
            return Err(invalid(format!("latent point has {} values, the model takes {}", z.len(), self.info.latent_size)));
        }
        let input = Tensor::from_array(([1usize, z.len()], z.to_vec())).map_err(runtime)?;
        let outputs = self.session.run(ort::inputs![INPUT_NAME => input]).map_err(runtime)?;
        let (_, logits) = outputs[OUTPUT_NAME].try_extract_tensor::<f32>().map_err(runtime)?;
        let want = self.info.steps() * VOCAB_SIZE;
        if logits.len() != want {
            return Err(invalid(format!("output has {} values, expected {want}", logits.len())));
        }
        Ok(logits.to_vec())
    }
}
