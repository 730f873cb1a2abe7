//! What a listener likes, learned from their Like and Dislike ratings, and the draws that
//! follow it (editor thread; `neume-train listener-bench` measures it).
//!
//! - **The draws** follow a Gaussian-process classifier over the rated latent points
//!   ([`crate::taste::gp_classifier`]) by Thompson sampling: a few candidates compete, each a prior
//!   draw or a variation of a liked point (so every draw lies where the prior has mass), and
//!   one joint draw of the learned liking picks among them; its randomness keeps the draws
//!   apart. Explore ↔ Exploit sets how many candidates compete.
//! - **The words** ("dense, rising") come from Bayesian logistic regression on the latent
//!   point: the chance of a Like is σ(w · φ(z)), φ(z) = [1, z₁ … zₙ, z₁² − 1 … zₙ² − 1],
//!   under the Laplace approximation; a named knob is a latent dimension, and its linear
//!   weight, when the posterior is sure of its sign, is the listener's leaning along it.

use crate::music::attributes::Attribute;
use crate::rng::Rng;
use crate::taste::gp_classifier::GpClassifier;
use crate::taste::linalg::{cholesky, forward_substitute, solve};

/// Prior standard deviations of the weights: the constant, the linear and the square terms.
const PRIOR_SD_BIAS: f64 = 2.0;
const PRIOR_SD_LINEAR: f64 = 1.0;
const PRIOR_SD_SQUARE: f64 = 0.5;
/// Points from the prior that anchor the fit: the average melody is liked half the time, so a
/// listener who only ever presses Like still teaches a direction (towards the liked points,
/// away from the rest). Together they weigh as much as this many ratings.
const ANCHORS: usize = 32;
const ANCHOR_WEIGHT: f64 = 2.0;
/// Explore ↔ Exploit where the user has not set it (`neume-train listener-bench` chose it).
pub const DEFAULT_EXPLORE: f32 = 0.25;
/// Typical value and spread of each attribute (in [`Attribute::ALL`] order) over the default
/// model's 4-bar melodies from the prior (`neume-train listener-bench`'s pool of 300): a
/// melody's attributes enter its description in these units.
const ATTRIBUTE_MEAN: [f64; 5] = [6.2, 0.50, 13.6, 0.5, 2.7];
const ATTRIBUTE_SPREAD: [f64; 5] = [1.7, 0.085, 4.0, 5.8, 0.8];
/// Weight of the attributes against the latent point's values in a description.
const ATTRIBUTE_WEIGHT: f64 = 1.5;

/// What the taste is learned from and judges: a melody's latent point, followed, when its
/// notes are known, by its attributes as sung ([`Attribute::measure_all`]) in typical units.
/// Judged by its notes too, a candidate's sampling is accounted for, not only its point.
pub fn describe(latent: &[f32], attributes: Option<[f64; 5]>) -> Vec<f32> {
    let mut description = latent.to_vec();
    if let Some(values) = attributes {
        description.extend((0..5).map(|k| {
            (ATTRIBUTE_WEIGHT * (values[k] - ATTRIBUTE_MEAN[k]) / ATTRIBUTE_SPREAD[k]) as f32
        }));
    }
    description
}
/// Prior points that compete for one draw at full Exploit (one at full Explore).
const MOST_CANDIDATES: f64 = 64.0;
/// Posterior z-score of a named knob's leaning before the editor puts it into words (about
/// 93 % sure of its sign).
const SURE: f64 = 1.5;
/// Spread of a candidate around a liked point (today's steering: 0.6).
const LIKED_SPREAD: f32 = 0.35;
/// With `L` likes, a candidate is a variation of a liked point with chance `L / (L + this)`,
/// else a prior draw (today's steering: 2).
const PRIOR_PROPOSALS: f64 = 0.5;
/// Newton steps of the fit, at most.
const FIT_STEPS: usize = 30;

/// A listener's learned taste over one model's latent space.
#[derive(Clone, Debug)]
pub struct Preference {
    latent_size: usize,
    /// Ratings the fit used.
    ratings: usize,
    /// Posterior mode of the weights, in the order of [`features`].
    mean: Vec<f64>,
    /// Lower Cholesky factor of the posterior precision, row-major.
    precision: Vec<f64>,
    /// The liked points: candidates of a draw lie near them as often as today's steering
    /// draws there.
    liked: Vec<Vec<f32>>,
    /// The liking over the latent space that the draws follow.
    gp: GpClassifier,
    /// Values of a description after its latent point (a sung melody's attributes; 0 for a
    /// fit on latent points alone).
    extra: usize,
}

/// The features of latent point `z`: the constant, each value, each square less its prior
/// mean.
fn features(z: &[f32], out: &mut Vec<f64>) {
    out.clear();
    out.push(1.0);
    out.extend(z.iter().map(|&v| f64::from(v)));
    out.extend(z.iter().map(|&v| f64::from(v) * f64::from(v) - 1.0));
}

/// The features of a description: those of its latent point (the first `latent_size`
/// values), then the rest (a sung melody's attributes, see [`describe`]) as they are.
fn description_features(description: &[f32], latent_size: usize, out: &mut Vec<f64>) {
    features(&description[..latent_size], out);
    out.extend(description[latent_size..].iter().map(|&v| f64::from(v)));
}

impl Preference {
    /// The taste of a user's `ratings` (see [`crate::taste::ratings`]), and whether it judges
    /// melodies by their notes too: it does when every rated melody's attributes are known
    /// (lines written before them have none; then all are judged by their latent points).
    pub fn of_ratings(
        ratings: &[crate::taste::ratings::Rating],
        latent_size: usize,
    ) -> (Self, bool) {
        let sung = ratings.iter().all(|r| r.attributes.is_some());
        let described: Vec<(Vec<f32>, i8)> = ratings
            .iter()
            .map(|r| (describe(&r.latent, r.attributes.filter(|_| sung)), r.rating))
            .collect();
        (Self::fit(described.iter().map(|(d, r)| (d.as_slice(), *r)), latent_size), sung)
    }

    /// Fits the taste of `rated` (a melody's description, +1 Like or −1 Dislike); a
    /// description is its latent point, of `latent_size` values, and optionally more features
    /// of the melody after it (then every one has as many). Others are left out. Without
    /// ratings the posterior is the prior.
    pub fn fit<'a>(rated: impl IntoIterator<Item = (&'a [f32], i8)>, latent_size: usize) -> Self {
        // (features, target, weight)
        let mut data: Vec<(Vec<f64>, f64, f64)> = Vec::new();
        let mut liked = Vec::new();
        let mut kept = Vec::new();
        let mut phi = Vec::new();
        let mut described = None;
        for (description, rating) in rated {
            let fits = description.len() >= latent_size
                && *described.get_or_insert(description.len()) == description.len();
            if fits && rating != 0 && description.iter().all(|v| v.is_finite()) {
                let z = &description[..latent_size];
                description_features(description, latent_size, &mut phi);
                data.push((phi.clone(), if rating > 0 { 1.0 } else { 0.0 }, 1.0));
                if rating > 0 {
                    liked.push(z.to_vec());
                }
                kept.push((description.to_vec(), rating));
            }
        }
        let ratings = data.len();
        // A sung description's attributes (0: a typical melody's, for the anchors).
        let extra = described.map_or(0, |n| n.saturating_sub(latent_size));
        let mut rng = Rng::new(0x0a2c_4025);
        for _ in 0..ANCHORS {
            let z: Vec<f32> = (0..latent_size).map(|_| rng.normal() as f32).collect();
            features(&z, &mut phi);
            phi.extend(std::iter::repeat_n(0.0, extra));
            data.push((phi.clone(), 0.5, ANCHOR_WEIGHT / ANCHORS as f64));
        }
        let d = 1 + 2 * latent_size + extra;
        let prior: Vec<f64> = (0..d)
            .map(|j| {
                let sd = match j {
                    0 => PRIOR_SD_BIAS,
                    j if j <= latent_size || j > 2 * latent_size => PRIOR_SD_LINEAR,
                    _ => PRIOR_SD_SQUARE,
                };
                1.0 / (sd * sd)
            })
            .collect();
        // Newton's method on the log posterior, then its curvature at the mode.
        let mut mean = vec![0.0; d];
        for _ in 0..FIT_STEPS {
            let (gradient, precision) = curvature(&data, &prior, &mean);
            let delta = solve(&precision, d, &gradient);
            mean.iter_mut().zip(&delta).for_each(|(m, s)| *m += s);
            if delta.iter().all(|s| s.abs() < 1e-7) {
                break;
            }
        }
        let (_, precision) = curvature(&data, &prior, &mean);
        Preference {
            latent_size,
            ratings,
            mean,
            precision,
            liked,
            gp: GpClassifier::fit(&kept),
            extra,
        }
    }

    /// How many ratings the fit used.
    pub fn ratings(&self) -> usize {
        self.ratings
    }

    /// The learned chance of a Like for a melody so described (as the ratings were), at the
    /// posterior mode.
    pub fn like_chance(&self, description: &[f32]) -> f64 {
        let mut phi = Vec::new();
        description_features(description, self.latent_size, &mut phi);
        sigmoid(dot(&phi, &self.mean))
    }

    /// How many prior points compete for one draw at `explore` (0 = Exploit … 1 = Explore).
    pub fn candidates(explore: f32) -> usize {
        let explore = f64::from(explore.clamp(0.0, 1.0));
        MOST_CANDIDATES.powf(1.0 - explore).round().max(1.0) as usize
    }

    /// A latent point for Generate: Thompson sampling (see the module) over
    /// [`Preference::proposals`], described by their latent points alone.
    pub fn draw(&self, explore: f32, rng: &mut Rng) -> Vec<f32> {
        let candidates = self.proposals(explore, rng);
        // Described as the ratings were: a taste fitted on sung melodies reads their
        // attributes after the point; an unsung candidate's are a typical melody's (0, as the
        // fit's anchors have them). Before, 32 values were compared with fits of 37.
        let described: Vec<Vec<f32>> = candidates
            .iter()
            .map(|z| {
                let mut d = z.clone();
                d.resize(self.latent_size + self.extra, 0.0);
                d
            })
            .collect();
        let pick = self.pick(&described, rng);
        candidates.into_iter().nth(pick).unwrap_or_default()
    }

    /// Which of `descriptions` (described as the ratings were) one joint draw of the liking
    /// ranks highest; the first without ratings.
    pub fn pick(&self, descriptions: &[Vec<f32>], rng: &mut Rng) -> usize {
        if self.ratings == 0 {
            return 0;
        }
        self.gp.thompson(descriptions, rng)
    }

    /// The latent points that compete for one draw at `explore`: each a prior draw, or with
    /// `L` likes, with chance `L / (L + 0.5)`, a variation of a liked point (spread 0.35).
    pub fn proposals(&self, explore: f32, rng: &mut Rng) -> Vec<Vec<f32>> {
        let likes = self.liked.len() as f64;
        (0..Self::candidates(explore))
            .map(|_| {
                let mut z: Vec<f32> = (0..self.latent_size).map(|_| rng.normal() as f32).collect();
                if likes > 0.0 && rng.uniform() < likes / (likes + PRIOR_PROPOSALS) {
                    let centre = &self.liked[rng.below(self.liked.len())];
                    z.iter_mut().zip(centre).for_each(|(v, c)| *v = c + LIKED_SPREAD * *v);
                }
                z
            })
            .collect()
    }

    /// The posterior z-score (mean over standard deviation) of the leaning along each named
    /// knob: `knobs` pairs an attribute with its latent dimension. Where the ratings carry the
    /// melodies' attributes, the leaning is the attribute's own weight, else its dimension's.
    pub fn leanings(&self, knobs: &[(Attribute, usize)]) -> Vec<(Attribute, f64)> {
        let d = self.mean.len();
        let sung = d == 1 + 2 * self.latent_size + Attribute::ALL.len();
        knobs
            .iter()
            .filter(|&&(_, dim)| dim < self.latent_size)
            .map(|&(attribute, dim)| {
                let j = match Attribute::ALL.iter().position(|&a| a == attribute) {
                    Some(k) if sung => 1 + 2 * self.latent_size + k,
                    _ => 1 + dim,
                };
                // Var(w_j) = (precision⁻¹)_jj = |L⁻¹ e_j|².
                let mut unit = vec![0.0; d];
                unit[j] = 1.0;
                let column = forward_substitute(&self.precision, d, &unit);
                let sd = column.iter().map(|v| v * v).sum::<f64>().sqrt();
                (attribute, self.mean[j] / sd.max(1e-12))
            })
            .collect()
    }

    /// What the listener likes, in a musician's words ("dense, rising, narrow range"): the
    /// named knobs whose leaning is sure, strongest first; `None` when none is yet.
    pub fn words(&self, knobs: &[(Attribute, usize)]) -> Option<String> {
        let mut sure: Vec<(Attribute, f64)> =
            self.leanings(knobs).into_iter().filter(|(_, z)| z.abs() >= SURE).collect();
        sure.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let words: Vec<&str> = sure
            .iter()
            .take(3)
            .map(|&(a, z)| if z > 0.0 { a.words().0 } else { a.words().1 })
            .collect();
        (!words.is_empty()).then(|| words.join(", "))
    }
}

/// The gradient of the log posterior at `mean` and the Cholesky factor of its negative
/// Hessian (the precision), over `data` (features, target, weight) and the prior precisions.
fn curvature(data: &[(Vec<f64>, f64, f64)], prior: &[f64], mean: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let d = mean.len();
    let mut gradient: Vec<f64> = mean.iter().zip(prior).map(|(m, p)| -m * p).collect();
    let mut precision = vec![0.0; d * d];
    for j in 0..d {
        precision[j * d + j] = prior[j];
    }
    for (phi, target, weight) in data {
        let p = sigmoid(dot(phi, mean));
        let g = weight * (target - p);
        let h = weight * p * (1.0 - p);
        for j in 0..d {
            gradient[j] += g * phi[j];
            for k in 0..=j {
                precision[j * d + k] += h * phi[j] * phi[k];
            }
        }
    }
    // The prior's precision is on the diagonal, and the data add a positive semidefinite
    // matrix: positive definite.
    let floored = cholesky(&mut precision, d);
    debug_assert_eq!(floored, 0, "the posterior precision is positive definite");
    (gradient, precision)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listener who likes high values of dimension 0 and low ones of dimension 2: after 30
    /// ratings of prior draws the draws lean that way, the words say so, and without ratings
    /// the draws are the prior's.
    #[test]
    fn draws_follow_a_learned_leaning_and_the_words_name_it() {
        let n = 8;
        let mut rng = Rng::new(3);
        let mut rated: Vec<(Vec<f32>, i8)> = Vec::new();
        for _ in 0..30 {
            let z: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let like = z[0] - z[2] > 0.0;
            rated.push((z, if like { 1 } else { -1 }));
        }
        let taste = Preference::fit(rated.iter().map(|(z, r)| (z.as_slice(), *r)), n);
        assert_eq!(taste.ratings(), 30);
        let mean_of = |p: &Preference, dim: usize, rng: &mut Rng| {
            (0..400).map(|_| f64::from(p.draw(0.5, rng)[dim])).sum::<f64>() / 400.0
        };
        // Best of 8 along (1, -1)/√2: the expected maximum of 8 normals is 1.42, so the mean
        // of z0 is near 1.0 with a perfect fit; well above 0 with a learned one.
        assert!(mean_of(&taste, 0, &mut rng) > 0.5);
        assert!(mean_of(&taste, 2, &mut rng) < -0.5);
        // Dimension 1 does not matter: the draws keep the liked points' mean there.
        let liked: Vec<f64> =
            rated.iter().filter(|(_, r)| *r > 0).map(|(z, _)| f64::from(z[1])).collect();
        let liked_mean = liked.iter().sum::<f64>() / liked.len() as f64;
        assert!((mean_of(&taste, 1, &mut rng) - liked_mean).abs() < 0.3);
        let prior = Preference::fit(std::iter::empty(), n);
        assert!(mean_of(&prior, 0, &mut rng).abs() < 0.2);
        let knobs = [(Attribute::Density, 0), (Attribute::Rhythm, 1), (Attribute::Contour, 2)];
        assert_eq!(taste.words(&knobs).as_deref(), Some("dense, falling"));
        assert_eq!(prior.words(&knobs), None);
        assert!(taste.like_chance(&[2.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0]) > 0.9);
    }

    /// Sung ratings: a listener who likes dense melodies, whatever their latent points. The
    /// words come from the melodies' density, not from the dimension the knob moves.
    #[test]
    fn sung_ratings_speak_of_the_attributes_heard() {
        let n = 8;
        let mut rng = Rng::new(11);
        let mut rated = Vec::new();
        for _ in 0..30 {
            let z: Vec<f32> = (0..n).map(|_| rng.normal() as f32).collect();
            let density = 6.2 + 1.7 * rng.normal();
            let sung = [density, 0.5, 13.6, 0.5, 2.7];
            rated.push((describe(&z, Some(sung)), if density > 6.2 { 1 } else { -1 }));
        }
        let taste = Preference::fit(rated.iter().map(|(d, r)| (d.as_slice(), *r)), n);
        let knobs = [(Attribute::Density, 0), (Attribute::Contour, 3)];
        assert_eq!(taste.words(&knobs).as_deref(), Some("dense"));
        let typical = describe(&[0.0; 8], Some([6.2, 0.5, 13.6, 0.5, 2.7]));
        let dense = describe(&[0.0; 8], Some([9.6, 0.5, 13.6, 0.5, 2.7]));
        assert!(taste.like_chance(&dense) > taste.like_chance(&typical) + 0.2);
    }

    #[test]
    fn likes_alone_teach_a_direction() {
        let n = 4;
        let liked: Vec<Vec<f32>> =
            (0..6).map(|i| vec![1.5 + 0.1 * i as f32, 0.0, 0.0, 0.0]).collect();
        let taste = Preference::fit(liked.iter().map(|z| (z.as_slice(), 1)), n);
        assert!(
            taste.like_chance(&[1.5, 0.0, 0.0, 0.0])
                > taste.like_chance(&[-1.5, 0.0, 0.0, 0.0]) + 0.3
        );
    }

    #[test]
    fn explore_sets_the_competition() {
        assert_eq!(Preference::candidates(0.0), 64);
        assert_eq!(Preference::candidates(0.5), 8);
        assert_eq!(Preference::candidates(1.0), 1);
    }
}
