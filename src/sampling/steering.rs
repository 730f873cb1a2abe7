//! What the Range and Leaps knobs do besides moving their own latent dimension.
//!
//! The decoder ties a melody's span to its latent dimension only loosely (it hardly narrows a
//! melody below the middle of the knob), and in real tunes span and leaps go together, so each
//! dimension alone also moves the other attribute. Each of the two knobs therefore also
//! steers the sampler and leans on the other's dimension:
//!
//! - **Range** below 0 makes each semitone a note-on would add to the melody's span so far
//!   cost [`RANGE_NARROW_COST`] per knob unit in its logit, and moves the Leaps dimension up
//!   by [`RANGE_KEEPS_LEAPS`] per unit so that a narrow melody does not also lose its leaps;
//!   above 0 widening earns [`RANGE_WIDEN_GAIN`] per unit.
//! - **Leaps** makes each semitone of |interval| (up to an octave) from the last note-on earn
//!   [`LEAP_GAIN`] per knob unit, above 0 makes widening the span cost [`LEAPS_SPAN_COST`] per
//!   unit, and moves the Range dimension down by [`LEAPS_KEEPS_RANGE`] per unit.
//!
//! The sampler keeps the total probability of a note-on as the model gives it: the steering
//! chooses which pitch comes, not whether a note comes. The constants were chosen on `valid`
//! by `neume-train eval --knobs` (models/README.md, Named knobs). At knob 0 nothing changes.

use crate::model::model_file::ModelInfo;
use crate::music::attributes::Attribute;

/// Logit cost per semitone of widening, per unit of Range below 0.
pub const RANGE_NARROW_COST: f32 = 0.3;
/// Logit gain per semitone of widening, per unit of Range above 0.
pub const RANGE_WIDEN_GAIN: f32 = 0.05;
/// Leaps dimension moved (in its standard deviations) per unit of Range below 0, upwards.
pub const RANGE_KEEPS_LEAPS: f32 = 1.2;
/// Logit gain per semitone of |interval| (at most 12), per unit of Leaps.
pub const LEAP_GAIN: f32 = 0.2;
/// Logit cost per semitone of widening, per unit of Leaps above 0.
pub const LEAPS_SPAN_COST: f32 = 0.2;
/// Range dimension moved (in its standard deviations) per unit of Leaps, the other way.
pub const LEAPS_KEEPS_RANGE: f32 = 0.5;

/// How the sampler is steered: see the module's text.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Steering {
    /// Logit cost per semitone a note-on adds to the span so far (negative: a gain).
    pub span_cost: f32,
    /// Logit gain per semitone of |interval| from the last note-on (at most 12).
    pub leap_gain: f32,
}

/// The steering of the knob move `shift` (latent, as [`ModelInfo::knob_shift`] makes it) and
/// of a knob move `held` already inside the latent point (a stored point's), and the move of
/// the other dimension they add to `shift`. Models without a Range or Leaps knob are not
/// steered.
pub fn steer(info: &ModelInfo, shift: &mut [f32], held: &[f32]) -> Steering {
    let dim = |attribute| {
        info.knob_attribute(attribute).filter(|&(d, scale)| d < shift.len() && scale > 0.0)
    };
    let (range, leaps) = (dim(Attribute::Range), dim(Attribute::Leaps));
    let knob = |found: Option<(usize, f32)>, shift: &[f32]| {
        found.map_or(0.0, |(d, s)| (shift[d] + held.get(d).copied().unwrap_or(0.0)) / s)
    };
    let (range_knob, leaps_knob) = (knob(range, shift), knob(leaps, shift));
    if !range_knob.is_finite() || !leaps_knob.is_finite() {
        return Steering::default();
    }
    let mut steering = Steering::default();
    if range.is_some() {
        steering.span_cost += if range_knob < 0.0 {
            -range_knob * RANGE_NARROW_COST
        } else {
            -range_knob * RANGE_WIDEN_GAIN
        };
        if let Some((d, s)) = leaps {
            shift[d] -= RANGE_KEEPS_LEAPS * range_knob.min(0.0) * s;
        }
    }
    if leaps.is_some() {
        steering.leap_gain = LEAP_GAIN * leaps_knob;
        steering.span_cost += LEAPS_SPAN_COST * leaps_knob.max(0.0);
        if let Some((d, s)) = range {
            shift[d] -= LEAPS_KEEPS_RANGE * leaps_knob * s;
        }
    }
    steering
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Meter;

    /// A model of 8 latent dimensions whose knobs 0–4 are tied as the shipped one's are,
    /// with Range on dimension 2 (scale 2) and Leaps on dimension 4 (scale 0.5).
    fn info(tied: bool) -> ModelInfo {
        let knob_attributes = if tied {
            vec![
                (Attribute::Density, 0, 1.0),
                (Attribute::Rhythm, 1, 1.0),
                (Attribute::Range, 2, 2.0),
                (Attribute::Contour, 3, 1.0),
                (Attribute::Leaps, 4, 0.5),
            ]
        } else {
            Vec::new()
        };
        ModelInfo {
            latent_size: 8,
            detail_size: 0,
            bars: 4,
            kind: "vae".into(),
            layers: 1,
            hidden: 8,
            temperature: 1.0,
            directions: Vec::new(),
            encoding_version: 3,
            meters: vec![Meter::FourFour],
            knob_attributes,
            metadata: Default::default(),
        }
    }

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn range_and_leaps_steer_the_sampler_and_lean_on_each_other() {
        // Range at −2 (its dimension moved by −2 × 2): a span cost of 2 × 0.3, Leaps's
        // dimension up by 2 × 1.2 of its 0.5.
        let mut shift = [0.0, 0.0, -4.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let steering = steer(&info(true), &mut shift, &[]);
        assert!(close(steering.span_cost, 0.6) && close(steering.leap_gain, 0.0), "{steering:?}");
        assert!(close(shift[4], 1.2) && close(shift[2], -4.0), "{shift:?}");
        // Range at +3: a gain of 3 × 0.05 for widening, Leaps left alone.
        let mut shift = [0.0, 0.0, 6.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let steering = steer(&info(true), &mut shift, &[]);
        assert!(close(steering.span_cost, -0.15) && close(shift[4], 0.0), "{steering:?}");
        // Leaps at +1 (0.5 on its dimension): leap gain 0.2, span cost 0.2, Range's
        // dimension down by 0.5 of its 2; at −1 no span cost, Range's dimension up.
        let mut shift = [0.0, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0];
        let steering = steer(&info(true), &mut shift, &[]);
        assert!(close(steering.leap_gain, 0.2) && close(steering.span_cost, 0.2), "{steering:?}");
        assert!(close(shift[2], -1.0), "{shift:?}");
        let mut shift = [0.0, 0.0, 0.0, 0.0, -0.5, 0.0, 0.0, 0.0];
        let steering = steer(&info(true), &mut shift, &[]);
        assert!(close(steering.leap_gain, -0.2) && close(steering.span_cost, 0.0), "{steering:?}");
        assert!(close(shift[2], 1.0), "{shift:?}");
        // Knobs at 0, other knobs, or a model with no named knobs: nothing.
        let mut shift = [1.5, -2.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(steer(&info(true), &mut shift, &[]), Steering::default());
        assert_eq!(shift, [1.5, -2.0, 0.0, 3.0, 0.0, 1.0, 0.0, 0.0]);
        let mut shift = [0.0, 0.0, -4.0, 0.0, 0.5, 0.0, 0.0, 0.0];
        assert_eq!(steer(&info(false), &mut shift, &[]), Steering::default());
        assert_eq!(shift, [0.0, 0.0, -4.0, 0.0, 0.5, 0.0, 0.0, 0.0]);
        // A Range move of −2 already inside a stored point steers as the knob does, and adds
        // only Leaps's lean to the move.
        let mut shift = [0.0; 8];
        let held = [0.0, 0.0, -4.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let steering = steer(&info(true), &mut shift, &held);
        assert!(close(steering.span_cost, 0.6), "{steering:?}");
        assert!(close(shift[4], 1.2) && close(shift[2], 0.0), "{shift:?}");
        // A move that is not a number steers nothing.
        let mut shift = [0.0, 0.0, f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(steer(&info(true), &mut shift, &[]), Steering::default());
    }
}
