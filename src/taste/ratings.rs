//! The user's ratings: liked and disliked latent points, kept in a per-user file so that they
//! survive restarts and steer which melodies are drawn next: one JSON object per line, keyed
//! by the model's id. `neume-train ratings` reads it, and `neume-train tune` fine-tunes a
//! model on the liked melodies' notes.
//!
//! File: `<data dir>/neume/ratings.jsonl` (`$XDG_DATA_HOME` or `~/.local/share` on Linux,
//! `%APPDATA%` on Windows, `~/Library/Application Support` on macOS); `NEUME_DATA_DIR`
//! replaces `<data dir>/neume`. Used on the editor thread only.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::encoding::{Melody, Meter, Note};
use crate::rng::Rng;

/// One rating, one line of the file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    /// +1 like, −1 dislike.
    pub rating: i8,
    /// The melody's latent point.
    pub latent: Vec<f32>,
    /// The model's id (`id:` and its `neume.model_id`), or for a model without one `default` or
    /// its path: points only mean something in their model's latent space.
    pub model: String,
    /// The seed the melody was sampled with.
    pub seed: u64,
    /// Seconds since 1970.
    pub time: u64,
    /// The melody's attributes as sung (density, syncopation, range, contour, leaps; see
    /// [`crate::music::attributes::Attribute::measure_all`]); absent in lines written before them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attributes: Option<[f64; 5]>,
    /// The melody's notes as played and its meter (what `neume-train tune` learns from);
    /// absent in lines written before them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub melody: Option<RatedMelody>,
}

/// A rated melody's notes, in the model's output key before the octave setting.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatedMelody {
    /// Its time signature (`6/8`).
    pub meter: String,
    /// Its length in 16th steps.
    pub len_steps: u32,
    /// `[pitch, start_step, len_steps]` per note.
    pub notes: Vec<[u32; 3]>,
}

impl RatedMelody {
    pub fn new(melody: &Melody, meter: Meter) -> RatedMelody {
        RatedMelody {
            meter: meter.to_string(),
            len_steps: melody.len_steps,
            notes: melody
                .notes
                .iter()
                .map(|n| [u32::from(n.pitch), n.start_step, n.len_steps])
                .collect(),
        }
    }

    /// The melody and its meter, if the line's values make one.
    pub fn melody(&self) -> Option<(Melody, Meter)> {
        let meter = Meter::parse(&self.meter).ok()?;
        let notes = self
            .notes
            .iter()
            .map(|&[pitch, start_step, len_steps]| {
                Some(Note { pitch: u8::try_from(pitch).ok()?, start_step, len_steps })
            })
            .collect::<Option<Vec<Note>>>()?;
        Some((Melody { notes, len_steps: self.len_steps }, meter))
    }
}

/// Why the ratings file could not be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct RatingsError {
    /// The ratings file.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// The per-user folder Neume keeps its files in.
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("NEUME_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join("neume"))
}

/// The ratings of one user, for one model.
#[derive(Debug)]
pub struct Ratings {
    path: PathBuf,
    model: String,
    /// Ratings of this model (other models' lines stay in the file).
    pub entries: Vec<Rating>,
    /// Lines of the file that could not be read (kept in the file, reported once).
    pub unreadable_lines: usize,
}

/// The most ratings of one model that count (the newest): the preference model's fit is
/// cubic in their number.
pub const MAX_RATINGS: usize = 400;

/// The largest latent point a rating may hold: its length and the largest |coordinate| (in
/// the prior's standard deviations; the knobs reach ±3, the CLI ±10).
pub const MAX_LATENT_LEN: usize = 256;
pub const MAX_LATENT_VALUE: f32 = 10.0;

impl Rating {
    /// Whether the line can be used: a like or dislike, a latent point of finite values
    /// within ±[`MAX_LATENT_VALUE`] and at most [`MAX_LATENT_LEN`] long, finite attributes.
    /// A line that is not (written by hand, damaged) counts as unreadable: it could make the
    /// preference model's kernel overflow.
    pub fn is_usable(&self) -> bool {
        matches!(self.rating, -1 | 1)
            && !self.latent.is_empty()
            && self.latent.len() <= MAX_LATENT_LEN
            && self.latent.iter().all(|v| v.is_finite() && v.abs() <= MAX_LATENT_VALUE)
            && self.attributes.is_none_or(|a| a.iter().all(|v| v.is_finite() && v.abs() < 1e6))
    }
}

/// Spread of the draws around a liked point.
const LIKED_SPREAD: f32 = 0.6;
/// Distance scale at which a disliked point repels a draw.
const DISLIKED_RADIUS: f32 = 1.5;
/// Candidates drawn per steered sample (the one farthest from disliked points wins).
const CANDIDATES: usize = 8;

impl Ratings {
    /// Reads `path` (a missing file is an empty one), keeping ratings of `model`.
    pub fn load(path: &Path, model: &str) -> Result<Ratings, RatingsError> {
        let error = |message: String| RatingsError { path: path.display().to_string(), message };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(error(e.to_string())),
        };
        let mut entries = Vec::new();
        let mut unreadable_lines = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Rating>(line) {
                Ok(r) if r.model == model && r.is_usable() => entries.push(r),
                Ok(r) if r.model == model => unreadable_lines += 1,
                Ok(_) => {}
                Err(_) => unreadable_lines += 1,
            }
        }
        // The preference fit is cubic in the ratings: only the newest count.
        if entries.len() > MAX_RATINGS {
            entries.drain(..entries.len() - MAX_RATINGS);
        }
        Ok(Ratings {
            path: path.to_path_buf(),
            model: model.to_string(),
            entries,
            unreadable_lines,
        })
    }

    /// Adds a rating and appends it to the file at once.
    pub fn add(
        &mut self,
        rating: i8,
        latent: Vec<f32>,
        seed: u64,
        attributes: Option<[f64; 5]>,
        melody: Option<RatedMelody>,
    ) -> Result<(), RatingsError> {
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let entry = Rating {
            rating: rating.signum(),
            latent,
            model: self.model.clone(),
            seed,
            time,
            attributes,
            melody,
        };
        let error =
            |message: String| RatingsError { path: self.path.display().to_string(), message };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| error(e.to_string()))?;
        }
        let line = serde_json::to_string(&entry).map_err(|e| error(e.to_string()))?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .map_err(|e| error(e.to_string()))?;
        writeln!(file, "{line}").map_err(|e| error(e.to_string()))?;
        self.entries.push(entry);
        Ok(())
    }

    /// Forgets this model's ratings: the file keeps other models' lines; the old file is kept
    /// beside it as `ratings.jsonl.bak`.
    pub fn reset(&mut self) -> Result<(), RatingsError> {
        let error =
            |message: String| RatingsError { path: self.path.display().to_string(), message };
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(error(e.to_string())),
        };
        let kept: String = text
            .lines()
            .filter(|l| serde_json::from_str::<Rating>(l).map_or(true, |r| r.model != self.model))
            .map(|l| format!("{l}\n"))
            .collect();
        if !text.is_empty() {
            std::fs::write(self.path.with_extension("jsonl.bak"), &text)
                .map_err(|e| error(e.to_string()))?;
        }
        std::fs::write(&self.path, kept).map_err(|e| error(e.to_string()))?;
        self.entries.clear();
        Ok(())
    }

    /// Likes and dislikes of this model whose points have `latent_size` values.
    pub fn counts(&self, latent_size: usize) -> (usize, usize) {
        let usable = self.entries.iter().filter(|r| r.latent.len() == latent_size);
        let likes = usable.clone().filter(|r| r.rating > 0).count();
        (likes, usable.count() - likes)
    }

    /// Draws a latent point for a new melody, steered by the ratings: with `L` likes, a draw
    /// lies near a random liked point with probability `L / (L + 2)` (else it comes from the
    /// prior N(0, I)); of several such candidates, the one least close to disliked points is
    /// kept. Without ratings this is a plain draw from the prior.
    pub fn steered_latent(&self, latent_size: usize, rng: &mut Rng) -> Vec<f32> {
        let liked: Vec<&[f32]> = self
            .entries
            .iter()
            .filter(|r| r.rating > 0 && r.latent.len() == latent_size)
            .map(|r| r.latent.as_slice())
            .collect();
        let disliked: Vec<&[f32]> = self
            .entries
            .iter()
            .filter(|r| r.rating < 0 && r.latent.len() == latent_size)
            .map(|r| r.latent.as_slice())
            .collect();
        let draw = |rng: &mut Rng| -> Vec<f32> {
            let noise: Vec<f32> = (0..latent_size).map(|_| rng.normal() as f32).collect();
            let near_liked = !liked.is_empty()
                && rng.uniform() < liked.len() as f64 / (liked.len() as f64 + 2.0);
            if near_liked {
                let centre = liked[rng.below(liked.len())];
                centre.iter().zip(&noise).map(|(c, n)| c + LIKED_SPREAD * n).collect()
            } else {
                noise
            }
        };
        if disliked.is_empty() {
            return draw(rng);
        }
        let repulsion = |z: &[f32]| -> f32 {
            disliked
                .iter()
                .map(|d| {
                    (-z.iter().zip(*d).map(|(a, b)| (a - b) * (a - b)).sum::<f32>()
                        / (2.0 * DISLIKED_RADIUS * DISLIKED_RADIUS))
                        .exp()
                })
                .sum()
        };
        (0..CANDIDATES)
            .map(|_| draw(rng))
            .min_by(|a, b| repulsion(a).total_cmp(&repulsion(b)))
            .unwrap_or_else(|| draw(rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("neume-ratings-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("ratings.jsonl")
    }

    #[test]
    fn ratings_survive_a_reload_and_reset_keeps_other_models() {
        let path = temp_file("reload");
        let mut r = Ratings::load(&path, "default").unwrap();
        r.add(1, vec![1.0, 2.0], 5, Some([4.0, 0.5, 12.0, 1.0, 2.0]), None).unwrap();
        r.add(-1, vec![0.0, 0.0], 6, None, None).unwrap();
        let mut other = Ratings::load(&path, "mine.onnx").unwrap();
        other.add(1, vec![3.0, 3.0], 7, None, None).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"not json\n")
            .unwrap();
        let again = Ratings::load(&path, "default").unwrap();
        assert_eq!(again.entries.len(), 2);
        assert_eq!(again.counts(2), (1, 1));
        assert_eq!(again.unreadable_lines, 1);
        assert_eq!(again.entries[0].attributes, Some([4.0, 0.5, 12.0, 1.0, 2.0]));
        assert_eq!(again.entries[1].attributes, None);
        let mut again = again;
        again.reset().unwrap();
        assert!(Ratings::load(&path, "default").unwrap().entries.is_empty());
        assert_eq!(Ratings::load(&path, "mine.onnx").unwrap().entries.len(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn draws_move_towards_likes_and_away_from_dislikes() {
        let path = temp_file("steer");
        let n = 16;
        let mut liked = vec![0.0; n];
        liked[0] = 2.5;
        let mut disliked = vec![0.0; n];
        disliked[1] = 1.0;
        let mut r = Ratings::load(&path, "default").unwrap();
        for _ in 0..4 {
            r.add(1, liked.clone(), 1, None, None).unwrap();
        }
        let plain = Ratings::load(&temp_file("none"), "default").unwrap();
        let mut rng = Rng::new(9);
        let mean0 = |ratings: &Ratings, rng: &mut Rng| {
            (0..2000).map(|_| ratings.steered_latent(n, rng)[0]).sum::<f32>() / 2000.0
        };
        assert!(mean0(&plain, &mut rng).abs() < 0.1);
        // 4 likes: two thirds of the draws sit around 2.5 on axis 0.
        let m = mean0(&r, &mut rng);
        assert!((m - 2.5 * 4.0 / 6.0).abs() < 0.2, "mean along the liked axis {m}");
        let mut r = Ratings::load(&temp_file("dislike"), "default").unwrap();
        r.add(-1, disliked.clone(), 2, None, None).unwrap();
        let dist = |ratings: &Ratings, rng: &mut Rng| {
            (0..2000)
                .map(|_| {
                    ratings
                        .steered_latent(n, rng)
                        .iter()
                        .zip(&disliked)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f32>()
                        .sqrt()
                })
                .sum::<f32>()
                / 2000.0
        };
        let without = dist(&plain, &mut rng);
        let with = dist(&r, &mut rng);
        assert!(
            with > without + 0.1,
            "distance to the disliked point: {with} with ratings, {without} without"
        );
        for name in ["steer", "dislike"] {
            let _ = std::fs::remove_dir_all(temp_file(name).parent().unwrap());
        }
    }
}
