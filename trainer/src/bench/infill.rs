//! `neume-train infill`: how `neume infill` does on real tunes. In 8-bar windows of the
//! reference tunes (one a tune), each 2-bar span (bars 1–2, 3–4, 5–6, 7–8) is hidden in turn
//! and sung anew; the new bars are compared with the hidden real ones, paired with bars from
//! the prior at the same place, and the intervals across both seams (last kept note → first
//! new note, last new note → first kept note) with the real tunes' seams. Methods: the
//! chosen one (8 candidates, the kept bars after the span scored), the past alone (one
//! candidate), bars from the prior, and the tune standing in for itself (its own 2 bars
//! before the span, or after it for bars 1–2) as the ceiling.

use std::collections::BTreeSet;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::music::clip::{infill, passage_distance, ClipOptions, INFILL_CANDIDATES};
use neume::sampling::generate::{generate, Form, GenerateOptions};

use crate::data::Tune;

/// Seam intervals are counted by |semitones| up to an octave, larger ones together.
const INTERVAL_BINS: usize = 14;

/// One method's figures.
#[derive(Debug, serde::Serialize)]
pub struct Method {
    /// Mean distance of the new bars to the hidden real ones (`passage_distance`).
    pub mean_distance: f64,
    /// Share of cases whose new bars are closer to the hidden real ones than the prior's bars
    /// at the same place (paired).
    pub closer_than_prior: f64,
    /// Total-variation distance of the seam intervals to the real tunes' (0: alike).
    pub seam_tv: f64,
}

/// What `neume-train infill` prints.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Windows and spans measured.
    pub windows: usize,
    pub cases: usize,
    pub chosen: Method,
    pub past_only: Method,
    pub prior: Method,
    pub tune_itself: Method,
}

/// |interval| bins of the seams of `melody` around the span `[start, end)` (steps).
fn seams(melody: &Melody, start: u32, end: u32, bins: &mut [f64; INTERVAL_BINS]) {
    let before = melody.notes.iter().filter(|n| n.start_step < start).last();
    let first_in = melody.notes.iter().find(|n| n.start_step >= start && n.start_step < end);
    let last_in =
        melody.notes.iter().filter(|n| n.start_step >= start && n.start_step < end).last();
    let after = melody.notes.iter().find(|n| n.start_step >= end);
    for (a, b) in [(before, first_in), (last_in, after)] {
        if let (Some(a), Some(b)) = (a, b) {
            bins[usize::from(a.pitch.abs_diff(b.pitch)).min(INTERVAL_BINS - 1)] += 1.0;
        }
    }
}

fn tv(a: &[f64; INTERVAL_BINS], b: &[f64; INTERVAL_BINS]) -> f64 {
    let (sa, sb) = (a.iter().sum::<f64>().max(1e-9), b.iter().sum::<f64>().max(1e-9));
    0.5 * a.iter().zip(b).map(|(x, y)| (x / sa - y / sb).abs()).sum::<f64>()
}

/// `melody` with steps `[start, end)` taken from `other` (at the same steps).
fn spliced(melody: &Melody, other: &Melody, start: u32, end: u32) -> Melody {
    let mut notes: Vec<_> = melody
        .notes
        .iter()
        .filter(|n| n.start_step < start || n.start_step >= end)
        .map(|n| {
            let mut n = *n;
            if n.start_step < start {
                n.len_steps = n.len_steps.min(start - n.start_step);
            }
            n
        })
        .chain(other.notes.iter().filter(|n| n.start_step >= start && n.start_step < end).map(
            |n| {
                let mut n = *n;
                n.len_steps = n.len_steps.min(end - n.start_step);
                n
            },
        ))
        .collect();
    notes.sort_by_key(|n| n.start_step);
    Melody { notes, len_steps: melody.len_steps }
}

/// Runs the measure on up to `count` tunes.
pub fn run(
    generator: &mut Generator,
    tunes: &[Tune],
    count: usize,
    seed: u64,
) -> Result<Report, String> {
    let known = generator.info().meters.clone();
    let err = |e: neume::model::runtime::ModelError| e.to_string();
    let mut seen = BTreeSet::new();
    let windows: Vec<(Melody, Meter)> = crate::data::reference_windows_in_meters(tunes, 8)
        .into_iter()
        .filter(|(_, index, meter)| known.contains(meter) && seen.insert(*index))
        .map(|(window, _, meter)| (window, meter))
        .take(count)
        .collect();
    let mut bins = [[0f64; INTERVAL_BINS]; 5]; // real, chosen, past, prior, itself
    let mut distance = [0f64; 4];
    let mut closer = [0usize; 4];
    let mut cases = 0usize;
    for (w, (window, meter)) in windows.iter().enumerate() {
        let bar = meter.bar_steps() as u32;
        let prior = generate(
            generator,
            &GenerateOptions {
                bars: 8,
                seed: seed + w as u64,
                meter: *meter,
                form: Form::Through,
                ..Default::default()
            },
        )
        .map_err(err)?;
        for first in [1usize, 3, 5, 7] {
            let (start, end) = ((first as u32 - 1) * bar, (first as u32 + 1) * bar);
            let real = window.window(start, end - start);
            if real.notes.is_empty() {
                continue;
            }
            cases += 1;
            let options =
                ClipOptions { seed: seed + w as u64, temperature: None, shift: None, chords: None };
            let chosen =
                infill(generator, window, *meter, (first, first + 1), &options, INFILL_CANDIDATES)
                    .map_err(err)?;
            let past =
                infill(generator, window, *meter, (first, first + 1), &options, 1).map_err(err)?;
            let from_prior = spliced(window, &prior, start, end);
            // The tune standing in for itself: its own two bars before the span (after it,
            // for bars 1–2), moved into the span.
            let source = if first == 1 { end } else { start - 2 * bar };
            let own = window.window(source, 2 * bar);
            let own_moved = Melody {
                notes: own
                    .notes
                    .iter()
                    .map(|n| neume::encoding::Note { start_step: n.start_step + start, ..*n })
                    .collect(),
                len_steps: window.len_steps,
            };
            let itself = spliced(window, &own_moved, start, end);
            seams(window, start, end, &mut bins[0]);
            let prior_d = passage_distance(&from_prior.window(start, end - start), &real);
            for (i, melody) in [&chosen, &past, &from_prior, &itself].into_iter().enumerate() {
                seams(melody, start, end, &mut bins[i + 1]);
                let d = passage_distance(&melody.window(start, end - start), &real);
                distance[i] += d;
                closer[i] += usize::from(d < prior_d);
            }
        }
    }
    let method = |i: usize| Method {
        mean_distance: distance[i] / cases.max(1) as f64,
        closer_than_prior: closer[i] as f64 / cases.max(1) as f64,
        seam_tv: tv(&bins[i + 1], &bins[0]),
    };
    Ok(Report {
        windows: windows.len(),
        cases,
        chosen: method(0),
        past_only: method(1),
        prior: method(2),
        tune_itself: method(3),
    })
}
