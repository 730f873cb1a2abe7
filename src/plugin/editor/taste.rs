//! The editor's hold on the listener's taste: the current model's ratings file, read once per
//! model, and the preference fitted to it, refitted when the ratings change. GUI thread.

use crate::taste::preference::Preference;
use crate::taste::ratings::{self, Ratings};

/// A fitted taste and its key: the model, the number of its ratings, the latent size.
pub(super) struct Taste {
    key: (String, usize, usize),
    pub(super) fitted: Preference,
    /// Whether it judges melodies by their notes too (see [`crate::taste::preference::describe`]).
    pub(super) sung: bool,
}

/// The ratings of one model at a time and the taste fitted to them.
#[derive(Default)]
pub(super) struct TasteState {
    ratings: Option<Ratings>,
    /// Model the ratings were loaded (or tried to be loaded) for: the file is read once per
    /// model, not every frame.
    ratings_model: Option<String>,
    /// Why the ratings file could not be read, until shown.
    error: Option<String>,
    /// The taste fitted to the ratings, and what it was fitted to.
    taste: Option<Taste>,
}

impl TasteState {
    /// Why the ratings could not be loaded, once.
    pub(super) fn take_error(&mut self) -> Option<String> {
        self.error.take()
    }

    /// The ratings of `model`, (re)loaded when the model changes.
    pub(super) fn ratings(&mut self, model: &str) -> Option<&mut Ratings> {
        if self.ratings_model.as_deref() != Some(model) {
            self.ratings_model = Some(model.to_string());
            self.ratings = match ratings::data_dir().map(|d| d.join("ratings.jsonl")) {
                Some(path) => match Ratings::load(&path, model) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        self.error = Some(e.to_string());
                        None
                    }
                },
                None => None,
            };
        }
        self.ratings.as_mut()
    }

    /// The taste learned from `model`'s ratings for points of `latent_size`, refitted when
    /// they change; `None` before the first rating or without a melody (latent size 0).
    pub(super) fn fitted(&mut self, model: &str, latent_size: usize) -> Option<&Taste> {
        let ratings = self.ratings(model)?;
        let count = ratings.entries.len();
        if latent_size == 0 || ratings.counts(latent_size) == (0, 0) {
            return None;
        }
        let key = (model.to_string(), count, latent_size);
        if self.taste.as_ref().is_none_or(|t| t.key != key) {
            let entries = &self.ratings.as_ref()?.entries;
            let (fitted, sung) = Preference::of_ratings(entries, latent_size);
            self.taste = Some(Taste { key, fitted, sung });
        }
        self.taste.as_ref()
    }

    /// Forgets `model`'s ratings (see [`Ratings::reset`]) and the taste fitted to them.
    pub(super) fn reset(&mut self, model: &str) -> Option<Result<(), ratings::RatingsError>> {
        self.taste = None;
        self.ratings(model).map(|r| r.reset())
    }
}
