//! Playback, on the audio thread: turns the current melody and the host transport into
//! sample-accurate note-ons and note-offs.
//!
//! Everything here is `Copy` data in fixed-size storage: nothing allocates, locks, logs or
//! waits. The sequencer knows nothing of the plugin framework, so it is tested directly.
//!
//! Timeline: the melody loops every `len_steps` 16ths (four 16ths per quarter-note beat). When
//! the host gives its time signature and bar, every melody bar starts on one of the host's bar
//! lines: melody bar `(host bar number × k) mod bars` plays in the host bar (`k` melody bars a
//! host bar: 2 for 12/8 played as 6/8), so bar 1 lands on a bar line also after a meter change.
//! Without them the melody is aligned to beat 0 of the song in 4/4. An event at beat `t` sounds
//! at the first sample at or after `t`; each event falls in exactly one block. Playing without
//! a position from the host free-runs from the last known tempo (120 BPM before any); a
//! stopped transport is silent.

use crate::encoding::{STEPS_PER_BAR, STEPS_PER_QUARTER};
use crate::music::played;
use crate::plugin::audio::settings::PlaySettings;
use crate::plugin::cross::handoff::PlayMelody;

/// 16th steps per quarter-note beat.
pub const STEPS_PER_BEAT: f64 = STEPS_PER_QUARTER as f64;

/// Beats per bar (4/4) when the host gives no time signature: melody swaps wait for multiples
/// of this.
pub const BEATS_PER_BAR: f64 = STEPS_PER_BAR as f64 / STEPS_PER_BEAT;

/// Tolerance, in samples, for rounding an event time to its sample (the host's position is
/// fixed-point and float arithmetic is not exact).
const EPS_SAMPLES: f64 = 1e-3;

/// The tempo assumed before the host has given one.
pub const DEFAULT_TEMPO_BPM: f64 = 120.0;

/// What the host says about its transport for one block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TransportInfo {
    /// Whether the transport is playing.
    pub playing: bool,
    /// Tempo in quarter notes per minute.
    pub tempo_bpm: Option<f64>,
    /// Song position in quarter-note beats at the first sample of the block (hosts may round
    /// it: Ardour to 1/1920 of a quarter).
    pub pos_beats: Option<f64>,
    /// Song position in samples at the first sample of the block, when the host gives it
    /// (exact in the hosts seen).
    pub pos_samples: Option<i64>,
    /// Active loop range in beats, `(start, end)`.
    pub loop_beats: Option<(f64, f64)>,
    /// The host's bar at the block's start, when it gives its time signature.
    pub bar: Option<HostBar>,
}

/// The host's bar at the start of a block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HostBar {
    /// Where the bar starts, in quarter-note beats.
    pub start_beats: f64,
    /// Its number, counted from 0 at the start of the song.
    pub number: i64,
    /// Its length in quarter-note beats (numerator × 4 / denominator).
    pub len_beats: f64,
}

impl HostBar {
    /// The bar, when its numbers are usable.
    pub fn usable(self) -> Option<HostBar> {
        (self.start_beats.is_finite()
            && self.start_beats.abs() < MAX_POSITION_BEATS
            && self.len_beats.is_finite()
            && self.len_beats >= 0.25
            && self.len_beats <= 64.0)
            .then_some(self)
    }
}

/// How far a block's song position may be from where the last block ended, in beats, and the
/// transport still count as running on: hosts round positions (Ardour to 1/1920 of a quarter,
/// 12.5 samples at 120 BPM and 48 kHz), jitter, and ramp the tempo inside a block. A larger
/// move is a jump, which ends the sounding note at once.
pub const CONTINUITY_BEATS: f64 = 1.0 / 128.0;

/// Whether a block starting at song position `pos` continues one that ended at `expected`
/// (both in beats): within [`CONTINUITY_BEATS`] or 2 samples. The one rule of playback and
/// Capture.
pub fn continues(expected: f64, pos: f64, beats_per_sample: f64) -> bool {
    (pos - expected).abs() <= CONTINUITY_BEATS.max(2.0 * beats_per_sample)
}

/// A host's beat position within this many beats of where the last block ended is taken as
/// the same place (host rounding); the sequencer then keeps its own exact timeline. Further
/// off but still continuous (a tempo ramp inside a block), it follows the host.
const ROUNDING_BEATS: f64 = 1.0 / 960.0;

/// Song positions at or beyond this many beats are not played (see `next_onset`).
const MAX_POSITION_BEATS: f64 = (1u64 << 40) as f64;

/// A note event, with its offset in samples from the start of the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteOut {
    /// Start `pitch`.
    On { offset_samples: u32, pitch: u8, velocity: u8 },
    /// End `pitch`.
    Off { offset_samples: u32, pitch: u8 },
}

impl NoteOut {
    /// The event's offset in the block.
    pub fn offset_samples(&self) -> u32 {
        match *self {
            NoteOut::On { offset_samples, .. } | NoteOut::Off { offset_samples, .. } => {
                offset_samples
            }
        }
    }
}

/// The note currently on.
#[derive(Clone, Copy, Debug)]
struct Sounding {
    pitch: u8,
    off_beats: f64,
}

/// The audio thread's playback state. Owned by the plugin, used only inside `process()`.
#[derive(Debug)]
pub struct Sequencer {
    /// What plays now; [`PlayMelody::EMPTY`] (no steps) until the first melody arrives.
    melody: PlayMelody,
    /// The newest melody from the worker, waiting for a bar line.
    pending: Option<PlayMelody>,
    /// The note on, if any: at most one (the melody is monophonic).
    sounding: Option<Sounding>,
    /// Onsets at or before this beat were played (guards against small backward moves).
    cursor_beats: f64,
    /// Where the next block should start if the transport runs on; `None` after a stop,
    /// a reset or at first.
    expected_beats: Option<f64>,
    /// Tempo of the last block that had one.
    tempo_bpm: f64,
    /// Octave the sounding note was started with.
    octave: i8,
    /// Position at the end of the last block, in melody steps (for the editor's playhead).
    position_steps: f64,
    /// The host's bar of this block; `None`: the song is 4/4 bars from beat 0.
    bar: Option<HostBar>,
}

impl Default for Sequencer {
    fn default() -> Self {
        Sequencer {
            melody: PlayMelody::EMPTY,
            pending: None,
            sounding: None,
            cursor_beats: f64::NEG_INFINITY,
            expected_beats: None,
            tempo_bpm: DEFAULT_TEMPO_BPM,
            octave: 0,
            position_steps: 0.0,
            bar: None,
        }
    }
}

impl Sequencer {
    /// Queues a new melody: it replaces the current one at the next bar line, or at once
    /// (see [`PlaySettings::swap_at_bar`]); a newer one replaces a queued one.
    pub fn set_pending(&mut self, melody: PlayMelody) {
        self.pending = Some(melody);
    }

    /// Whether a note is on.
    pub fn is_sounding(&self) -> bool {
        self.sounding.is_some()
    }

    /// The tempo of the last block that gave one (120 BPM before any).
    pub fn tempo_bpm(&self) -> f64 {
        self.tempo_bpm
    }

    /// Position at the end of the last block, in steps into the melody.
    pub fn position_steps(&self) -> f64 {
        self.position_steps
    }

    /// Forgets the transport position: the next block starts afresh, first ending any
    /// note still on. Called from `reset()`, where no events can be sent.
    pub fn reset(&mut self) {
        self.expected_beats = None;
    }

    /// Ends the sounding note, if any, at `offset`.
    fn note_off(&mut self, offset_samples: u32, out: &mut impl FnMut(NoteOut)) {
        if let Some(s) = self.sounding.take() {
            out(NoteOut::Off { offset_samples, pitch: s.pitch });
        }
    }

    fn swap_now(&mut self) {
        if let Some(next) = self.pending.take() {
            self.melody = next;
        }
    }

    /// The beat where a pass of the current melody starts (any pass: passes are a period
    /// apart): on the host's bar line that the bar numbers make the melody's first bar, or
    /// beat 0 without them.
    fn anchor_beats(&self) -> f64 {
        let Some(bar) = self.bar else { return 0.0 };
        let melody_bar_steps = f64::from(self.melody.bar_steps.max(1));
        let melody_bar_beats = melody_bar_steps / STEPS_PER_BEAT;
        let bars = (f64::from(self.melody.len_steps) / melody_bar_steps).ceil().max(1.0);
        // Melody bars per host bar: 2 for a 12/8 host bar of two 6/8 bars; at least 1.
        let per_host_bar = (bar.len_beats / melody_bar_beats).round().max(1.0);
        let index = (bar.number as f64 * per_host_bar).rem_euclid(bars);
        bar.start_beats - index * melody_bar_beats
    }

    /// The first bar line after `beat`: the host's, or every 4 beats from beat 0.
    fn next_bar_line(&self, beat: f64) -> f64 {
        let (origin, len) = self.bar.map_or((0.0, BEATS_PER_BAR), |b| (b.start_beats, b.len_beats));
        origin + (((beat - origin) / len).floor() + 1.0) * len
    }

    /// Plays one block of `frames` samples, calling `out` for each event in time order.
    pub fn process(
        &mut self,
        frames: u32,
        sample_rate: f64,
        transport: &TransportInfo,
        settings: &PlaySettings,
        out: &mut impl FnMut(NoteOut),
    ) {
        // The first melody plays at once.
        if self.melody.len_steps == 0 {
            self.swap_now();
        }
        if !transport.playing || frames == 0 || !(sample_rate > 0.0) {
            self.note_off(0, out);
            self.swap_now();
            if !transport.playing {
                self.expected_beats = None;
            }
            return;
        }
        if let Some(tempo) = transport.tempo_bpm.filter(|t| t.is_finite() && *t > 0.0) {
            self.tempo_bpm = tempo.clamp(1.0, 2000.0);
        }
        self.bar = transport.bar.and_then(HostBar::usable);
        let spb = sample_rate * 60.0 / self.tempo_bpm; // samples per beat
        let pos = match transport.pos_beats.filter(|p| p.is_finite()) {
            Some(p) => p,
            None => self.expected_beats.unwrap_or(0.0),
        };
        // Continuity: the beat position is within CONTINUITY_BEATS (or 2 samples) of where the
        // last block ended, whether or not the host's sample position ran on: a tempo-map edit
        // during playback moves the beats under a running sample clock, and is a jump.
        let continuous = self.expected_beats.is_some_and(|e| continues(e, pos, 1.0 / spb));
        let pos = match self.expected_beats {
            Some(e) if continuous && (pos - e).abs() <= ROUNDING_BEATS => e,
            _ => pos,
        };
        if !continuous {
            // A jump (or the start): the sounding note ends now, and a waiting melody comes in
            // here (a host that loops by jumping back never reaches a bar line otherwise).
            self.note_off(0, out);
            self.cursor_beats = f64::NEG_INFINITY;
            self.swap_now();
        }
        if settings.octave != self.octave {
            self.note_off(0, out);
            self.octave = settings.octave;
        }
        // A melody waiting in the host's meter replaces one that is not at once: its bars
        // would not fit the song's until the next bar line.
        let misfit = self.bar.is_some_and(|bar| {
            let fits = |bar_steps: u16| {
                let beats = f64::from(bar_steps) / STEPS_PER_BEAT;
                let k = (bar.len_beats / beats).round().max(1.0);
                (k * beats - bar.len_beats).abs() < 1e-9
            };
            self.melody.len_steps > 0
                && !fits(self.melody.bar_steps)
                && self.pending.is_some_and(|p| fits(p.bar_steps))
        });
        if (!settings.swap_at_bar || misfit) && self.pending.is_some() {
            self.note_off(0, out);
            self.swap_now();
        }
        // A loop shorter than a few samples is ignored.
        let loop_range = transport
            .loop_beats
            .filter(|(s, e)| s.is_finite() && e.is_finite() && (e - s) * spb >= 4.0);
        let mut start = 0u32;
        let mut b0 = pos;
        loop {
            let remaining = frames - start;
            let len = match loop_range {
                Some((_, end)) if b0 < end && b0 + f64::from(remaining) / spb > end => {
                    (((end - b0) * spb - EPS_SAMPLES).ceil() as u32).clamp(1, remaining)
                }
                _ => remaining,
            };
            self.play_segment(start, len, b0, spb, settings, out);
            start += len;
            if start >= frames {
                b0 += f64::from(len) / spb;
                break;
            }
            // The loop wraps at `start`: the note ends, and a waiting melody comes in here (a
            // loop with no bar line inside would never let it in otherwise).
            self.note_off(start, out);
            self.swap_now();
            // `loop_range` is `Some` whenever the segment was cut short.
            b0 = loop_range.map_or(b0, |(s, _)| s);
            self.cursor_beats = f64::NEG_INFINITY;
        }
        self.expected_beats = Some(b0);
        let len_beats = f64::from(self.melody.len_steps) / STEPS_PER_BEAT;
        self.position_steps = if len_beats > 0.0 {
            (b0 - self.anchor_beats()).rem_euclid(len_beats) * STEPS_PER_BEAT
        } else {
            0.0
        };
    }

    /// Plays samples `start..start + len`, where `start` is at beat `b0`.
    fn play_segment(
        &mut self,
        start: u32,
        len: u32,
        b0: f64,
        spb: f64,
        settings: &PlaySettings,
        out: &mut impl FnMut(NoteOut),
    ) {
        // Event times in (low, high] land in this segment (see the module notes).
        let low = b0 - (1.0 - EPS_SAMPLES) / spb;
        let high = b0 + (f64::from(len) - 1.0 + EPS_SAMPLES) / spb;
        let offset =
            |t: f64| start + (((t - b0) * spb - EPS_SAMPLES).ceil().max(0.0) as u32).min(len - 1);
        // After a jump or a wrap, onsets from this segment on; while the transport runs on,
        // from the last one played (a host position a little ahead of where the last block
        // ended skips nothing, one a little behind replays nothing).
        if self.cursor_beats == f64::NEG_INFINITY {
            self.cursor_beats = low;
        }
        loop {
            let off = self.sounding.map(|s| s.off_beats).filter(|&t| t <= high);
            let swap = match self.pending {
                Some(_) if settings.swap_at_bar => {
                    Some(self.next_bar_line(self.cursor_beats)).filter(|&t| t <= high)
                }
                _ => None,
            };
            let on = self.next_onset(self.cursor_beats, high, settings.swing);
            // Earliest first; at equal times: off, then swap, then on.
            let first = [off.map(|t| (t, 0)), swap.map(|t| (t, 1)), on.map(|(t, ..)| (t, 2))]
                .into_iter()
                .flatten()
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            match first {
                None => break,
                Some((t, 0)) => self.note_off(offset(t), out),
                Some((t, 1)) => {
                    self.note_off(offset(t), out);
                    self.swap_now();
                    // The new melody's onsets at the bar line itself still play.
                    self.cursor_beats = t - 1e-9;
                }
                Some((t, _)) => {
                    // `on` is `Some` when it was chosen.
                    let Some((_, index, period_beats)) = on else { break };
                    let at = offset(t);
                    self.note_off(at, out);
                    let note = self.melody.notes()[index];
                    let pitch = (i16::from(note.pitch) + 12 * i16::from(settings.octave))
                        .clamp(0, 127) as u8;
                    out(NoteOut::On {
                        offset_samples: at,
                        pitch,
                        velocity: settings.velocity.clamp(1, 127),
                    });
                    // The note as it sounds: the rule the MIDI files are written by.
                    let (_, off_steps) =
                        self.melody.span_steps(index, settings.swing, settings.gate);
                    let off_beats = (period_beats + off_steps / STEPS_PER_BEAT).max(t + 1.0 / spb);
                    self.sounding = Some(Sounding { pitch, off_beats });
                    self.cursor_beats = t;
                }
            }
        }
    }

    /// The first onset after `after` and at or before `high`: its beat, the note's index and
    /// the beat its pass of the melody starts on.
    fn next_onset(&self, after: f64, high: f64, swing: f32) -> Option<(f64, usize, f64)> {
        let notes = self.melody.notes();
        let period = f64::from(self.melody.len_steps) / STEPS_PER_BEAT;
        // Past 2^40 beats (about 17,000 years at 120 BPM: only a buggy host reports that) a
        // 16th is no longer resolved and `k += 1.0` below could stop changing `k`: play nothing
        // rather than loop forever on the audio thread.
        if notes.is_empty()
            || !(period > 0.0)
            || !after.is_finite()
            || !high.is_finite()
            || after.abs() >= MAX_POSITION_BEATS
            || high.abs() >= MAX_POSITION_BEATS
        {
            return None;
        }
        let anchor = self.anchor_beats();
        // Start one period early: a swung last note can reach into the next period.
        let mut k = ((after - anchor) / period).floor() - 1.0;
        while anchor + k * period <= high {
            let pass = anchor + k * period;
            for (i, note) in notes.iter().enumerate() {
                let t =
                    pass + played::onset_steps(u32::from(note.start_step), swing) / STEPS_PER_BEAT;
                if t > high {
                    return None;
                }
                if t > after {
                    return Some((t, i, pass));
                }
            }
            k += 1.0;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_song_position_plays_nothing_and_returns() {
        // At 2^60 beats, k · period + step rounds to k · period: the loop would never end.
        let mut seq = Sequencer::default();
        seq.set_pending(melody(&[(60, 0, 4), (62, 4, 2)], 16));
        let mut events = 0;
        for pos in [2f64.powi(60), -(2f64.powi(55)), 2f64.powi(40)] {
            for _ in 0..4 {
                seq.process(512, 48_000.0, &playing(pos), &PlaySettings::default(), &mut |_| {
                    events += 1
                });
            }
        }
        assert_eq!(events, 0);
        // Back at a sane position it plays again.
        seq.process(512, 48_000.0, &playing(0.0), &PlaySettings::default(), &mut |_| events += 1);
        assert!(events > 0);
    }

    /// A song's meter map: `(first bar, quarter beats per bar)` from the start, sorted.
    type MeterMap = [(i64, f64)];

    /// The bar at `beat` in `map`: its number, start and length (the oracle of the meter
    /// tests, written from the map alone).
    fn bar_at(map: &MeterMap, beat: f64) -> HostBar {
        let (mut number, mut start) = (0i64, 0.0f64);
        for (i, &(_, len)) in map.iter().enumerate() {
            let next_change = map.get(i + 1).map(|&(bar, _)| bar);
            loop {
                if next_change == Some(number) {
                    break;
                }
                if beat < start + len - 1e-12 || next_change.is_none() && beat < start + len {
                    return HostBar { start_beats: start, number, len_beats: len };
                }
                start += len;
                number += 1;
            }
        }
        unreachable!("the last meter runs on")
    }

    /// Plays `melody` through odd-sized blocks (441 frames at 44.1 kHz, 100 BPM) over a song
    /// with meter map `map` for `beats`; returns the note-ons: (absolute sample, pitch).
    fn play_in_meters(melody: PlayMelody, map: &MeterMap, beats: f64) -> Vec<(u64, u8)> {
        let (rate, tempo, frames) = (44_100.0, 100.0, 441u32);
        let spb = rate * 60.0 / tempo;
        let mut seq = Sequencer::default();
        seq.set_pending(melody);
        let mut ons = Vec::new();
        let mut at = 0u64;
        while (at as f64) < beats * spb {
            let pos = at as f64 / spb;
            let t = TransportInfo {
                bar: Some(bar_at(map, pos)),
                ..TransportInfo { tempo_bpm: Some(tempo), ..playing(pos) }
            };
            seq.process(frames, rate, &t, &PlaySettings::default(), &mut |e| {
                if let NoteOut::On { offset_samples, pitch, .. } = e {
                    ons.push((at + u64::from(offset_samples), pitch));
                }
            });
            at += u64::from(frames);
        }
        ons
    }

    /// A melody of `bars` bars in `meter` with one note on each downbeat: pitch 60 + bar.
    fn downbeats(meter: crate::encoding::Meter, bars: u32) -> PlayMelody {
        use crate::encoding::{Melody, Note};
        let bar = meter.bar_steps() as u32;
        let notes = (0..bars)
            .map(|b| Note { pitch: 60 + b as u8, start_step: b * bar, len_steps: 2 })
            .collect();
        PlayMelody::from_melody(&Melody { notes, len_steps: bars * bar }, meter, 1)
    }

    /// Every note-on lands on a host bar line, to the sample, and melody bar `j` plays in host
    /// bar `n` with `j = n·k mod bars` (`k` melody bars per host bar).
    fn assert_on_bar_lines(ons: &[(u64, u8)], map: &MeterMap, bars: i64, k: i64, melody_bar: f64) {
        let spb = 44_100.0 * 60.0 / 100.0;
        assert!(!ons.is_empty());
        for &(sample, pitch) in ons {
            let beat = sample as f64 / spb;
            let host = bar_at(map, beat + 1e-9);
            let sub = ((beat - host.start_beats) / melody_bar).round() as i64;
            let want_beat = host.start_beats + sub as f64 * melody_bar;
            let want_sample = (want_beat * spb - 1e-3).ceil() as u64;
            assert_eq!(sample, want_sample, "pitch {pitch} at beat {beat}: not on a bar line");
            let want_pitch = 60 + (host.number * k + sub).rem_euclid(bars) as u8;
            assert_eq!(pitch, want_pitch, "host bar {} (beat {beat})", host.number);
        }
    }

    #[test]
    fn melody_bars_land_on_the_hosts_bar_lines_in_each_meter() {
        use crate::encoding::Meter;
        for meter in [Meter::ThreeFour, Meter::SixEight, Meter::FourFour, Meter::NineEight] {
            let len = meter.bar_steps() as f64 / STEPS_PER_BEAT;
            let map = [(0, len)];
            let ons = play_in_meters(downbeats(meter, 4), &map, 40.0);
            // 40 beats: every bar of the song has its downbeat note.
            assert_eq!(ons.len(), (40.0 / len).ceil() as usize, "{meter}");
            assert_on_bar_lines(&ons, &map, 4, 1, len);
        }
    }

    #[test]
    fn after_a_meter_change_bar_one_is_on_a_bar_line_again() {
        use crate::encoding::Meter;
        // Three bars of 4/4, then 3/4 from bar 3 (beat 12), with a 3/4 melody of 4 bars;
        // then 5 bars of 6/8 from bar 10 (beat 33) and 3/4 again from bar 15 (beat 48).
        let map = [(0, 4.0), (3, 3.0), (10, 3.0), (15, 3.0)];
        let ons = play_in_meters(downbeats(Meter::ThreeFour, 4), &map, 60.0);
        let from_change: Vec<_> =
            ons.iter().copied().filter(|&(s, _)| s as f64 >= 12.0 * 26_460.0).collect();
        assert_eq!(from_change.len(), 16);
        assert_on_bar_lines(&from_change, &map, 4, 1, 3.0);
        // A 12/8 song played as 6/8: two melody bars in each host bar, on its half.
        let map = [(0, 6.0)];
        let ons = play_in_meters(downbeats(Meter::SixEight, 4), &map, 36.0);
        assert_eq!(ons.len(), 12);
        assert_on_bar_lines(&ons, &map, 4, 2, 3.0);
    }

    fn melody(notes: &[(u8, u32, u32)], len_steps: u32) -> PlayMelody {
        use crate::encoding::{Melody, Note};
        let notes = notes
            .iter()
            .map(|&(pitch, start_step, len_steps)| Note { pitch, start_step, len_steps })
            .collect();
        PlayMelody::from_melody(&Melody { notes, len_steps }, crate::encoding::Meter::FourFour, 1)
    }

    fn playing(pos_beats: f64) -> TransportInfo {
        TransportInfo {
            playing: true,
            tempo_bpm: Some(120.0),
            pos_beats: Some(pos_beats),
            pos_samples: None,
            loop_beats: None,
            bar: None,
        }
    }

    /// Runs `blocks` blocks of `frames` at 48 kHz, 120 BPM from beat 0, like a host would;
    /// returns (absolute sample, event).
    fn run(
        seq: &mut Sequencer,
        frames: u32,
        blocks: u32,
        settings: &PlaySettings,
    ) -> Vec<(u64, NoteOut)> {
        let mut events = Vec::new();
        for b in 0..blocks {
            let at = u64::from(b) * u64::from(frames);
            let pos = at as f64 / 24_000.0;
            // Absolute sample of each event; the offset inside the event is zeroed so runs with
            // different block sizes compare equal.
            seq.process(frames, 48_000.0, &playing(pos), settings, &mut |e| {
                let abs = at + u64::from(e.offset_samples());
                events.push((
                    abs,
                    match e {
                        NoteOut::On { pitch, velocity, .. } => {
                            NoteOut::On { offset_samples: 0, pitch, velocity }
                        }
                        NoteOut::Off { pitch, .. } => NoteOut::Off { offset_samples: 0, pitch },
                    },
                ))
            });
        }
        events
    }

    /// Plays `blocks` blocks of `frames` at 48 kHz from beat 0 with the host's beat position
    /// passed through `report` (rounding, jitter) and its sample position when `with_samples`;
    /// `tempo(block)` may ramp. Returns (absolute sample, event) and checks monophony.
    fn run_host(
        seq: &mut Sequencer,
        frames: u32,
        blocks: u32,
        settings: &PlaySettings,
        with_samples: bool,
        tempo: impl Fn(u32) -> f64,
        report: impl Fn(u32, f64) -> f64,
    ) -> Vec<(u64, NoteOut)> {
        let mut events = Vec::new();
        let mut beats = 0.0;
        let mut on: Option<u8> = None;
        for b in 0..blocks {
            let at = u64::from(b) * u64::from(frames);
            let t = TransportInfo {
                playing: true,
                tempo_bpm: Some(tempo(b)),
                pos_beats: Some(report(b, beats)),
                pos_samples: with_samples.then_some(at as i64),
                loop_beats: None,
                bar: None,
            };
            seq.process(frames, 48_000.0, &t, settings, &mut |e| {
                match e {
                    NoteOut::On { pitch, .. } => {
                        assert_eq!(
                            on,
                            None,
                            "a second note on at sample {}",
                            at + u64::from(e.offset_samples())
                        );
                        on = Some(pitch);
                    }
                    NoteOut::Off { pitch, .. } => {
                        assert_eq!(on, Some(pitch), "note-off of a note not on");
                        on = None;
                    }
                }
                events.push((at + u64::from(e.offset_samples()), e));
            });
            beats += f64::from(frames) * tempo(b) / 60.0 / 48_000.0;
        }
        events
    }

    /// (onset, off) sample pairs of the played notes.
    fn spans(events: &[(u64, NoteOut)]) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut start = None;
        for &(t, e) in events {
            match e {
                NoteOut::On { .. } => start = Some(t),
                NoteOut::Off { .. } => out.extend(start.take().map(|s| (s, t))),
            }
        }
        out
    }

    #[test]
    fn rounded_and_jittering_host_positions_cut_no_note() {
        // Notes of 4, 2 and 8 16ths at gate 0.9: at 120 BPM and 48 kHz a 16th is 6000 samples,
        // so each sounds 21600, 10800 and 43200 samples (the oracle: length × gate, by hand).
        let m = melody(&[(60, 0, 4), (62, 4, 2), (64, 8, 8)], 16);
        let expected = [
            (0, 21_600),
            (24_000, 34_800),
            (48_000, 91_200),
            (96_000, 117_600),
            (120_000, 130_800),
        ];
        let settings = PlaySettings::default();
        let round_to = |q: f64| move |_: u32, beats: f64| (beats * q).round() / q;
        for frames in [128, 512, 1024, 2048] {
            let blocks = 150_000 / frames;
            for with_samples in [true, false] {
                for (what, events) in [
                    (
                        "1/1920",
                        run_host(
                            &mut seq_with(m),
                            frames,
                            blocks,
                            &settings,
                            with_samples,
                            |_| 120.0,
                            round_to(1920.0),
                        ),
                    ),
                    (
                        "1/960",
                        run_host(
                            &mut seq_with(m),
                            frames,
                            blocks,
                            &settings,
                            with_samples,
                            |_| 120.0,
                            round_to(960.0),
                        ),
                    ),
                    // ±3 samples of jitter (a 16th note is 6000 samples).
                    (
                        "jitter",
                        run_host(
                            &mut seq_with(m),
                            frames,
                            blocks,
                            &settings,
                            with_samples,
                            |_| 120.0,
                            |b, beats| beats + f64::from(b % 7) / 2.0 * 1e-4 - 3e-4,
                        ),
                    ),
                ] {
                    let got = spans(&events);
                    assert_eq!(
                        got.len(),
                        expected.len(),
                        "{what}, {frames} frames, samples {with_samples}: {got:?}"
                    );
                    for (g, e) in got.iter().zip(&expected) {
                        // Within 1 ms (48 samples) of the exact times.
                        assert!(
                            g.0.abs_diff(e.0) <= 48 && g.1.abs_diff(e.1) <= 48,
                            "{what}, {frames} frames, samples {with_samples}: {g:?} against {e:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_tempo_ramp_inside_blocks_cuts_no_note() {
        // 120 → 150 BPM over 100 blocks of 1024: the host integrates the ramp inside each
        // block, the sequencer only sees each block's start tempo.
        let m = melody(&[(60, 0, 8), (62, 8, 8)], 16);
        let settings = PlaySettings { gate: 1.0, ..Default::default() };
        let tempo = |b: u32| 120.0 + 30.0 * f64::from(b.min(100)) / 100.0;
        let inside = |b: u32, beats: f64| {
            beats + f64::from(b.min(100)) * 1024.0 * 0.3 / 60.0 / 48_000.0 * 0.5
        };
        for with_samples in [true, false] {
            let events =
                run_host(&mut seq_with(m), 1024, 120, &settings, with_samples, tempo, inside);
            // Gate 1: each note ends exactly where the next starts, never earlier.
            for w in spans(&events).windows(2) {
                assert_eq!(
                    w[0].1, w[1].0,
                    "samples {with_samples}: a note ended before the next began: {w:?}"
                );
            }
        }
    }

    #[test]
    fn a_real_jump_still_ends_the_note_at_once() {
        let mut seq = seq_with(melody(&[(60, 0, 16)], 16));
        let s = PlaySettings::default();
        let mut ev = Vec::new();
        let t =
            |pos: f64, samples: i64| TransportInfo { pos_samples: Some(samples), ..playing(pos) };
        seq.process(512, 48_000.0, &t(0.0, 0), &s, &mut |e| ev.push(e));
        // The sample position runs on but the beats jump a bar (a host's tempo-map edit).
        ev.clear();
        seq.process(512, 48_000.0, &t(4.0 + 512.0 / 24_000.0, 512), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::Off { offset_samples: 0, pitch: 60 }]);
        // No sample position, and the beats move by a 32nd: more than host rounding or jitter.
        let mut seq = seq_with(melody(&[(60, 0, 16)], 16));
        seq.process(512, 48_000.0, &playing(0.0), &s, &mut |_| {});
        ev.clear();
        seq.process(512, 48_000.0, &playing(512.0 / 24_000.0 + 0.125), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::Off { offset_samples: 0, pitch: 60 }]);
    }

    #[test]
    fn a_tempo_map_edit_under_a_running_sample_clock_is_a_jump() {
        // The host's sample position runs on, but the beats moved half a beat (a tempo-map
        // edit during playback): the note ends at once, and the onsets skipped over are not
        // fired at sample 0 as zero-length pairs.
        let sixteenths: Vec<(u8, u32, u32)> = (0..16).map(|i| (60 + i as u8, i, 1)).collect();
        let s = PlaySettings::default();
        let t =
            |pos: f64, samples: i64| TransportInfo { pos_samples: Some(samples), ..playing(pos) };
        let mut seq = seq_with(melody(&sixteenths, 16));
        let mut ev = Vec::new();
        seq.process(512, 48_000.0, &t(0.0, 0), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::On { offset_samples: 0, pitch: 60, velocity: 100 }]);
        ev.clear();
        seq.process(512, 48_000.0, &t(512.0 / 24_000.0 + 0.5, 512), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::Off { offset_samples: 0, pitch: 60 }]);
        // Moved back by half a beat: the note ends at once rather than sounding on.
        let mut seq = seq_with(melody(&[(60, 0, 16)], 16));
        seq.process(512, 48_000.0, &t(0.0, 0), &s, &mut |_| {});
        seq.process(512, 48_000.0, &t(512.0 / 24_000.0, 512), &s, &mut |_| {});
        ev.clear();
        seq.process(512, 48_000.0, &t(1024.0 / 24_000.0 - 0.5, 1024), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::Off { offset_samples: 0, pitch: 60 }]);
    }

    #[test]
    fn a_loop_without_a_bar_line_still_swaps_in_a_new_melody() {
        let a = melody(&[(60, 0, 4)], 16);
        let b = melody(&[(72, 0, 4), (74, 4, 4), (76, 8, 4), (77, 12, 4)], 16);
        let mut seq = seq_with(a);
        let s = PlaySettings::default();
        let looped = |pos: f64| TransportInfo { loop_beats: Some((5.0, 7.0)), ..playing(pos) };
        seq.process(512, 48_000.0, &looped(5.0), &s, &mut |_| {});
        seq.set_pending(b);
        let mut ons = Vec::new();
        // Two seconds = 4 beats: two passes of beats 5..7, wrapping inside the blocks.
        let mut pos = 5.0 + 512.0 / 24_000.0;
        for _ in 0..(96_000 / 512) {
            seq.process(512, 48_000.0, &looped(pos), &s, &mut |e| {
                if let NoteOut::On { pitch, .. } = e {
                    ons.push(pitch)
                }
            });
            pos += 512.0 / 24_000.0;
            if pos >= 7.0 {
                pos -= 2.0;
            }
        }
        // Beat 5 is B's step 4 (74), beat 6 its step 8 (76).
        assert!(ons.contains(&74) && ons.contains(&76), "{ons:?}");
    }

    fn seq_with(m: PlayMelody) -> Sequencer {
        let mut seq = Sequencer::default();
        seq.set_pending(m);
        seq
    }

    #[test]
    fn notes_land_on_exact_samples_whatever_the_block_size() {
        // At 120 BPM and 48 kHz a 16th is 6000 samples.
        let m = melody(&[(60, 0, 4), (62, 4, 2), (64, 8, 8)], 16);
        let settings = PlaySettings { gate: 1.0, ..Default::default() };
        let mut reference = None;
        for frames in [1, 37, 512, 4096] {
            let mut seq = Sequencer::default();
            seq.set_pending(m);
            let events = run(&mut seq, frames, 200_000 / frames, &settings);
            let ons: Vec<(u64, u8)> = events
                .iter()
                .filter_map(|(t, e)| {
                    matches!(e, NoteOut::On { .. })
                        .then(|| (*t, if let NoteOut::On { pitch, .. } = e { *pitch } else { 0 }))
                })
                .collect();
            assert_eq!(
                &ons[..4],
                &[(0, 60), (24_000, 62), (48_000, 64), (96_000, 60)],
                "frames {frames}"
            );
            let offs: Vec<u64> = events
                .iter()
                .filter(|(_, e)| matches!(e, NoteOut::Off { .. }))
                .map(|(t, _)| *t)
                .collect();
            assert_eq!(&offs[..3], &[24_000, 36_000, 96_000], "frames {frames}");
            if let Some(r) = &reference {
                assert_eq!(r, &events, "block size {frames} changed the events");
            } else {
                reference = Some(events);
            }
        }
    }

    #[test]
    fn stop_jump_and_loop_end_the_sounding_note() {
        let m = melody(&[(60, 0, 16)], 16);
        let s = PlaySettings::default();
        let mut seq = Sequencer::default();
        seq.set_pending(m);
        let mut ev = Vec::new();
        seq.process(512, 48_000.0, &playing(0.0), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::On { offset_samples: 0, pitch: 60, velocity: 100 }]);
        ev.clear();
        // Jump to beat 2.
        seq.process(512, 48_000.0, &playing(2.0), &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::Off { offset_samples: 0, pitch: 60 }]);
        ev.clear();
        // Loop 0..2.5 beats: the wrap ends nothing (silent), then the onset at beat 0 plays.
        let t = TransportInfo { loop_beats: Some((0.0, 2.5)), ..playing(2.0 + 512.0 / 24_000.0) };
        seq.process(24_000, 48_000.0, &t, &s, &mut |e| ev.push(e));
        let wrap = ((2.5 - t.pos_beats.unwrap()) * 24_000.0 - EPS_SAMPLES).ceil() as u32;
        assert_eq!(ev, [NoteOut::On { offset_samples: wrap, pitch: 60, velocity: 100 }]);
        ev.clear();
        seq.process(64, 48_000.0, &TransportInfo { playing: false, ..t }, &s, &mut |e| ev.push(e));
        assert_eq!(ev, [NoteOut::Off { offset_samples: 0, pitch: 60 }]);
        assert!(!seq.is_sounding());
    }

    #[test]
    fn swaps_wait_for_the_bar_line_unless_immediate() {
        let a = melody(&[(60, 0, 2), (62, 2, 2), (64, 4, 2), (65, 6, 2)], 16);
        let b = melody(&[(72, 0, 2), (74, 2, 14)], 16);
        let mut seq = Sequencer::default();
        seq.set_pending(a);
        let s = PlaySettings { gate: 1.0, ..Default::default() };
        let mut ev = Vec::new();
        // Beats 0..1: A's first notes.
        seq.process(24_000, 48_000.0, &playing(0.0), &s, &mut |e| ev.push(e));
        seq.set_pending(b);
        ev.clear();
        // Beats 1..5: A continues until the bar line at beat 4 (sample 72000 from 24000).
        seq.process(96_000, 48_000.0, &playing(1.0), &s, &mut |e| ev.push(e));
        let ons: Vec<(u32, u8)> = ev
            .iter()
            .filter_map(|e| match e {
                NoteOut::On { offset_samples, pitch, .. } => Some((*offset_samples, *pitch)),
                _ => None,
            })
            .collect();
        assert_eq!(ons, [(0, 64), (12_000, 65), (72_000, 72), (84_000, 74)]);
        // Immediate swap ends the note at sample 0; beat 5 is step 4 of A (E).
        seq.set_pending(a);
        ev.clear();
        let now = PlaySettings { swap_at_bar: false, ..s };
        seq.process(16, 48_000.0, &playing(5.0), &now, &mut |e| ev.push(e));
        assert_eq!(
            ev,
            [
                NoteOut::Off { offset_samples: 0, pitch: 74 },
                NoteOut::On { offset_samples: 0, pitch: 64, velocity: 100 }
            ]
        );
    }

    #[test]
    fn swing_gate_and_octave_shape_playback() {
        let m = melody(&[(60, 0, 1), (62, 1, 1)], 16);
        let s =
            PlaySettings { swing: 1.0, gate: 0.5, octave: 1, velocity: 90, ..Default::default() };
        let mut seq = Sequencer::default();
        seq.set_pending(m);
        let events = run(&mut seq, 1000, 20, &s);
        let e: Vec<(u64, NoteOut)> = events.into_iter().take(4).collect();
        assert_eq!(e[0], (0, NoteOut::On { offset_samples: 0, pitch: 72, velocity: 90 }));
        assert_eq!(e[2].1, NoteOut::On { offset_samples: 0, pitch: 74, velocity: 90 });
        assert_eq!(e[1].0, 3000); // half of a 16th
        assert_eq!(e[2].0, 9000); // the odd 16th, late by half a step
        assert_eq!(e[3].0, 12_000);
    }
}
