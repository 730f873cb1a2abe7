//! The plugin's parameters and persisted state. Parameter ids are stable: never rename one.
//!
//! Written by the host and the editor (main or audio thread), read by the audio thread (playback
//! settings) and the worker (everything that shapes a melody). Every parameter that shapes a
//! melody wakes the worker through its callback; playback settings do not.

use std::sync::Arc;

use nice_plug::prelude::*;
use parking_lot::RwLock;

use crate::music::theory::{self, Scale};
use crate::plugin::audio::settings::PlaySettings;
use crate::plugin::cross::wake::Wake;
use crate::plugin::worker::state::{Kept, SavedMelody};

/// The editor's size in logical pixels until the user resizes it.
pub const DEFAULT_EDITOR_SIZE: (u32, u32) = (900, 800);

/// Number of latent knobs.
pub const LATENT_KNOBS: usize = 8;

/// The longest chord progression text a project keeps, in bytes (16 bars of a chord a beat,
/// with room to spare); a longer one from a damaged project is not read.
pub const MAX_CHORDS_TEXT: usize = 1024;

/// Range of a latent knob, in standard deviations along its direction.
pub const KNOB_RANGE: f32 = 3.0;

/// The Form parameter: how the phrases of a melody of 8 bars or more relate
/// ([`crate::sampling::generate::Form`], in the order of [`crate::sampling::generate::Form::ALL`]).
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormChoice {
    /// Phrases that repeat, vary and answer (A A′ B A′ …).
    #[id = "song"]
    #[name = "Song form"]
    Song,
    /// Every phrase new.
    #[id = "through"]
    #[name = "Through-composed"]
    Through,
}

/// Where the Key and Scale of new melodies come from.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFrom {
    /// The Key and Scale parameters.
    #[id = "params"]
    #[name = "Key knob"]
    Params,
    /// The key of the notes played into Neume's MIDI input (major or natural minor; the
    /// Key and Scale parameters until a key is heard).
    #[id = "input"]
    #[name = "MIDI input"]
    Input,
}

/// Where new melodies come from.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Invented from the model's prior (the seed, the knobs, the ratings).
    #[id = "invent"]
    #[name = "Invent"]
    Invent,
    /// Variations of the clip (captured, dropped or loaded): Amount says how far from it.
    #[id = "vary"]
    #[name = "Vary clip"]
    Vary,
    /// Melodies of Bars bars that begin with the clip and carry on from it.
    #[id = "continue"]
    #[name = "Continue clip"]
    Continue,
}

/// How many bars Capture records.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureBars {
    #[id = "1"]
    #[name = "1 bar"]
    One,
    #[id = "2"]
    #[name = "2 bars"]
    Two,
    #[id = "4"]
    #[name = "4 bars"]
    Four,
}

impl CaptureBars {
    /// The number of bars.
    pub fn bars(self) -> u8 {
        match self {
            CaptureBars::One => 1,
            CaptureBars::Two => 2,
            CaptureBars::Four => 4,
        }
    }
}

/// What Capture records: the clip (a melody's top line), or the song's chords.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureWhat {
    /// The notes played become the clip (their top line).
    #[id = "melody"]
    #[name = "Melody"]
    Melody,
    /// The chords played (notes sounding together) are named on the song's bars, once, and
    /// become the progression the melody sits on; it loops with the melody.
    #[id = "chords"]
    #[name = "Chords"]
    Chords,
    /// As Chords, take after take: the progression heard follows what is played, changing
    /// when two takes in a row agree on a new one (so a slip does not move it).
    #[id = "follow"]
    #[name = "Follow chords"]
    Follow,
}

/// The names of the knobs in the host: the attributes the default model (and every model
/// trained with `--attribute-weight`) ties to its first five latent directions, then latent
/// directions. A model without named knobs shows `Latent i` in the editor instead.
pub const KNOB_NAMES: [&str; LATENT_KNOBS] =
    ["Density", "Rhythm", "Range", "Contour", "Leaps", "Latent 6", "Latent 7", "Latent 8"];

/// All parameters, and the state saved with the project beside them.
#[derive(Params)]
pub struct NeumeParams {
    /// Latent knobs: offsets along the model's knob directions (the first five named after
    /// the attributes they move, see [`KNOB_NAMES`]). Ids stay `z1`…`z8`.
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
    pub scale: EnumParam<Scale>,
    /// Whether Key and Scale follow what is played into Neume.
    #[id = "keyfrom"]
    pub key_from: EnumParam<KeyFrom>,
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
    /// A melody that copies a tune the model learned from (a run of notes shared with it) is
    /// sung again from other seeds, up to 8 tries; off, it plays and the editor says so.
    #[id = "nocopies"]
    pub no_copies: BoolParam,
    /// The MIDI channel the melody plays on, 1..=16 (thru keeps each event's own channel).
    #[id = "chan"]
    pub melody_channel: IntParam,
    /// How the phrases of a long melody relate.
    #[id = "form"]
    pub form: EnumParam<FormChoice>,
    /// Play the melody on Neume's own audio output too (a small built-in synth).
    #[id = "preview"]
    pub preview: BoolParam,
    /// How Generate follows the learned taste: 0 Exploit (the best of many candidates) … 1
    /// Explore (one candidate: the prior and the liked points' variations alone).
    #[id = "explore"]
    pub explore: FloatParam,
    /// Where new melodies come from: the model's prior, or the clip.
    #[id = "source"]
    pub source: EnumParam<Source>,
    /// How far a variation moves from the clip: 0 gives the clip back, 1 is a new melody.
    #[id = "amount"]
    pub amount: FloatParam,
    /// While on, notes played into Neume are recorded on the host's bar grid as the clip
    /// (from the bar of the first note, for Capture bars bars, or until switched off).
    #[id = "capture"]
    pub capture: BoolParam,
    /// How many bars Capture records.
    #[id = "capbars"]
    pub capture_bars: EnumParam<CaptureBars>,
    /// What Capture records: the clip, or the chords.
    #[id = "capwhat"]
    pub capture_what: EnumParam<CaptureWhat>,

    /// The current melody; written by the worker, read when the host saves.
    #[persist = "melody"]
    pub melody: RwLock<Option<SavedMelody>>,
    /// Stored latent point A.
    #[persist = "point-a"]
    pub point_a: RwLock<Option<Vec<f32>>>,
    /// Stored latent point B.
    #[persist = "point-b"]
    pub point_b: RwLock<Option<Vec<f32>>>,
    /// The knob values inside stored point A (see `Request::held_a`).
    #[persist = "point-a-knobs"]
    pub held_a: RwLock<Option<[f32; LATENT_KNOBS]>>,
    /// The knob values inside stored point B.
    #[persist = "point-b-knobs"]
    pub held_b: RwLock<Option<[f32; LATENT_KNOBS]>>,
    /// A user model file; `None` plays the embedded default model.
    #[persist = "model"]
    pub model_path: RwLock<Option<String>>,
    /// A base latent point drawn by the editor's Generate (steered by the ratings); `None`:
    /// the seed's point.
    #[persist = "base"]
    pub base_point: RwLock<Option<Vec<f32>>>,
    /// The musician's clip (captured, dropped or loaded), in its own key and register;
    /// written by the worker and the editor. Its `key` and `latent` are unused (0, empty).
    #[persist = "clip"]
    pub clip: RwLock<Option<SavedMelody>>,
    /// The clip the last take replaced, kept so that the editor's Undo take can bring it
    /// back; `None`: nothing replaced.
    #[persist = "replaced-clip"]
    pub replaced_clip: RwLock<Option<SavedMelody>>,
    /// The chords typed in the editor (`Am F C G`, as `neume generate --chords` reads them),
    /// saved with the project; `None`: no chords. At most [`MAX_CHORDS_TEXT`] bytes.
    #[persist = "chords"]
    pub chords: RwLock<Option<String>>,
    /// The bars the melody keeps note for note (Regenerate, locks, an edit); see [`Kept`].
    #[persist = "kept"]
    pub kept: RwLock<Option<Kept>>,
    /// The editor's locked bars (bit `b`: bar `b + 1`): Generate, Mutate and Vary keep them.
    #[persist = "locked-bars"]
    pub locked_bars: RwLock<u16>,
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
        let w = wake.clone();
        let on_scale: Arc<dyn Fn(Scale) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let w = wake.clone();
        let on_key_from: Arc<dyn Fn(KeyFrom) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let w = wake.clone();
        let on_form: Arc<dyn Fn(FormChoice) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let w = wake;
        let on_source: Arc<dyn Fn(Source) + Send + Sync> = Arc::new(move |_| {
            w.wake();
        });
        let knob = |i: usize| {
            FloatParam::new(
                KNOB_NAMES[i - 1],
                0.0,
                FloatRange::Linear { min: -KNOB_RANGE, max: KNOB_RANGE },
            )
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
            seed: IntParam::new("Seed", 1, IntRange::Linear { min: 0, max: 99_999 })
                .with_callback(on_i32.clone()),
            bars: IntParam::new("Bars", 4, IntRange::Linear { min: 1, max: 16 })
                .with_callback(on_i32.clone()),
            key_root: IntParam::new("Key", 0, IntRange::Linear { min: 0, max: 11 })
                .with_value_to_string(Arc::new(|v| {
                    theory::key_name(v.clamp(0, 11) as u8).to_string()
                }))
                .with_string_to_value(Arc::new(|s| theory::parse_key(s).map(i32::from)))
                .with_callback(on_i32),
            scale: EnumParam::new("Scale", Scale::Chromatic).with_callback(on_scale),
            key_from: EnumParam::new("Key from", KeyFrom::Params).with_callback(on_key_from),
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
                .with_callback(on_f32.clone()),
            swap_at_bar: BoolParam::new("Swap at bar", true),
            thru: BoolParam::new("MIDI thru", true),
            no_copies: BoolParam::new("Avoid copies", false),
            melody_channel: IntParam::new(
                "Melody channel",
                1,
                IntRange::Linear { min: 1, max: 16 },
            ),
            form: EnumParam::new("Form", FormChoice::Song).with_callback(on_form),
            preview: BoolParam::new("Preview", false),
            explore: FloatParam::new(
                "Explore",
                crate::taste::preference::DEFAULT_EXPLORE,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_value_to_string(formatters::v2s_f32_rounded(2)),
            source: EnumParam::new("Source", Source::Invent).with_callback(on_source),
            amount: FloatParam::new("Amount", 0.5, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_step_size(0.01)
                .with_value_to_string(formatters::v2s_f32_rounded(2))
                .with_callback(on_f32),
            capture: BoolParam::new("Capture", false),
            capture_bars: EnumParam::new("Capture bars", CaptureBars::Two),
            capture_what: EnumParam::new("Capture what", CaptureWhat::Melody),
            melody: RwLock::new(None),
            point_a: RwLock::new(None),
            point_b: RwLock::new(None),
            held_a: RwLock::new(None),
            held_b: RwLock::new(None),
            model_path: RwLock::new(None),
            base_point: RwLock::new(None),
            clip: RwLock::new(None),
            chords: RwLock::new(None),
            kept: RwLock::new(None),
            locked_bars: RwLock::new(0),
            replaced_clip: RwLock::new(None),
            editor_size: RwLock::new(DEFAULT_EDITOR_SIZE),
        }
    }

    /// The latent knob values.
    pub fn knobs(&self) -> [f32; LATENT_KNOBS] {
        [&self.z1, &self.z2, &self.z3, &self.z4, &self.z5, &self.z6, &self.z7, &self.z8]
            .map(|p| p.value())
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
