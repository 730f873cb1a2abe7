//! How `neume continue` and `neume vary` do on real tunes:
//! - continuations: the first 2 bars of a tune as the clip; are the continuation's bars 3–4
//!   closer to the tune's own bars 3–4 than to another tune's (pitch-class histogram and note
//!   density), and more often so than unconditioned melodies from the prior?
//! - variations: similarity to the clip (|common| / |union| of notes equal in onset, pitch and
//!   length) by Amount, how alike 8 variations are, and the clip given back at Amount 0.

use std::collections::BTreeSet;

use neume::clip::{continue_clip, vary, Clip, ClipOptions};
use neume::encoding::{Melody, Meter};
use neume::generate::{generate, GenerateOptions};
use neume::rng::Rng;
use neume::runtime::Generator;

use crate::data::Tune;
use crate::knobs::spearman;
use crate::reconstruction::similarity;

/// Amounts of the variation curve.
pub const AMOUNTS: [f32; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

/// The figures.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ClipReport {
    /// Tunes whose first 2 bars were continued.
    pub tunes: usize,
    /// Share of tunes whose continuation is closer to their own bars 3–4 than to another's.
    pub continuation_own_closer: f64,
    /// The same for an unconditioned melody from the prior (the baseline).
    pub prior_own_closer: f64,
    /// Mean distance of the continuation's bars 3–4 to the tune's own, and the prior's.
    pub continuation_distance: f64,
    pub prior_distance: f64,
    /// Windows varied.
    pub windows: usize,
    /// Mean similarity of a variation to its clip at each of [`AMOUNTS`].
    pub similarity_by_amount: Vec<f64>,
    /// Spearman ρ between Amount and similarity, over every variation.
    pub spearman: f64,
    /// Mean pairwise similarity of 8 variations at Amount 0.5.
    pub pairwise_at_half: f64,
    /// Mean overlap area (Yang & Lerch features) of the variations at Amount 0.5 with the
    /// windows: whether they stay melodies of the corpus's kind.
    pub overlap_at_half: f64,
    /// Mean similarity of Amount 0 at temperature 0 to the clip.
    pub given_back: f64,
}

/// Distance of two passages: half the L1 distance of their duration-weighted pitch-class
/// histograms (0..=1) plus their relative difference in note count (0..=1).
pub fn distance(a: &Melody, b: &Melody) -> f64 {
    let histogram = |m: &Melody| {
        let p = neume::key_finding::profile(m);
        let total: f32 = p.iter().sum();
        p.map(|v| f64::from(v / total.max(1e-9)))
    };
    let (ha, hb) = (histogram(a), histogram(b));
    let l1: f64 = ha.iter().zip(&hb).map(|(x, y)| (x - y).abs()).sum();
    let (na, nb) = (a.notes.len() as f64, b.notes.len() as f64);
    l1 / 2.0 + (na - nb).abs() / na.max(nb).max(1.0)
}

/// Runs both measures: up to `count` tunes and windows of `tunes` in meters the model knows.
pub fn run(
    generator: &mut Generator,
    tunes: &[Tune],
    count: usize,
    seed: u64,
) -> Result<ClipReport, String> {
    let known = generator.info().meters.clone();
    let err = |e: neume::runtime::ModelError| e.to_string();
    // Continuations: 4-bar windows of the tunes (starting on a bar line with a note), one per
    // tune.
    let mut seen = BTreeSet::new();
    let cases: Vec<(Melody, Melody, Meter)> = crate::data::reference_windows_in_meters(tunes, 4)
        .into_iter()
        .filter(|(_, index, meter)| known.contains(meter) && seen.insert(*index))
        .filter_map(|(window, _, meter)| {
            let bar = meter.bar_steps() as u32;
            let prompt = window.window(0, 2 * bar);
            let real = window.window(2 * bar, 2 * bar);
            (prompt.notes.len() >= 2 && real.notes.len() >= 2).then_some((prompt, real, meter))
        })
        .take(count)
        .collect();
    let mut rng = Rng::new(seed);
    let (mut own, mut prior_own, mut d_cont, mut d_prior) = (0usize, 0usize, 0.0, 0.0);
    for (i, (prompt, real, meter)) in cases.iter().enumerate() {
        let bar = meter.bar_steps() as u32;
        let clip = Clip::new(prompt, *meter)?;
        let options = ClipOptions { seed: seed + i as u64, temperature: None, shift: None };
        let (continued, _) = continue_clip(generator, &clip, 4, &options).map_err(err)?;
        let from_prior = generate(
            generator,
            &GenerateOptions {
                bars: 4,
                seed: seed + i as u64,
                meter: *meter,
                ..Default::default()
            },
        )
        .map_err(err)?;
        // Another tune's bars 3–4 (of any meter).
        let other = loop {
            let j = rng.below(cases.len());
            if j != i || cases.len() == 1 {
                break &cases[j].1;
            }
        };
        for (melody, wins, sum) in
            [(continued, &mut own, &mut d_cont), (from_prior, &mut prior_own, &mut d_prior)]
        {
            let tail = melody.window(2 * bar, 2 * bar);
            let d = distance(&tail, real);
            *wins += usize::from(d < distance(&tail, other));
            *sum += d;
        }
    }
    // Variations: the tunes' first 4-bar windows.
    let windows: Vec<(Melody, Meter)> = crate::data::reference_windows_in_meters(tunes, 4)
        .into_iter()
        .filter(|(_, _, meter)| known.contains(meter))
        .map(|(m, _, meter)| (m, meter))
        .take(count)
        .collect();
    let mut by_amount = vec![0.0; AMOUNTS.len()];
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    let (mut pairwise, mut given_back) = (0.0, 0.0);
    let mut at_half = Vec::new();
    for (w, (window, meter)) in windows.iter().enumerate() {
        let clip = Clip::new(window, *meter)?;
        let source = clip.back(&clip.melody);
        for (k, &amount) in AMOUNTS.iter().enumerate() {
            let mut made = Vec::new();
            for v in 0..8u64 {
                let options =
                    ClipOptions { seed: seed + 8 * w as u64 + v, temperature: None, shift: None };
                let (variation, _) = vary(generator, &clip, amount, &options).map_err(err)?;
                let s = similarity(&variation, &source);
                by_amount[k] += s / 8.0;
                xs.push(f64::from(amount));
                ys.push(s);
                made.push(variation);
            }
            if amount == 0.5 {
                let mut sum = 0.0;
                for a in 0..made.len() {
                    for b in a + 1..made.len() {
                        sum += similarity(&made[a], &made[b]);
                    }
                }
                pairwise += sum / 28.0;
                at_half.push(made[0].clone());
            }
        }
        let greedy = ClipOptions { seed, temperature: Some(0.0), shift: None };
        given_back += similarity(&vary(generator, &clip, 0.0, &greedy).map_err(err)?.0, &source);
    }
    let n = cases.len().max(1) as f64;
    let m = windows.len().max(1) as f64;
    let sources: Vec<Melody> = windows.iter().map(|(w, _)| w.clone()).collect();
    let overlap = crate::metrics::mean(&crate::metrics::overlap_areas(&at_half, &sources, seed));
    Ok(ClipReport {
        tunes: cases.len(),
        continuation_own_closer: own as f64 / n,
        prior_own_closer: prior_own as f64 / n,
        continuation_distance: d_cont / n,
        prior_distance: d_prior / n,
        windows: windows.len(),
        similarity_by_amount: by_amount.iter().map(|s| s / m).collect(),
        spearman: spearman(&xs, &ys),
        pairwise_at_half: pairwise / m,
        overlap_at_half: overlap,
        given_back: given_back / m,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::encoding::Note;

    fn line(pitches: &[u8]) -> Melody {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &pitch)| Note { pitch, start_step: 4 * i as u32, len_steps: 4 })
            .collect();
        Melody { notes, len_steps: 4 * pitches.len() as u32 }
    }

    #[test]
    fn similarity_and_distance_by_hand() {
        let a = line(&[60, 62, 64, 65]);
        // Two notes of four in common, six distinct notes: 2 / 6.
        assert!((similarity(&a, &line(&[60, 62, 67, 69])) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(similarity(&a, &a), 1.0);
        assert_eq!(distance(&a, &a), 0.0);
        // Disjoint pitch classes, same count: 1; half the notes: + 0.5.
        assert!((distance(&a, &line(&[61, 63, 66, 68])) - 1.0).abs() < 1e-9);
        assert!((distance(&a, &line(&[60, 62])) - (0.5 + 0.5)).abs() < 1e-9);
    }
}
