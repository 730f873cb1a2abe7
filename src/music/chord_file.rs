//! A MIDI file of chords read as a progression: what `neume --chords-from` and a file dropped
//! on the editor give. Any thread but the audio thread.

use std::path::Path;

use crate::encoding::Meter;
use crate::music::chords::{Progression, MAX_PROGRESSION_BARS};
use crate::music::midi;

/// The most notes a chord file may sound at once (a chord, not a piano part's every voice).
pub const MAX_CHORD_VOICES: usize = 16;

/// The chords of the file at `path` laid out in `meter`, from the bar of its first note (a
/// file exported at its song position): the notes of its track named `chords` or `harmony`,
/// else every note (see [`midi::MidiFile::harmony`]), named a beat at a time. Refused, naming
/// the file: one that cannot be read, one with more than [`MAX_CHORD_VOICES`] notes sounding
/// at once, and one in which no two notes sound together (a tune).
pub fn read_progression(path: &Path, meter: Meter) -> Result<Progression, String> {
    let file = midi::read_file(path).map_err(|e| e.to_string())?;
    progression_of(&file.harmony, meter).map_err(|e| format!("{}: {e}", path.display()))
}

/// [`read_progression`] of notes already read, `(start step, end step, pitch)`.
pub fn progression_of(notes: &[(u32, u32, u8)], meter: Meter) -> Result<Progression, String> {
    let bar = meter.bar_steps() as u32;
    let first = notes.iter().map(|n| n.0).min().unwrap_or(0) / bar * bar;
    let notes: Vec<(u32, u32, u8)> =
        notes.iter().map(|&(s, e, p)| (s - first, e - first, p)).collect();
    let end = notes.iter().map(|n| n.1).max().unwrap_or(0);
    // The most notes sounding at once, by a sweep over the notes' starts and ends (ends
    // first at one step), not step by step: a long file of many notes stays quick.
    let mut edges: Vec<(u32, i32)> =
        notes.iter().flat_map(|&(s, e, _)| [(s, 1), (e, -1)]).collect();
    edges.sort_unstable();
    let (mut sounding, mut most) = (0i32, 0usize);
    for (i, &(step, change)) in edges.iter().enumerate() {
        sounding += change;
        // Judged once every start and end at this step is counted.
        if edges.get(i + 1).is_some_and(|&(next, _)| next == step) {
            continue;
        }
        let voices = sounding as usize;
        most = most.max(voices);
        if voices > MAX_CHORD_VOICES {
            return Err(format!(
                "{voices} notes sound together in bar {}; a chord file holds chords (at most \
                 {MAX_CHORD_VOICES} notes at once)",
                step / bar + 1
            ));
        }
    }
    let bars = end.div_ceil(bar).clamp(1, MAX_PROGRESSION_BARS);
    let progression = Progression::from_notes(&notes, meter, bars);
    // A line of single notes is a tune, not chords, though two of them in a beat may spell one.
    if most < 2 || progression.spans.iter().all(|s| s.chord.is_none()) {
        return Err("no chords (nowhere do two or more notes sound together)".into());
    }
    Ok(progression)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tune_is_not_chords_and_chords_are_named() {
        // D then F# in one dotted-quarter beat of 6/8: a line, though the two spell D major.
        let line = [(0, 3, 74), (3, 6, 78), (6, 12, 81)];
        assert!(progression_of(&line, Meter::SixEight).unwrap_err().contains("no chords"));
        // A minor, then F major, a bar each.
        let chords =
            [(0, 16, 57), (0, 16, 60), (0, 16, 64), (16, 32, 53), (16, 32, 57), (16, 32, 60)];
        assert_eq!(progression_of(&chords, Meter::FourFour).unwrap().to_text(), "Am F");
        // Seventeen notes at once: a piano part, not a chord.
        let cluster: Vec<(u32, u32, u8)> = (0..17).map(|i| (0, 16, 48 + i)).collect();
        assert!(progression_of(&cluster, Meter::FourFour).unwrap_err().contains("17 notes"));
    }
}
