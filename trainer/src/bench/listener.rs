//! Simulated listeners rate what Generate offers; how fast does Neume learn their taste?
//!
//! Each listener has a hidden taste, one of three kinds:
//! - attributes: a leaning over the named attributes of the melody as played (density,
//!   syncopation, range, contour, leaps), a random direction over two of them;
//! - region: a liking for one region of the latent space (three dimensions, a random centre);
//! - style: melodies near a few real tunes (the nearest of three `test` windows, by their
//!   standardised attributes).
//!
//! A listener likes a melody when its taste, plus noise, is above its median over melodies
//! from the prior. After 0, 5, 10, 20 and 50 ratings, 8 fresh draws are scored: the share in
//! the listener's top quartile (of the prior's melodies; random draws: 25 %), and how alike
//! the 8 are (note-level similarity). Neume's preference model ([`neume::taste::preference`]) and
//! today's steering ([`neume::taste::ratings::Ratings::steered_latent`]) rate the same listeners.
//!
//! With a [`Tuner`], the model is also fine-tuned on each listener's liked melodies at 10, 20
//! and 50 ratings, and 8 draws of the tuned model are scored: from its prior (fine-tuning
//! instead of steering) and by the preference model (both).

use std::time::Instant;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::music::attributes::Attribute;
use neume::rng::Rng;
use neume::sampling::generate::{generate, GenerateOptions};
use neume::taste::preference::{self, Preference};
use neume::taste::ratings::{Rating, Ratings};

use crate::data::Tune;
use crate::eval::reconstruction::similarity;
use crate::training::tune::{TuneSettings, Tuner};

/// Numbers of ratings at which the draws are scored.
pub const CHECKPOINTS: [usize; 5] = [0, 5, 10, 20, 50];
/// Draws scored at each checkpoint.
const DRAWS: usize = 8;
/// Prior melodies that set each listener's median and top quartile.
const POOL: usize = 300;
/// Rating noise, in standard deviations of the listener's taste over the prior's melodies.
const NOISE: f64 = 0.3;
/// Numbers of ratings at which a [`Tuner`] fine-tunes on the liked melodies.
const TUNE_AT: [usize; 3] = [10, 20, 50];

/// One line of the report: the figures after `ratings` ratings, over every listener.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ListenerRow {
    pub ratings: usize,
    /// Share of the preference model's draws in the listener's top quartile.
    pub top_quartile: f64,
    /// The same for today's steering (likes as centres, dislikes repel).
    pub baseline: f64,
    /// Mean pairwise note-level similarity of 8 draws of the preference model.
    pub pairwise_similarity: f64,
    /// And of today's steering.
    pub baseline_pairwise_similarity: f64,
    /// Mean time of one update (a fit from every rating so far), in milliseconds; 0 before
    /// the first rating.
    pub update_ms: f64,
    /// `top_quartile` by kind of listener: attributes, region, style.
    pub by_kind: [f64; 3],
    /// Listeners.
    pub listeners: usize,
    /// Explore ↔ Exploit (0 = Exploit) of the draws.
    pub explore: f32,
    /// Whether the candidates were sung and judged by their attributes too.
    pub melody_features: bool,
    /// With fine-tuning (at [`TUNE_AT`]): the share of the tuned model's prior draws in the
    /// top quartile (fine-tuning alone), …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuned_prior: Option<f64>,
    /// … of the preference model's draws sung by the tuned model (both), …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuned_steered: Option<f64>,
    /// … by kind of listener, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuned_steered_by_kind: Option<[f64; 3]>,
    /// … their mean pairwise similarity, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuned_pairwise_similarity: Option<f64>,
    /// … how near the tuned model's prior draws come to the liked melodies it was tuned on
    /// (mean of each draw's highest similarity to one; it copies them near 1), …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tuned_nearest_liked: Option<f64>,
    /// … the same for the preference model's draws without tuning, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nearest_liked: Option<f64>,
    /// … and the mean time of one fine-tuning, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tune_ms: Option<f64>,
}

/// A listener's hidden taste.
#[derive(Clone, Debug)]
enum Taste {
    Attributes([f64; 5]),
    Region { dims: [usize; 3], centre: [f64; 3] },
    Style(Vec<[f64; 5]>),
}

/// What a listener judges a melody by.
struct Heard<'a> {
    latent: &'a [f32],
    /// Standardised attributes.
    attributes: [f64; 5],
}

impl Taste {
    fn kind(&self) -> usize {
        match self {
            Taste::Attributes(_) => 0,
            Taste::Region { .. } => 1,
            Taste::Style(_) => 2,
        }
    }

    fn of(&self, heard: &Heard) -> f64 {
        match self {
            Taste::Attributes(a) => a.iter().zip(&heard.attributes).map(|(w, x)| w * x).sum(),
            Taste::Region { dims, centre } => -dims
                .iter()
                .zip(centre)
                .map(|(&d, c)| (f64::from(heard.latent[d]) - c).powi(2))
                .sum::<f64>(),
            Taste::Style(targets) => -targets
                .iter()
                .map(|t| t.iter().zip(&heard.attributes).map(|(a, b)| (a - b).powi(2)).sum::<f64>())
                .fold(f64::INFINITY, f64::min)
                .sqrt(),
        }
    }
}

/// A listener: a taste and the levels that turn it into ratings and scores.
struct Listener {
    taste: Taste,
    median: f64,
    top_quartile: f64,
    noise: f64,
}

/// Standardises attributes by the prior's mean and spread.
struct Scale {
    mean: [f64; 5],
    sd: [f64; 5],
}

impl Scale {
    fn apply(&self, raw: [f64; 5]) -> [f64; 5] {
        std::array::from_fn(|k| (raw[k] - self.mean[k]) / self.sd[k].max(1e-9))
    }
}

/// A drawn melody with what listeners judge it by.
struct Drawn {
    latent: Vec<f32>,
    melody: Melody,
    /// Its attributes, standardised by the pool (what listeners hear).
    attributes: [f64; 5],
    /// As measured.
    raw: [f64; 5],
}

fn sing(
    generator: &mut Generator,
    latent: Vec<f32>,
    seed: u64,
    scale: Option<&Scale>,
) -> Result<Drawn, String> {
    let options = GenerateOptions {
        bars: 4,
        seed,
        latent: Some(latent.clone()),
        meter: Meter::FourFour,
        ..GenerateOptions::default()
    };
    let melody = generate(generator, &options).map_err(|e| e.to_string())?;
    let raw = Attribute::measure_all(&melody, Meter::FourFour);
    let attributes = scale.map_or(raw, |s| s.apply(raw));
    Ok(Drawn { latent, melody, attributes, raw })
}

/// Runs `listeners` listeners (a third of each kind) at `explore`; one row per checkpoint.
pub fn run(
    generator: &mut Generator,
    tunes: &[Tune],
    listeners: usize,
    explore: f32,
    melody_features: bool,
    seed: u64,
    tuner: Option<(&Tuner, TuneSettings)>,
) -> Result<Vec<ListenerRow>, String> {
    let latent_size = generator.info().latent_size;
    // Separate streams: the listeners and today's steering are the same whatever the
    // preference model draws.
    let mut rng = Rng::new(seed);
    let mut ours_rng = Rng::new(seed ^ 0x6f75_7273);
    let mut base_rng = Rng::new(seed ^ 0x6261_7365);
    // The prior's melodies: the attribute scale and every listener's levels.
    let mut pool = Vec::with_capacity(POOL);
    for _ in 0..POOL {
        let z: Vec<f32> = (0..latent_size).map(|_| rng.normal() as f32).collect();
        pool.push(sing(generator, z, rng.next_u64() % 100_000, None)?);
    }
    let column = |k: usize| pool.iter().map(move |d| d.attributes[k]);
    let mean: [f64; 5] = std::array::from_fn(|k| column(k).sum::<f64>() / POOL as f64);
    let sd: [f64; 5] = std::array::from_fn(|k| {
        (column(k).map(|v| (v - mean[k]).powi(2)).sum::<f64>() / POOL as f64).sqrt()
    });
    let scale = Scale { mean, sd };
    for d in &mut pool {
        d.attributes = scale.apply(d.attributes);
    }
    // Real 4-bar windows in 4/4 for the style listeners.
    let real: Vec<[f64; 5]> = crate::data::reference_windows_in_meters(tunes, 4)
        .into_iter()
        .filter(|(_, _, meter)| *meter == Meter::FourFour)
        .map(|(w, _, meter)| scale.apply(Attribute::measure_all(&w, meter)))
        .collect();
    if real.len() < 3 {
        return Err("the reference folder has fewer than 3 windows of 4 bars in 4/4".into());
    }

    let n_checks = CHECKPOINTS.len();
    let mut sums = vec![[0.0f64; 4]; n_checks];
    let mut by_kind = vec![[0.0f64; 3]; n_checks];
    let mut kinds = [0usize; 3];
    let (mut update_s, mut updates) = (vec![0.0f64; n_checks], vec![0usize; n_checks]);
    // Fine-tuned: the prior's share, the steered share, the steered draws' similarity, and
    // the nearness to the liked melodies of the tuned prior's draws and of the untuned ones.
    let mut tuned = vec![[0.0f64; 5]; n_checks];
    let mut tuned_by_kind = vec![[0.0f64; 3]; n_checks];
    let mut tune_s = vec![0.0f64; n_checks];
    let mut tune_rng = Rng::new(seed ^ 0x7475_6e65);
    let scratch = std::env::temp_dir().join(format!("neume-listener-{}.jsonl", std::process::id()));
    for index in 0..listeners {
        let taste = match index % 3 {
            0 => {
                let (a, b) = (rng.below(5), (rng.below(4) + 1 + index) % 5);
                let mut w = [0.0; 5];
                w[a] = if rng.uniform() < 0.5 { 1.0 } else { -1.0 };
                if b != a {
                    w[b] = 0.6 * rng.normal();
                }
                Taste::Attributes(w)
            }
            1 => {
                let mut dims = [0usize; 3];
                for k in 0..3 {
                    dims[k] = loop {
                        let d = rng.below(latent_size);
                        if !dims[..k].contains(&d) {
                            break d;
                        }
                    };
                }
                Taste::Region { dims, centre: std::array::from_fn(|_| rng.normal()) }
            }
            _ => Taste::Style((0..3).map(|_| real[rng.below(real.len())]).collect()),
        };
        let mut levels: Vec<f64> = pool
            .iter()
            .map(|d| taste.of(&Heard { latent: &d.latent, attributes: d.attributes }))
            .collect();
        levels.sort_by(f64::total_cmp);
        let spread = {
            let m = levels.iter().sum::<f64>() / levels.len() as f64;
            (levels.iter().map(|v| (v - m).powi(2)).sum::<f64>() / levels.len() as f64).sqrt()
        };
        let listener = Listener {
            median: levels[POOL / 2],
            top_quartile: levels[POOL * 3 / 4],
            noise: NOISE * spread,
            taste,
        };
        kinds[listener.taste.kind()] += 1;

        // Neume's preference model.
        let mut rated: Vec<(Vec<f32>, i8)> = Vec::new();
        // What a tuner learns from: the liked melodies, in their meter.
        let mut liked: Vec<(Melody, Meter)> = Vec::new();
        let mut taste = Preference::fit(std::iter::empty(), latent_size);
        // Today's steering.
        let _ = std::fs::remove_file(&scratch);
        let mut steering = Ratings::load(&scratch, "bench").map_err(|e| e.to_string())?;
        for step in 0..=CHECKPOINTS[n_checks - 1] {
            if let Some(c) = CHECKPOINTS.iter().position(|&c| c == step) {
                let mut ours = Vec::with_capacity(DRAWS);
                let mut theirs = Vec::with_capacity(DRAWS);
                for _ in 0..DRAWS {
                    ours.push(offer(
                        generator,
                        &taste,
                        explore,
                        melody_features,
                        &scale,
                        &mut ours_rng,
                    )?);
                    let z = steering.steered_latent(latent_size, &mut base_rng);
                    theirs.push(sing(generator, z, base_rng.next_u64() % 100_000, Some(&scale))?);
                }
                let (top, pairs) = score(&listener, &ours);
                let (base_top, base_pairs) = score(&listener, &theirs);
                sums[c][0] += top;
                sums[c][1] += base_top;
                sums[c][2] += pairs;
                sums[c][3] += base_pairs;
                by_kind[c][listener.taste.kind()] += top;
                if let Some((tuner, settings)) = tuner.filter(|_| TUNE_AT.contains(&step)) {
                    let started = Instant::now();
                    // Nothing liked yet: the model as it is.
                    let mut tuned_model = if liked.is_empty() {
                        None
                    } else {
                        Some(tuner.generator(&tuner.tune(&liked, settings, &mut tune_rng)?)?)
                    };
                    tune_s[c] += started.elapsed().as_secs_f64();
                    let model = tuned_model.as_mut().unwrap_or(&mut *generator);
                    let mut prior = Vec::with_capacity(DRAWS);
                    let mut both = Vec::with_capacity(DRAWS);
                    for _ in 0..DRAWS {
                        let z: Vec<f32> =
                            (0..latent_size).map(|_| tune_rng.normal() as f32).collect();
                        prior.push(sing(model, z, tune_rng.next_u64() % 100_000, Some(&scale))?);
                        both.push(offer(
                            model,
                            &taste,
                            explore,
                            melody_features,
                            &scale,
                            &mut tune_rng,
                        )?);
                    }
                    let (prior_top, _) = score(&listener, &prior);
                    let (both_top, both_pairs) = score(&listener, &both);
                    tuned[c][0] += prior_top;
                    tuned[c][1] += both_top;
                    tuned[c][2] += both_pairs;
                    tuned[c][3] += nearest(&prior, &liked);
                    tuned[c][4] += nearest(&ours, &liked);
                    tuned_by_kind[c][listener.taste.kind()] += both_top;
                }
            }
            if step == CHECKPOINTS[n_checks - 1] {
                break;
            }
            // One Generate of each, rated by the listener.
            let drawn = offer(generator, &taste, explore, melody_features, &scale, &mut ours_rng)?;
            let rating = rate(&listener, &drawn, &mut ours_rng);
            rated.push((describe(&drawn, melody_features), rating));
            if rating > 0 {
                liked.push((drawn.melody.clone(), Meter::FourFour));
            }
            let started = Instant::now();
            taste = Preference::fit(rated.iter().map(|(z, r)| (z.as_slice(), *r)), latent_size);
            let took = started.elapsed().as_secs_f64();
            if let Some(c) = CHECKPOINTS.iter().position(|&c| c == step + 1) {
                update_s[c] += took;
                updates[c] += 1;
            }
            let drawn = sing(
                generator,
                steering.steered_latent(latent_size, &mut base_rng),
                base_rng.next_u64() % 100_000,
                Some(&scale),
            )?;
            let rating = rate(&listener, &drawn, &mut base_rng);
            steering.entries.push(Rating {
                rating,
                latent: drawn.latent,
                model: "bench".into(),
                seed: 0,
                time: 0,
                attributes: Some(drawn.raw),
                melody: None,
            });
        }
    }
    let n = listeners.max(1) as f64;
    let tuned_here = |ratings: usize| tuner.is_some() && TUNE_AT.contains(&ratings);
    Ok(CHECKPOINTS
        .iter()
        .enumerate()
        .map(|(c, &ratings)| ListenerRow {
            ratings,
            top_quartile: sums[c][0] / n,
            baseline: sums[c][1] / n,
            pairwise_similarity: sums[c][2] / n,
            baseline_pairwise_similarity: sums[c][3] / n,
            update_ms: if updates[c] == 0 { 0.0 } else { 1000.0 * update_s[c] / updates[c] as f64 },
            by_kind: std::array::from_fn(|k| by_kind[c][k] / kinds[k].max(1) as f64),
            listeners,
            explore,
            melody_features,
            tuned_prior: tuned_here(ratings).then(|| tuned[c][0] / n),
            tuned_steered: tuned_here(ratings).then(|| tuned[c][1] / n),
            tuned_steered_by_kind: tuned_here(ratings)
                .then(|| std::array::from_fn(|k| tuned_by_kind[c][k] / kinds[k].max(1) as f64)),
            tuned_pairwise_similarity: tuned_here(ratings).then(|| tuned[c][2] / n),
            tuned_nearest_liked: tuned_here(ratings).then(|| tuned[c][3] / n),
            nearest_liked: tuned_here(ratings).then(|| tuned[c][4] / n),
            tune_ms: tuned_here(ratings).then(|| 1000.0 * tune_s[c] / n),
        })
        .collect())
}

/// What the preference model knows of a drawn melody, as the plugin describes it: its latent
/// point, and with `melody_features` its attributes as sung.
fn describe(drawn: &Drawn, melody_features: bool) -> Vec<f32> {
    preference::describe(&drawn.latent, melody_features.then_some(drawn.raw))
}

/// One Generate of the preference model: with `melody_features` every candidate is sung and
/// judged by its notes too, else by its latent point (as the plugin does).
fn offer(
    generator: &mut Generator,
    taste: &Preference,
    explore: f32,
    melody_features: bool,
    scale: &Scale,
    rng: &mut Rng,
) -> Result<Drawn, String> {
    let proposals = taste.proposals(explore, rng);
    if !melody_features {
        let pick = taste.pick(&proposals, rng);
        return sing(generator, proposals[pick].clone(), rng.next_u64() % 100_000, Some(scale));
    }
    let mut drawn = Vec::new();
    for z in proposals {
        drawn.push(sing(generator, z, rng.next_u64() % 100_000, Some(scale))?);
    }
    let descriptions: Vec<Vec<f32>> = drawn.iter().map(|d| describe(d, true)).collect();
    let pick = taste.pick(&descriptions, rng);
    Ok(drawn.swap_remove(pick))
}

/// The listener's rating of `drawn`: Like when its taste plus noise is above its median.
fn rate(listener: &Listener, drawn: &Drawn, rng: &mut Rng) -> i8 {
    let heard = Heard { latent: &drawn.latent, attributes: drawn.attributes };
    if listener.taste.of(&heard) + listener.noise * rng.normal() > listener.median {
        1
    } else {
        -1
    }
}

/// The mean over `draws` of each one's highest note-level similarity to one of `liked` (0
/// when nothing is liked).
fn nearest(draws: &[Drawn], liked: &[(Melody, Meter)]) -> f64 {
    let best = |d: &Drawn| liked.iter().map(|(l, _)| similarity(&d.melody, l)).fold(0.0, f64::max);
    draws.iter().map(best).sum::<f64>() / draws.len().max(1) as f64
}

/// The share of `draws` in the listener's top quartile, and their mean pairwise similarity.
fn score(listener: &Listener, draws: &[Drawn]) -> (f64, f64) {
    let top = draws
        .iter()
        .filter(|d| {
            listener.taste.of(&Heard { latent: &d.latent, attributes: d.attributes })
                >= listener.top_quartile
        })
        .count() as f64
        / draws.len() as f64;
    let mut pairs = (0.0, 0);
    for i in 0..draws.len() {
        for j in i + 1..draws.len() {
            pairs.0 += similarity(&draws[i].melody, &draws[j].melody);
            pairs.1 += 1;
        }
    }
    (top, pairs.0 / f64::from(pairs.1.max(1)))
}
