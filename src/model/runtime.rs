//! Running a generator model: the ONNX Runtime library when it can be found, the
//! pure-Rust tract backend otherwise, behind the same `ort` API. What a model file must be,
//! and its checks, live in [`crate::model::model_file`].
//!
//! Runs on whatever thread owns the [`Generator`] (a worker thread in the plugin, never the
//! audio thread): loading and `run` both allocate.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::session::Session;
use ort::value::{DynValue, Tensor};

use crate::encoding::VOCAB_SIZE;
use crate::model::model_file::{
    encoder_path, read_model_file, state_input, state_output, validate, validate_role, Role,
    ENCODER_INPUT, LOGITS, LOGVAR, MU, STEP_INPUT,
};
pub use crate::model::model_file::{ModelError, ModelInfo};
use crate::model::session_run::{self, Names};
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
                .filter(|p| is_native_library_name(p.file_name().and_then(|n| n.to_str())))
                .collect();
            found.sort();
            out.extend(found);
        }
    }
    out
}

/// Whether `name` is this platform's ONNX Runtime library: `libonnxruntime.so[.version]` on
/// Linux, `libonnxruntime[.version].dylib` on macOS, `onnxruntime.dll` on Windows. Another
/// platform's file (a Linux `.so` left in a folder a Windows build searches) is not tried.
pub fn is_native_library_name(name: Option<&str>) -> bool {
    let Some(name) = name else { return false };
    if cfg!(windows) {
        name.eq_ignore_ascii_case("onnxruntime.dll")
    } else if cfg!(target_os = "macos") {
        name.starts_with("libonnxruntime.") && name.ends_with(".dylib")
    } else {
        name == "libonnxruntime.so" || name.starts_with("libonnxruntime.so.")
    }
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
            if let Err(e) = preload(&path) {
                notes.push(format!("{}: {e}", path.display()));
                continue;
            }
            match ort::init_from(&path).map_err(|e| e.to_string()).and_then(|b| {
                b.with_name("neume").with_telemetry(false).build().map_err(|e| e.to_string())
            }) {
                Ok(env) => {
                    return BackendState {
                        backend: Backend::Native(path),
                        environment: Some(env),
                        notes,
                    }
                }
                Err(e) => notes.push(format!("{}: {e}", path.display())),
            }
        }
        init_tract(notes)
    })
}

/// Loads the runtime library by its full path, its own dependencies (the MSVC runtime) from
/// its own folder or System32 only, never from the DAW's folder, the current directory or
/// `PATH` (DLL search-order hijacking). `ort` then opens the same path and gets this module.
/// The module stays loaded for the life of the process, as the backend does.
#[cfg(windows)]
fn preload(path: &Path) -> Result<(), String> {
    use std::os::windows::ffi::OsStrExt;
    const LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR: u32 = 0x100;
    const LOAD_LIBRARY_SEARCH_SYSTEM32: u32 = 0x800;
    #[link(name = "kernel32")]
    extern "system" {
        fn LoadLibraryExW(
            name: *const u16,
            file: *mut std::ffi::c_void,
            flags: u32,
        ) -> *mut std::ffi::c_void;
        fn GetLastError() -> u32;
    }
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(std::iter::once(0)).collect();
    // SAFETY: `wide` is a NUL-terminated path that outlives the call; no file handle is passed.
    let module = unsafe {
        LoadLibraryExW(
            wide.as_ptr(),
            std::ptr::null_mut(),
            LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32,
        )
    };
    if module.is_null() {
        // SAFETY: reads this thread's last error, set by the failed call just above.
        let code = unsafe { GetLastError() };
        let hint = if code == 126 {
            " (a library it needs is missing: ONNX Runtime needs the Microsoft Visual C++ \
             Redistributable 2015-2022, x64)"
        } else {
            ""
        };
        return Err(format!("could not load it (Windows error {code}){hint}"));
    }
    Ok(())
}

/// Elsewhere `ort` opens the library by its full path itself.
#[cfg(not(windows))]
fn preload(_path: &Path) -> Result<(), String> {
    Ok(())
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

/// Creates a session for a guest in someone else's process: one thread, no spinning.
fn session(bytes: &[u8], name: &str) -> Result<(Session, Backend), ModelError> {
    let state = init_backend(&native_library_candidates(&executable_dirs()));
    let Some(environment) = &state.environment else {
        return Err(ModelError::Invalid {
            path: name.to_string(),
            problem: format!("no ONNX backend could start: {}", state.notes.join("; ")),
        });
    };
    let runtime = |source| ModelError::Runtime { path: name.to_string(), source };
    let builder = Session::builder(environment).map_err(runtime)?;
    // Full graph optimisation: ONNX Runtime's default, but tract (behind the same API) runs
    // an unoptimised plan without it, many times slower.
    let mut builder = builder
        .with_optimization_level(ort::session::builder::GraphOptimizationLevel::All)
        .and_then(|b| b.with_intra_threads(1))
        .and_then(|b| b.with_inter_threads(1))
        .and_then(|b| b.with_parallel_execution(false))
        .and_then(|b| b.with_intra_op_spinning(false))
        .and_then(|b| b.with_inter_op_spinning(false))
        .map_err(|e| runtime(e.into()))?;
    if matches!(state.backend, Backend::Native(_)) {
        // No memory pattern planning for a one-step graph: it made a 4-bar melody's p99 worse
        // with the medians equal (figures: docs/hosts.md, Speed).
        builder = builder.with_memory_pattern(false).map_err(|e| runtime(e.into()))?;
    }
    let session = builder.commit_from_memory(bytes).map_err(runtime)?;
    Ok((session, state.backend.clone()))
}

/// The recurrent state of a decoder between steps: one vector per GRU layer.
#[derive(Clone, Debug, PartialEq)]
pub struct DecoderState(Vec<Vec<f32>>);

impl DecoderState {
    /// The state of each layer, first layer first (for tests and inspection).
    pub fn layers(&self) -> &[Vec<f32>] {
        &self.0
    }
}

/// A loaded model: the decoder, stepped one 16th at a time, and its encoder when there is
/// one. One per worker thread (`Session::run` needs `&mut`).
pub struct Generator {
    session: Session,
    info: ModelInfo,
    name: String,
    backend: Backend,
    encoder: Option<Session>,
    /// The decoder step's input tensors, made once and refilled every step.
    step_inputs: StepInputs,
    decoder_names: Names,
    encoder_names: Names,
}

/// A decoder step's input tensors: the step input, then each layer's state. Made once, so a
/// step makes no tensors (the `generate` bench measures what that saves).
struct StepInputs(Vec<DynValue>);

impl StepInputs {
    fn new(info: &ModelInfo) -> ort::Result<StepInputs> {
        let row = |width: usize| {
            Tensor::from_array(([1usize, width], vec![0f32; width])).map(Tensor::into_dyn)
        };
        let mut values = vec![row(info.step_input())?];
        for _ in 0..info.layers {
            values.push(row(info.hidden)?);
        }
        Ok(StepInputs(values))
    }

    /// Copies the step's input and state in.
    fn fill(&mut self, x: &[f32], state: &DecoderState) -> ort::Result<()> {
        for (value, data) in
            self.0.iter_mut().zip(std::iter::once(x).chain(state.0.iter().map(Vec::as_slice)))
        {
            value.try_extract_tensor_mut::<f32>()?.1.copy_from_slice(data);
        }
        Ok(())
    }
}

impl Generator {
    /// Validates and loads a decoder from memory; `name` identifies it in errors. The backend
    /// must have been chosen with [`init_backend`] (done here with the executable's
    /// directories if not).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Generator, ModelError> {
        let info = validate(bytes, name)?;
        let (session, backend) = session(bytes, name)?;
        let step_inputs = StepInputs::new(&info)
            .map_err(|source| ModelError::Runtime { path: name.to_string(), source })?;
        let decoder_names = Names::new(
            std::iter::once(STEP_INPUT.to_string())
                .chain((0..info.layers).map(state_input))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
            std::iter::once(LOGITS.to_string())
                .chain((0..info.layers).map(state_output))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        );
        let encoder_names = Names::new([ENCODER_INPUT], [MU, LOGVAR]);
        let mut generator = Generator {
            session,
            info,
            name: name.to_string(),
            backend,
            encoder: None,
            step_inputs,
            decoder_names,
            encoder_names,
        };
        // Warm-up: the first run is slower, and a model that cannot run, or runs to
        // non-finite numbers, fails here rather than while playing.
        let mut state = generator.start();
        let x = vec![0.0; generator.info.step_input()];
        let logits = generator.step(&x, &mut state)?;
        if let Some(v) = logits.iter().chain(state.0.iter().flatten()).find(|v| !v.is_finite()) {
            return Err(ModelError::Invalid {
                path: name.to_string(),
                problem: format!("the model computes non-finite values ({v}) on a test step"),
            });
        }
        Ok(generator)
    }

    /// Adds the model's encoder (checked against the decoder: same id, latent size and bars).
    pub fn with_encoder(mut self, bytes: &[u8], name: &str) -> Result<Generator, ModelError> {
        let invalid = |problem: String| ModelError::Invalid { path: name.to_string(), problem };
        let info = validate_role(bytes, name, Role::Encoder)?;
        if info.model_id() != self.info.model_id()
            || info.latent_size != self.info.latent_size
            || info.detail_size != self.info.detail_size
            || info.bars != self.info.bars
        {
            return Err(invalid(format!(
                "this encoder belongs to another model than {}",
                self.name
            )));
        }
        let (session, _) = session(bytes, name)?;
        self.encoder = Some(session);
        let (mu, logvar) = self.encode(&vec![crate::encoding::Token::Rest; self.info.steps()])?;
        if let Some(v) = mu.iter().chain(&logvar).find(|v| !v.is_finite()) {
            self.encoder = None;
            return Err(invalid(format!(
                "the encoder computes non-finite values ({v}) on a test window"
            )));
        }
        Ok(self)
    }

    /// Reads, validates and loads a decoder file, and its encoder (`name.encoder.onnx`) when
    /// that file exists.
    pub fn from_file(path: &Path) -> Result<Generator, ModelError> {
        let name = path.display().to_string();
        let generator = Self::from_bytes(&read_model_file(path)?, &name)?;
        let encoder = encoder_path(path);
        if encoder.exists() {
            let encoder_name = encoder.display().to_string();
            return generator.with_encoder(&read_model_file(&encoder)?, &encoder_name);
        }
        Ok(generator)
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

    /// Whether an encoder is loaded.
    pub fn has_encoder(&self) -> bool {
        self.encoder.is_some()
    }

    /// The decoder's state before the first step (zeros).
    pub fn start(&self) -> DecoderState {
        DecoderState(vec![vec![0.0; self.info.hidden]; self.info.layers])
    }

    /// Runs one decoder step: `x` is the step input ([`crate::encoding::step_input`]);
    /// updates `state` and returns the next token's logits `[VOCAB_SIZE]`.
    pub fn step(&mut self, x: &[f32], state: &mut DecoderState) -> Result<Vec<f32>, ModelError> {
        let name = &self.name;
        let invalid = |problem: String| ModelError::Invalid { path: name.clone(), problem };
        let runtime = |source| ModelError::Runtime { path: name.clone(), source };
        if x.len() != self.info.step_input() {
            return Err(invalid(format!(
                "step input has {} values, the model takes {}",
                x.len(),
                self.info.step_input()
            )));
        }
        if state.0.len() != self.info.layers || state.0.iter().any(|h| h.len() != self.info.hidden)
        {
            return Err(invalid("the decoder state does not belong to this model".into()));
        }
        self.step_inputs.fill(x, state).map_err(runtime)?;
        let mut logits = vec![0f32; VOCAB_SIZE];
        let mut next = self.start();
        {
            let inputs: Vec<&DynValue> = self.step_inputs.0.iter().collect();
            let mut out: Vec<&mut [f32]> = std::iter::once(logits.as_mut_slice())
                .chain(next.0.iter_mut().map(Vec::as_mut_slice))
                .collect();
            session_run::run_into(&self.session, &self.decoder_names, &inputs, &mut out)
                .map_err(runtime)?;
        }
        // A NaN or infinite logit would be sampled as the highest allowed pitch, silently: at
        // any step it is the model's error (the last good melody keeps playing).
        if logits.iter().any(|v| !v.is_finite()) {
            return Err(invalid("the model computed non-finite logits (NaN or infinity); it cannot make a melody from this input".into()));
        }
        for (layer, h) in next.0.iter().enumerate() {
            if h.iter().any(|v| !v.is_finite()) {
                return Err(invalid(format!(
                    "the model computed a non-finite state {layer} (NaN or infinity)"
                )));
            }
        }
        *state = next;
        Ok(logits)
    }

    /// Runs the encoder on a window of tokens in the model's frame (`bars` bars of its meter;
    /// longer windows are cut at `encoder_steps()`): returns (mu, logvar) of the latent point.
    /// Past the window the grid is empty (version 3) or rests (version 2, whose windows are 4/4
    /// only).
    pub fn encode(
        &mut self,
        tokens: &[crate::encoding::Token],
    ) -> Result<(Vec<f32>, Vec<f32>), ModelError> {
        let Encoded { mu, logvar, .. } = self.encode_with_detail(tokens)?;
        Ok((mu, logvar))
    }

    /// [`Generator::encode`], with the window's detail code (empty for a model without one).
    pub fn encode_with_detail(
        &mut self,
        tokens: &[crate::encoding::Token],
    ) -> Result<Encoded, ModelError> {
        let name = &self.name;
        let runtime = |source| ModelError::Runtime { path: name.clone(), source };
        let Some(encoder) = self.encoder.as_mut() else {
            return Err(ModelError::Invalid {
                path: name.clone(),
                problem: "this model has no encoder file".into(),
            });
        };
        let steps = self.info.encoder_steps();
        let pad = (self.info.encoding_version == 2).then_some(crate::encoding::Token::Rest);
        let mut grid = vec![0f32; steps * VOCAB_SIZE];
        for step in 0..steps {
            if let Some(token) = tokens.get(step).copied().or(pad) {
                grid[step * VOCAB_SIZE + token.index()] = 1.0;
            }
        }
        let input =
            Tensor::from_array(([1usize, steps, VOCAB_SIZE], grid)).map_err(runtime)?.into_dyn();
        let width = self.info.decoder_latent();
        let (mut mu, mut logvar) = (vec![0f32; width], vec![0f32; width]);
        session_run::run_into(
            encoder,
            &self.encoder_names,
            &[&input],
            &mut [mu.as_mut_slice(), logvar.as_mut_slice()],
        )
        .map_err(runtime)?;
        let detail = mu.split_off(self.info.latent_size);
        logvar.truncate(self.info.latent_size);
        Ok(Encoded { mu, logvar, detail })
    }
}

/// What the encoder makes of a window.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// Mean of the latent point's posterior.
    pub mu: Vec<f32>,
    /// Its log-variance.
    pub logvar: Vec<f32>,
    /// The window's detail code ([`ModelInfo::detail_size`] values; empty for most models).
    pub detail: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::is_native_library_name;

    #[test]
    fn only_this_platforms_runtime_library_is_tried() {
        let ok = |name: &str| is_native_library_name(Some(name));
        assert!(!ok("libonnxruntime_providers_shared.so") && !ok("LICENSE"));
        assert!(!ok("libonnxruntime_providers_shared.dylib"));
        #[cfg(target_os = "linux")]
        {
            assert!(ok("libonnxruntime.so.1.31.1") && ok("libonnxruntime.so"));
            assert!(!ok("onnxruntime.dll") && !ok("libonnxruntime.dylib"));
        }
        #[cfg(windows)]
        {
            assert!(ok("onnxruntime.dll") && ok("ONNXRUNTIME.DLL"));
            assert!(!ok("libonnxruntime.so.1.31.1"));
        }
        #[cfg(target_os = "macos")]
        {
            assert!(ok("libonnxruntime.dylib") && ok("libonnxruntime.1.31.1.dylib"));
            assert!(!ok("libonnxruntime.so.1.31.1") && !ok("onnxruntime.dll"));
        }
    }
}
