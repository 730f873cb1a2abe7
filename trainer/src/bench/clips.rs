//! How `neume continue` and `neume vary` do on real tunes:
//! - continuations: the first 2 bars of a tune as the clip; are the continuation's bars 3–4
//!   closer to the tune's own bars 3–4 than to another tune's (pitch-class histogram and note
//!   density), and more often so than unconditioned melodies from the prior?
//! - variations: similarity to the clip (|common| / |union| of notes equal in onset, pitch and
//!   length) by Amount, how alike 8 variations are, and the clip given back at Amount 0.

use std::collections::BTreeSet;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::music::clip::{continue_clip, passage_distance, vary, Clip, ClipOptions};
use neume::rng::Rng;
use neume::sampling::generate::{generate, GenerateOptions};

use crate::data::Tune;
use crate::eval::knobs::spearman;
use crate::eval::reconstruction::similarity;

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
    /// The share of all other tunes' bars 3–4 that are further from a tune's continuation
    /// than its own bars 3–4, averaged over the tunes (the paired comparison against every
    /// other tune rather than one drawn at random), and the same for the prior.
    pub continuation_closer_than_others: f64,
    pub prior_closer_than_others: f64,
    /// Mean distance of the continuation's bars 3–4 to the tune's own, and the prior's.
    pub continuation_distance: f64,
    pub prior_distance: f64,
    /// The same three figures for the prompt itself standing in for bars 3–4: how far the
    /// tune's own first two bars tell its next two apart from another tune's (what a
    /// continuation that only echoed its clip would score).
    pub prompt_own_closer: f64,
    pub prompt_closer_than_others: f64,
    pub prompt_distance: f64,
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

/// Runs both measures: up to `count` tunes and windows of `tunes` in meters the model knows.
pub fn run(
    generator: &mut Generator,
    tunes: &[Tune],
    count: usize,
    seed: u64,
) -> Result<ClipReport, String> {
    let known = generator.info().meters.clone();
    let err = |e: neume::model::runtime::ModelError| e.to_string();
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
    let (mut prompt_own, mut d_prompt) = (0usize, 0.0);
    let (mut continued_tails, mut prior_tails, mut prompt_tails) =
        (Vec::new(), Vec::new(), Vec::new());
    for (i, (prompt, real, meter)) in cases.iter().enumerate() {
        let bar = meter.bar_steps() as u32;
        let clip = Clip::new(prompt, *meter)?;
        let options =
            ClipOptions { seed: seed + i as u64, temperature: None, shift: None, chords: None };
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
        for (tail, wins, sum, tails) in [
            (continued.window(2 * bar, 2 * bar), &mut own, &mut d_cont, &mut continued_tails),
            (from_prior.window(2 * bar, 2 * bar), &mut prior_own, &mut d_prior, &mut prior_tails),
            (prompt.clone(), &mut prompt_own, &mut d_prompt, &mut prompt_tails),
        ] {
            let d = passage_distance(&tail, real);
            *wins += usize::from(d < passage_distance(&tail, other));
            *sum += d;
            tails.push(tail);
        }
    }
    // Against every other tune: the share of the other tunes' bars 3–4 that are further from
    // a tune's continuation than its own are, averaged over the tunes.
    let against_all = |tails: &[Melody]| -> f64 {
        let reals: Vec<&Melody> = cases.iter().map(|(_, real, _)| real).collect();
        let shares = tails.iter().enumerate().map(|(i, tail)| {
            let own = passage_distance(tail, reals[i]);
            let further = (0..reals.len())
                .filter(|&j| j != i && passage_distance(tail, reals[j]) > own)
                .count();
            further as f64 / (reals.len() - 1).max(1) as f64
        });
        shares.sum::<f64>() / tails.len().max(1) as f64
    };
    let (continuation_all, prior_all) = (against_all(&continued_tails), against_all(&prior_tails));
    let prompt_all = against_all(&prompt_tails);
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
                let options = ClipOptions {
                    seed: seed + 8 * w as u64 + v,
                    temperature: None,
                    shift: None,
                    chords: None,
                };
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
        let greedy = ClipOptions { seed, temperature: Some(0.0), shift: None, chords: None };
        given_back += similarity(&vary(generator, &clip, 0.0, &greedy).map_err(err)?.0, &source);
    }
    let n = cases.len().max(1) as f64;
    let m = windows.len().max(1) as f64;
    let sources: Vec<Melody> = windows.iter().map(|(w, _)| w.clone()).collect();
    let overlap =
        crate::eval::metrics::mean(&crate::eval::metrics::overlap_areas(&at_half, &sources, seed));
    Ok(ClipReport {
        tunes: cases.len(),
        continuation_own_closer: own as f64 / n,
        prior_own_closer: prior_own as f64 / n,
        continuation_closer_than_others: continuation_all,
        prior_closer_than_others: prior_all,
        continuation_distance: d_cont / n,
        prior_distance: d_prior / n,
        prompt_own_closer: prompt_own as f64 / n,
        prompt_closer_than_others: prompt_all,
        prompt_distance: d_prompt / n,
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
        assert_eq!(passage_distance(&a, &a), 0.0);
        // Disjoint pitch classes, same count: 1; half the notes: + 0.5.
        assert!((passage_distance(&a, &line(&[61, 63, 66, 68])) - 1.0).abs() < 1e-9);
        assert!((passage_distance(&a, &line(&[60, 62])) - (0.5 + 0.5)).abs() < 1e-9);
    }
}
