//! The Preview voice: a small synth that plays the melody on Neume's own audio output when
//! switched on, so that Neume sounds on a track with no instrument after it. A band-limited
//! sawtooth (PolyBLEP) through a one-pole low-pass, with a smoothed gain envelope (a few
//! milliseconds up, a few tens down) so that no note starts or ends with a click. `Copy`
//! state, rendered sample by sample into the host's buffers: nothing allocates.

/// Attack and release time constants, in seconds.
const ATTACK_S: f32 = 0.004;
const RELEASE_S: f32 = 0.030;
/// Low-pass cut-off, in Hz.
const CUTOFF_HZ: f32 = 3_000.0;
/// Peak level of a note at velocity 127.
const LEVEL: f32 = 0.25;
/// Below this envelope level a released voice is silent (and adds nothing).
const SILENT: f32 = 1e-5;

/// One monophonic voice.
#[derive(Clone, Copy, Debug, Default)]
pub struct Voice {
    /// Position in the waveform's cycle, 0..1.
    phase: f32,
    /// Cycles per sample of the sounding pitch.
    step: f32,
    /// The pitch sounding (or last sounded).
    pitch: Option<u8>,
    /// Envelope level, and the level it moves towards.
    level: f32,
    target: f32,
    /// Low-pass state.
    low: f32,
    sample_rate: f32,
    /// Per-sample coefficients of the attack, the release and the low-pass.
    attack: f32,
    release: f32,
    low_pass: f32,
}

impl Voice {
    /// A silent voice at `sample_rate`.
    pub fn new(sample_rate: f32) -> Voice {
        let sample_rate = sample_rate.max(1.0);
        let follow = |seconds: f32| 1.0 - (-1.0 / (seconds * sample_rate)).exp();
        Voice {
            sample_rate,
            attack: follow(ATTACK_S),
            release: follow(RELEASE_S),
            low_pass: 1.0 - (-std::f32::consts::TAU * CUTOFF_HZ / sample_rate).exp(),
            ..Voice::default()
        }
    }

    /// Starts `pitch` (MIDI key) at `velocity` (1..=127).
    pub fn note_on(&mut self, pitch: u8, velocity: u8) {
        let hz = 440.0 * 2f32.powf((f32::from(pitch) - 69.0) / 12.0);
        self.step = hz / self.sample_rate;
        self.pitch = Some(pitch);
        self.target = LEVEL * f32::from(velocity.min(127)) / 127.0;
    }

    /// Releases `pitch`, if it is the one sounding.
    pub fn note_off(&mut self, pitch: u8) {
        if self.pitch == Some(pitch) {
            self.target = 0.0;
        }
    }

    /// Releases whatever sounds.
    pub fn release(&mut self) {
        self.target = 0.0;
    }

    /// Whether it still adds anything.
    pub fn is_sounding(&self) -> bool {
        self.target > 0.0 || self.level > SILENT
    }

    /// The next sample.
    pub fn next_sample(&mut self) -> f32 {
        if !self.is_sounding() {
            self.level = 0.0;
            return 0.0;
        }
        let rate = if self.target > self.level { self.attack } else { self.release };
        self.level += (self.target - self.level) * rate;
        let (t, dt) = (self.phase, self.step);
        let saw = 2.0 * t - 1.0 - poly_blep(t, dt);
        self.phase = (t + dt).fract();
        self.low += (saw - self.low) * self.low_pass;
        self.low * self.level
    }
}

/// The PolyBLEP correction of a sawtooth's jump at phase `t` for a phase step `dt`.
fn poly_blep(t: f32, dt: f32) -> f32 {
    if dt <= 0.0 {
        0.0
    } else if t < dt {
        let x = t / dt;
        x + x - x * x - 1.0
    } else if t > 1.0 - dt {
        let x = (t - 1.0) / dt;
        x * x + x + x + 1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_sounds_at_its_pitch_and_fades_after_its_end() {
        let rate = 48_000.0;
        let mut v = Voice::new(rate);
        assert_eq!(v.next_sample(), 0.0);
        v.note_on(69, 127);
        let samples: Vec<f32> = (0..24_000).map(|_| v.next_sample()).collect();
        // Upward zero crossings over the last 0.4 s: 440 Hz.
        let tail = &samples[4_800..];
        let crossings = tail.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count();
        assert!((crossings as f32 / 0.4 - 440.0).abs() < 5.0, "{crossings} crossings");
        v.note_off(60); // another pitch: nothing happens
        assert!(v.next_sample() != 0.0);
        v.note_off(69);
        for _ in 0..48_000 {
            v.next_sample();
        }
        assert!(!v.is_sounding() && v.next_sample() == 0.0);
    }
}
