//! The form of long melodies: how alike their bars are at each distance (lag), and how often
//! a bar nearly repeats the bar 4 or 8 before it. Real tunes repeat and vary their phrases;
//! these figures say whether generated melodies do.

use neume::encoding::{Melody, Meter};

/// Bars the form figures look at (the first 16 of each melody).
pub const FORM_BARS: usize = 16;

/// A bar at least this similar to the bar 4 or 8 before it nearly repeats it.
pub const NEAR_REPEAT: f64 = 0.75;

/// The notes of bar `bar` of `melody` (bars of `bar_steps`): `(onset in the bar, pitch,
/// duration)`, durations cut at the bar's end.
fn bar_notes(melody: &Melody, bar_steps: u32, bar: usize) -> Vec<(u32, u8, u32)> {
    let start = bar as u32 * bar_steps;
    let end = start + bar_steps;
    melody
        .notes
        .iter()
        .filter(|n| n.start_step >= start && n.start_step < end)
        .map(|n| (n.start_step - start, n.pitch, n.end_step().min(end) - n.start_step))
        .collect()
}

/// Note-level similarity of two bars: notes are equal when their onset in the bar, pitch and
/// duration all agree; |common| / |union|. `None` when both bars are empty.
pub fn bar_similarity(a: &[(u32, u8, u32)], b: &[(u32, u8, u32)]) -> Option<f64> {
    let common = a.iter().filter(|n| b.contains(n)).count();
    let union = a.len() + b.len() - common;
    (union > 0).then(|| common as f64 / union as f64)
}

/// The form figures of a set of melodies.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FormProfile {
    /// Melodies measured (those with at least [`FORM_BARS`] bars).
    pub melodies: usize,
    /// Mean similarity of bar pairs `lag` bars apart, for lags 1..=15 (index 0 is lag 1).
    pub by_lag: Vec<f64>,
    /// Share of bars 5–16 whose similarity with the bar 4 or 8 before is at least
    /// [`NEAR_REPEAT`].
    pub near_repeat_rate: f64,
}

/// The form figures of `melodies` (each with its meter), over their first 16 bars; shorter
/// ones are left out.
pub fn profile(melodies: &[(Melody, Meter)]) -> FormProfile {
    let mut sums = vec![(0.0f64, 0usize); FORM_BARS - 1];
    let (mut repeats, mut later_bars, mut measured) = (0usize, 0usize, 0usize);
    for (melody, meter) in melodies {
        let bar_steps = meter.bar_steps() as u32;
        if (melody.len_steps as usize) < FORM_BARS * bar_steps as usize {
            continue;
        }
        measured += 1;
        let bars: Vec<_> = (0..FORM_BARS).map(|b| bar_notes(melody, bar_steps, b)).collect();
        for lag in 1..FORM_BARS {
            for i in lag..FORM_BARS {
                if let Some(s) = bar_similarity(&bars[i], &bars[i - lag]) {
                    sums[lag - 1].0 += s;
                    sums[lag - 1].1 += 1;
                }
            }
        }
        for i in 4..FORM_BARS {
            later_bars += 1;
            let near = |lag: usize| {
                i >= lag && bar_similarity(&bars[i], &bars[i - lag]).unwrap_or(0.0) >= NEAR_REPEAT
            };
            repeats += usize::from(near(4) || near(8));
        }
    }
    FormProfile {
        melodies: measured,
        by_lag: sums.iter().map(|&(s, n)| if n == 0 { 0.0 } else { s / n as f64 }).collect(),
        near_repeat_rate: if later_bars == 0 { 0.0 } else { repeats as f64 / later_bars as f64 },
    }
}

/// Mean absolute difference of two profiles' similarity by lag.
pub fn profile_distance(a: &FormProfile, b: &FormProfile) -> f64 {
    let n = a.by_lag.len().min(b.by_lag.len()).max(1);
    a.by_lag.iter().zip(&b.by_lag).map(|(x, y)| (x - y).abs()).sum::<f64>() / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::encoding::Note;

    #[test]
    fn a_tune_in_aaba_form_has_its_repeats_at_lags_4_8_and_12() {
        // 16 bars of 2/4 (8 steps): phrases of 4 bars A A B A, each bar of A its own two
        // notes, B's bars all different from A's.
        let mut notes = Vec::new();
        for (phrase, kind) in [0, 0, 1, 0].into_iter().enumerate() {
            for bar in 0..4u32 {
                let start = (phrase as u32 * 4 + bar) * 8;
                let pitch = if kind == 0 { 60 + bar as u8 } else { 70 + bar as u8 };
                notes.push(Note { pitch, start_step: start, len_steps: 4 });
                notes.push(Note { pitch: pitch + 2, start_step: start + 4, len_steps: 4 });
            }
        }
        let p = profile(&[(Melody { notes, len_steps: 128 }, Meter::TwoFour)]);
        assert_eq!(p.melodies, 1);
        // Lag 4: pairs (2,1) equal, (3,2) and (4,3) different: 4 of 12 bar pairs.
        assert!((p.by_lag[3] - 4.0 / 12.0).abs() < 1e-12, "{:?}", p.by_lag);
        // Lag 8: (3,1) different, (4,2) equal: 4 of 8. Lag 12: (4,1) equal: 4 of 4.
        assert!((p.by_lag[7] - 0.5).abs() < 1e-12);
        assert!((p.by_lag[11] - 1.0).abs() < 1e-12);
        // Odd lags compare different bars of a phrase: nothing in common.
        assert_eq!(p.by_lag[0], 0.0);
        // Bars 5–8 repeat bars 1–4 (lag 4), 13–16 repeat 5–8 (lag 8): 8 of 12.
        assert!((p.near_repeat_rate - 8.0 / 12.0).abs() < 1e-12);
        // A note that differs only in length is another note.
        assert_eq!(bar_similarity(&[(0, 60, 4)], &[(0, 60, 2)]), Some(0.0));
        assert_eq!(bar_similarity(&[(0, 60, 4), (4, 62, 4)], &[(0, 60, 4)]), Some(0.5));
        assert_eq!(bar_similarity(&[], &[]), None);
    }
}
