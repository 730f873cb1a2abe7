//! What the editor's buttons do: Generate, Mutate, Store A/B, Undo/Redo through the history,
//! and ratings. Each action that makes a melody is one request to the worker (see
//! [`Actions::act`]). GUI thread. The editor's layout (`editor.rs`) owns an [`Actions`] and
//! shows the messages its methods return; this file never reaches back into the layout.

use std::sync::Arc;

use nice_plug::prelude::*;

use super::history::{History, HistoryEntry};
use super::taste::{Taste, TasteState};
use crate::encoding::Melody;
use crate::music::attributes::Attribute;
use crate::music::chord_file;
use crate::music::clip::{self, Clip};
use crate::plugin::cross::shared::{Command, Judging, WorkerLink};
use crate::plugin::worker::params::NeumeParams;
use crate::plugin::worker::params::{Source, KNOB_RANGE, LATENT_KNOBS, MAX_CHORDS_TEXT};
use crate::plugin::worker::request::{set_as_gesture, Request};
use crate::plugin::worker::state::{Kept, SavedMelody};
use crate::rng::Rng;
use crate::taste::preference::Preference;
use crate::taste::ratings::{self, Ratings};

/// Variations made at once by Vary.
pub(super) const VARIATIONS: usize = 8;

/// Standard deviation of a Mutate step on each latent knob.
const MUTATE_STEP: f32 = 0.35;

/// What Vary and Continue say without a clip.
const NO_CLIP: &str =
    "No clip yet: switch Capture on and play into Neume, drop a .mid file here, or Load clip…";

/// A clip in words: `2 bars of 3/4 in E minor, 7 notes`.
pub(super) fn clip_words(clip: &Clip) -> String {
    format!(
        "{} bar{} of {} in {}, {} notes",
        clip.bars,
        if clip.bars == 1 { "" } else { "s" },
        clip.meter,
        clip.key,
        clip.melody.notes.len()
    )
}

/// The bars of a mask (bit `b`: bar `b + 1`) in words: `1, 2`.
fn bar_list(bars: u16) -> String {
    (0..16)
        .filter(|b| bars & (1 << b) != 0)
        .map(|b| (b + 1).to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A line for the user (rating stored, …) and whether it is an error.
pub(super) type Message = (String, bool);

/// The buttons' state: the history, the ratings, the editor's own random numbers.
pub(super) struct Actions {
    params: Arc<NeumeParams>,
    shared: Arc<WorkerLink>,
    /// The melodies made, for undo/redo and the thumbnails.
    pub(super) history: History,
    /// The ratings of the current model and the taste fitted to them.
    taste: TasteState,
    rng: Rng,
}

impl Actions {
    /// The editor's dice are seeded from the clock, or from `NEUME_EDITOR_SEED` (the tests
    /// set it, so that what they judge statistically repeats).
    pub(super) fn new(params: Arc<NeumeParams>, shared: Arc<WorkerLink>) -> Actions {
        let seed = std::env::var("NEUME_EDITOR_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64)
            });
        Actions {
            params,
            shared,
            history: History::default(),
            taste: TasteState::default(),
            rng: Rng::new(seed),
        }
    }

    /// Why the ratings could not be loaded, once.
    pub(super) fn take_ratings_error(&mut self) -> Option<Message> {
        self.taste.take_error().map(|e| (e, true))
    }

    /// The key of the current model's ratings: its id once the worker has loaded it.
    pub(super) fn model_name(&self) -> String {
        let id = self.shared.status.lock().model_id.clone();
        if id.is_empty() {
            self.params.model_path.read().clone().unwrap_or_else(|| "default".into())
        } else {
            id
        }
    }

    /// The ratings of the current model, (re)loaded when the model changes.
    pub(super) fn ratings(&mut self) -> Option<&mut Ratings> {
        let model = self.model_name();
        self.taste.ratings(&model)
    }

    /// The taste learned from this model's ratings, refitted when they change; `None` before
    /// the first rating or without a melody (its latent size).
    pub(super) fn taste(&mut self) -> Option<&Preference> {
        self.fitted_taste().map(|t| &t.fitted)
    }

    fn fitted_taste(&mut self) -> Option<&Taste> {
        let latent_size = self.params.melody.read().as_ref().map_or(0, |m| m.latent.len());
        let model = self.model_name();
        self.taste.fitted(&model, latent_size)
    }

    /// Forgets this model's ratings (see [`Ratings::reset`]) and the taste fitted to them.
    pub(super) fn reset_ratings(&mut self) -> Option<Result<(), ratings::RatingsError>> {
        let model = self.model_name();
        self.taste.reset(&model)
    }

    /// What the listener has learned, in words ("You like: dense, rising"), from the named
    /// knobs of the model.
    pub(super) fn taste_words(&mut self) -> String {
        let knobs: Vec<(Attribute, usize)> = self.shared.status.lock().knob_dims.clone();
        match self.taste() {
            None => "Like or dislike a few melodies: Generate learns what you like".into(),
            Some(t) => match t.words(&knobs) {
                Some(words) => format!("You like: {words}"),
                None => format!("Learning from {} ratings; no clear leaning yet", t.ratings()),
            },
        }
    }

    /// Adds the stored melody to the history when it is new (see [`History::track`]).
    pub(super) fn track_history(&mut self, saved: &SavedMelody) {
        // The request that made it, as the worker reports it: the parameters may not have
        // caught up with an action yet.
        let made_from = self.shared.status.lock().made_from.clone();
        let read = Request::read(&self.params);
        self.history.track(saved, made_from, read);
    }

    pub(super) fn restore(&mut self, index: usize, setter: &ParamSetter) {
        let Some(r) = self.history.entries.get(index).map(|h| h.request.clone()) else { return };
        self.history.cursor = index;
        self.act(r, setter);
    }

    /// Makes one melody from `request` and moves the parameters and stored points to it. The
    /// worker takes the whole request at once (see `WorkerLink::act`): the host applies the
    /// parameter changes later, and a melody from a mix of old and new values must never
    /// be made, nor enter the history.
    pub(super) fn act(&mut self, request: Request, setter: &ParamSetter) {
        let request = request.as_held_by(&self.params);
        self.shared.act(request.clone());
        request.apply(&self.params, setter);
    }

    /// Generate: a new seed and a new base point, drawn by the taste learned from the
    /// ratings (see `preference`); a plain prior draw before the first rating. When the
    /// taste judges notes, each candidate is sung first with the model the worker plays (as
    /// the worker would sing it) and judged by its point and its notes.
    pub(super) fn generate(&mut self, setter: &ParamSetter) {
        let mut rng = Rng::new(self.rng.next_u64());
        let explore = self.params.explore.value();
        let current = self.shared.current_request(&self.params);
        let candidate = |base: Option<Vec<f32>>, seed: u64| current.generated(base, seed);
        let model = self.shared.model.get();
        let kept = self.locked();
        let request = match (self.fitted_taste(), model) {
            (Some(taste), Some(_)) if taste.sung => {
                // Each candidate is sung and judged on the worker (up to 64 × Bars melodies:
                // never on the GUI thread); the editor plays the one picked when it comes.
                let candidates: Vec<Request> = taste
                    .fitted
                    .proposals(explore, &mut rng)
                    .into_iter()
                    .map(|z| Request {
                        kept: kept.clone(),
                        ..candidate(Some(z), rng.next_u64() % 100_000)
                    })
                    .collect();
                let taste = taste.fitted.clone();
                self.shared.send(Command::Judge(Judging {
                    candidates,
                    taste,
                    seed: rng.next_u64(),
                }));
                return;
            }
            (Some(taste), _) => {
                candidate(Some(taste.fitted.draw(explore, &mut rng)), rng.next_u64() % 100_000)
            }
            (None, _) => candidate(None, self.rng.next_u64() % 100_000),
        };
        let request = Request { kept, ..request };
        self.act(request, setter);
    }

    /// The candidate the worker picked for a Generate with ratings, once it has: it plays.
    pub(super) fn take_judged(&mut self, setter: &ParamSetter) -> bool {
        let Some(chosen) = self.shared.judged.lock().take() else { return false };
        self.act(chosen, setter);
        true
    }

    /// The locked bars of the melody playing now, when a bar is locked: what Generate, Mutate
    /// and Vary keep.
    fn locked(&self) -> Option<Kept> {
        let bars = *self.params.locked_bars.read();
        let melody = self.params.melody.read().clone()?;
        (bars != 0).then_some(Kept { melody, bars })
    }

    /// The locked bars (bit `b`: bar `b + 1`).
    pub(super) fn locked_bars(&self) -> u16 {
        *self.params.locked_bars.read()
    }

    /// Locks (`lock`) or unlocks the bars of `bars` (bit `b`: bar `b + 1`). Saved with the
    /// project; what plays does not change.
    pub(super) fn set_locked(&mut self, bars: u16, lock: bool) -> Message {
        let mut locked = self.params.locked_bars.write();
        *locked = if lock { *locked | bars } else { *locked & !bars };
        let what = if lock { "locked: Generate, Mutate and Vary keep it" } else { "unlocked" };
        (format!("Bar {} {what}", bar_list(bars)), false)
    }

    /// Regenerate: the `selected` bars (bit `b`: bar `b + 1`) sung anew in the context of the
    /// others, which stay note for note (locked bars too), from a new seed.
    pub(super) fn regenerate(&mut self, selected: u16, setter: &ParamSetter) -> Message {
        let Some(melody) = self.params.melody.read().clone() else {
            return ("No melody yet to regenerate bars of".into(), true);
        };
        let kept = Kept { melody, bars: !selected | self.locked_bars() };
        if kept.keeps_all() {
            return ("Select unlocked bars of the melody on the ruler first".into(), true);
        }
        let current = self.shared.current_request(&self.params);
        let request = Request { kept: Some(kept), seed: self.rng.next_u64() % 100_000, ..current };
        self.act(request, setter);
        (
            format!("Regenerated bar {} (Undo brings the bars before back)", bar_list(selected)),
            false,
        )
    }

    /// An edit in the roll: `melody` (as stored, before the octave setting) plays as it is and
    /// enters the history.
    pub(super) fn edit(&mut self, melody: &Melody, setter: &ParamSetter) {
        let Some(playing) = self.params.melody.read().clone() else { return };
        let edited = SavedMelody::new(0, melody, playing.meter(), playing.latent.clone());
        let current = self.shared.current_request(&self.params);
        self.act(
            Request { kept: Some(Kept { melody: edited, bars: Kept::EVERY_BAR }), ..current },
            setter,
        );
    }

    /// Load clip… (or a file dropped on the editor): the first bars of the file's top line, in
    /// its own key, register and meter, become the clip (saved with the project). What
    /// plays changes only when Source takes the clip.
    pub(super) fn load_clip(&mut self, path: &std::path::Path) -> Message {
        let loaded = clip::read_file(path, None).and_then(|(file, meter)| {
            // Notes sounding together in it (a chord file, or chords under a tune): its
            // chords, too.
            let chords = chord_file::progression_of(&file.harmony, meter);
            let clip =
                Clip::new(&file.melody, meter).map_err(|e| format!("{}: {e}", path.display()))?;
            let steps = clip.bars as u32 * meter.bar_steps() as u32;
            let start = clip::first_bar_step(&file.melody, meter).unwrap_or(0);
            Ok((file.melody.window(start, steps), clip, chords))
        });
        let (melody, clip, chords) = match loaded {
            Ok(loaded) => loaded,
            Err(e) => return (e, true),
        };
        // Stored as a captured clip is (the worker then makes the melody anew when Source
        // takes the clip).
        let saved = SavedMelody::new(0, &melody, clip.meter, Vec::new());
        *self.params.clip.write() = Some(saved.clone());
        // An action still pending (chords typed a moment ago) takes the clip too: else the
        // next action would start from it and bring the old clip back.
        self.shared.amend_action(|r| r.clip = Some(saved));
        self.shared.wake.wake();
        let name = path.file_name().map_or(String::new(), |n| n.to_string_lossy().into_owned());
        let chords = match chords.map(|p| p.to_text()) {
            Ok(text) if text.len() <= MAX_CHORDS_TEXT => {
                // The melody is made anew over them (the worker reads them with the request),
                // keeping only the locked bars (as typed chords do).
                *self.params.chords.write() = Some(text.clone());
                let kept = self.locked();
                *self.params.kept.write() = kept.clone();
                self.shared.amend_action(|r| {
                    r.chords = Some(text.clone());
                    r.kept = kept;
                });
                self.shared.wake.wake();
                format!("; chords from it: {text} (its top line is the clip)")
            }
            // A chord file that is not one (a piano part of many voices) says why; a tune,
            // in which no two notes sound together, has no chords to say anything of.
            Err(e) if !e.starts_with("no chords") => {
                format!("; its chords were not taken: {e}")
            }
            _ => String::new(),
        };
        (format!("Clip from {name}: {}{chords}", clip_words(&clip)), false)
    }

    /// The clip, framed for the model, when there is one.
    pub(super) fn clip(&self) -> Option<Clip> {
        let saved = self.params.clip.read().clone()?;
        Clip::new(&saved.melody(), saved.meter()).ok()
    }

    /// Vary: [`VARIATIONS`] variations of the clip at the Amount set, each sung here with the
    /// model the worker plays, all put in the history (to hear and choose); the last plays.
    pub(super) fn vary(&mut self, setter: &ParamSetter) -> Option<Message> {
        let current = self.shared.current_request(&self.params);
        if current.clip.is_none() {
            return Some((NO_CLIP.into(), true));
        }
        let model = self.shared.model.get()?;
        let mut made = Vec::with_capacity(VARIATIONS);
        {
            let mut generator = model.lock();
            for _ in 0..VARIATIONS {
                let request = Request {
                    source_index: Source::Vary.to_index(),
                    seed: self.rng.next_u64() % 100_000,
                    kept: self.locked(),
                    ..current.clone()
                }
                .as_held_by(&self.params);
                match request.sing(&mut generator) {
                    Ok(sung) => made.push(HistoryEntry {
                        key: request.identity(),
                        request,
                        melody: sung.melody,
                        meter: sung.meter,
                    }),
                    Err(e) => return Some((e, true)),
                }
            }
        }
        // The last one plays: the history's shown entry is its newest, so the next new
        // melody keeps all eight (a new melody drops only the entries after the shown one).
        let last = made[VARIATIONS - 1].request.clone();
        self.history.push_all(made);
        self.act(last, setter);
        Some((
            format!(
                "{VARIATIONS} variations of the clip are in the history (the last plays): Hear \
                 each, click one to play it"
            ),
            false,
        ))
    }

    /// Continue: a melody that begins with the clip and carries on, Bars long (twice the
    /// clip when Bars is no longer than it), from a new seed.
    pub(super) fn continue_clip(&mut self, setter: &ParamSetter) -> Option<Message> {
        let Some(clip) = self.clip() else { return Some((NO_CLIP.into(), true)) };
        let current = self.shared.current_request(&self.params);
        let bars = if current.bars > clip.bars { current.bars } else { (2 * clip.bars).min(16) };
        let request = Request {
            source_index: Source::Continue.to_index(),
            seed: self.rng.next_u64() % 100_000,
            bars,
            // A continuation is longer than the melody: nothing of it is kept.
            kept: None,
            ..current
        };
        self.act(request, setter);
        None
    }

    /// Sets the chords the melody is sung over (`None`: none) and makes the melody anew from
    /// the current request with them.
    pub(super) fn set_chords(
        &mut self,
        chords: Option<String>,
        setter: &ParamSetter,
    ) -> Option<Message> {
        let current = self.shared.current_request(&self.params);
        let cleared = chords.is_none() && current.chords.is_some();
        self.act(Request { chords, kept: self.locked(), ..current }, setter);
        cleared
            .then(|| ("Chords cleared: melodies follow the key and meter alone".to_string(), false))
    }

    /// Undo take: the clip the last Capture take replaced comes back (and the take is kept
    /// as the one to bring back in turn).
    pub(super) fn undo_take(&mut self, setter: &ParamSetter) -> Option<Message> {
        let replaced = self.params.replaced_clip.write().take()?;
        let current = self.params.clip.write().replace(replaced.clone());
        *self.params.replaced_clip.write() = current;
        // Melodies from the clip are made anew from the clip brought back.
        let request = Request { clip: Some(replaced), ..self.shared.current_request(&self.params) };
        self.act(request, setter);
        Some(("The clip before the last take is back (Undo take again swaps them)".into(), false))
    }

    /// Mutate: a small random step of every latent knob.
    pub(super) fn mutate(&mut self, setter: &ParamSetter) {
        // The knobs' melody keeps the locked bars (and no other).
        *self.params.kept.write() = self.locked();
        for param in self.params.knob_params() {
            let value = (param.value() + MUTATE_STEP * self.rng.normal() as f32)
                .clamp(-KNOB_RANGE, KNOB_RANGE);
            set_as_gesture(setter, param, value);
        }
    }

    /// Store A/B: keeps the current latent point and the knob values inside it (Range and
    /// Leaps also steer the sampler). Once both exist the morph knob glides between them; the
    /// knobs are zeroed and the morph set so that what plays does not change.
    /// Clear A/B: forgets the stored points; the melody goes back to the seed's point and the
    /// knobs (Undo brings the points back).
    pub(super) fn clear_points(&mut self, setter: &ParamSetter) -> Option<Message> {
        let current = self.shared.current_request(&self.params);
        if current.point_a.is_none() && current.point_b.is_none() {
            return Some(("No stored points to clear".into(), false));
        }
        self.act(current.without_points(), setter);
        Some(("Stored points A and B cleared (Undo brings them back)".into(), false))
    }

    pub(super) fn store(&mut self, b: bool, setter: &ParamSetter) -> Option<Message> {
        let latent = self.params.melody.read().as_ref().map(|m| m.latent.clone())?;
        let mut request = self.shared.current_request(&self.params);
        let held = Some(request.sung_knobs());
        if b {
            (request.point_b, request.held_b) = (Some(latent), held);
        } else {
            (request.point_a, request.held_a) = (Some(latent), held);
        }
        if request.point_a.is_some() && request.point_b.is_some() {
            request.knobs = [0.0; LATENT_KNOBS];
            request.morph = if b { 1.0 } else { 0.0 };
        }
        self.act(request, setter);
        Some((
            format!("Stored the current melody's latent point as {}", if b { "B" } else { "A" }),
            false,
        ))
    }

    pub(super) fn rate(&mut self, rating: i8) -> Option<Message> {
        let (latent, seed, attributes, played) = self.params.melody.read().as_ref().map(|m| {
            let melody = m.melody();
            let sung = Attribute::measure_all(&melody, m.meter());
            let played = ratings::RatedMelody::new(&melody, m.meter());
            (m.latent.clone(), self.params.seed.value().max(0) as u64, sung, played)
        })?;
        let result = match self.ratings() {
            Some(r) => r
                .add(rating, latent, seed, Some(attributes), Some(played))
                .map_err(|e| e.to_string()),
            None => Err("no per-user data folder to store ratings in".into()),
        };
        Some(match result {
            Ok(()) => (
                if rating > 0 {
                    "Liked: new melodies will lean towards this one".into()
                } else {
                    "Disliked: new melodies will keep away from this one".into()
                },
                false,
            ),
            Err(e) => (e, true),
        })
    }
}
