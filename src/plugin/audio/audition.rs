//! Audition: the editor asks to hear a melody (a history entry) before choosing it, and the
//! audio thread plays it once through a Preview voice of its own, from its first step at the
//! host's tempo, whether the transport runs or not, with the Feel settings (velocity, gate,
//! swing, octave) the melody would play with. Audio only: no MIDI goes out, the parameters
//! and the playing melody stay as they are.
//!
//! The editor's end ([`AuditionSender`]) publishes into a melody hand-off (see [`handoff`]):
//! the audio thread takes the newest request without locking, waiting or allocating. A
//! request with no steps stops the audition.
//!
//! [`handoff`]: crate::plugin::cross::handoff

use crate::encoding::STEPS_PER_QUARTER;
use crate::plugin::audio::settings::PlaySettings;
use crate::plugin::audio::voice::Voice;
use crate::plugin::cross::handoff::{MelodySender, PlayMelody};

/// The editor's end of the audition hand-off. Held by the plugin and its editor (GUI thread):
/// the lock is between them, never the audio thread's.
pub struct AuditionSender(parking_lot::Mutex<MelodySender>);

impl AuditionSender {
    pub fn new(sender: MelodySender) -> AuditionSender {
        AuditionSender(parking_lot::Mutex::new(sender))
    }

    /// Plays `melody` once from its start (a melody with no steps stops instead); replaces an
    /// audition that plays.
    pub fn play(&self, melody: PlayMelody) {
        self.0.lock().send(melody);
    }

    /// Stops the audition.
    pub fn stop(&self) {
        self.play(PlayMelody::EMPTY);
    }
}

/// The audio thread's audition: what plays, where, and its voice. `Copy` data only.
#[derive(Debug)]
pub struct Audition {
    melody: PlayMelody,
    /// Steps played so far; `None` when no melody plays (the voice may still fade).
    at_steps: Option<f64>,
    /// The next note to start.
    next: usize,
    /// The note on and the step it ends at.
    sounding: Option<(u8, f64)>,
    voice: Voice,
}

impl Audition {
    /// A silent audition at `sample_rate`.
    pub fn new(sample_rate: f32) -> Audition {
        Audition {
            melody: PlayMelody::EMPTY,
            at_steps: None,
            next: 0,
            sounding: None,
            voice: Voice::new(sample_rate),
        }
    }

    /// Starts `melody` from its first step (one with no steps stops).
    pub fn start(&mut self, melody: PlayMelody) {
        if melody.len_steps == 0 {
            self.stop();
            return;
        }
        self.melody = melody;
        self.at_steps = Some(0.0);
        self.next = 0;
        if let Some((pitch, _)) = self.sounding.take() {
            self.voice.note_off(pitch);
        }
    }

    /// Stops: the sounding note fades out.
    pub fn stop(&mut self) {
        self.at_steps = None;
        self.sounding = None;
        self.voice.release();
    }

    /// The key of the melody playing, if one plays.
    pub fn playing(&self) -> Option<u64> {
        self.at_steps.map(|_| self.melody.key)
    }

    /// Whether it adds anything to the next block (a melody plays, or a note still fades).
    pub fn is_audible(&self) -> bool {
        self.at_steps.is_some() || self.voice.is_sounding()
    }

    /// Adds the next `frames` samples to each of `channels`, at `tempo_bpm` quarter notes a
    /// minute. Allocation-free (audio thread).
    pub fn render(
        &mut self,
        channels: &mut [&mut [f32]],
        frames: usize,
        sample_rate: f64,
        tempo_bpm: f64,
        settings: &PlaySettings,
    ) {
        if !self.is_audible() || !(sample_rate > 0.0) {
            return;
        }
        let tempo = if tempo_bpm.is_finite() && tempo_bpm > 0.0 { tempo_bpm } else { 120.0 };
        let steps_per_sample =
            tempo.clamp(1.0, 2000.0) / 60.0 * STEPS_PER_QUARTER as f64 / sample_rate;
        for i in 0..frames {
            if let Some(at) = self.at_steps {
                self.play_events(at, settings);
                self.at_steps = (self.next < self.melody.notes().len() || self.sounding.is_some())
                    .then_some(at + steps_per_sample);
            }
            if !self.voice.is_sounding() {
                if self.at_steps.is_none() {
                    return;
                }
                continue;
            }
            let sample = self.voice.next_sample();
            for channel in channels.iter_mut() {
                if let Some(s) = channel.get_mut(i) {
                    *s += sample;
                }
            }
        }
    }

    /// Ends and starts the notes due at step `at`: an end before a start at the same step.
    fn play_events(&mut self, at: f64, settings: &PlaySettings) {
        loop {
            if let Some((pitch, _)) = self.sounding.filter(|&(_, off)| off <= at) {
                self.voice.note_off(pitch);
                self.sounding = None;
            }
            let Some(note) = self.melody.notes().get(self.next).copied() else { return };
            let (on, off) = self.melody.span_steps(self.next, settings.swing, settings.gate);
            if on > at {
                return;
            }
            let pitch =
                (i16::from(note.pitch) + 12 * i16::from(settings.octave)).clamp(0, 127) as u8;
            if let Some((previous, _)) = self.sounding.take() {
                self.voice.note_off(previous);
            }
            self.voice.note_on(pitch, settings.velocity.clamp(1, 127));
            self.sounding = Some((pitch, off));
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::{Melody, Meter, Note};

    /// Rising zero crossings a second over `samples` at `rate`.
    fn hz(samples: &[f32], rate: f64) -> f64 {
        let ups = samples.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        ups as f64 / (samples.len() as f64 / rate)
    }

    #[test]
    fn a_melody_plays_once_at_its_pitches_and_times_then_falls_silent() {
        // C4 for a quarter, A4 for a half, rest, E5 for a quarter: one 4/4 bar at 120 BPM
        // and 48 kHz, 6,000 samples a 16th; gate 100 %, so each note sounds its length.
        let melody = Melody {
            notes: vec![
                Note { pitch: 60, start_step: 0, len_steps: 4 },
                Note { pitch: 69, start_step: 4, len_steps: 8 },
                Note { pitch: 76, start_step: 14, len_steps: 2 },
            ],
            len_steps: 16,
        };
        let settings = PlaySettings { gate: 1.0, ..PlaySettings::default() };
        let mut audition = Audition::new(48_000.0);
        audition.start(PlayMelody::from_melody(&melody, Meter::FourFour, 7));
        assert_eq!(audition.playing(), Some(7));
        // Rendered in odd blocks into two channels.
        let total = 16 * 6_000 + 24_000;
        let (mut left, mut right) = (vec![0.0f32; total], vec![0.0f32; total]);
        let mut at = 0;
        while at < total {
            let n = 333.min(total - at);
            let mut channels = [&mut left[at..at + n], &mut right[at..at + n]];
            audition.render(&mut channels, n, 48_000.0, 120.0, &settings);
            at += n;
        }
        assert_eq!(left, right);
        let pitch_hz = |p: f64| 440.0 * 2f64.powf((p - 69.0) / 12.0);
        // The middle of each note, by hand: steps 1–3, 6–10, 14.5–15.5.
        for (from, to, pitch) in [(1.0, 3.0, 60.0), (6.0, 10.0, 69.0), (14.4, 15.6, 76.0)] {
            let window = &left[(from * 6_000.0) as usize..(to * 6_000.0) as usize];
            let heard = hz(window, 48_000.0);
            assert!((heard / pitch_hz(pitch) - 1.0).abs() < 0.02, "{pitch}: {heard} Hz");
        }
        // The rest (steps 12–14) falls silent after the release (30 ms: 6 time constants by
        // step 13.5), and so does the end.
        let rest = &left[(13.5 * 6_000.0) as usize..(13.95 * 6_000.0) as usize];
        assert!(rest.iter().all(|s| s.abs() < 1e-3));
        assert!(left[total - 4_000..].iter().all(|&s| s == 0.0));
        assert_eq!(audition.playing(), None);
        assert!(!audition.is_audible());
    }

    #[test]
    fn stop_and_a_new_request_fade_without_a_click() {
        let melody =
            Melody { notes: vec![Note { pitch: 57, start_step: 0, len_steps: 16 }], len_steps: 16 };
        let mut audition = Audition::new(48_000.0);
        let play = PlayMelody::from_melody(&melody, Meter::FourFour, 1);
        audition.start(play);
        let mut out = vec![0.0f32; 48_000];
        let settings = PlaySettings::default();
        audition.render(&mut [&mut out[..24_000]], 24_000, 48_000.0, 120.0, &settings);
        audition.stop();
        audition.render(&mut [&mut out[24_000..]], 24_000, 48_000.0, 120.0, &settings);
        // The largest step between samples stays that of the steady tone (a sawtooth's fall,
        // smoothed by the voice's filter), also where it stops.
        let step = |s: &[f32]| s.windows(2).map(|w| (w[1] - w[0]).abs()).fold(0.0, f32::max);
        let steady = step(&out[12_000..23_000]);
        assert!(step(&out[23_000..26_000]) <= steady * 1.05);
        assert!(out[40_000..].iter().all(|&s| s == 0.0));
        assert!(!audition.is_audible());
        // An empty request stops too.
        audition.start(play);
        audition.start(PlayMelody::EMPTY);
        assert_eq!(audition.playing(), None);
    }
}
