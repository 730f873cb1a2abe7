//! How often the key finder names the key of a 4-bar window (the plugin's "Key from input"
//! and the clip's key): windows of reference tunes with a key signature, each moved to a
//! random key, against the key their signature says (relative major or minor is a miss).

use neume::encoding::{Melody, Meter};
use neume::music::key_finding::{melody_key, profile, Key, SCALES};
use neume::rng::Rng;

use crate::data::{reference_windows_in_meters, Tune};

/// Top-1 accuracy and the kinds of miss.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyReport {
    /// Windows judged (of tunes with a key signature).
    pub windows: usize,
    /// Share named exactly.
    pub accuracy: f64,
    /// Share named as the relative major or minor.
    pub relative: f64,
    /// Share named a fifth above or below, same mode.
    pub fifth: f64,
    /// Share named as the parallel key (same tonic, other mode).
    pub parallel: f64,
    /// Windows of tunes that end on their signature's tonic (where the signature surely
    /// names the key), and the share of those named exactly.
    pub ending_on_tonic: usize,
    pub ending_on_tonic_accuracy: f64,
    /// The share named exactly among the other windows: tunes that end elsewhere, modal tunes
    /// (a dorian or mixolydian tune carries its parent major's or minor's signature) and
    /// chorales that close on another degree.
    pub ending_elsewhere_accuracy: f64,
}

/// Judges every `bars`-bar window of `tunes` that has a key signature, each moved by a random
/// number of semitones (from `seed`).
pub fn run(tunes: &[Tune], bars: usize, seed: u64) -> KeyReport {
    run_with(tunes, bars, seed, |m, _| melody_key(m))
}

/// [`run`] with another key finder.
pub fn run_with(
    tunes: &[Tune],
    bars: usize,
    seed: u64,
    mut finder: impl FnMut(&Melody, Meter) -> Option<Key>,
) -> KeyReport {
    let mut rng = Rng::new(seed);
    let (mut n, mut exact, mut relative, mut fifth, mut parallel) = (0usize, 0, 0, 0, 0);
    // Windows and exact answers of tunes ending on their signature's tonic, and of the rest.
    let (mut tonic_ending, mut elsewhere) = ([0usize; 2], [0usize; 2]);
    for (window, index, meter) in reference_windows_in_meters(tunes, bars) {
        let Some(minor) = tunes[index].minor else { continue };
        let shift = rng.below(12) as u8;
        // In the frame a major tune's tonic is C, a minor one's A.
        let frame_tonic = if minor { 9 } else { 0 };
        let truth = Key { tonic: (frame_tonic + shift) % 12, minor };
        let moved = window.transposed(i32::from(shift));
        let Some(found) = finder(&moved, meter) else { continue };
        n += 1;
        let ends_on_tonic =
            tunes[index].melody.notes.last().is_some_and(|note| note.pitch % 12 == frame_tonic);
        let tally = if ends_on_tonic { &mut tonic_ending } else { &mut elsewhere };
        tally[0] += 1;
        tally[1] += usize::from(found == truth);
        let up = |k: Key, semitones: u8| (k.tonic + semitones) % 12;
        if found == truth {
            exact += 1;
        } else if found.minor != truth.minor {
            if found.tonic == truth.tonic {
                parallel += 1;
            } else if up(truth, if truth.minor { 3 } else { 9 }) == found.tonic {
                relative += 1;
            }
        } else if found.tonic == up(truth, 7) || found.tonic == up(truth, 5) {
            fifth += 1;
        }
    }
    let share = |k: usize| k as f64 / n.max(1) as f64;
    KeyReport {
        windows: n,
        accuracy: share(exact),
        relative: share(relative),
        fifth: share(fifth),
        parallel: share(parallel),
        ending_on_tonic: tonic_ending[0],
        ending_on_tonic_accuracy: tonic_ending[1] as f64 / tonic_ending[0].max(1) as f64,
        ending_elsewhere_accuracy: elsewhere[1] as f64 / elsewhere[0].max(1) as f64,
    }
}

/// Key profiles learned from `tunes`: the mean share of each pitch class (tonic first) in
/// their `bars`-bar windows, major and minor by their key signatures.
pub fn learn_profiles(tunes: &[Tune], bars: usize) -> [[f64; 12]; 2] {
    let mut sums = [[0f64; 12]; 2];
    let mut counts = [0usize; 2];
    for (window, index, _) in reference_windows_in_meters(tunes, bars) {
        let Some(minor) = tunes[index].minor else { continue };
        let p = profile(&window);
        let total: f32 = p.iter().sum();
        let tonic = if minor { 9 } else { 0 };
        for (pc, sum) in sums[usize::from(minor)].iter_mut().enumerate() {
            *sum += f64::from(p[(tonic + pc) % 12] / total);
        }
        counts[usize::from(minor)] += 1;
    }
    for (sum, n) in sums.iter_mut().zip(counts) {
        sum.iter_mut().for_each(|v| *v /= n.max(1) as f64);
    }
    sums
}

/// Weights of a linear key scorer: for a key, the profile's shares rotated to its tonic
/// (tonic first) dotted with its mode's 12 weights, plus its mode's weight × the share
/// inside its scale.
#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyWeights {
    pub major: [f64; 12],
    pub minor: [f64; 12],
    pub scale: [f64; 2],
}

impl KeyWeights {
    /// The features of the 24 keys (index `tonic + 12·minor`): 12 rotated shares and the
    /// share inside the scale.
    fn features(p: &[f32; 12]) -> Option<[[f64; 13]; 24]> {
        let total: f64 = p.iter().map(|&v| f64::from(v)).sum();
        if total <= 0.0 {
            return None;
        }
        let mut f = [[0f64; 13]; 24];
        for (k, row) in f.iter_mut().enumerate() {
            let (tonic, mode) = (k % 12, k / 12);
            for pc in 0..12 {
                row[pc] = f64::from(p[(tonic + pc) % 12]) / total;
            }
            row[12] = SCALES[mode].iter().map(|s| row[*s]).sum();
        }
        Some(f)
    }

    fn scores(&self, f: &[[f64; 13]; 24]) -> [f64; 24] {
        let mut out = [0f64; 24];
        for (k, row) in f.iter().enumerate() {
            let (w, c) =
                if k < 12 { (&self.major, self.scale[0]) } else { (&self.minor, self.scale[1]) };
            out[k] = (0..12).map(|pc| w[pc] * row[pc]).sum::<f64>() + c * row[12];
        }
        out
    }

    /// The best-scoring key of a melody.
    pub fn key(&self, melody: &Melody) -> Option<Key> {
        let f = Self::features(&profile(melody))?;
        let s = self.scores(&f);
        let (i, _) = s.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
        Some(Key { tonic: (i % 12) as u8, minor: i >= 12 })
    }
}

/// Fits [`KeyWeights`] to the key signatures of `tunes`' windows: multinomial logistic
/// regression over the 24 keys (the scorer is the same for every transposition, so the
/// windows are taken in the frame), full-batch Adam.
pub fn fit_weights(tunes: &[Tune], bars: usize, steps: usize) -> KeyWeights {
    let mut data = Vec::new();
    for (window, index, _) in reference_windows_in_meters(tunes, bars) {
        let Some(minor) = tunes[index].minor else { continue };
        let Some(f) = KeyWeights::features(&profile(&window)) else { continue };
        data.push((f, if minor { 9 + 12 } else { 0 }));
    }
    // 26 parameters: major 0..12, minor 12..24, scale weights 24, 25.
    let mut theta = [0f64; 26];
    let (mut m, mut v) = ([0f64; 26], [0f64; 26]);
    let (lr, b1, b2) = (0.05, 0.9, 0.999);
    for t in 1..=steps {
        let weights = KeyWeights {
            major: theta[..12].try_into().unwrap(),
            minor: theta[12..24].try_into().unwrap(),
            scale: [theta[24], theta[25]],
        };
        let mut grad = [0f64; 26];
        for (f, truth) in &data {
            let s = weights.scores(f);
            let max = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
            let z: f64 = e.iter().sum();
            for (k, row) in f.iter().enumerate() {
                let d = e[k] / z - if k == *truth { 1.0 } else { 0.0 };
                let base = if k < 12 { 0 } else { 12 };
                for pc in 0..12 {
                    grad[base + pc] += d * row[pc];
                }
                grad[24 + k / 12] += d * row[12];
            }
        }
        for i in 0..26 {
            let g = grad[i] / data.len() as f64;
            m[i] = b1 * m[i] + (1.0 - b1) * g;
            v[i] = b2 * v[i] + (1.0 - b2) * g * g;
            let mh = m[i] / (1.0 - b1.powi(t as i32));
            let vh = v[i] / (1.0 - b2.powi(t as i32));
            theta[i] -= lr * mh / (vh.sqrt() + 1e-8);
        }
    }
    KeyWeights {
        major: theta[..12].try_into().unwrap(),
        minor: theta[12..24].try_into().unwrap(),
        scale: [theta[24], theta[25]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::encoding::{Melody, Meter, Note};

    /// A 4/4 tune in the frame running up and down a scale from `tonic`, 8 bars of quarters.
    fn tune(tonic: i8, steps: [u8; 8], minor: Option<bool>) -> Tune {
        let notes = (0..32u32)
            .map(|i| {
                let step = steps[(i % 8) as usize];
                Note { pitch: (60 + tonic) as u8 + step, start_step: 4 * i, len_steps: 4 }
            })
            .collect();
        Tune {
            path: "t.mid".into(),
            melody: Melody { notes, len_steps: 128 },
            bar_steps: 16,
            meter: Meter::FourFour,
            minor,
        }
    }

    #[test]
    fn scales_are_named_and_a_wrong_signature_is_a_relative_miss() {
        const MAJOR: [u8; 8] = [0, 2, 4, 5, 7, 9, 11, 12];
        const MINOR: [u8; 8] = [0, 2, 3, 5, 7, 8, 10, 12];
        // C major and A minor in the frame, both labelled right; one without a signature.
        let right = [tune(0, MAJOR, Some(false)), tune(9 - 12, MINOR, Some(true))];
        let report = run(&[right[0].clone(), right[1].clone(), tune(0, MAJOR, None)], 4, 3);
        // Two 4-bar windows per 8-bar tune (the reference windows do not overlap).
        assert_eq!((report.windows, report.accuracy), (4, 1.0), "{report:?}");
        // Both end on their tonic (the scale's top note, an octave up).
        assert_eq!((report.ending_on_tonic, report.ending_on_tonic_accuracy), (4, 1.0));
        // An A minor tune whose signature says major (C): every window is a relative miss,
        // and the tune ends on A, not on the signature's tonic.
        let report = run(&[tune(9 - 12, MINOR, Some(false))], 4, 3);
        assert_eq!((report.accuracy, report.relative), (0.0, 1.0), "{report:?}");
        assert_eq!((report.ending_on_tonic, report.ending_elsewhere_accuracy), (0, 0.0));
    }
}
