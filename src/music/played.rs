//! The notes as they sound: the one rule for swing and gate, used by the MIDI file writer
//! (`midi::write_bytes`, in ticks) and by the plugin's sequencer (on the audio thread, in
//! beats). Both convert from the 16th steps computed here, so a saved or dragged file holds
//! exactly what playback sounds. Pure arithmetic on `Copy` values: nothing allocates.

/// Where a note starting on `start_step` sounds, in steps: odd 16ths are late by `swing`
/// (0..=1) × half a step (0.67 ≈ triplet swing).
pub fn onset_steps(start_step: u32, swing: f32) -> f64 {
    let late = if start_step % 2 == 1 { f64::from(swing.clamp(0.0, 1.0)) * 0.5 } else { 0.0 };
    f64::from(start_step) + late
}

/// The on and off of a note, in steps from the melody start: it sounds from its (swung) onset
/// for `len_steps` × `gate` (gate in 0.05..=1), and ends no later than the next note's
/// (swung) onset `next_start` nor the loop's end `loop_steps`. The off is after the on
/// whenever the onset is inside the loop; callers give a note at least one tick or sample.
pub fn span_steps(
    start_step: u32,
    len_steps: u32,
    next_start: Option<u32>,
    loop_steps: u32,
    swing: f32,
    gate: f32,
) -> (f64, f64) {
    let on = onset_steps(start_step, swing);
    let sounding = f64::from(len_steps) * f64::from(gate.clamp(0.05, 1.0));
    let limit = next_start
        .map_or(f64::from(loop_steps), |next| onset_steps(next, swing).min(f64::from(loop_steps)));
    (on, (on + sounding).min(limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swing_gate_and_cuts_by_hand() {
        // Even step: on time; 4 steps at gate 0.5 sound 2.
        assert_eq!(span_steps(0, 4, Some(4), 16, 1.0, 0.5), (0.0, 2.0));
        // Odd step at full swing: half a step late, cut by the next (even) onset at step 2.
        assert_eq!(span_steps(1, 4, Some(2), 16, 1.0, 1.0), (1.5, 2.0));
        // A swung next onset lets the note sound longer.
        assert_eq!(span_steps(0, 8, Some(3), 16, 0.5, 1.0), (0.0, 3.25));
        // The last note, swung past the loop end, is cut at the loop end.
        assert_eq!(span_steps(15, 1, None, 16, 1.0, 1.0), (15.5, 16.0));
    }
}
