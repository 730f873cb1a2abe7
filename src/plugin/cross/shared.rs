//! What an instance's threads share, in two types by who may touch them:
//! - [`AudioTelemetry`]: atomics only, the one shared value `process()` holds (playhead,
//!   tempo, refused events, whether the worker lives);
//! - [`WorkerLink`]: the main thread's and the editor's line to the worker: its wake-up
//!   (parameter callbacks, which may run on the audio thread, only bump an atomic counter and
//!   unpark the worker: a futex wake, no lock, no allocation), its report, the commands to it
//!   (a bounded `crossbeam-channel` whose sender drops the oldest when full), the editor's
//!   action in progress, and [`Handled`], which the main thread (and, through an
//!   [`OfflineWaiter`], an offline render's audio thread) waits on. It holds mutexes: the
//!   real-time audio thread never sees it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::encoding::Meter;
use crate::music::key_finding::Key;
pub use crate::plugin::cross::wake::Wake;
use crate::plugin::worker::params::NeumeParams;
use crate::plugin::worker::request::Request;

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
    /// What the loaded model's knobs move (`Density` …, `Latent 6` …), in knob order.
    pub knob_names: Vec<String>,
    /// The named knobs' attributes and latent dimensions (what the ratings' words speak of).
    pub knob_dims: Vec<(crate::music::attributes::Attribute, usize)>,
    /// The meters the loaded model knows (`2/4, 3/4, …`).
    pub meters: String,
    /// Why the last model file asked for did not load (the previous model plays on);
    /// cleared when a model loads.
    pub model_error: Option<String>,
    /// Why the last generation failed; cleared by the next one that succeeds.
    pub error: Option<String>,
    /// What happened to the project's stored melody when it was restored, if anything but
    /// playing as stored (a newer Neume's state, or a melody it could not play).
    pub state_note: Option<String>,
    /// How the song's meter is played, when not as it is (12/8 as 6/8, 5/4 not at all), or
    /// that the model does not know it.
    pub meter_note: Option<String>,
    /// The key Key from "MIDI input" follows and where it was heard, once one is.
    pub key_heard: Option<(Key, KeySource)>,
    /// What became of the last clip captured (for the editor).
    pub clip_note: Option<String>,
    /// That the melody playing copies a tune the model learned from: the tune and the bars
    /// (see [`crate::music::copies`]); `None` when it is new or the model has no index.
    pub copy_note: Option<String>,
    /// Wall time of the last generation, in milliseconds.
    pub last_generation_ms: f32,
    /// The request that made the stored melody (for the editor's history).
    pub made_from: Option<Request>,
    /// Melodies generated so far.
    pub generations: u64,
}

/// Where the key that Key from "MIDI input" follows was heard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// In the clip (captured, dropped or loaded), until the input hears a new key.
    Clip,
    /// In the notes played into Neume's MIDI input.
    Input,
}

/// How long an editor action waits for the host to apply its parameter changes before the
/// parameters as they are win (a host that never applies them).
pub const ACTION_TIMEOUT: Duration = Duration::from_secs(2);

/// What the audio thread writes for the editor and the worker: atomics only.
#[derive(Debug)]
pub struct AudioTelemetry {
    /// False once the worker thread has ended (set by the worker, or by the audio thread
    /// when it finds the hand-off abandoned).
    pub worker_alive: AtomicBool,
    /// Playhead in melody steps, written by the audio thread after each block.
    pub position_steps: atomic_float::AtomicF32,
    /// Note events the host's output buffer refused (should stay 0).
    pub dropped_events: AtomicU64,
    /// The host's tempo as of the last block, written by the audio thread (for saved files).
    pub tempo_bpm: atomic_float::AtomicF32,
    /// The host's time signature as of the last block, `numerator << 8 | denominator`; 0
    /// when it gives none. The audio thread wakes the worker when it changes.
    pub host_signature: AtomicU16,
    /// The key of the notes played into Neume ([`Key::code`]; 0 before one is heard). The
    /// audio thread wakes the worker when it changes and the key comes from the input.
    pub heard_key: AtomicU8,
    /// The key of the melody the editor auditions (0: none), as of the last block.
    pub audition: AtomicU64,
    /// What Capture is doing ([`crate::plugin::audio::capture::Phase`] as a number), as of the last block.
    pub capture: AtomicU8,
}

impl AudioTelemetry {
    /// The key of what was played into Neume, once one is heard.
    pub fn heard_key(&self) -> Option<Key> {
        Key::from_code(self.heard_key.load(Ordering::Relaxed))
    }

    /// The host's time signature `(numerator, denominator)`, if it gives one.
    pub fn host_signature(&self) -> Option<(u8, u8)> {
        let code = self.host_signature.load(Ordering::Relaxed);
        (code != 0).then_some(((code >> 8) as u8, code as u8))
    }

    /// The meter melodies are made in for the host's time signature, and a note when it is
    /// not one Neume plays as it is (`None`: the host gives none; Neume plays 4/4).
    pub fn host_meter(&self) -> (Option<Meter>, Option<String>) {
        let Some((n, d)) = self.host_signature() else { return (None, None) };
        match Meter::for_signature(n, d) {
            Some((meter, 1)) => (Some(meter), None),
            Some((meter, k)) => (
                Some(meter),
                Some(format!(
                    "the song is in {n}/{d}: Neume plays {k} bars of {meter} in each bar"
                )),
            ),
            None => (
                None,
                Some(format!(
                    "the song is in {n}/{d}, which Neume does not play: its melodies are in 4/4, \
                     each bar starting on one of the song's bar lines"
                )),
            ),
        }
    }
}

impl Default for AudioTelemetry {
    fn default() -> Self {
        AudioTelemetry {
            worker_alive: AtomicBool::new(false),
            position_steps: atomic_float::AtomicF32::new(0.0),
            dropped_events: AtomicU64::new(0),
            tempo_bpm: atomic_float::AtomicF32::new(120.0),
            host_signature: AtomicU16::new(0),
            heard_key: AtomicU8::new(0),
            audition: AtomicU64::new(0),
            capture: AtomicU8::new(0),
        }
    }
}

/// The highest wake-up number the worker has fully handled (melody published), which the
/// main thread and an offline render wait on. Written by the worker.
#[derive(Debug, Default)]
pub struct Handled {
    n: Mutex<u64>,
    changed: Condvar,
}

impl Handled {
    /// Waits until wake-up `n` is handled, up to `timeout` or until `telemetry` says the
    /// worker ended; runs `between` at least every few milliseconds meanwhile. Returns whether
    /// it was handled. Main thread, or an offline render's audio thread (see
    /// [`OfflineWaiter`]): never real-time audio.
    pub fn wait(
        &self,
        n: u64,
        timeout: Duration,
        telemetry: &AudioTelemetry,
        mut between: impl FnMut(),
    ) -> bool {
        let deadline = Instant::now() + timeout;
        // A poisoned lock only means a worker panicked while holding it; the number is valid.
        let mut handled = self.n.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            between();
            if *handled >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || !telemetry.worker_alive.load(Ordering::Acquire) {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(2));
            handled = self.changed.wait_timeout(handled, wait).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    pub(in crate::plugin) fn set(&self, n: u64) {
        let mut handled = self.n.lock().unwrap_or_else(|e| e.into_inner());
        if n > *handled {
            *handled = n;
            self.changed.notify_all();
        }
    }
}

/// What lets an offline render's `process()` wait for the melody of its parameter changes.
/// Made at activation only when the host renders offline: a real-time `process()` has none,
/// so it cannot wait.
pub struct OfflineWaiter {
    wake: Arc<Wake>,
    handled: Arc<Handled>,
}

impl OfflineWaiter {
    /// Waits, at most `timeout`, until the worker has handled every wake-up so far; runs
    /// `between` meanwhile (to take melodies).
    pub fn wait_for_latest(
        &self,
        timeout: Duration,
        telemetry: &AudioTelemetry,
        between: impl FnMut(),
    ) -> bool {
        self.handled.wait(self.wake.last(), timeout, telemetry, between)
    }
}

/// The line to an instance's worker, for the main thread, the editor and the worker itself.
#[derive(Debug)]
pub struct WorkerLink {
    /// Wakes the worker.
    pub wake: Arc<Wake>,
    /// The worker's report. Never touched by the audio thread.
    pub status: parking_lot::Mutex<WorkerStatus>,
    /// What the worker has handled.
    pub handled: Arc<Handled>,
    /// What the audio thread reports.
    pub telemetry: Arc<AudioTelemetry>,
    /// An editor action's whole request (Generate, Store A/B, Undo). It stands for the
    /// parameters until the host has applied the action's parameter changes, or for at most
    /// [`ACTION_TIMEOUT`], so the worker never generates from a mix of old and new values.
    pub action: parking_lot::Mutex<Option<(Request, Instant)>>,
    /// The model the worker plays, for the editor to sing Generate's candidates with (it
    /// locks the model as the worker does; never the audio thread).
    pub model: PlayedModel,
    /// The candidate the worker chose for the editor's Generate with ratings (see
    /// [`Command::Judge`]), until the editor takes it.
    pub judged: parking_lot::Mutex<Option<Request>>,
    /// Commands to the worker (main thread and editor only).
    commands: Sender<Command>,
    /// The receiving end: the worker's, and the sender's for dropping the oldest command.
    pub(in crate::plugin) command_queue: Receiver<Command>,
}

/// The model the worker plays (see [`WorkerLink::model`]).
#[derive(Default)]
pub struct PlayedModel(parking_lot::Mutex<Option<crate::plugin::worker::models::SharedGenerator>>);

impl std::fmt::Debug for PlayedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlayedModel")
    }
}

impl PlayedModel {
    /// The model, once the worker has one.
    pub fn get(&self) -> Option<crate::plugin::worker::models::SharedGenerator> {
        self.0.lock().clone()
    }

    /// The worker installs a model.
    pub fn set(&self, model: crate::plugin::worker::models::SharedGenerator) {
        *self.0.lock() = Some(model);
    }
}

impl Default for WorkerLink {
    fn default() -> Self {
        let (commands, command_queue) = crossbeam_channel::bounded(8);
        WorkerLink {
            wake: Arc::default(),
            status: parking_lot::Mutex::default(),
            handled: Arc::default(),
            telemetry: Arc::default(),
            action: parking_lot::Mutex::new(None),
            judged: parking_lot::Mutex::new(None),
            model: PlayedModel::default(),
            commands,
            command_queue,
        }
    }
}

impl WorkerLink {
    /// The request to make a melody for now: an editor action's until the parameters have
    /// caught up with it (then it is cleared), else the parameters'. Neither says the host's
    /// meter (the worker adds it): an action taken from the history, which does, is compared
    /// without it.
    pub fn current_request(&self, params: &NeumeParams) -> Request {
        let from_params = Request::read(params);
        let mut action = self.action.lock();
        match action.as_ref() {
            Some((request, since))
                if request.choice_identity() != from_params.choice_identity()
                    && since.elapsed() < ACTION_TIMEOUT =>
            {
                request.clone().in_meter(None)
            }
            Some(_) => {
                *action = None;
                from_params
            }
            None => from_params,
        }
    }

    /// Starts an editor action: `request` stands for the parameters (see
    /// [`WorkerLink::current_request`]) while the host applies its changes; wakes the worker.
    pub fn act(&self, request: Request) {
        *self.action.lock() = Some((request, Instant::now()));
        self.wake.wake();
    }

    /// Brings a pending editor action along with a change the editor writes into the
    /// parameters directly (a clip or chords loaded from a file), so that until the action
    /// expires it does not stand for the parameters as they were before that change.
    pub fn amend_action(&self, change: impl FnOnce(&mut Request)) {
        if let Some((request, _)) = self.action.lock().as_mut() {
            change(request);
        }
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

    /// Waits (main thread) until wake-up `n` is handled, up to `timeout`; runs `between`
    /// meanwhile. Returns whether it was handled.
    pub fn wait_handled(&self, n: u64, timeout: Duration, between: impl FnMut()) -> bool {
        self.handled.wait(n, timeout, &self.telemetry, between)
    }

    /// What an offline render's `process()` waits with.
    pub fn offline_waiter(&self) -> OfflineWaiter {
        OfflineWaiter { wake: self.wake.clone(), handled: self.handled.clone() }
    }

    pub(in crate::plugin) fn report(&self, f: impl FnOnce(&mut WorkerStatus)) {
        f(&mut self.status.lock());
    }
}

/// Commands from the main thread or the editor.
#[derive(Debug)]
pub enum Command {
    /// Load this model file; on success it replaces the current model and is saved with the
    /// project, on failure the current one keeps playing and the error is reported.
    LoadModel(PathBuf),
    /// Generate with ratings: sing each candidate with the model the worker plays, judge it by
    /// its point and its notes with the taste, and leave the one picked in
    /// [`WorkerLink::judged`] for the editor to play (the singing, up to 64 × Bars melodies,
    /// stays off the GUI thread).
    Judge(Judging),
    /// End the thread.
    Shutdown,
}

/// What the worker judges for a Generate with ratings.
#[derive(Debug)]
pub struct Judging {
    /// The candidates, each a whole request.
    pub candidates: Vec<Request>,
    /// The taste they are judged by.
    pub taste: crate::taste::preference::Preference,
    /// The dice of the pick.
    pub seed: u64,
}
