//! The worker thread: one per plugin instance. It loads the model, runs it when the
//! parameters change, and hands finished melodies to the audio thread.
//!
//! Wake-ups: parameter callbacks (which may run on the audio thread) only bump an atomic
//! counter and unpark this thread (a futex wake: no lock, no allocation). Commands from the
//! main thread and the editor (load a model, shut down) come through a bounded
//! `crossbeam-channel` whose sender drops the oldest command when full. Melodies go to the
//! audio thread through an `rtrb` ring of `Copy` [`PlayMelody`] values.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::{JoinHandle, Thread};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::audio_thread::PlayMelody;
use super::models::{self, SharedGenerator};
use super::params::{NeumeParams, SavedMelody, LATENT_KNOBS, STATE_VERSION};
use crate::generate::{draw_latent, generate, GenerateOptions, Rng};
use crate::runtime;

/// How the worker is woken. Shared by the parameters' callbacks, the plugin and the worker.
#[derive(Debug, Default)]
pub struct Wake {
    /// Wake-ups requested so far; the worker reports how many it has handled.
    requested: AtomicU64,
    /// The worker thread, once it runs.
    thread: OnceLock<Thread>,
}

impl Wake {
    /// The number of the last wake-up requested.
    pub fn last(&self) -> u64 {
        self.requested.load(Ordering::Acquire)
    }

    /// Asks the worker to look at the parameters again; returns the request's number.
    /// Real-time safe: an atomic add and, when the worker sleeps, a futex wake.
    pub fn wake(&self) -> u64 {
        let n = self.requested.fetch_add(1, Ordering::AcqRel) + 1;
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
        n
    }
}

/// What the worker reports, for the editor and the tests. Written by the worker only.
#[derive(Clone, Debug, Default)]
pub struct WorkerStatus {
    /// The model in use (`default` or a path).
    pub model_name: String,
    /// The backend running it.
    pub backend: String,
    /// Identifies the model's latent space for ratings: its `neume.model_id` (a hash of its
    /// decoder file), else its name. A new default model gets a new id, so points rated on
    /// another latent space never steer it.
    pub model_id: String,
    /// Where the model comes from: its training collections and their licence (from its
    /// metadata; empty when it does not say).
    pub provenance: String,
    /// Why the last model file asked for did not load (the previous model plays on);
    /// cleared when a model loads.
    pub model_error: Option<String>,
    /// Why the last generation failed; cleared by the next one that succeeds.
    pub error: Option<String>,
    /// What happened to the project's stored melody when it was restored, if anything but
    /// playing as stored (a newer Neume's state, or a melody it could not play).
    pub state_note: Option<String>,
    /// Wall time of the last generation, in milliseconds.
    pub last_generation_ms: f32,
    /// The request that made the stored melody (for the editor's history).
    pub made_from: Option<Request>,
    /// Melodies generated so far.
    pub generations: u64,
}

/// How long an editor action waits for the host to apply its parameter changes before the
/// parameters as they are win (a host that never applies them).
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(2);

/// Shared between the plugin (main and audio thread), the editor and the worker.
#[derive(Debug)]
pub struct Shared {
    /// Wakes the worker.
    pub wake: Arc<Wake>,
    /// The worker's report. Never touched by the audio thread.
    pub status: parking_lot::Mutex<WorkerStatus>,
    /// The highest wake-up number the worker has fully handled (melody published).
    handled: Mutex<u64>,
    /// Signalled when `handled` grows.
    handled_changed: Condvar,
    /// False once the worker thread has ended (set by the worker, or by the audio thread
    /// when it finds the ring abandoned).
    pub worker_alive: AtomicBool,
    /// Playhead in melody steps, written by the audio thread after each block.
    pub position_steps: atomic_float::AtomicF32,
    /// Note events the host's output buffer refused (should stay 0).
    pub dropped_events: AtomicU64,
    /// The host's tempo as of the last block, written by the audio thread (for saved files).
    pub tempo_bpm: atomic_float::AtomicF32,
    /// An editor action's whole request (Generate, Store A/B, Undo). It stands for the
    /// parameters until the host has applied the action's parameter changes, or for at most
    /// [`ACTION_TIMEOUT`], so the worker never generates from a mix of old and new values.
    pub action: parking_lot::Mutex<Option<(Request, Instant)>>,
    /// Commands to the worker (main thread and editor only).
    commands: Sender<Command>,
    /// The receiving end: the worker's, and the sender's for dropping the oldest command.
    command_queue: Receiver<Command>,
}

impl Default for Shared {
    fn default() -> Self {
        let (commands, command_queue) = crossbeam_channel::bounded(8);
        Shared {
            wake: Arc::default(),
            status: parking_lot::Mutex::default(),
            handled: Mutex::new(0),
            handled_changed: Condvar::new(),
            worker_alive: AtomicBool::new(false),
            position_steps: atomic_float::AtomicF32::new(0.0),
            dropped_events: AtomicU64::new(0),
            tempo_bpm: atomic_float::AtomicF32::new(120.0),
            action: parking_lot::Mutex::new(None),
            commands,
            command_queue,
        }
    }
}

impl Shared {
    /// The request to make a melody for now: an editor action's until the parameters have
    /// caught up with it (then it is cleared), else the parameters'.
    pub fn current_request(&self, params: &NeumeParams) -> Request {
        let from_params = Request::read(params);
        let mut action = self.action.lock();
        match action.as_ref() {
            Some((request, since)) if request.key() != from_params.key() && since.elapsed() < ACTION_TIMEOUT => request.clone(),
            Some(_) => {
                *action = None;
                from_params
            }
            None => from_params,
        }
    }

    /// Starts an editor action: `request` stands for the parameters (see
    /// [`Shared::current_request`]) while the host applies its changes; wakes the worker.
    pub fn act(&self, request: Request) {
        *self.action.lock() = Some((request, Instant::now()));
        self.wake.wake();
    }

    /// Sends a command to the worker (main thread or editor); when eight are already
    /// waiting, the oldest is dropped.
    pub fn send(&self, mut command: Command) {
        loop {
            match self.commands.try_send(command) {
                Ok(()) => break,
                Err(TrySendError::Full(c)) => {
                    command = c;
                    let _ = self.command_queue.try_recv();
                }
                Err(TrySendError::Disconnected(_)) => break,
            }
        }
        self.wake.wake();
    }

    /// Waits until wake-up `n` is handled, up to `timeout`; runs `between` at least every few
    /// milliseconds meanwhile. Returns whether it was handled. Main thread, or the audio
    /// thread of an offline render (which may wait: it is not real time).
    pub fn wait_handled(&self, n: u64, timeout: Duration, mut between: impl FnMut()) -> bool {
        let deadline = Instant::now() + timeout;
        // A poisoned lock only means a worker panicked while holding it; the number is valid.
        let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            between();
            if *handled >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || !self.worker_alive.load(Ordering::Acquire) {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(2));
            handled = self.handled_changed.wait_timeout(handled, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    fn set_handled(&self, n: u64) {
        let mut handled = self.handled.lock().unwrap_or_else(|e| e.into_inner());
        if n > *handled {
            *handled = n;
            self.handled_changed.notify_all();
        }
    }

    fn report(&self, f: impl FnOnce(&mut WorkerStatus)) {
        f(&mut self.status.lock());
    }
}

/// Commands from the main thread or the editor.
#[derive(Debug)]
pub enum Command {
    /// Load this model file; on success it replaces the current model and is saved with the
    /// project, on failure the current one keeps playing and the error is reported.
    LoadModel(PathBuf),
    /// End the thread.
    Shutdown,
}

/// The plugin's handle on its worker; ends the thread when dropped.
pub struct WorkerHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Starts the worker thread. `dirs` are where to look for the native ONNX Runtime.
    pub fn spawn(params: Arc<NeumeParams>, shared: Arc<Shared>, to_audio: rtrb::Producer<PlayMelody>, dirs: Vec<PathBuf>) -> std::io::Result<WorkerHandle> {
        let commands = shared.command_queue.clone();
        let worker_shared = shared.clone();
        shared.worker_alive.store(true, Ordering::Release);
        let thread = std::thread::Builder::new().name("neume-worker".into()).spawn(move || {
            let mut worker = Worker { params, shared: worker_shared, commands, to_audio, generator: None, loaded_path: None, published_key: None, unpublished: None, dirs };
            worker.run();
            worker.shared.worker_alive.store(false, Ordering::Release);
        })?;
        // Set once here, before any wake-up can need it; a second spawn is never made.
        let _ = shared.wake.thread.set(thread.thread().clone());
        thread.thread().unpark();
        Ok(WorkerHandle { shared, thread: Some(thread) })
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.shared.send(Command::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The worker's own state; lives on the worker thread.
struct Worker {
    params: Arc<NeumeParams>,
    shared: Arc<Shared>,
    commands: Receiver<Command>,
    to_audio: rtrb::Producer<PlayMelody>,
    /// The model in use: the last one that loaded (shared with other instances).
    generator: Option<SharedGenerator>,
    /// Which model `generator` was loaded for (`Some(None)` = the default).
    loaded_path: Option<Option<String>>,
    /// Key of the melody last handed to the audio thread.
    published_key: Option<u64>,
    /// A melody the full ring could not take yet.
    unpublished: Option<PlayMelody>,
    dirs: Vec<PathBuf>,
}

/// Everything that decides a melody, read from the parameters at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Latent knob values, in standard deviations.
    pub knobs: [f32; LATENT_KNOBS],
    /// Share of the model's tuned temperature.
    pub variation: f32,
    /// Seed of the base point and of sampling.
    pub seed: u64,
    /// Melody length, 1..=16.
    pub bars: usize,
    /// Tonic, 0 = C.
    pub key_root: u8,
    /// Index of the scale parameter's variant.
    pub scale_index: usize,
    /// A↔B position, 0..=1 (counts only when both points exist).
    pub morph: f32,
    /// Stored point A.
    pub point_a: Option<Vec<f32>>,
    /// Stored point B.
    pub point_b: Option<Vec<f32>>,
    /// A base point drawn by the editor (steered by ratings); replaces the seed's point.
    pub base_point: Option<Vec<f32>>,
    /// A user model file; `None` = the embedded default model.
    pub model_path: Option<String>,
}

impl Request {
    /// Reads the parameters and the stored points.
    pub fn read(params: &NeumeParams) -> Request {
        use nice_plug::prelude::Enum;
        Request {
            knobs: params.knobs(),
            variation: params.variation.value(),
            seed: params.seed.value().max(0) as u64,
            bars: params.bars.value().clamp(1, 16) as usize,
            key_root: params.key_root.value().clamp(0, 11) as u8,
            scale_index: params.scale.value().to_index(),
            morph: params.morph.value(),
            point_a: params.point_a.read().clone(),
            point_b: params.point_b.read().clone(),
            base_point: params.base_point.read().clone(),
            model_path: params.model_path.read().clone(),
        }
    }

    /// The A↔B points when both are stored.
    fn morph_points(&self) -> Option<(&[f32], &[f32])> {
        match (&self.point_a, &self.point_b) {
            (Some(a), Some(b)) if a.len() == b.len() => Some((a, b)),
            _ => None,
        }
    }

    /// A stable 64-bit key (FNV-1a): equal requests make equal melodies.
    pub fn key(&self) -> u64 {
        let mut h = Fnv::default();
        h.bytes(b"neume-request-1");
        h.bytes(self.model_path.as_deref().unwrap_or("").as_bytes());
        self.knobs.iter().for_each(|k| h.u64(u64::from(k.to_bits())));
        h.u64(u64::from(self.variation.to_bits()));
        h.u64(self.seed);
        h.u64(self.bars as u64);
        h.u64(u64::from(self.key_root));
        h.u64(self.scale_index as u64);
        if let Some((a, b)) = self.morph_points() {
            h.u64(u64::from(self.morph.to_bits()));
            a.iter().chain(b).for_each(|v| h.u64(u64::from(v.to_bits())));
        }
        if let Some(base) = &self.base_point {
            h.bytes(b"base");
            base.iter().for_each(|v| h.u64(u64::from(v.to_bits())));
        }
        h.0
    }

    /// The latent point: the A↔B blend when both are stored, else the editor's base point,
    /// else the seed's point; moved by the knobs along the model's directions. `None` when it
    /// is exactly the seed's point (drawn inside `generate`, so the plugin and
    /// `neume generate --seed` agree).
    pub fn latent(&self, info: &runtime::ModelInfo) -> Option<Vec<f32>> {
        let n = info.latent_size;
        let base = self
            .morph_points()
            .filter(|(a, _)| a.len() == n)
            .map(|(a, b)| a.iter().zip(b).map(|(a, b)| a + (b - a) * self.morph).collect::<Vec<f32>>())
            .or_else(|| self.base_point.clone().filter(|p| p.len() == n));
        if base.is_none() && self.knobs.iter().all(|k| *k == 0.0) {
            return None;
        }
        let mut z = base.unwrap_or_else(|| self.seed_point(n));
        for (knob, (scale, direction)) in self.knobs.iter().zip(info.knob_directions(LATENT_KNOBS)) {
            z.iter_mut().zip(&direction).for_each(|(v, d)| *v += knob * scale * d);
        }
        Some(z)
    }

    /// The seed's latent point: what `generate` draws first from the seed's generator.
    pub fn seed_point(&self, latent_size: usize) -> Vec<f32> {
        draw_latent(&mut Rng::new(self.seed), latent_size)
    }

    /// Generation options for a model with `info`.
    pub fn options(&self, info: &runtime::ModelInfo) -> GenerateOptions {
        use nice_plug::prelude::Enum;
        GenerateOptions {
            bars: self.bars,
            seed: self.seed,
            temperature: Some(info.temperature * self.variation.max(0.0)),
            key_root: self.key_root,
            scale: Some(super::params::ScaleChoice::from_index(self.scale_index).scale()),
            latent: self.latent(info),
        }
    }
}

/// FNV-1a, 64 bit: stable across builds and platforms (unlike `DefaultHasher`).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }

    /// A byte string, ended by 0xff so that neighbouring strings cannot run together.
    fn bytes(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.byte(b));
        self.byte(0xff);
    }

    fn u64(&mut self, v: u64) {
        v.to_le_bytes().into_iter().for_each(|b| self.byte(b));
    }
}

/// A stored melody as the audio thread holds it.
fn play_melody(saved: &SavedMelody) -> PlayMelody {
    PlayMelody::from_melody(&saved.melody(), saved.key)
}

impl Worker {
    fn run(&mut self) {
        // The backend (native library or tract) is chosen once per process, from the plugin's
        // own folder; every model this worker loads runs on it.
        runtime::init_backend(&runtime::native_library_candidates(&self.dirs));
        loop {
            let seen = self.shared.wake.requested.load(Ordering::Acquire);
            while let Ok(command) = self.commands.try_recv() {
                match command {
                    Command::Shutdown => return,
                    Command::LoadModel(path) => self.load_user_model(path),
                }
            }
            // A panic in a model run must not end the thread: the last good melody plays on.
            if catch_unwind(AssertUnwindSafe(|| self.refresh())).is_err() {
                self.shared.report(|s| s.error = Some("generating a melody failed unexpectedly; the last good melody keeps playing".into()));
            }
            self.flush();
            if self.unpublished.is_none() {
                self.shared.set_handled(seen);
            }
            if self.shared.wake.requested.load(Ordering::Acquire) == seen {
                // Woken early by `Wake::wake`; the timeout retries a melody the full ring refused.
                std::thread::park_timeout(if self.unpublished.is_some() { Duration::from_millis(2) } else { Duration::from_millis(500) });
            }
        }
    }

    /// Makes sure the melody of the current parameters is generated and handed over.
    fn refresh(&mut self) {
        let request = self.shared.current_request(&self.params);
        let key = request.key();
        let stored = self.params.melody.read().clone();
        if let Some(saved) = stored.as_ref().filter(|s| s.key == key) {
            match saved.check() {
                Ok(()) => {
                    if self.published_key != Some(key) {
                        self.publish(play_melody(saved));
                        if saved.version > STATE_VERSION {
                            let note = format!("This project was saved by a newer Neume (state version {}); its melody plays as stored.", saved.version);
                            self.shared.report(|s| s.state_note = Some(note));
                        }
                    }
                    return;
                }
                // Never a silent change of the notes: say why a new melody replaces it.
                Err(problem) => self.shared.report(|s| s.state_note = Some(format!("{problem}: a new melody was made from the parameters"))),
            }
        }
        self.ensure_model(&request.model_path);
        let Some(model) = self.generator.clone() else { return };
        let mut generator = model.lock();
        let options = request.options(generator.info());
        let started = Instant::now();
        let melody = match generate(&mut generator, &options) {
            Ok(m) => m,
            Err(e) => {
                self.shared.report(|s| s.error = Some(e.to_string()));
                return;
            }
        };
        let elapsed_ms = started.elapsed().as_secs_f32() * 1000.0;
        let latent = options.latent.unwrap_or_else(|| request.seed_point(generator.info().latent_size));
        drop(generator);
        let saved = SavedMelody::new(key, &melody, latent);
        {
            let mut slot = self.params.melody.write();
            if slot.as_ref().map(|s| s.key) != stored.as_ref().map(|s| s.key) {
                // The host restored a project meanwhile: its melody wins; look again.
                drop(slot);
                self.shared.wake.requested.fetch_add(1, Ordering::AcqRel);
                return;
            }
            *slot = Some(saved.clone());
        }
        self.shared.report(|s| {
            s.made_from = Some(request.clone());
            s.last_generation_ms = elapsed_ms;
            s.generations += 1;
            s.error = None;
        });
        self.publish(play_melody(&saved));
    }

    fn publish(&mut self, melody: PlayMelody) {
        self.published_key = Some(melody.key);
        self.unpublished = Some(melody);
        self.flush();
    }

    /// Hands the newest melody to the audio thread if the ring has room.
    fn flush(&mut self) {
        if let Some(melody) = self.unpublished.take() {
            if let Err(rtrb::PushError::Full(melody)) = self.to_audio.push(melody) {
                self.unpublished = Some(melody);
            }
        }
    }

    /// Loads the model the state names, once; a missing or bad file is reported and the
    /// default model (or the last good one) is used instead.
    fn ensure_model(&mut self, path: &Option<String>) {
        if self.generator.is_some() && self.loaded_path.as_ref() == Some(path) {
            return;
        }
        self.loaded_path = Some(path.clone());
        if let Some(p) = path {
            if self.try_model_file(std::path::Path::new(p)) || self.generator.is_some() {
                return;
            }
        }
        match models::default_model() {
            Ok(g) => self.install(g),
            Err(e) => self.shared.report(|s| s.error = Some(e.to_string())),
        }
    }

    fn install(&mut self, model: SharedGenerator) {
        {
            let generator = model.lock();
            let (name, backend) = (generator.name().to_string(), generator.backend().to_string());
            let provenance = generator.info().provenance();
            let model_id = generator.info().model_id().map_or_else(|| name.clone(), |id| format!("id:{id}"));
            self.shared.report(|s| {
                s.model_id = model_id;
                s.model_name = name;
                s.backend = backend;
                s.provenance = provenance;
            });
        }
        self.generator = Some(model);
    }

    /// Loads a model file (or takes it from another instance that has) and installs it; on
    /// failure reports why and keeps the current one.
    fn try_model_file(&mut self, path: &std::path::Path) -> bool {
        match models::model_file(path) {
            Ok(g) => {
                self.shared.report(|s| s.model_error = None);
                self.install(g);
                true
            }
            Err(e) => {
                self.shared.report(|s| s.model_error = Some(e.to_string()));
                false
            }
        }
    }

    /// A model file chosen by the user: kept, and saved with the project, only if it loads
    /// and runs.
    fn load_user_model(&mut self, path: PathBuf) {
        if self.try_model_file(&path) {
            let p = path.display().to_string();
            *self.params.model_path.write() = Some(p.clone());
            self.loaded_path = Some(Some(p));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_change_with_what_shapes_the_melody() {
        let base = Request { knobs: [0.0; LATENT_KNOBS], variation: 1.0, seed: 1, bars: 4, key_root: 0, scale_index: 0, morph: 0.0, point_a: None, point_b: None, base_point: None, model_path: None };
        let k = base.key();
        assert_eq!(k, base.clone().key());
        assert_ne!(k, Request { seed: 2, ..base.clone() }.key());
        assert_ne!(k, Request { knobs: [0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], ..base.clone() }.key());
        assert_ne!(k, Request { model_path: Some("x.onnx".into()), ..base.clone() }.key());
        // Morph only counts once both points exist.
        assert_eq!(k, Request { morph: 0.5, ..base.clone() }.key());
        let ab = Request { point_a: Some(vec![0.0; 4]), point_b: Some(vec![1.0; 4]), ..base.clone() };
        assert_ne!(ab.key(), Request { morph: 0.5, ..ab.clone() }.key());
        assert_ne!(k, Request { base_point: Some(vec![0.5; 4]), ..base.clone() }.key());
    }
}
