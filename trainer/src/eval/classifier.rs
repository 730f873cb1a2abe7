//! The classifier two-sample test: can a classifier tell generated melodies from real ones?
//!
//! Each melody becomes a vector of local features (interval histogram, interval-class
//! bigrams, note durations, onset positions in the bar, interval class × duration, and three
//! shape figures); a gradient-boosted ensemble of depth-2 trees (logistic loss) is trained and
//! scored with stratified k-fold cross-validation. Accuracy near 0.5 means the two sets cannot
//! be told apart by these features; real tunes against other real tunes are the floor.

use neume::encoding::{Melody, STEPS_PER_BAR};
use neume::rng::Rng;

/// Interval class of a pitch move: ≤ −5, −4..−3, −2..−1, 0, 1..2, 3..4, ≥ 5 semitones.
fn interval_class(interval: i32) -> usize {
    match interval {
        i32::MIN..=-5 => 0,
        -4..=-3 => 1,
        -2..=-1 => 2,
        0 => 3,
        1..=2 => 4,
        3..=4 => 5,
        _ => 6,
    }
}

/// Duration class: 1, 2, 3–4, 5–8, more 16ths.
fn duration_class(steps: u32) -> usize {
    match steps {
        0..=1 => 0,
        2 => 1,
        3..=4 => 2,
        5..=8 => 3,
        _ => 4,
    }
}

/// Duration bins of the histogram: 1, 2, 3, 4, 6, 8, 12, ≥ 16, anything else.
fn duration_bin(steps: u32) -> usize {
    match steps {
        1 => 0,
        2 => 1,
        3 => 2,
        4 => 3,
        6 => 4,
        8 => 5,
        12 => 6,
        16.. => 7,
        _ => 8,
    }
}

/// Length of the feature vector.
pub const FEATURES: usize = 25 + 49 + 9 + STEPS_PER_BAR + 35 + 3;

/// The local features of one melody, each group normalised to sum to 1.
pub fn features(melody: &Melody) -> Vec<f64> {
    let mut intervals = [0f64; 25];
    let mut bigrams = [0f64; 49];
    let mut durations = [0f64; 9];
    let mut onsets = [0f64; STEPS_PER_BAR];
    let mut interval_duration = [0f64; 35];
    let notes = &melody.notes;
    let moves: Vec<i32> =
        notes.windows(2).map(|w| i32::from(w[1].pitch) - i32::from(w[0].pitch)).collect();
    for (i, &m) in moves.iter().enumerate() {
        intervals[(m.clamp(-12, 12) + 12) as usize] += 1.0;
        interval_duration[interval_class(m) * 5 + duration_class(notes[i + 1].len_steps)] += 1.0;
    }
    for w in moves.windows(2) {
        bigrams[interval_class(w[0]) * 7 + interval_class(w[1])] += 1.0;
    }
    for n in notes {
        durations[duration_bin(n.len_steps)] += 1.0;
        onsets[n.start_step as usize % STEPS_PER_BAR] += 1.0;
    }
    let mut out = Vec::with_capacity(FEATURES);
    for group in [&intervals[..], &bigrams, &durations, &onsets, &interval_duration] {
        let total: f64 = group.iter().sum();
        out.extend(group.iter().map(|v| if total > 0.0 { v / total } else { 0.0 }));
    }
    let sounding: u32 = notes.iter().map(|n| n.len_steps).sum();
    let len = f64::from(melody.len_steps.max(1));
    let (low, high) =
        notes.iter().fold((u8::MAX, 0u8), |(l, h), n| (l.min(n.pitch), h.max(n.pitch)));
    out.push(notes.len() as f64 / len);
    out.push(1.0 - f64::from(sounding).min(len) / len);
    out.push(if notes.is_empty() { 0.0 } else { f64::from(high - low) / 24.0 });
    out
}

/// A name for feature `index` of [`features`], as a table prints it.
pub fn feature_name(index: usize) -> String {
    const CLASSES: [&str; 7] = ["≤-5", "-4..-3", "-2..-1", "0", "+1..2", "+3..4", "≥+5"];
    const DURATIONS: [&str; 5] = ["1", "2", "3-4", "5-8", "9+"];
    const BINS_16THS: [&str; 9] = ["1", "2", "3", "4", "6", "8", "12", "16+", "other"];
    const SHAPE: [&str; 3] = ["notes per step", "rest share", "range / 24"];
    match index {
        i if i < 25 => format!("interval {:+}", i as i32 - 12),
        i if i < 74 => format!("bigram {} then {}", CLASSES[(i - 25) / 7], CLASSES[(i - 25) % 7]),
        i if i < 83 => format!("duration {} 16ths", BINS_16THS[i - 74]),
        i if i < 83 + STEPS_PER_BAR => format!("onset at step {} of the bar", i - 83),
        i if i < 118 + STEPS_PER_BAR => {
            let k = i - 83 - STEPS_PER_BAR;
            format!("interval {} to a note of {} 16ths", CLASSES[k / 5], DURATIONS[k % 5])
        }
        i => SHAPE
            .get(i - 118 - STEPS_PER_BAR)
            .map_or_else(|| format!("feature {i}"), |s| s.to_string()),
    }
}

/// The features whose means differ most between `a` and `b`, by the difference over the pooled
/// standard deviation: (index, mean in `a`, mean in `b`, standardised difference), the largest
/// `count` by size. What a reader looks at to see why the classifier tells two sets apart.
pub fn largest_differences(
    a: &[Melody],
    b: &[Melody],
    count: usize,
) -> Vec<(usize, f64, f64, f64)> {
    let rows = |set: &[Melody]| -> Vec<Vec<f64>> { set.iter().map(features).collect() };
    let (fa, fb) = (rows(a), rows(b));
    let moments = |rows: &[Vec<f64>], f: usize| {
        let n = rows.len().max(1) as f64;
        let mean = rows.iter().map(|r| r[f]).sum::<f64>() / n;
        (mean, rows.iter().map(|r| (r[f] - mean).powi(2)).sum::<f64>() / n)
    };
    let mut out: Vec<(usize, f64, f64, f64)> = (0..FEATURES)
        .map(|f| {
            let ((ma, va), (mb, vb)) = (moments(&fa, f), moments(&fb, f));
            let sd = ((va + vb) / 2.0).sqrt();
            (f, ma, mb, if sd > 1e-9 { (ma - mb) / sd } else { 0.0 })
        })
        .collect();
    out.sort_by(|x, y| y.3.abs().total_cmp(&x.3.abs()));
    out.truncate(count);
    out
}

/// Bins per feature for the trees' split candidates.
const BINS: usize = 16;
/// Boosting rounds.
const ROUNDS: usize = 100;
/// Shrinkage of each tree.
const LEARNING_RATE: f64 = 0.1;
/// Smallest hessian sum in a leaf (regularises small leaves).
const MIN_LEAF_HESSIAN: f64 = 1.0;

/// Features quantised to bins by quantiles of the training rows.
struct Binned {
    /// Per feature, the upper edges of the bins (bin b holds values ≤ edges[b]).
    edges: Vec<Vec<f64>>,
}

impl Binned {
    fn fit(rows: &[&Vec<f64>]) -> Binned {
        let features = rows.first().map_or(0, |r| r.len());
        let edges = (0..features)
            .map(|f| {
                let mut values: Vec<f64> = rows.iter().map(|r| r[f]).collect();
                values.sort_by(f64::total_cmp);
                let mut e: Vec<f64> = (1..BINS)
                    .map(|b| values[(b * values.len() / BINS).min(values.len() - 1)])
                    .collect();
                e.dedup();
                e
            })
            .collect();
        Binned { edges }
    }

    fn bin(&self, feature: usize, value: f64) -> usize {
        self.edges[feature].partition_point(|&e| e < value)
    }

    fn rows(&self, rows: &[&Vec<f64>]) -> Vec<Vec<u8>> {
        rows.iter()
            .map(|r| r.iter().enumerate().map(|(f, &v)| self.bin(f, v) as u8).collect())
            .collect()
    }
}

/// A depth-2 tree: a split, then a split on each side, four leaf values.
#[derive(Clone, Debug)]
struct Tree {
    root: (usize, u8),
    children: [(usize, u8); 2],
    leaves: [f64; 4],
}

impl Tree {
    fn predict(&self, row: &[u8]) -> f64 {
        let side = usize::from(row[self.root.0] > self.root.1);
        let (f, t) = self.children[side];
        self.leaves[side * 2 + usize::from(row[f] > t)]
    }
}

/// The best split of `rows` (indices) by gradient/hessian gain: (feature, bin threshold).
fn best_split(data: &[Vec<u8>], rows: &[usize], g: &[f64], h: &[f64]) -> (usize, u8) {
    let features = data.first().map_or(0, |r| r.len());
    let (gt, ht): (f64, f64) = rows.iter().fold((0.0, 0.0), |(a, b), &i| (a + g[i], b + h[i]));
    let mut best = (f64::NEG_INFINITY, 0, 0u8);
    for f in 0..features {
        let mut gs = [0f64; BINS];
        let mut hs = [0f64; BINS];
        for &i in rows {
            let b = usize::from(data[i][f]);
            gs[b] += g[i];
            hs[b] += h[i];
        }
        let (mut gl, mut hl) = (0.0, 0.0);
        for b in 0..BINS - 1 {
            gl += gs[b];
            hl += hs[b];
            let (gr, hr) = (gt - gl, ht - hl);
            if hl < MIN_LEAF_HESSIAN || hr < MIN_LEAF_HESSIAN {
                continue;
            }
            let gain = gl * gl / hl + gr * gr / hr;
            if gain > best.0 {
                best = (gain, f, b as u8);
            }
        }
    }
    (best.1, best.2)
}

fn leaf(rows: &[usize], g: &[f64], h: &[f64]) -> f64 {
    let (gs, hs): (f64, f64) = rows.iter().fold((0.0, 0.0), |(a, b), &i| (a + g[i], b + h[i]));
    gs / (hs + MIN_LEAF_HESSIAN)
}

/// Gradient-boosted depth-2 trees on binned rows; labels 0/1.
fn boost(data: &[Vec<u8>], labels: &[f64]) -> Vec<Tree> {
    let n = data.len();
    let mut score = vec![0f64; n];
    let mut trees = Vec::with_capacity(ROUNDS);
    let all: Vec<usize> = (0..n).collect();
    for _ in 0..ROUNDS {
        let p: Vec<f64> = score.iter().map(|s| 1.0 / (1.0 + (-s).exp())).collect();
        let g: Vec<f64> = labels.iter().zip(&p).map(|(y, p)| y - p).collect();
        let h: Vec<f64> = p.iter().map(|p| (p * (1.0 - p)).max(1e-6)).collect();
        let root = best_split(data, &all, &g, &h);
        let (left, right): (Vec<usize>, Vec<usize>) =
            all.iter().partition(|&&i| data[i][root.0] <= root.1);
        let children = [best_split(data, &left, &g, &h), best_split(data, &right, &g, &h)];
        let mut leaves = [0f64; 4];
        for (side, rows) in [left, right].iter().enumerate() {
            let (f, t) = children[side];
            let (l, r): (Vec<usize>, Vec<usize>) = rows.iter().partition(|&&i| data[i][f] <= t);
            leaves[side * 2] = LEARNING_RATE * leaf(&l, &g, &h);
            leaves[side * 2 + 1] = LEARNING_RATE * leaf(&r, &g, &h);
        }
        let tree = Tree { root, children, leaves };
        for (s, row) in score.iter_mut().zip(data) {
            *s += tree.predict(row);
        }
        trees.push(tree);
    }
    trees
}

/// Result of a classifier two-sample test.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct TwoSample {
    /// Mean cross-validated accuracy (0.5: indistinguishable).
    pub accuracy: f64,
    /// Standard deviation of the accuracy over the folds.
    pub spread: f64,
    /// Melodies of each set used (the larger set is cut to the smaller).
    pub per_set: usize,
}

/// Cross-validated accuracy of telling `a` from `b` (`folds`-fold, seeded), each melody with
/// a group: melodies of one group (windows of one tune) always fall in the same fold, so the
/// classifier cannot score by recognising a tune it was trained on. Give every melody its own
/// group when they are independent (generated ones). The larger set is cut to the smaller
/// (whole groups are kept in shuffled order until the size is reached).
pub fn two_sample(
    a: &[(Melody, usize)],
    b: &[(Melody, usize)],
    folds: usize,
    seed: u64,
) -> TwoSample {
    let mut rng = Rng::new(seed);
    let per_set = a.len().min(b.len());
    // Keep `per_set` melodies of a set: groups in shuffled order, members in order.
    let pick = |set: &[(Melody, usize)], rng: &mut Rng| -> Vec<(Vec<f64>, usize)> {
        let mut groups: Vec<usize> = set.iter().map(|(_, g)| *g).collect();
        groups.sort_unstable();
        groups.dedup();
        rng.shuffle(&mut groups);
        let rank: std::collections::HashMap<usize, usize> =
            groups.iter().enumerate().map(|(r, &g)| (g, r)).collect();
        let mut order: Vec<usize> = (0..set.len()).collect();
        order.sort_by_key(|&i| (rank[&set[i].1], i));
        order.into_iter().take(per_set).map(|i| (features(&set[i].0), rank[&set[i].1])).collect()
    };
    let (fa, fb) = (pick(a, &mut rng), pick(b, &mut rng));
    let folds = folds.max(2);
    if per_set < 2 * folds {
        return TwoSample { accuracy: f64::NAN, spread: f64::NAN, per_set };
    }
    // A group's fold: groups dealt round-robin in their shuffled order.
    let (mut correct_all, mut tested_all) = (0usize, 0usize);
    let mut accuracies = Vec::with_capacity(folds);
    for k in 0..folds {
        let mut train: Vec<(&Vec<f64>, f64)> = Vec::new();
        let mut test: Vec<(&Vec<f64>, f64)> = Vec::new();
        for (set, label) in [(&fa, 1.0), (&fb, 0.0)] {
            for (row, group) in set.iter() {
                if group % folds == k {
                    test.push((row, label))
                } else {
                    train.push((row, label))
                }
            }
        }
        if test.is_empty() || train.is_empty() {
            continue;
        }
        let rows: Vec<&Vec<f64>> = train.iter().map(|(r, _)| *r).collect();
        let binned = Binned::fit(&rows);
        let data = binned.rows(&rows);
        let labels: Vec<f64> = train.iter().map(|(_, l)| *l).collect();
        let trees = boost(&data, &labels);
        let test_rows: Vec<&Vec<f64>> = test.iter().map(|(r, _)| *r).collect();
        let correct = binned
            .rows(&test_rows)
            .iter()
            .zip(&test)
            .filter(|(row, (_, label))| {
                let score: f64 = trees.iter().map(|t| t.predict(row)).sum();
                (score > 0.0) == (*label > 0.5)
            })
            .count();
        correct_all += correct;
        tested_all += test.len();
        accuracies.push(correct as f64 / test.len() as f64);
    }
    // Every melody is tested once; both sets are the same size, so the pooled accuracy is
    // balanced. The spread is over the folds.
    let accuracy = correct_all as f64 / tested_all.max(1) as f64;
    let mean = accuracies.iter().sum::<f64>() / accuracies.len().max(1) as f64;
    let var =
        accuracies.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / accuracies.len().max(1) as f64;
    TwoSample { accuracy, spread: var.sqrt(), per_set }
}

/// Melodies that are independent of each other (generated ones): one group each.
pub fn ungrouped(melodies: &[Melody]) -> Vec<(Melody, usize)> {
    melodies.iter().cloned().enumerate().map(|(i, m)| (m, i)).collect()
}

/// Shares of a set's note-to-note moves: (steps of 1–2 semitones, repeated notes, leaps of
/// 5 or more, two steps in a row in the same direction among consecutive move pairs).
pub fn interval_rates(melodies: &[Melody]) -> IntervalRates {
    let (mut moves, mut steps, mut repeats, mut leaps, mut pairs, mut runs) =
        (0usize, 0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut size, mut notes, mut span) = (0u64, 0usize, 0u64);
    for m in melodies {
        notes += m.notes.len();
        let (low, high) =
            m.notes.iter().fold((u8::MAX, 0u8), |(l, h), n| (l.min(n.pitch), h.max(n.pitch)));
        span += u64::from(high.saturating_sub(low));
        let ms: Vec<i32> =
            m.notes.windows(2).map(|w| i32::from(w[1].pitch) - i32::from(w[0].pitch)).collect();
        for &d in &ms {
            moves += 1;
            size += u64::from(d.unsigned_abs());
            steps += usize::from((1..=2).contains(&d.abs()));
            repeats += usize::from(d == 0);
            leaps += usize::from(d.abs() >= 5);
        }
        for w in ms.windows(2) {
            pairs += 1;
            runs += usize::from(
                (1..=2).contains(&w[0].abs())
                    && (1..=2).contains(&w[1].abs())
                    && w[0].signum() == w[1].signum(),
            );
        }
    }
    let share = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    IntervalRates {
        step: share(steps, moves),
        repeat: share(repeats, moves),
        leap: share(leaps, moves),
        run: share(runs, pairs),
        mean_interval: if moves == 0 { 0.0 } else { size as f64 / moves as f64 },
        notes: share(notes, melodies.len()),
        range: share(span as usize, melodies.len()),
    }
}

/// Interval shares of a set of melodies (see [`interval_rates`]).
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct IntervalRates {
    /// Moves of 1–2 semitones.
    pub step: f64,
    /// Repeated pitches.
    pub repeat: f64,
    /// Moves of 5 semitones or more.
    pub leap: f64,
    /// Pairs of consecutive steps in the same direction (scale runs).
    pub run: f64,
    /// Mean size of a move, in semitones.
    pub mean_interval: f64,
    /// Mean notes per melody.
    pub notes: f64,
    /// Mean pitch range of a melody (its highest note less its lowest), in semitones.
    pub range: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::encoding::Note;

    fn line(pitches: &[u8], len: u32) -> Melody {
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &p)| Note { pitch: p, start_step: i as u32 * len, len_steps: len })
            .collect();
        Melody { notes, len_steps: pitches.len() as u32 * len }
    }

    #[test]
    fn features_are_normalised_histograms() {
        let f = features(&line(&[60, 62, 64, 60], 4));
        assert_eq!(f.len(), FEATURES);
        // Intervals +2, +2, −4: bins 14, 14, 8 of 25.
        assert!((f[14] - 2.0 / 3.0).abs() < 1e-12 && (f[8] - 1.0 / 3.0).abs() < 1e-12);
        // Bigrams (step up, step up) and (step up, −4): classes 4·7+4 and 4·7+1.
        assert!((f[25 + 32] - 0.5).abs() < 1e-12 && (f[25 + 29] - 0.5).abs() < 1e-12);
    }

    #[test]
    fn every_feature_has_its_name_and_a_set_its_range() {
        // The names follow the groups' order: the 25 intervals, 49 bigrams, 9 durations, the
        // onsets, 35 interval × duration classes, then the shape figures.
        assert_eq!(feature_name(0), "interval -12");
        assert_eq!(feature_name(25 + 2 * 7 + 4), "bigram -2..-1 then +1..2");
        assert_eq!(feature_name(74 + 7), "duration 16+ 16ths");
        assert_eq!(feature_name(83 + 4), "onset at step 4 of the bar");
        assert_eq!(feature_name(FEATURES - 1), "range / 24");
        assert!((0..FEATURES).all(|i| !feature_name(i).starts_with("feature")));
        // Spans 64 − 60 and 67 − 60.
        let rates = interval_rates(&[line(&[60, 62, 64, 60], 4), line(&[60, 67], 4)]);
        assert_eq!(rates.range, 5.5);
        // A set that leaps differs in its range: wider than the set that walks.
        let walks: Vec<Melody> =
            (0..10).map(|i| line(&[60, 62, 64 - (i % 2) as u8, 62], 4)).collect();
        let leaps: Vec<Melody> =
            (0..10).map(|i| line(&[60, 62 + (i % 2) as u8, 72, 62], 4)).collect();
        let top = largest_differences(&leaps, &walks, 3);
        assert!(top.iter().any(|&(f, a, b, _)| f == FEATURES - 1 && a > b), "{top:?}");
    }

    #[test]
    fn tells_apart_what_differs_and_not_what_does_not() {
        let mut rng = Rng::new(3);
        // Set A walks in steps; set B leaps by fifths; C is drawn like A.
        let walk = |rng: &mut Rng| {
            let mut p = 60i32;
            let pitches: Vec<u8> = (0..16)
                .map(|_| {
                    p += [-2, -1, 1, 2][rng.below(4)];
                    p.clamp(48, 83) as u8
                })
                .collect();
            line(&pitches, 4)
        };
        let leap = |rng: &mut Rng| {
            let mut p = 60i32;
            let pitches: Vec<u8> = (0..16)
                .map(|_| {
                    p += [-7, 7, -5, 5][rng.below(4)];
                    p.clamp(48, 83) as u8
                })
                .collect();
            line(&pitches, 4)
        };
        let a: Vec<Melody> = (0..150).map(|_| walk(&mut rng)).collect();
        let b: Vec<Melody> = (0..150).map(|_| leap(&mut rng)).collect();
        let c: Vec<Melody> = (0..150).map(|_| walk(&mut rng)).collect();
        let apart = two_sample(&ungrouped(&a), &ungrouped(&b), 5, 1);
        assert!(apart.accuracy > 0.95, "{apart:?}");
        let same = two_sample(&ungrouped(&a), &ungrouped(&c), 5, 1);
        assert!(same.accuracy < 0.65, "{same:?}");
        // Ten copies each of 15 tunes against 150 other walks: with tunes split across folds
        // a classifier could recognise them; grouped folds keep it honest.
        let tunes: Vec<(Melody, usize)> = (0..150).map(|i| (a[i / 10].clone(), i / 10)).collect();
        let grouped = two_sample(&tunes, &ungrouped(&c), 5, 1);
        assert!(grouped.accuracy < 0.75, "{grouped:?}");
        // Every move of a walk is a step, except where the range clamps it to a repeat.
        let rates = interval_rates(&a);
        assert!(rates.step > 0.97 && rates.step + rates.repeat == 1.0, "{rates:?}");
        assert_eq!(rates.leap, 0.0);
    }
}
