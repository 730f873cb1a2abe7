//! The plugin's parameters and persisted state. Parameter ids are stable: never rename one.
//!
//! Written by the host and the editor (main or audio thread), read by the audio thread (playback
//! settings) and the worker (everything that shapes a melody). Every parameter that shapes a
//! melody wakes the worker through its callback; playback settings do not.

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};

use super::audio_thread::PlaySettings;
use super::handoff::MAX_NOTES;
use super::wake::Wake;
use crate::encoding::{Melody, Note};
use crate::generate::Scale;

/// The editor's size in logical pixels until the user resizes it.
pub const DEFAULT_EDITOR_SIZE: (u32, u32) = (900, 680);

/// Number of latent knobs.
pub const LATENT_KNOBS: usize = 8;

/// Range of a latent knob, in standard deviations along its direction.
pub const KNOB_RANGE: f32 = 3.0;

/// Key names for the key-root parameter.
const KEY_NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/// The scale parameter: the key lock applied while sampling.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScaleChoice {
    #[id = "major"]
    Major,
    #[id = "minor"]
    Minor,
    #[id = "dorian"]
    Dorian,
    #[id = "mixolydian"]
    Mixolydian,
    #[id = "harmonic-minor"]
    #[name = "Harmonic minor"]
    HarmonicMinor,
    #[id = "major-pentatonic"]
    #[name = "Major pentatonic"]
    MajorPentatonic,
    #[id = "minor-pentatonic"]
    #[name = "Minor pentatonic"]
    MinorPentatonic,
    #[id = "phrygian"]
    Phrygian,
    #[id = "lydian"]
    Lydian,
    #[id = "chromatic"]
    #[name = "Chromatic (off)"]
    Chromatic,
}

impl ScaleChoice {
    /// The sampling scale.
    pub fn scale(self) -> Scale {
        match self {
            ScaleChoice::Major => Scale::Major,
            ScaleChoice::Minor => Scale::Minor,
            ScaleChoice::Dorian => Scale::Dorian,
            ScaleChoice::Mixolydian => Scale::Mixolydian,
            ScaleChoice::HarmonicMinor => Scale::HarmonicMinor,
            ScaleChoice::MajorPentatonic => Scale::MajorPentatonic,
            ScaleChoice::MinorPentatonic => Scale::MinorPentatonic,
            ScaleChoice::Phrygian => Scale::Phrygian,
            ScaleChoice::Lydian => Scale::Lydian,
            ScaleChoice::Chromatic => Scale::Chromatic,
        }
    }
}

/// Layout version of [`SavedMelody`] this build writes. 1: saved before the field existed.
pub const STATE_VERSION: u32 = 2;

/// A melody as stored in the project, with the key of the request that made it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct SavedMelody {
    /// [`STATE_VERSION`] of the Neume that saved it (1 if absent).
    #[serde(default = "state_version_1")]
    pub version: u32,
    /// The worker's request key (see `worker_thread::Request::key`): when the parameters
    /// still give this key, the melody is played as stored, not generated again.
    pub key: u64,
    /// Loop length in 16th steps.
    pub len_steps: u32,
    /// `[pitch, start_step, len_steps]` per note.
    pub notes: Vec<[u32; 3]>,
    /// The latent point it was generated from.
    pub latent: Vec<f32>,
}

fn state_version_1() -> u32 {
    1
}

impl SavedMelody {
    /// Stores `melody`, made by the request with `key` from the latent point `latent`.
    pub fn new(key: u64, melody: &Melody, latent: Vec<f32>) -> SavedMelody {
        let notes = melody.notes.iter().map(|n| [u32::from(n.pitch), n.start_step, n.len_steps]).collect();
        SavedMelody { version: STATE_VERSION, key, len_steps: melody.len_steps, notes, latent }
    }

    /// Why a restored melody cannot be played as stored, if it cannot: Neume plays at most
    /// 16 bars, notes on MIDI pitches inside the loop. (State from a newer Neume that passes
    /// plays as stored.)
    pub fn check(&self) -> Result<(), String> {
        let newer = if self.version > STATE_VERSION { format!(" (saved by a newer Neume, state version {})", self.version) } else { String::new() };
        if self.len_steps == 0 || self.len_steps as usize > MAX_NOTES {
            return Err(format!("the project's melody is {} 16ths long, outside 1..={MAX_NOTES}{newer}", self.len_steps));
        }
        if self.notes.len() > self.len_steps as usize {
            return Err(format!("the project's melody has {} notes in {} 16ths{newer}", self.notes.len(), self.len_steps));
        }
        if let Some([pitch, start, len]) = self.notes.iter().find(|&&[pitch, start, len]| pitch > 127 || len == 0 || start >= self.len_steps || len > self.len_steps) {
            return Err(format!("the project's melody has a note it cannot play (pitch {pitch}, step {start}, length {len}){newer}"));
        }
        Ok(())
    }

    /// The stored melody, bounded as [`SavedMelody::check`] requires (longer loops cut to 16
    /// bars, notes outside dropped), so that nothing stored can make it unbounded.
    pub fn melody(&self) -> Melody {
        let len_steps = self.len_steps.min(MAX_NOTES as u32);
        let notes = self
            .notes
            .iter()
            .take(MAX_NOTES)
            .filter(|&&[pitch, start, _]| pitch <= 127 && start < len_steps)
            .map(|&[pitch, start_step, len_steps]| Note { pitch: pitch as u8, start_step, len_steps: len_steps.clamp(1, MAX_NOTES as u32) })
            .collect();
        Melody { notes, len_steps }
    }
}

/// All parameters, and the state saved with the project beside them.
#[derive(Params)]
pub struct NeumeParams {
    /// Latent knobs: offsets along the model's main directions of variation.
    #[id = "z1"]
    pub z1: FloatParam,
    #[id = "z2"]
    pub z2: FloatParam,
    #[id = "z3"]
    pub z3: FloatParam,
    #[id = "z4"]
    pub z4: FloatParam,
    #[id = "z5"]
    pub z5: FloatParam,
    #[id = "z6"]
    pub z6: FloatParam,
    #[id = "z7"]
    pub z7: FloatParam,
    #[id = "z8"]
    pub z8: FloatParam,
    /// Sampling temperature as a share of the model's tuned temperature (1 = as tuned).
    #[id = "var"]
    pub variation: FloatParam,
    /// Seed of the base latent point and of sampling.
    #[id = "seed"]
    pub seed: IntParam,
    /// Melody length.
    #[id = "bars"]
    pub bars: IntParam,
    /// Tonic, 0 = C.
    #[id = "key"]
    pub key_root: IntParam,
    /// Key lock.
    #[id = "scale"]
    pub scale: EnumParam<ScaleChoice>,
    /// Octave shift at playback.
    #[id = "oct"]
    pub octave: IntParam,
    /// Note-on velocity.
    #[id = "vel"]
    pub velocity: IntParam,
    /// Sounding share of each note.
    #[id = "gate"]
    pub gate: FloatParam,
    /// Delay of odd 16ths.
    #[id = "swing"]
    pub swing: FloatParam,
    /// A↔B morph (active once both points are stored).
    #[id = "morph"]
    pub morph: FloatParam,
    /// Swap new melodies in at the next bar line (off: at once).
    #[id = "swapbar"]
    pub swap_at_bar: BoolParam,
    /// Pass incoming notes through to the instrument after Neume, sample-accurately.
    #[id = "thru"]
    pub thru: BoolParam,
    /// The MIDI channel the melody plays on, 1..=16 (thru keeps each event's own channel).
    #[id = "chan"]
    pub melody_channel: IntParam,

    /// The current melody; written by the worker, read when the host saves.
    #[persist = "melody"]
    pub melody: RwLock<Option<SavedMelody>>,
    /// Stored latent point A.
    #[persist = "point-a"]
    pub point_a: RwLock<Option<Vec<f32>>>,
    /// Stored latent point B.
    #[persist = "point-b"]
    pub point_b: RwLock<Option<Vec<f32>>>,
    /// A user model file; `None` plays the embedded default model.
    #[persist = "model"]
    pub model_path: RwLock<Option<String>>,
    /// A base latent point drawn by the editor's Generate (steered by the ratings); `None`:
    /// the seed's point.
    #[persist = "base"]
    pub base_point: RwLock<Option<Vec<f32>>>,
    /// The editor's size in logical pixels, saved with the project.
    #[persist = "editor-size"]
    pub editor_size: RwLock<(u32, u32)>,
}

impl NeumeParams {
    /// Builds the parameters; changes of those that shape a melody wake the worker.
    pub fn new(wake: Arc<Wake>) -> NeumeParams {
        let w = wake.clone();
        let on_f32: Arc<dyn Fn(f32) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let w = wake.clone();
        let on_i32: Arc<dyn Fn(i32) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let w = wake;
        let on_scale: Arc<dyn Fn(ScaleChoice) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let knob = |i: usize| {
            FloatParam::new(format!("Latent {i}"), 0.0, FloatRange::Linear { min: -KNOB_RANGE, max: KNOB_RANGE })
                .with_step_size(0.01)
                .with_value_to_string(formatters::v2s_f32_rounded(2))
                .with_callback(on_f32.clone())
        };
        NeumeParams {
            z1: knob(1),
            z2: knob(2),
            z3: knob(3),
            z4: knob(4),
            z5: knob(5),
            z6: knob(6),
            z7: knob(7),
            z8: knob(8),
            variation: FloatParam::new("Variation", 1.0, FloatRange::Linear { min: 0.0, max: 2.5 })
                .with_step_size(0.01)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage())
                .with_callback(on_f32.clone()),
            seed: IntParam::new("Seed", 1, IntRange::Linear { min: 0, max: 99_999 }).with_callback(on_i32.clone()),
            bars: IntParam::new("Bars", 4, IntRange::Linear { min: 1, max: 16 }).with_callback(on_i32.clone()),
            key_root: IntParam::new("Key", 0, IntRange::Linear { min: 0, max: 11 })
                .with_value_to_string(Arc::new(|v| KEY_NAMES[v.clamp(0, 11) as usize].to_string()))
                .with_string_to_value(Arc::new(|s| crate::generate::parse_key(s).map(i32::from)))
                .with_callback(on_i32),
            scale: EnumParam::new("Scale", ScaleChoice::Chromatic).with_callback(on_scale),
            octave: IntParam::new("Octave", 0, IntRange::Linear { min: -2, max: 2 }),
            velocity: IntParam::new("Velocity", 100, IntRange::Linear { min: 1, max: 127 }),
            gate: FloatParam::new("Gate", 0.9, FloatRange::Linear { min: 0.05, max: 1.0 })
                .with_step_size(0.01)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            swing: FloatParam::new("Swing", 0.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_step_size(0.01)
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            morph: FloatParam::new("A-B morph", 0.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_step_size(0.01)
                .with_value_to_string(formatters::v2s_f32_rounded(2))
                .with_callback(on_f32),
            swap_at_bar: BoolParam::new("Swap at bar", true),
            thru: BoolParam::new("MIDI thru", true),
            melody_channel: IntParam::new("Melody channel", 1, IntRange::Linear { min: 1, max: 16 }),
            melody: RwLock::new(None),
            point_a: RwLock::new(None),
            point_b: RwLock::new(None),
            model_path: RwLock::new(None),
            base_point: RwLock::new(None),
            editor_size: RwLock::new(DEFAULT_EDITOR_SIZE),
        }
    }

    /// The latent knob values.
    pub fn knobs(&self) -> [f32; LATENT_KNOBS] {
        [&self.z1, &self.z2, &self.z3, &self.z4, &self.z5, &self.z6, &self.z7, &self.z8].map(|p| p.value())
    }

    /// The latent knob parameters, in order (for the editor).
    pub fn knob_params(&self) -> [&FloatParam; LATENT_KNOBS] {
        [&self.z1, &self.z2, &self.z3, &self.z4, &self.z5, &self.z6, &self.z7, &self.z8]
    }

    /// Playback settings for one block; reads atomics only (audio thread).
    pub fn play_settings(&self) -> PlaySettings {
        PlaySettings {
            octave: self.octave.value().clamp(-2, 2) as i8,
            velocity: self.velocity.value().clamp(1, 127) as u8,
            gate: self.gate.value(),
            swing: self.swing.value(),
            swap_at_bar: self.swap_at_bar.value(),
            channel: (self.melody_channel.value().clamp(1, 16) - 1) as u8,
        }
    }
}
