//! What the editor's buttons do: Generate, Mutate, Store A/B, Undo/Redo through the history,
//! and ratings. Each action that makes a melody is one request to the worker (see
//! [`NeumeEditor::act`]).

use nice_plug::prelude::*;

use super::{set, NeumeEditor};
use crate::encoding::Melody;
use crate::generate::Rng;
use crate::plugin::params::{SavedMelody, ScaleChoice, KNOB_RANGE, LATENT_KNOBS};
use crate::plugin::request::Request;
use crate::ratings::{self, Ratings};

/// Melodies kept for undo/redo.
const HISTORY_LEN: usize = 50;

/// Standard deviation of a Mutate step on each latent knob.
const MUTATE_STEP: f32 = 0.35;

/// One melody of the history: the parameter values that make it, and its notes for the
/// thumbnail. Restoring it sets the parameters back; the worker makes the same melody again.
#[derive(Clone, Debug)]
pub(super) struct HistoryEntry {
    /// The stored melody's key.
    pub(super) key: u64,
    /// The parameters as they were when the melody arrived.
    pub(super) request: Request,
    pub(super) melody: Melody,
}

impl NeumeEditor {
    /// The key of the current model's ratings: its id once the worker has loaded it.
    pub(super) fn model_name(&self) -> String {
        let id = self.shared.status.lock().model_id.clone();
        if id.is_empty() { self.params.model_path.read().clone().unwrap_or_else(|| "default".into()) } else { id }
    }

    /// The ratings of the current model, (re)loaded when the model changes.
    pub(super) fn ratings(&mut self) -> Option<&mut Ratings> {
        let model = self.model_name();
        if self.ratings_model.as_deref() != Some(model.as_str()) {
            self.ratings_model = Some(model.clone());
            self.ratings = match ratings::data_dir().map(|d| d.join("ratings.jsonl")) {
                Some(path) => match Ratings::load(&path, &model) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        self.message = Some((e.to_string(), true));
                        None
                    }
                },
                None => None,
            };
        }
        self.ratings.as_mut()
    }

    /// Adds the stored melody to the history when it is new.
    pub(super) fn track_history(&mut self, saved: &SavedMelody) {
        if let Some(i) = self.history.iter().position(|h| h.key == saved.key) {
            self.cursor = i;
            return;
        }
        // The request that made it, as the worker reports it: the parameters may not have
        // caught up with an action yet.
        let made_from = self.shared.status.lock().made_from.clone().filter(|r| r.key() == saved.key);
        let Some(request) = made_from.or_else(|| Some(Request::read(&self.params)).filter(|r| r.key() == saved.key)) else { return };
        let entry = HistoryEntry { key: saved.key, request, melody: saved.melody() };
        // A new melody after an undo drops the redo branch.
        self.history.truncate(self.cursor + 1);
        self.history.push(entry);
        if self.history.len() > HISTORY_LEN {
            self.history.remove(0);
        }
        self.cursor = self.history.len() - 1;
    }

    pub(super) fn restore(&mut self, index: usize, setter: &ParamSetter) {
        let Some(r) = self.history.get(index).map(|h| h.request.clone()) else { return };
        self.cursor = index;
        self.act(r, setter);
    }

    /// Makes one melody from `request` and moves the parameters and stored points to it. The
    /// worker takes the whole request at once (see `WorkerLink::act`): the host applies the
    /// parameter changes later, and a melody from a mix of old and new values must never
    /// be made, nor enter the history.
    pub(super) fn act(&mut self, mut request: Request, setter: &ParamSetter) {
        let p = &self.params;
        // The values as the parameters will hold them (step sizes, float rounding), so the
        // request's key is the one the parameters give once the host has applied them.
        let held = |param: &FloatParam, v: f32| param.preview_plain(param.preview_normalized(v));
        for (k, param) in request.knobs.iter_mut().zip(p.knob_params()) {
            *k = held(param, *k);
        }
        request.variation = held(&p.variation, request.variation);
        request.morph = held(&p.morph, request.morph);
        self.shared.act(request.clone());
        *p.base_point.write() = request.base_point.clone();
        *p.point_a.write() = request.point_a.clone();
        *p.point_b.write() = request.point_b.clone();
        for (param, value) in p.knob_params().into_iter().zip(request.knobs) {
            set(setter, param, value);
        }
        set(setter, &p.variation, request.variation);
        set(setter, &p.bars, request.bars as i32);
        set(setter, &p.key_root, i32::from(request.key_root));
        set(setter, &p.scale, ScaleChoice::from_index(request.scale_index));
        set(setter, &p.morph, request.morph);
        set(setter, &p.seed, request.seed as i32);
    }

    /// Generate: a new seed and a new base point, drawn near liked melodies and away from
    /// disliked ones.
    pub(super) fn generate(&mut self, setter: &ParamSetter) {
        let latent_size = self.params.melody.read().as_ref().map_or(0, |m| m.latent.len());
        let mut rng = Rng::new(self.rng.next_u64());
        let base = match (latent_size, self.ratings()) {
            (n, Some(r)) if n > 0 && r.counts(n) != (0, 0) => Some(r.steered_latent(n, &mut rng)),
            _ => None,
        };
        let seed = self.rng.next_u64() % 100_000;
        let request = Request { base_point: base, knobs: [0.0; LATENT_KNOBS], seed, ..self.shared.current_request(&self.params) };
        self.act(request, setter);
    }

    /// Mutate: a small random step of every latent knob.
    pub(super) fn mutate(&mut self, setter: &ParamSetter) {
        for param in self.params.knob_params() {
            let value = (param.value() + MUTATE_STEP * self.rng.normal() as f32).clamp(-KNOB_RANGE, KNOB_RANGE);
            set(setter, param, value);
        }
    }

    /// Store A/B: keeps the current latent point. Once both exist the morph knob glides
    /// between them; the knobs are zeroed and the morph set so that what plays does not change.
    pub(super) fn store(&mut self, b: bool, setter: &ParamSetter) {
        let Some(latent) = self.params.melody.read().as_ref().map(|m| m.latent.clone()) else { return };
        let mut request = self.shared.current_request(&self.params);
        if b {
            request.point_b = Some(latent);
        } else {
            request.point_a = Some(latent);
        }
        if request.point_a.is_some() && request.point_b.is_some() {
            request.knobs = [0.0; LATENT_KNOBS];
            request.morph = if b { 1.0 } else { 0.0 };
        }
        self.act(request, setter);
        self.message = Some((format!("Stored the current melody's latent point as {}", if b { "B" } else { "A" }), false));
    }

    pub(super) fn rate(&mut self, rating: i8) {
        let Some((latent, seed)) = self.params.melody.read().as_ref().map(|m| (m.latent.clone(), self.params.seed.value().max(0) as u64)) else { return };
        let result = match self.ratings() {
            Some(r) => r.add(rating, latent, seed).map_err(|e| e.to_string()),
            None => Err("no per-user data folder to store ratings in".into()),
        };
        self.message = Some(match result {
            Ok(()) => (if rating > 0 { "Liked: new melodies will lean towards this one".into() } else { "Disliked: new melodies will keep away from this one".into() }, false),
            Err(e) => (e, true),
        });
    }
}


