//! The worker thread: one per plugin instance. It loads the model (shared with other
//! instances, see [`crate::plugin::worker::models`]), runs it when the parameters change or the editor acts,
//! and hands finished melodies to the audio thread (see [`crate::plugin::cross::handoff`]). It is woken and
//! commanded through [`WorkerLink`].

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use crate::model::runtime;
use crate::music::attributes::Attribute;
use crate::music::chords::Progression;
use crate::music::copies::{self, CopyIndex};
use crate::music::key_finding::{melody_key, Key};
use crate::plugin::audio::capture::CapturedClip;
use crate::plugin::cross::handoff::{self, MelodySender, PlayMelody};
use crate::plugin::cross::shared::{Command, Judging, KeySource, WorkerLink};
use crate::plugin::worker::models::{self, SharedGenerator};
use crate::plugin::worker::params::{CaptureWhat, KeyFrom, NeumeParams, MAX_CHORDS_TEXT};
use crate::plugin::worker::request::Request;
use crate::plugin::worker::state::{SavedMelody, STATE_VERSION};
use crate::taste::preference;

/// The plugin's handle on its worker; ends the thread when dropped.
pub struct WorkerHandle {
    shared: Arc<WorkerLink>,
    thread: Option<JoinHandle<()>>,
}

impl WorkerHandle {
    /// Starts the worker thread. `dirs` are where to look for the native ONNX Runtime.
    pub fn spawn(
        params: Arc<NeumeParams>,
        shared: Arc<WorkerLink>,
        to_audio: MelodySender,
        from_capture: handoff::Receiver<CapturedClip>,
        dirs: Vec<PathBuf>,
    ) -> std::io::Result<WorkerHandle> {
        let commands = shared.command_queue.clone();
        let worker_shared = shared.clone();
        shared.telemetry.worker_alive.store(true, Ordering::Release);
        let thread = std::thread::Builder::new().name("neume-worker".into()).spawn(move || {
            let mut worker = Worker {
                params,
                shared: worker_shared,
                commands,
                to_audio,
                from_capture,
                clip_seen: None,
                clip_key: None,
                generator: None,
                loaded_path: None,
                published_key: None,
                playing: None,
                dirs,
                heard_chords: None,
                copies: None,
            };
            worker.run();
            worker.shared.telemetry.worker_alive.store(false, Ordering::Release);
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
    shared: Arc<WorkerLink>,
    commands: Receiver<Command>,
    to_audio: MelodySender,
    /// Clips captured on the audio thread.
    from_capture: handoff::Receiver<CapturedClip>,
    /// The clip last seen in the state, and its key with the input's key code when it came:
    /// the clip's key stands for the input's until the input hears a new one.
    clip_seen: Option<crate::plugin::worker::state::SavedMelody>,
    clip_key: Option<(Key, u8)>,
    /// The model in use: the last one that loaded (shared with other instances).
    generator: Option<SharedGenerator>,
    /// Which model `generator` was loaded for (`Some(None)` = the default).
    loaded_path: Option<Option<String>>,
    /// Key of the melody last handed to the audio thread.
    published_key: Option<u64>,
    /// The melody in the project's state that plays (the worker's own, or one the host
    /// restored), with the request key it stands for: it keeps playing, whatever key it was
    /// saved with, until the request changes from this one.
    playing: Option<(SavedMelody, u64)>,
    dirs: Vec<PathBuf>,
    /// Follow chords: the progression the last take was heard as (it is taken once a second
    /// take agrees).
    heard_chords: Option<String>,
    /// The copy index of the model in use (the default model's, or `name.copies` beside a
    /// model file with its id), when it has one.
    copies: Option<Arc<CopyIndex>>,
}

/// The copy index of a loaded model: `name.copies` beside its file, else the default model's,
/// the first that guards it ([`CopyIndex::guards`]); `None` when neither does.
fn copy_index_of(generator: &runtime::Generator) -> Option<Arc<CopyIndex>> {
    let id = generator.info().model_id();
    let beside = std::path::Path::new(generator.name());
    let beside = copies::index_path(beside);
    let candidates = [
        beside.is_file().then(|| CopyIndex::read_file(&beside).ok().map(Arc::new)).flatten(),
        crate::default_copy_index().ok(),
    ];
    candidates.into_iter().flatten().find(|index| index.guards(id))
}

/// A stored melody as the audio thread holds it.
fn play_melody(saved: &SavedMelody) -> PlayMelody {
    PlayMelody::from_melody(&saved.melody(), saved.meter(), saved.key)
}

impl Worker {
    fn run(&mut self) {
        // The backend (native library or tract) is chosen once per process, from the plugin's
        // own folder; every model this worker loads runs on it.
        runtime::init_backend(&runtime::native_library_candidates(&self.dirs));
        loop {
            let seen = self.shared.wake.last();
            while let Ok(command) = self.commands.try_recv() {
                match command {
                    Command::Shutdown => return,
                    // A panic in a runtime loading a malformed graph must not end the thread:
                    // the last good model plays on.
                    Command::LoadModel(path) => {
                        if catch_unwind(AssertUnwindSafe(|| self.load_user_model(&path))).is_err() {
                            let error = format!("{}: loading this model failed unexpectedly; the last good model keeps playing", path.display());
                            self.shared.report(|s| s.model_error = Some(error));
                        }
                    }
                    Command::Judge(judging) => {
                        if catch_unwind(AssertUnwindSafe(|| self.judge(judging))).is_err() {
                            self.shared.report(|s| s.error = Some("judging Generate's candidates failed unexpectedly; the melody plays on".into()));
                        }
                    }
                }
            }
            // A panic in a model run must not end the thread: the last good melody plays on.
            if catch_unwind(AssertUnwindSafe(|| self.refresh())).is_err() {
                self.shared.report(|s| s.error = Some("generating a melody failed unexpectedly; the last good melody keeps playing".into()));
            }
            self.shared.handled.set(seen);
            if self.shared.wake.last() == seen {
                // Woken early by `Wake::wake`.
                std::thread::park_timeout(Duration::from_millis(500));
            }
        }
    }

    /// Makes sure the melody of the current request plays. A melody the host restored into
    /// the project's state plays as stored, whatever request key it was saved with (a Neume
    /// that computes keys differently never replaces it unasked); a new one is generated only
    /// when the request changes after that.
    fn refresh(&mut self) {
        // The stored melody first, then the request: a host restores the parameters before
        // the stored melody, so a restored melody is always seen with its own parameters.
        self.take_captured_clip();
        let stored = self.params.melody.read().clone();
        let (meter, meter_note) = self.shared.telemetry.host_meter();
        let heard_now = self.heard_key();
        let heard = match self.params.key_from.value() {
            KeyFrom::Input => heard_now,
            KeyFrom::Params => None,
        };
        let unmetered = self.shared.current_request(&self.params).in_heard_key(heard);
        let request = unmetered.clone().in_meter(meter);
        let key = request.identity();
        // A melody keyed before the host's meter was known (a restored project, before the
        // first block) is kept when it is already in that meter.
        if let Some((saved, k)) = self.playing.as_mut() {
            if *k != key
                && *k == unmetered.identity()
                && saved.meter() == meter.unwrap_or(crate::encoding::Meter::FourFour)
            {
                *k = key;
            }
        }
        if let Some(saved) =
            stored.as_ref().filter(|s| self.playing.as_ref().is_none_or(|(p, _)| p != *s))
        {
            match saved.check() {
                Ok(()) => {
                    self.playing = Some((saved.clone(), key));
                    self.publish(play_melody(saved));
                    if saved.version > STATE_VERSION {
                        let note = format!("This project was saved by a newer Neume (state version {}); its melody plays as stored.", saved.version);
                        self.shared.report(|s| s.state_note = Some(note));
                    }
                    return;
                }
                // Never a silent change of the notes: say why a new melody replaces it.
                Err(problem) => self.shared.report(|s| {
                    s.state_note =
                        Some(format!("{problem}: a new melody was made from the parameters"))
                }),
            }
        }
        if let Some((saved, _)) = self.playing.as_ref().filter(|(_, k)| *k == key) {
            if self.published_key != Some(saved.key) {
                let melody = play_melody(saved);
                self.publish(melody);
            }
            return;
        }
        self.ensure_model(&request.model_path);
        let Some(model) = self.generator.clone() else { return };
        let mut generator = model.lock();
        let options = request.options(generator.info());
        let meter_note = match meter {
            _ if request.clip_source().is_some() => meter_note,
            Some(m) if m != options.meter => Some(format!(
                "this model knows {} only: its melodies are in {}, each bar starting on one of \
                 the song's bar lines",
                generator
                    .info()
                    .meters
                    .iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                options.meter
            )),
            _ => meter_note,
        };
        self.shared.report(|s| s.meter_note = meter_note);
        let started = Instant::now();
        // A melody that copies a training tune: said, or (Avoid copies) sung again from
        // other seeds first.
        let avoid = self.params.no_copies.value();
        let sung = copies::sing_avoiding_copies(
            avoid,
            request.seed,
            |seed| Request { seed, ..request.clone() }.sing(&mut generator),
            |sung| self.copies.as_ref().and_then(|index| index.check(&sung.melody, sung.meter)),
        );
        let (sung, copy) = match sung {
            Ok(sung) => sung,
            Err(e) => {
                self.shared.report(|s| s.error = Some(e));
                return;
            }
        };
        let copy_note = copy.map(|c| {
            format!(
                "This melody copies {} (bars {}–{}) from the model's training tunes{}",
                c.tune,
                c.bars.0,
                c.bars.1,
                if avoid {
                    format!(": {} tries found none new", copies::COPY_TRIES)
                } else {
                    String::new()
                }
            )
        });
        self.shared.report(|s| s.copy_note = copy_note);
        let elapsed_ms = started.elapsed().as_secs_f32() * 1000.0;
        drop(generator);
        let saved = SavedMelody::new(key, &sung.melody, sung.meter, sung.latent);
        {
            let mut slot = self.params.melody.write();
            if *slot != stored {
                // The host restored a project meanwhile: its melody wins; look again.
                drop(slot);
                self.shared.wake.wake();
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
        self.playing = Some((saved, key));
    }

    /// Generate with ratings (see [`Command::Judge`]): each candidate sung as this worker
    /// sings it, described by its point and its notes, and the one the taste picks left for
    /// the editor. A candidate the model cannot sing is left out; with none left, the first.
    fn judge(&mut self, judging: Judging) {
        let Judging { candidates, taste, seed } = judging;
        let Some(model) = self.generator.clone() else { return };
        let (meter, _) = self.shared.telemetry.host_meter();
        let mut sung = Vec::with_capacity(candidates.len());
        {
            let mut generator = model.lock();
            for candidate in &candidates {
                let in_song = candidate.clone().in_meter(meter);
                let Ok(made) = in_song.sing(&mut generator) else { continue };
                let attributes = Attribute::measure_all(&made.melody, made.meter);
                let z = candidate.base_point.clone().unwrap_or_default();
                sung.push((candidate, preference::describe(&z, Some(attributes))));
            }
        }
        let described: Vec<Vec<f32>> = sung.iter().map(|(_, d)| d.clone()).collect();
        let pick = taste.pick(&described, &mut crate::rng::Rng::new(seed));
        let chosen =
            sung.get(pick).map(|(c, _)| (*c).clone()).or_else(|| candidates.first().cloned());
        *self.shared.judged.lock() = chosen;
    }

    /// A clip captured on the audio thread becomes the project's clip (Capture: Melody), or
    /// its chords the progression the melody sits on (Capture: Chords, Follow chords).
    fn take_captured_clip(&mut self) {
        let Some(captured) = self.from_capture.latest() else { return };
        match self.params.capture_what.value() {
            CaptureWhat::Melody => {}
            what => return self.take_captured_chords(&captured, what == CaptureWhat::Follow),
        }
        let melody = captured.melody.to_melody();
        let new =
            crate::plugin::worker::state::SavedMelody::new(0, &melody, captured.meter, Vec::new());
        // The clip a take replaces is kept (a project saved with Capture on re-arms on load,
        // and the next notes played would otherwise take the clip with no way back): the
        // editor's Undo take brings it back.
        let replaced = self.params.clip.write().replace(new);
        if replaced.is_some() {
            *self.params.replaced_clip.write() = replaced;
        }
        let note = format!(
            "Captured {} notes in {} bar{} of {}{}",
            melody.notes.len(),
            melody.len_steps as usize / captured.meter.bar_steps(),
            if melody.len_steps as usize > captured.meter.bar_steps() { "s" } else { "" },
            captured.meter,
            if captured.chords {
                " (notes played together: their top note is the clip's)"
            } else {
                ""
            }
        );
        self.shared.report(|s| s.clip_note = Some(note));
    }

    /// The chords of a take, named a beat at a time on its bars (see
    /// [`Progression::from_notes`]), become the project's chords: at once (Capture: Chords),
    /// or once two takes in a row agree on a progression other than the one playing (Follow
    /// chords: a slip in one take moves nothing). A take with no chord in it sets nothing.
    fn take_captured_chords(&mut self, captured: &CapturedClip, follow: bool) {
        let notes: Vec<(u32, u32, u8)> = captured
            .played
            .notes()
            .iter()
            .map(|n| {
                let start = u32::from(n.start_step);
                (start, start + u32::from(n.len_steps), n.pitch)
            })
            .collect();
        let bar_steps = captured.meter.bar_steps() as u32;
        let bars = u32::from(captured.played.len_steps).div_ceil(bar_steps).max(1);
        let progression = Progression::from_notes(&notes, captured.meter, bars);
        let text = progression.to_text();
        let heard = progression.spans.iter().any(|s| s.chord.is_some());
        let note = if !heard || text.len() > MAX_CHORDS_TEXT {
            "Capture chords: no chord heard in the take (play notes together)".to_string()
        } else {
            let current = self.params.chords.read().clone();
            let agreed = !follow || self.heard_chords.as_deref() == Some(text.as_str());
            self.heard_chords = Some(text.clone());
            if current.as_deref() == Some(text.as_str()) {
                format!("Chords heard: {text} (as playing)")
            } else if agreed {
                *self.params.chords.write() = Some(text.clone());
                format!("Chords heard: {text} (the melody sits on them now)")
            } else {
                format!("Chords heard: {text} (once: taken when the next take agrees)")
            }
        };
        self.shared.report(|s| s.clip_note = Some(note));
    }

    /// The key for Key from "MIDI input": the clip's, from when a clip comes (captured,
    /// dropped or loaded) until the input hears a new key; else the input's.
    fn heard_key(&mut self) -> Option<Key> {
        let code = self.shared.telemetry.heard_key.load(Ordering::Relaxed);
        let clip = self.params.clip.read().clone();
        if clip != self.clip_seen {
            self.clip_key = clip.as_ref().and_then(|c| melody_key(&c.melody())).map(|k| (k, code));
            self.clip_seen = clip;
        }
        let heard = match self.clip_key {
            Some((key, then)) if then == code => Some((key, KeySource::Clip)),
            _ => self.shared.telemetry.heard_key().map(|key| (key, KeySource::Input)),
        };
        self.shared.report(|s| s.key_heard = heard);
        heard.map(|(key, _)| key)
    }

    /// Hands `melody` to the audio thread (latest value wins: it never waits).
    fn publish(&mut self, melody: PlayMelody) {
        self.published_key = Some(melody.key);
        self.to_audio.send(melody);
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
            self.copies = copy_index_of(&generator);
            let (name, backend) = (generator.name().to_string(), generator.backend().to_string());
            let provenance = generator.info().provenance();
            let knob_names =
                generator.info().knob_names(crate::plugin::worker::params::LATENT_KNOBS);
            let knob_dims: Vec<_> =
                generator.info().knob_attributes.iter().map(|&(a, d, _)| (a, d)).collect();
            let meters = generator.info().meters.iter().map(|m| m.to_string()).collect::<Vec<_>>();
            let model_id = generator.info().ratings_key(&name);
            self.shared.report(|s| {
                s.model_id = model_id;
                s.model_name = name;
                s.backend = backend;
                s.provenance = provenance;
                s.knob_names = knob_names;
                s.knob_dims = knob_dims;
                s.meters = meters.join(", ");
            });
        }
        self.shared.model.set(model.clone());
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
    fn load_user_model(&mut self, path: &std::path::Path) {
        if self.try_model_file(path) {
            let p = path.display().to_string();
            *self.params.model_path.write() = Some(p.clone());
            self.loaded_path = Some(Some(p));
        }
    }
}
