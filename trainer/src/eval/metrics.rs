//! Music-statistics evaluation after Yang & Lerch (2018), "On the evaluation of generative
//! models in music": per-melody features, intra-set and inter-set distance distributions,
//! and the overlap area of their kernel density estimates. Plus in-scale rate and how often
//! 8-note interval patterns are copied from the training set.

use std::collections::HashSet;

use neume::encoding::Melody;
use neume::rng::Rng;

/// Names of the features, in the order of [`features`].
pub const FEATURE_NAMES: [&str; 9] = [
    "pitch_count",
    "pitch_class_histogram",
    "pitch_class_transition",
    "pitch_range",
    "avg_pitch_interval",
    "note_count",
    "avg_ioi",
    "note_length_histogram",
    "note_length_transition",
];

/// Note-length classes in 16th steps (the last class takes everything longer).
const LENGTH_CLASSES: [u32; 8] = [1, 2, 3, 4, 6, 8, 12, 16];

fn length_class(len_steps: u32) -> usize {
    LENGTH_CLASSES.iter().position(|&c| len_steps <= c).unwrap_or(LENGTH_CLASSES.len() - 1)
}

/// The nine features of one melody, each a vector.
pub fn features(m: &Melody) -> [Vec<f64>; 9] {
    let pitches: Vec<u8> = m.notes.iter().map(|n| n.pitch).collect();
    let distinct: HashSet<u8> = pitches.iter().copied().collect();
    let mut pch = vec![0.0; 12];
    for p in &pitches {
        pch[usize::from(p % 12)] += 1.0;
    }
    normalize(&mut pch);
    let mut pctm = vec![0.0; 144];
    for w in pitches.windows(2) {
        pctm[usize::from(w[0] % 12) * 12 + usize::from(w[1] % 12)] += 1.0;
    }
    normalize(&mut pctm);
    let range = match (pitches.iter().max(), pitches.iter().min()) {
        (Some(hi), Some(lo)) => f64::from(hi - lo),
        _ => 0.0,
    };
    let intervals: Vec<f64> =
        pitches.windows(2).map(|w| (f64::from(w[1]) - f64::from(w[0])).abs()).collect();
    let avg_interval = mean(&intervals);
    let iois: Vec<f64> =
        m.notes.windows(2).map(|w| f64::from(w[1].start_step - w[0].start_step)).collect();
    let classes: Vec<usize> = m.notes.iter().map(|n| length_class(n.len_steps)).collect();
    let k = LENGTH_CLASSES.len();
    let mut nlh = vec![0.0; k];
    for &c in &classes {
        nlh[c] += 1.0;
    }
    normalize(&mut nlh);
    let mut nltm = vec![0.0; k * k];
    for w in classes.windows(2) {
        nltm[w[0] * k + w[1]] += 1.0;
    }
    normalize(&mut nltm);
    [
        vec![distinct.len() as f64],
        pch,
        pctm,
        vec![range],
        vec![avg_interval],
        vec![m.notes.len() as f64],
        vec![mean(&iois)],
        nlh,
        nltm,
    ]
}

fn normalize(v: &mut [f64]) {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.iter_mut().for_each(|x| *x /= total);
    }
}

/// Arithmetic mean; 0 for an empty slice.
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

/// Gaussian kernel density estimate with Scott's bandwidth.
struct Kde<'a> {
    points: &'a [f64],
    bandwidth: f64,
}

impl<'a> Kde<'a> {
    fn new(points: &'a [f64]) -> Self {
        let n = points.len().max(1) as f64;
        let m = mean(points);
        let sd = (points.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
        let bandwidth = (sd * n.powf(-0.2)).max(1e-6);
        Kde { points, bandwidth }
    }

    fn pdf(&self, x: f64) -> f64 {
        let h = self.bandwidth;
        let s: f64 = self.points.iter().map(|p| (-0.5 * ((x - p) / h).powi(2)).exp()).sum();
        s / (self.points.len().max(1) as f64 * h * (std::f64::consts::TAU).sqrt())
    }
}

/// Overlap area of the densities of two samples: ∫ min(p, q), on a 512-point grid.
pub fn overlap_area(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (ka, kb) = (Kde::new(a), Kde::new(b));
    let lo = a.iter().chain(b).copied().fold(f64::INFINITY, f64::min)
        - 4.0 * ka.bandwidth.max(kb.bandwidth);
    let hi = a.iter().chain(b).copied().fold(f64::NEG_INFINITY, f64::max)
        + 4.0 * ka.bandwidth.max(kb.bandwidth);
    let n = 512;
    let dx = (hi - lo) / n as f64;
    (0..=n).map(|i| lo + i as f64 * dx).map(|x| ka.pdf(x).min(kb.pdf(x)) * dx).sum::<f64>().min(1.0)
}

/// Subsamples `n` distinct index pairs `(i, j)` with `i < j < len`, or all of them.
fn pairs(len: usize, max_pairs: usize, rng: &mut Rng) -> Vec<(usize, usize)> {
    let all = len * len.saturating_sub(1) / 2;
    if all <= max_pairs {
        (0..len).flat_map(|i| (i + 1..len).map(move |j| (i, j))).collect()
    } else {
        (0..max_pairs)
            .map(|_| {
                let i = rng.below(len);
                let mut j = rng.below(len - 1);
                if j >= i {
                    j += 1;
                }
                (i.min(j), i.max(j))
            })
            .collect()
    }
}

/// Overlap areas, one per feature, of the reference set's intra-set distances against the
/// generated-vs-reference inter-set distances. 1 means indistinguishable.
pub fn overlap_areas(generated: &[Melody], reference: &[Melody], seed: u64) -> [f64; 9] {
    const MAX_PAIRS: usize = 20_000;
    let mut rng = Rng::new(seed);
    let gf: Vec<[Vec<f64>; 9]> = generated.iter().map(features).collect();
    let rf: Vec<[Vec<f64>; 9]> = reference.iter().map(features).collect();
    let intra_pairs = pairs(rf.len(), MAX_PAIRS, &mut rng);
    let inter_pairs: Vec<(usize, usize)> = if gf.len() * rf.len() <= MAX_PAIRS {
        (0..gf.len()).flat_map(|i| (0..rf.len()).map(move |j| (i, j))).collect()
    } else {
        (0..MAX_PAIRS).map(|_| (rng.below(gf.len()), rng.below(rf.len()))).collect()
    };
    let feature = |f: usize| {
        let intra: Vec<f64> =
            intra_pairs.iter().map(|&(i, j)| distance(&rf[i][f], &rf[j][f])).collect();
        let inter: Vec<f64> =
            inter_pairs.iter().map(|&(i, j)| distance(&gf[i][f], &rf[j][f])).collect();
        overlap_area(&intra, &inter)
    };
    // The density estimates dominate (2 × 513 grid points × up to 20,000 distances per
    // feature): one thread per feature. The figures do not depend on the threads.
    std::thread::scope(|scope| {
        let feature = &feature;
        let threads: Vec<_> = (0..9).map(|f| scope.spawn(move || feature(f))).collect();
        // A feature thread only computes arithmetic on owned vectors: it cannot panic short of a bug.
        let mut areas = threads.into_iter().map(|t| t.join().expect("overlap thread"));
        std::array::from_fn(|_| areas.next().unwrap_or(0.0))
    })
}

/// Mean over melodies of the share of notes inside the best-fitting major (or relative
/// minor) scale of that melody.
pub fn in_scale_rate(melodies: &[Melody]) -> f64 {
    const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
    let rates: Vec<f64> = melodies
        .iter()
        .filter(|m| !m.notes.is_empty())
        .map(|m| {
            let best = (0..12u8)
                .map(|root| {
                    m.notes.iter().filter(|n| MAJOR.contains(&((n.pitch + 12 - root) % 12))).count()
                })
                .max()
                .unwrap_or(0);
            best as f64 / m.notes.len() as f64
        })
        .collect();
    mean(&rates)
}

/// Length of the note patterns compared for copying.
pub const COPY_PATTERN_NOTES: usize = 8;

/// Interval patterns (7 successive intervals of 8 notes) of a melody.
fn interval_patterns(m: &Melody) -> impl Iterator<Item = [i8; COPY_PATTERN_NOTES - 1]> + '_ {
    m.notes
        .windows(COPY_PATTERN_NOTES)
        .map(|w| std::array::from_fn(|i| (i16::from(w[i + 1].pitch) - i16::from(w[i].pitch)) as i8))
}

/// Every 8-note interval pattern of a training set.
pub fn pattern_set<'a>(
    melodies: impl Iterator<Item = &'a Melody>,
) -> HashSet<[i8; COPY_PATTERN_NOTES - 1]> {
    melodies.flat_map(interval_patterns).collect()
}

/// Share of the 8-note interval patterns of `melodies` that occur in the training set.
pub fn copy_rate(melodies: &[Melody], training: &HashSet<[i8; COPY_PATTERN_NOTES - 1]>) -> f64 {
    let (mut copied, mut total) = (0usize, 0usize);
    for p in melodies.iter().flat_map(interval_patterns) {
        total += 1;
        copied += usize::from(training.contains(&p));
    }
    if total == 0 {
        0.0
    } else {
        copied as f64 / total as f64
    }
}

/// How varied a set of melodies is (mode collapse shows here): the mean similarity of pairs
/// of melodies, and the share of melodies that are distinct.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Diversity {
    /// Mean, over pairs, of the share of 16th steps (of the shorter melody) at which both
    /// sound the same pitch or both rest.
    pub similarity: f64,
    /// Distinct melodies (the same notes at the same steps count once) over all.
    pub distinct: f64,
}

/// What sounds at each step of a melody: a pitch, or nothing.
fn sounding(melody: &Melody) -> Vec<Option<u8>> {
    let mut steps = vec![None; melody.len_steps as usize];
    for note in &melody.notes {
        let end = (note.start_step + note.len_steps).min(melody.len_steps);
        for step in note.start_step..end {
            steps[step as usize] = Some(note.pitch);
        }
    }
    steps
}

/// The [`Diversity`] of `melodies` (up to 20,000 pairs, drawn with `seed`).
pub fn diversity(melodies: &[Melody], seed: u64) -> Diversity {
    let grids: Vec<Vec<Option<u8>>> = melodies.iter().map(sounding).collect();
    let pairs = pairs(grids.len(), 20_000, &mut Rng::new(seed));
    let similarity = pairs
        .iter()
        .map(|&(i, j)| {
            let (a, b) = (&grids[i], &grids[j]);
            let n = a.len().min(b.len());
            if n == 0 {
                return 1.0;
            }
            a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / n as f64
        })
        .sum::<f64>()
        / pairs.len().max(1) as f64;
    let unique: HashSet<Vec<(u8, u32, u32)>> = melodies
        .iter()
        .map(|m| m.notes.iter().map(|n| (n.pitch, n.start_step, n.len_steps)).collect())
        .collect();
    Diversity { similarity, distinct: unique.len() as f64 / melodies.len().max(1) as f64 }
}

/// Every figure of one evaluation.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// What was evaluated.
    pub name: String,
    /// Melodies compared.
    pub melodies: usize,
    /// Overlap area per feature, in [`FEATURE_NAMES`] order.
    pub overlap: Vec<f64>,
    /// Mean of `overlap`.
    pub mean_overlap: f64,
    /// See [`in_scale_rate`].
    pub in_scale_rate: f64,
    /// See [`copy_rate`].
    pub copy_rate: f64,
    /// Classifier two-sample test against the reference (see [`crate::eval::classifier`]):
    /// cross-validated accuracy, 0.5 = indistinguishable.
    pub classifier_accuracy: f64,
    /// Standard deviation of that accuracy over the 5 folds.
    pub classifier_spread: f64,
    /// Interval shares of the generated melodies.
    pub intervals: crate::eval::classifier::IntervalRates,
    /// How varied they are.
    pub diversity: Diversity,
}

/// Evaluates `generated` against `reference`.
/// Each melody comes with its group (the tune a window was cut from; see
/// [`crate::eval::classifier::two_sample`]).
pub fn report(
    name: &str,
    generated_grouped: &[(Melody, usize)],
    reference_grouped: &[(Melody, usize)],
    training_patterns: &HashSet<[i8; 7]>,
) -> Report {
    let two_sample =
        crate::eval::classifier::two_sample(generated_grouped, reference_grouped, 5, 1);
    let generated: Vec<Melody> = generated_grouped.iter().map(|(m, _)| m.clone()).collect();
    let reference: Vec<Melody> = reference_grouped.iter().map(|(m, _)| m.clone()).collect();
    let (generated, reference) = (&generated[..], &reference[..]);
    let overlap = overlap_areas(generated, reference, 1).to_vec();
    Report {
        name: name.to_string(),
        melodies: generated.len(),
        mean_overlap: mean(&overlap),
        overlap,
        in_scale_rate: in_scale_rate(generated),
        copy_rate: copy_rate(generated, training_patterns),
        classifier_accuracy: two_sample.accuracy,
        classifier_spread: two_sample.spread,
        intervals: crate::eval::classifier::interval_rates(generated),
        diversity: diversity(generated, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::encoding::Note;

    #[test]
    fn diversity_counts_shared_steps_and_distinct_melodies() {
        // Two melodies of 4 quarter notes that share the first two notes: half their steps.
        let a = line(&[60, 62, 64, 65], 4);
        let b = line(&[60, 62, 67, 69], 4);
        let d = diversity(&[a.clone(), b.clone()], 1);
        assert!((d.similarity - 0.5).abs() < 1e-9, "{d:?}");
        assert_eq!(d.distinct, 1.0);
        // A collapsed set: the same melody four times.
        let d = diversity(&[a.clone(), a.clone(), a.clone(), a], 1);
        assert_eq!((d.similarity, d.distinct), (1.0, 0.25));
        // A rest against a rest is the same; a rest against a note is not.
        let rest = Melody { notes: vec![], len_steps: 16 };
        assert_eq!(diversity(&[rest.clone(), rest], 1).similarity, 1.0);
        assert_eq!(diversity(&[b, Melody { notes: vec![], len_steps: 16 }], 1).similarity, 0.0);
    }

    fn line(pitches: &[u8], len: u32) -> Melody {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &p)| Note { pitch: p, start_step: i as u32 * len, len_steps: len })
            .collect();
        Melody { notes, len_steps: pitches.len() as u32 * len }
    }

    #[test]
    fn features_of_a_known_line() {
        let f = features(&line(&[60, 62, 64, 60], 2));
        assert_eq!(f[0], vec![3.0]); // distinct pitches
        assert_eq!(f[1][0], 0.5); // half the notes are C
        assert_eq!(f[3], vec![4.0]); // range
        assert!((f[4][0] - 8.0 / 3.0).abs() < 1e-12); // |2|+|2|+|4| over 3
        assert_eq!(f[5], vec![4.0]);
        assert_eq!(f[6], vec![2.0]);
        assert_eq!(f[7][1], 1.0); // all 8ths
    }

    #[test]
    fn overlap_area_of_identical_and_disjoint_samples() {
        let mut rng = Rng::new(3);
        let a: Vec<f64> = (0..2000).map(|_| rng.normal()).collect();
        let b: Vec<f64> = (0..2000).map(|_| rng.normal()).collect();
        let far: Vec<f64> = b.iter().map(|x| x + 20.0).collect();
        assert!(overlap_area(&a, &b) > 0.93);
        assert!(overlap_area(&a, &far) < 0.01);
        // Two unit normals one sd apart overlap by 2·Φ(-0.5) ≈ 0.617.
        let shifted: Vec<f64> = b.iter().map(|x| x + 1.0).collect();
        assert!((overlap_area(&a, &shifted) - 0.617).abs() < 0.05);
    }

    #[test]
    fn in_scale_and_copy_rates() {
        let c_major = line(&[60, 62, 64, 65, 67, 69, 71, 72], 2);
        let chromatic = line(&[60, 61, 62, 63, 64, 65, 66, 67], 2);
        assert_eq!(in_scale_rate(&[c_major.clone()]), 1.0);
        assert_eq!(in_scale_rate(&[chromatic.clone()]), 5.0 / 8.0);
        let training = pattern_set([c_major.clone()].iter());
        // The same intervals a fifth higher are a copy; the chromatic line is not.
        assert_eq!(copy_rate(&[c_major.transposed(7)], &training), 1.0);
        assert_eq!(copy_rate(&[chromatic], &training), 0.0);
    }
}
