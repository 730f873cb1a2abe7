//! Capture, on the audio thread: while the Capture switch is on and the transport plays, the
//! notes played into Neume are recorded on the host's bar grid as the musician's clip. In a
//! host's loop, a take runs on through the wraps in the time played (a block that wraps
//! inside is split where the sequencer splits it), so a take longer than the loop, or begun
//! in its middle, records what was played, bar after bar. The take
//! starts on the bar line of the first note (a note played a little early, that rounds to the
//! next bar line, starts the take there), lasts Capture bars bars or until the switch goes off
//! or the transport stops, and is handed to the worker ([`CapturedClip`], through a hand-off:
//! see [`crate::plugin::cross::handoff`]). Onsets and ends are rounded to the nearest 16th; of notes played
//! together the top one is kept, and a note still held when the next starts ends there, so the
//! clip is one line. Fixed-size `Copy` state: nothing allocates, locks or waits.

use crate::encoding::{Meter, STEPS_PER_QUARTER};
use crate::plugin::audio::sequencer::continues;
use crate::plugin::cross::handoff::{PlayMelody, PlayNote};

/// The longest take, in bars.
pub const MAX_CAPTURE_BARS: u8 = 4;

/// A finished take, for the worker: its notes (in the song's pitches, from its first bar
/// line), its meter and a serial number (one per take).
#[derive(Clone, Copy, Debug)]
pub struct CapturedClip {
    pub melody: PlayMelody,
    pub meter: Meter,
    pub serial: u64,
    /// Whether notes were played together (their top note was kept).
    pub chords: bool,
    /// Every note played, chords and all (for Capture chords): onset order of their ends.
    pub played: PlayMelody,
}

impl CapturedClip {
    /// Nothing captured yet.
    pub const NONE: CapturedClip = CapturedClip {
        melody: PlayMelody::EMPTY,
        meter: Meter::FourFour,
        serial: 0,
        chords: false,
        played: PlayMelody::EMPTY,
    };
}

/// Where one block lies on the song's bar grid, for the recorder.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grid {
    /// Song position of the block's first sample, in quarter-note beats.
    pub block_beats: f64,
    /// Beats per sample at the block's tempo.
    pub beats_per_sample: f64,
    /// A bar line of the meter the clip is taken in (the host's bar start), in beats.
    pub bar_origin_beats: f64,
    /// The meter melodies are made in for the song's time signature.
    pub meter: Meter,
    /// The host's loop, start and end in beats, while it loops: a block may wrap inside.
    pub loop_beats: Option<(f64, f64)>,
}

impl Grid {
    /// The bar's length in quarter-note beats.
    fn bar_beats(&self) -> f64 {
        self.meter.bar_steps() as f64 / STEPS_PER_QUARTER as f64
    }

    /// The song position `offset` samples into the block, in beats: past the loop's end (a
    /// wrap inside the block, as the sequencer splits it), from the loop's start again.
    fn beat_at(&self, offset: u32) -> f64 {
        let beat = self.block_beats + f64::from(offset) * self.beats_per_sample;
        match self.loop_beats {
            Some((start, end)) if self.block_beats < end && beat >= end => start + (beat - end),
            _ => beat,
        }
    }

    /// The loop's length in beats, while the host loops.
    fn loop_len(&self) -> Option<f64> {
        self.loop_beats.map(|(start, end)| end - start)
    }
}

/// Whether a block at `new` starting at the loop's start follows one that ended at its end
/// (`end`, as the host rounds it): the song wrapped, and a take goes on.
fn wraps(end: f64, new: &Grid) -> bool {
    let Some((start, stop)) = new.loop_beats else { return false };
    continues(stop, end, new.beats_per_sample)
        && continues(start, new.block_beats, new.beats_per_sample)
}

/// What the recorder is doing, for the editor (see [`Recorder::phase`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Capture is off.
    Off = 0,
    /// Capture is on and waits for the first note (on a playing transport).
    Armed = 1,
    /// Recording a take.
    Recording = 2,
    /// The take is done; switch Capture off and on for another.
    Done = 3,
}

impl Phase {
    /// The phase of a [`Phase`] code (as stored in an atomic).
    pub fn from_code(code: u8) -> Phase {
        match code {
            1 => Phase::Armed,
            2 => Phase::Recording,
            3 => Phase::Done,
            _ => Phase::Off,
        }
    }
}

/// A take being recorded.
#[derive(Clone, Copy, Debug)]
struct Take {
    /// The bar line it starts on, in beats.
    start_beats: f64,
    /// Its length in steps (Capture bars bars).
    len_steps: u16,
    meter: Meter,
    /// The notes ended so far, in onset order.
    notes: PlayMelody,
    /// The note held now: its pitch and onset step.
    held: Option<(u8, u16)>,
    /// Whether notes were played together.
    chords: bool,
    /// Every note played, ended so far (a chord's every note).
    played: PlayMelody,
    /// The onset step of each key held now, by MIDI key; `u16::MAX`: not held.
    down: [u16; 128],
}

/// Adds to `melody` (while it has room) the note of `pitch` from `start` to `step`, at least
/// one step long and inside a take of `len_steps`.
fn end_note(melody: &mut PlayMelody, pitch: u8, start: u16, step: i64, len_steps: u16) {
    let end = step.clamp(i64::from(start) + 1, i64::from(len_steps));
    let i = usize::from(melody.count);
    if i < melody.notes.len() {
        melody.notes[i] =
            PlayNote { pitch, start_step: start, len_steps: (end - i64::from(start)) as u16 };
        melody.count += 1;
    }
}

impl Take {
    /// The step of song position `beat` in the take, rounded to the nearest 16th.
    fn step_at(&self, beat: f64) -> i64 {
        ((beat - self.start_beats) * STEPS_PER_QUARTER as f64).round() as i64
    }

    /// Ends the held note at `step`.
    fn end_held(&mut self, step: i64) {
        let Some((pitch, start)) = self.held.take() else { return };
        end_note(&mut self.notes, pitch, start, step, self.len_steps);
    }

    /// Ends key `pitch`, if it is held, at `step` in the record of every note.
    fn end_played(&mut self, pitch: u8, step: i64) {
        let Some(slot) = self.down.get_mut(usize::from(pitch)) else { return };
        let start = std::mem::replace(slot, u16::MAX);
        if start != u16::MAX {
            end_note(&mut self.played, pitch, start, step, self.len_steps);
        }
    }

    fn note_on(&mut self, pitch: u8, step: i64) {
        if step < 0 || step >= i64::from(self.len_steps) {
            return;
        }
        if let Some(down) = self.down.get_mut(usize::from(pitch)).filter(|d| **d == u16::MAX) {
            *down = step as u16;
        }
        match self.held {
            // Notes played together: the top one is the line.
            Some((held, start)) if i64::from(start) == step => {
                self.held = Some((held.max(pitch), start));
                self.chords = true;
            }
            // A lower note under a held note of the line (an accompaniment): the line is
            // the highest sounding one, as in a file (`midi::top_line`).
            Some((held, _)) if pitch < held => self.chords = true,
            _ => {
                self.end_held(step);
                self.held = Some((pitch, step as u16));
            }
        }
    }

    fn note_off(&mut self, pitch: u8, step: i64) {
        if self.held.is_some_and(|(held, _)| held == pitch) {
            self.end_held(step);
        }
        self.end_played(pitch, step);
    }

    /// The take as a clip: held notes end at `step`.
    fn finish(mut self, step: i64, serial: u64) -> CapturedClip {
        self.end_held(step);
        for pitch in 0..128u8 {
            self.end_played(pitch, step);
        }
        let mut melody = self.notes;
        melody.len_steps = self.len_steps;
        melody.bar_steps = self.meter.bar_steps() as u16;
        melody.key = serial;
        let mut played = self.played;
        played.len_steps = self.len_steps;
        played.bar_steps = melody.bar_steps;
        CapturedClip { melody, meter: self.meter, serial, chords: self.chords, played }
    }
}

/// The audio thread's recorder. Owned by the plugin, used only inside `process()`.
#[derive(Clone, Copy, Debug)]
pub struct Recorder {
    phase: Phase,
    take: Option<Take>,
    /// Capture bars, as of this block.
    bars: u8,
    /// This block's grid; `None` while the transport is stopped or the meter is one Neume
    /// does not play.
    grid: Option<Grid>,
    /// Takes finished so far.
    serial: u64,
    /// A finished take not yet handed over.
    finished: Option<CapturedClip>,
    /// The song position where the last block ended, when it had a grid.
    end_beats: Option<f64>,
    /// Loop recording: the last song position heard, and the loop lengths played through
    /// since the take began (each wrap adds one), so a take runs on in the time played.
    last_beat: f64,
    wrapped_beats: f64,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            phase: Phase::Off,
            take: None,
            bars: 2,
            grid: None,
            serial: 0,
            finished: None,
            end_beats: None,
            last_beat: f64::NEG_INFINITY,
            wrapped_beats: 0.0,
        }
    }
}

impl Recorder {
    /// The time played at song position `beat` (in order of time): the song position, plus
    /// the loop lengths played through since the take began, so that after a wrap a take goes
    /// on where it was instead of back at the loop's start.
    fn played(&mut self, grid: &Grid, beat: f64) -> f64 {
        if let Some(len) = grid.loop_len() {
            if beat < self.last_beat - len / 2.0 {
                self.wrapped_beats += len;
            }
        }
        self.last_beat = beat;
        beat + self.wrapped_beats
    }

    /// What it is doing.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Starts a block: Capture is `on` for `bars` bars; `grid` is where the block lies
    /// (`None`: the transport is stopped, which ends a take). With `again`, a finished take
    /// arms the next (Follow chords listens on, take after take).
    pub fn begin_block(&mut self, on: bool, bars: u8, grid: Option<Grid>, again: bool) {
        self.bars = bars.clamp(1, MAX_CAPTURE_BARS);
        if self.phase == Phase::Recording {
            match (on, self.grid, grid) {
                // Switched off: the take ends where this block starts.
                (false, _, Some(new)) => {
                    let at = self.played(&new, new.block_beats);
                    self.finish_at(Some(at))
                }
                // A stop, a jump in the song (a locate) or a new meter: the take ends where the
                // last block did. A block that starts where the last ended, as the sequencer
                // judges it (hosts round, jitter and ramp), goes on; so does one that starts
                // at the loop's start after the last ended at its end (loop recording).
                (_, _, None) => self.finish_at(Some(self.last_beat + self.wrapped_beats)),
                (_, Some(old), Some(new))
                    if new.meter != old.meter
                        || self.end_beats.is_some_and(|end| {
                            !continues(end, new.block_beats, new.beats_per_sample)
                                && !wraps(end, &new)
                        }) =>
                {
                    self.finish_at(Some(self.last_beat + self.wrapped_beats))
                }
                _ => {}
            }
        }
        self.phase = match (on, self.phase) {
            (false, _) => Phase::Off,
            (true, Phase::Off) => Phase::Armed,
            (true, Phase::Done) if again => Phase::Armed,
            (true, phase) => phase,
        };
        self.grid = grid;
    }

    /// A key went down `offset` samples into the block.
    pub fn note_on(&mut self, pitch: u8, offset: u32) {
        let Some(grid) = self.grid else { return };
        let song = grid.beat_at(offset);
        if self.phase == Phase::Armed {
            // Time played is counted from the song position where the take begins.
            (self.last_beat, self.wrapped_beats) = (song, 0.0);
        }
        let beat = self.played(&grid, song);
        if self.phase == Phase::Armed {
            // The bar line of the note's onset, rounded to the nearest 16th.
            let bar_beats = grid.bar_beats();
            let steps = ((beat - grid.bar_origin_beats) * STEPS_PER_QUARTER as f64).round();
            let bar = (steps / grid.meter.bar_steps() as f64).floor();
            self.take = Some(Take {
                start_beats: grid.bar_origin_beats + bar * bar_beats,
                len_steps: u16::from(self.bars) * grid.meter.bar_steps() as u16,
                meter: grid.meter,
                notes: PlayMelody::EMPTY,
                held: None,
                chords: false,
                played: PlayMelody::EMPTY,
                down: [u16::MAX; 128],
            });
            self.phase = Phase::Recording;
        }
        if let Some(take) = self.take.as_mut().filter(|_| self.phase == Phase::Recording) {
            take.note_on(pitch, take.step_at(beat));
        }
    }

    /// A key came up `offset` samples into the block.
    pub fn note_off(&mut self, pitch: u8, offset: u32) {
        let Some(grid) = self.grid else { return };
        let beat = self.played(&grid, grid.beat_at(offset));
        if let Some(take) = self.take.as_mut().filter(|_| self.phase == Phase::Recording) {
            take.note_off(pitch, take.step_at(beat));
        }
    }

    /// Ends a block of `frames` samples: a take that has reached its last bar line ends.
    /// Returns a finished take to hand to the worker (one with no notes is dropped).
    pub fn end_block(&mut self, frames: u32) -> Option<CapturedClip> {
        self.end_beats = self.grid.map(|g| g.beat_at(frames));
        let played = match (self.grid, self.end_beats) {
            (Some(grid), Some(end)) => Some(self.played(&grid, end)),
            _ => None,
        };
        if let (Some(end), Some(take)) = (played, self.take) {
            if take.step_at(end) >= i64::from(take.len_steps) {
                self.finish_at(Some(end));
            }
        }
        self.finished.take().filter(|c| c.melody.count > 0)
    }

    /// Ends the take at song position `beat` (at its end, without one).
    fn finish_at(&mut self, beat: Option<f64>) {
        if let Some(take) = self.take.take() {
            let step = beat.map_or(i64::from(take.len_steps), |b| take.step_at(b));
            self.serial += 1;
            self.finished = Some(take.finish(step, self.serial));
        }
        self.phase = Phase::Done;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 120 BPM at 48 kHz: a beat is 24,000 samples, a 16th 6,000.
    const BEATS_PER_SAMPLE: f64 = 2.0 / 48_000.0;

    fn grid(block_beats: f64, meter: Meter, origin: f64) -> Option<Grid> {
        Some(Grid {
            block_beats,
            beats_per_sample: BEATS_PER_SAMPLE,
            bar_origin_beats: origin,
            meter,
            loop_beats: None,
        })
    }

    /// Plays `(pitch, on beat, off beat)` into a recorder in blocks of 512 samples from
    /// `from` beats, with Capture on for `bars` bars; returns the takes handed over.
    fn record(
        notes: &[(u8, f64, f64)],
        meter: Meter,
        origin: f64,
        bars: u8,
        from: f64,
        to: f64,
    ) -> Vec<CapturedClip> {
        record_blocks(notes, bars, from, to, |beat, _| {
            (grid(beat, meter, origin).expect("a grid"), 512)
        })
    }

    /// Plays `notes` into a recorder block by block from `from` to `to` beats; `host` gives
    /// each block's grid (what the host reports) and size from the true beat and the block's
    /// number. Events fall at their samples from the true beat, at the grid's tempo.
    fn record_blocks(
        notes: &[(u8, f64, f64)],
        bars: u8,
        from: f64,
        to: f64,
        host: impl Fn(f64, u32) -> (Grid, u32),
    ) -> Vec<CapturedClip> {
        let mut r = Recorder::default();
        let mut out = Vec::new();
        let (mut beat, mut block) = (from, 0u32);
        while beat < to {
            let (g, frames) = host(beat, block);
            r.begin_block(true, bars, Some(g), false);
            let end = beat + f64::from(frames) * g.beats_per_sample;
            // Events in time order, as a host sends them.
            let mut events: Vec<(f64, bool, u8)> = notes
                .iter()
                .flat_map(|&(p, on, off)| [(on, true, p), (off, false, p)])
                .filter(|&(t, _, _)| t >= beat && t < end)
                .collect();
            events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (t, on, p) in events {
                let offset = ((t - beat) / g.beats_per_sample).round() as u32;
                if on {
                    r.note_on(p, offset)
                } else {
                    r.note_off(p, offset)
                }
            }
            out.extend(r.end_block(frames));
            beat = end;
            block += 1;
        }
        out
    }

    fn notes(c: &CapturedClip) -> Vec<(u8, u16, u16)> {
        c.melody.notes().iter().map(|n| (n.pitch, n.start_step, n.len_steps)).collect()
    }

    /// Loop recording: the host loops one bar (beats 0–4) and Capture takes two. The take runs
    /// on through the wrap (before: the wrap ended it), and the notes after a wrap inside a
    /// block are stamped in the second bar, not past the loop's end. Started in the middle of
    /// the loop, it records the next two bars played. Played time in, steps by hand out.
    #[test]
    fn a_take_runs_on_through_the_hosts_loop() {
        let looping = |beat: f64, _| {
            let g = Grid {
                block_beats: beat.rem_euclid(4.0),
                beats_per_sample: BEATS_PER_SAMPLE,
                bar_origin_beats: 0.0,
                meter: Meter::FourFour,
                loop_beats: Some((0.0, 4.0)),
            };
            (g, 512)
        };
        // Beats played: two passes of the loop; the fourth note starts just after the wrap.
        let played = [(60, 0.0, 1.0), (62, 2.0, 3.0), (64, 4.03, 5.0), (65, 7.5, 7.75)];
        let takes = record_blocks(&played, 2, 0.0, 9.0, looping);
        assert_eq!(takes.len(), 1, "one take through the wrap");
        assert_eq!(notes(&takes[0]), vec![(60, 0, 4), (62, 8, 4), (64, 16, 4), (65, 30, 1)]);
        // A host that ends a block at the loop's end and starts the next at its start,
        // rounding positions down to 1/1920 beat: the take goes on as well.
        let splitting = |beat: f64, _| {
            // (The played beat, summed block by block, lands a hair before 4 at a wrap.)
            let in_loop = (beat + 1e-9).rem_euclid(4.0);
            let left = ((4.0 - in_loop) / BEATS_PER_SAMPLE).round() as u32;
            let g = Grid {
                block_beats: (in_loop * 1920.0).floor() / 1920.0 - 1e-4,
                beats_per_sample: BEATS_PER_SAMPLE,
                bar_origin_beats: 0.0,
                meter: Meter::FourFour,
                loop_beats: Some((0.0, 4.0)),
            };
            (g, left.clamp(1, 512))
        };
        let takes = record_blocks(&played, 2, 0.0, 9.0, splitting);
        assert_eq!(takes.len(), 1, "one take through the wrap at a block's edge");
        assert_eq!(notes(&takes[0]), vec![(60, 0, 4), (62, 8, 4), (64, 16, 4), (65, 30, 1)]);
        // From the middle of the loop: the take begins on that bar line (beat 2 is in bar 1,
        // beat 0) and lasts two bars of playing.
        let late = [(67, 2.0, 3.0), (69, 5.0, 6.0)];
        let takes = record_blocks(&late, 2, 1.5, 10.0, looping);
        assert_eq!(notes(&takes[0]), vec![(67, 8, 4), (69, 20, 4)]);
    }

    /// A tune of half notes played over a bass of quarters, each bass note struck under a
    /// held tune note: the take is the tune (before: every bass note took over the line).
    #[test]
    fn a_take_keeps_the_tune_over_a_moving_bass() {
        let mut played = vec![(72, 0.0, 2.0), (74, 2.0, 4.0), (76, 4.0, 6.0), (77, 6.0, 8.0)];
        for q in 0..8 {
            let q = f64::from(q);
            played.push(([48, 55][q as usize % 2], q + 0.01, q + 0.99));
        }
        let takes = record(&played, Meter::FourFour, 0.0, 2, 0.0, 12.0);
        assert_eq!(takes.len(), 1);
        assert_eq!(notes(&takes[0]), vec![(72, 0, 8), (74, 8, 8), (76, 16, 8), (77, 24, 8)]);
        assert!(takes[0].chords, "the notes under the line are said to be left out");
    }

    /// Hosts round the block's position (Ardour's VST3 to 1/1920 of a beat), jitter it and
    /// ramp the tempo inside a block: a take goes on through all three, as playback does
    /// (before: a block starting 1e-6 beat behind where the last ended ended the take, after
    /// a note or two). A real jump back still ends it.
    #[test]
    fn a_take_goes_on_through_rounded_jittered_and_ramping_positions() {
        let played: Vec<(u8, f64, f64)> =
            (0..8).map(|q| (60 + q as u8, f64::from(q), f64::from(q) + 0.9)).collect();
        let takes = record_blocks(&played, 2, 0.0, 10.0, |beat, block| {
            // The tempo ramps ±2 % around 120 BPM; the host reports the position rounded to
            // 1/1920 beat and jittered by up to 1/4000 beat; the blocks are of odd sizes.
            let per_sample = BEATS_PER_SAMPLE * (1.0 + 0.02 * (f64::from(block) * 0.7).sin());
            let jitter = [0.00025, -0.00025, 0.0][block as usize % 3];
            let g = Grid {
                block_beats: (beat * 1920.0).round() / 1920.0 + jitter,
                beats_per_sample: per_sample,
                bar_origin_beats: 0.0,
                meter: Meter::FourFour,
                loop_beats: None,
            };
            (g, 480 + (block % 7) * 13)
        });
        assert_eq!(takes.len(), 1);
        let want: Vec<(u8, u16, u16)> = (0..8).map(|q| (60 + q as u8, 4 * q, 4)).collect();
        let got: Vec<(u8, u16, u16)> = notes(&takes[0]);
        assert_eq!(
            got.iter().map(|n| (n.0, n.1)).collect::<Vec<_>>(),
            want.iter().map(|n| (n.0, n.1)).collect::<Vec<_>>()
        );
        // A jump back of a quarter note ends a take.
        let mut r = Recorder::default();
        r.begin_block(true, 2, grid(0.0, Meter::FourFour, 0.0), false);
        r.note_on(60, 0);
        assert!(r.end_block(512).is_none());
        r.begin_block(true, 2, grid(-1.0, Meter::FourFour, 0.0), false);
        assert!(r.end_block(512).is_some(), "a jump back ends the take");
    }

    #[test]
    fn a_take_starts_on_the_bar_of_its_first_note_and_lasts_its_bars() {
        // 3/4 from beat 0: bars of 3 beats. The first note is in bar 2 (beat 3.5), a little
        // late; the last note is still held when the two bars end (at beat 9).
        let played = [(60, 3.52, 4.0), (62, 4.0, 4.98), (64, 5.0, 7.0), (65, 8.0, 20.0)];
        let takes = record(&played, Meter::ThreeFour, 0.0, 2, 0.0, 16.0);
        assert_eq!(takes.len(), 1, "one take, then Done");
        let take = &takes[0];
        assert_eq!(
            (take.meter, take.melody.len_steps, take.melody.bar_steps),
            (Meter::ThreeFour, 24, 12)
        );
        // Steps from beat 3 (4 steps a beat), rounded to the nearest 16th.
        assert_eq!(notes(take), vec![(60, 2, 2), (62, 4, 4), (64, 8, 8), (65, 20, 4)]);
    }

    #[test]
    fn an_early_note_starts_the_take_on_the_next_bar_line() {
        // 6/8 bars (6 beats of eighths = 3 quarter beats) from a bar line at beat 1.5; the
        // first note comes a 64th before the bar line at beat 4.5.
        let played = [(67, 4.49, 5.0), (69, 5.0, 5.5)];
        let takes = record(&played, Meter::SixEight, 1.5, 1, 3.0, 10.0);
        assert_eq!(takes.len(), 1);
        assert_eq!(notes(&takes[0]), vec![(67, 0, 2), (69, 2, 2)]);
        assert_eq!(takes[0].melody.len_steps, 12);
    }

    #[test]
    fn chords_keep_their_top_note_and_an_overlap_ends_the_earlier_note() {
        let played = [(60, 0.0, 1.0), (64, 0.0, 1.0), (67, 0.0, 2.0), (72, 1.5, 2.5)];
        let takes = record(&played, Meter::FourFour, 0.0, 1, 0.0, 6.0);
        assert_eq!(notes(&takes[0]), vec![(67, 0, 6), (72, 6, 4)]);
        assert!(takes[0].chords, "the take says chords were played");
        let line = record(&[(60, 0.0, 1.0), (62, 1.0, 2.0)], Meter::FourFour, 0.0, 1, 0.0, 6.0);
        assert!(!line[0].chords);
        // Every note played is kept beside the line (for Capture chords), in 16ths by hand.
        let mut all: Vec<(u8, u16, u16)> =
            takes[0].played.notes().iter().map(|n| (n.pitch, n.start_step, n.len_steps)).collect();
        all.sort();
        assert_eq!(all, vec![(60, 0, 4), (64, 0, 4), (67, 0, 8), (72, 6, 4)]);
    }

    #[test]
    fn switching_off_ends_the_take_and_a_stopped_transport_records_nothing() {
        let mut r = Recorder::default();
        r.begin_block(true, 4, grid(0.0, Meter::FourFour, 0.0), false);
        assert_eq!(r.phase(), Phase::Armed);
        r.note_on(60, 0);
        assert_eq!(r.phase(), Phase::Recording);
        assert!(r.end_block(24_000).is_none(), "a 4-bar take is not over after one beat");
        // Switched off at the next block (beat 2): the held note ends there.
        r.begin_block(false, 4, grid(2.0, Meter::FourFour, 0.0), false);
        let take = r.end_block(512).expect("the take");
        assert_eq!(notes(&take), vec![(60, 0, 8)]);
        assert_eq!((r.phase(), take.serial), (Phase::Off, 1));
        // Transport stopped: armed, but nothing is recorded.
        r.begin_block(true, 4, None, false);
        r.note_on(62, 0);
        r.note_off(62, 100);
        assert_eq!(r.phase(), Phase::Armed);
        assert!(r.end_block(512).is_none());
        // A take with no notes is not handed over.
        let takes = record(&[], Meter::FourFour, 0.0, 1, 0.0, 8.0);
        assert!(takes.is_empty());
    }
}
