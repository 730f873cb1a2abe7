//! The musical attributes the named knobs move: each a number measured on a melody in its
//! meter. The trainer ties one latent dimension to each (attribute-regularised VAE), its
//! evaluation checks that the knob does what its name says, and the plugin names its knobs
//! after them.

use crate::encoding::{Melody, Meter};

/// An attribute of a melody that a knob can be tied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    /// Onsets per bar.
    Density,
    /// Syncopation: the mean metrical weakness of the onsets (0 all on downbeats, 1 all on
    /// the weakest 16ths; see [`Meter::weakness`]).
    Rhythm,
    /// Pitch span, highest minus lowest note, in semitones.
    Range,
    /// Net rise (positive) or fall: the least-squares slope of pitch over time, in semitones
    /// over the whole melody.
    Contour,
    /// Mean size of the moves between successive notes, in semitones.
    Leaps,
}

impl Attribute {
    /// Every attribute, in the order of the plugin's named knobs.
    pub const ALL: [Attribute; 5] = [
        Attribute::Density,
        Attribute::Rhythm,
        Attribute::Range,
        Attribute::Contour,
        Attribute::Leaps,
    ];

    /// The knob's name (host parameter, editor, `--knob` on the command line, metadata).
    pub fn name(self) -> &'static str {
        match self {
            Attribute::Density => "Density",
            Attribute::Rhythm => "Rhythm",
            Attribute::Range => "Range",
            Attribute::Contour => "Contour",
            Attribute::Leaps => "Leaps",
        }
    }

    /// The attribute of a name, in any case.
    pub fn from_name(name: &str) -> Option<Attribute> {
        Attribute::ALL.into_iter().find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Words for a knob turned up, and down (the editor's hints).
    pub fn words(self) -> (&'static str, &'static str) {
        match self {
            Attribute::Density => ("dense", "sparse"),
            Attribute::Rhythm => ("syncopated", "on the beat"),
            Attribute::Range => ("wide range", "narrow range"),
            Attribute::Contour => ("rising", "falling"),
            Attribute::Leaps => ("leaping", "stepwise"),
        }
    }

    /// This attribute of `melody` in `meter`; 0 where it is undefined (no notes, one note).
    pub fn measure(self, melody: &Melody, meter: Meter) -> f64 {
        let notes = &melody.notes;
        match self {
            Attribute::Density => {
                let bars = (melody.len_steps as f64 / meter.bar_steps() as f64).max(1.0);
                notes.len() as f64 / bars
            }
            Attribute::Rhythm => {
                if notes.is_empty() {
                    return 0.0;
                }
                let bar = meter.bar_steps();
                notes.iter().map(|n| meter.weakness(n.start_step as usize % bar)).sum::<f64>()
                    / notes.len() as f64
            }
            Attribute::Range => {
                let (low, high) = notes
                    .iter()
                    .fold((u8::MAX, 0u8), |(lo, hi), n| (lo.min(n.pitch), hi.max(n.pitch)));
                f64::from(high.saturating_sub(low))
            }
            Attribute::Contour => {
                if notes.len() < 2 {
                    return 0.0;
                }
                let n = notes.len() as f64;
                let mean_t = notes.iter().map(|x| f64::from(x.start_step)).sum::<f64>() / n;
                let mean_p = notes.iter().map(|x| f64::from(x.pitch)).sum::<f64>() / n;
                let (mut cov, mut var) = (0.0, 0.0);
                for x in notes {
                    let dt = f64::from(x.start_step) - mean_t;
                    cov += dt * (f64::from(x.pitch) - mean_p);
                    var += dt * dt;
                }
                if var == 0.0 {
                    0.0
                } else {
                    cov / var * f64::from(melody.len_steps)
                }
            }
            Attribute::Leaps => {
                if notes.len() < 2 {
                    return 0.0;
                }
                notes
                    .windows(2)
                    .map(|w| f64::from((i32::from(w[1].pitch) - i32::from(w[0].pitch)).abs()))
                    .sum::<f64>()
                    / (notes.len() - 1) as f64
            }
        }
    }

    /// Every attribute of `melody`, in [`Attribute::ALL`]'s order.
    pub fn measure_all(melody: &Melody, meter: Meter) -> [f64; 5] {
        Attribute::ALL.map(|a| a.measure(melody, meter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Note;

    fn note(pitch: u8, start_step: u32, len_steps: u32) -> Note {
        Note { pitch, start_step, len_steps }
    }

    #[test]
    fn attributes_of_a_rising_6_8_bar_pair() {
        // Two bars of 6/8 (24 steps): C D E on the dotted-quarter beats and an 8th, G on a 16th.
        let melody = Melody {
            notes: vec![note(60, 0, 6), note(62, 6, 2), note(64, 12, 6), note(67, 19, 5)],
            len_steps: 24,
        };
        let m = Meter::SixEight;
        assert_eq!(Attribute::Density.measure(&melody, m), 2.0);
        // Weakness: downbeat 0, second beat 1/3, downbeat 0, a 16th 1.
        assert!((Attribute::Rhythm.measure(&melody, m) - (1.0 / 3.0 + 1.0) / 4.0).abs() < 1e-12);
        assert_eq!(Attribute::Range.measure(&melody, m), 7.0);
        // Moves 2, 2, 3.
        assert!((Attribute::Leaps.measure(&melody, m) - 7.0 / 3.0).abs() < 1e-12);
        // Least-squares slope over onsets 0, 6, 12, 19 and pitches 60, 62, 64, 67, times 24.
        let (t, p) = ([0.0, 6.0, 12.0, 19.0], [60.0, 62.0, 64.0, 67.0]);
        let (mt, mp) = (t.iter().sum::<f64>() / 4.0, p.iter().sum::<f64>() / 4.0);
        let cov: f64 = t.iter().zip(&p).map(|(a, b)| (a - mt) * (b - mp)).sum();
        let var: f64 = t.iter().map(|a| (a - mt) * (a - mt)).sum();
        assert!((Attribute::Contour.measure(&melody, m) - cov / var * 24.0).abs() < 1e-9);
        let falling = melody.transposed(0);
        let mut falling = falling;
        falling.notes.iter_mut().for_each(|n| n.pitch = 127 - n.pitch);
        assert!(Attribute::Contour.measure(&falling, m) < 0.0);
    }

    #[test]
    fn names_round_trip_and_empty_melodies_measure_zero() {
        for a in Attribute::ALL {
            assert_eq!(Attribute::from_name(&a.name().to_lowercase()), Some(a));
        }
        assert_eq!(Attribute::from_name("tempo"), None);
        let empty = Melody { notes: Vec::new(), len_steps: 16 };
        assert_eq!(Attribute::measure_all(&empty, Meter::FourFour), [0.0; 5]);
    }
}
