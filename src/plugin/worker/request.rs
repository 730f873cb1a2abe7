//! Everything that decides a melody, read from the parameters at one moment ([`Request::read`]),
//! written back to them ([`Request::apply`], its inverse, for the editor's actions), and its
//! stable key: equal requests make equal melodies.

use nice_plug::prelude::{Enum, Param, ParamSetter};

use crate::encoding::{Melody, Meter};
use crate::model::runtime::{self, Generator};
use crate::music::chords::Progression;
use crate::music::clip::{continue_clip, infill_bars, vary, Clip, ClipOptions, INFILL_CANDIDATES};
use crate::music::key_finding::Key;
use crate::music::theory::Scale;
use crate::plugin::worker::params::{
    FormChoice, NeumeParams, Source, KNOB_RANGE, LATENT_KNOBS, MAX_CHORDS_TEXT,
};
use crate::plugin::worker::state::{Kept, SavedMelody};
use crate::rng::Rng;
use crate::sampling::generate::{draw_latent, generate, Form, GenerateOptions};

/// Everything that decides a melody, read from the parameters at one moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// Latent knob values, in standard deviations.
    pub knobs: [f32; LATENT_KNOBS],
    /// Share of the model's tuned temperature.
    pub variation: f32,
    /// Seed of the base point and of sampling.
    pub seed: u64,
    /// Melody length, 1..=16.
    pub bars: usize,
    /// Tonic, 0 = C.
    pub key_root: u8,
    /// Index of the scale parameter's variant.
    pub scale_index: usize,
    /// A↔B position, 0..=1 (counts only when both points exist).
    pub morph: f32,
    /// Stored point A.
    pub point_a: Option<Vec<f32>>,
    /// Stored point B.
    pub point_b: Option<Vec<f32>>,
    /// The knob values inside each stored point (the knobs it was stored with): Range and
    /// Leaps also steer the sampler, so a point sings as it was stored only with them.
    pub held_a: Option<[f32; LATENT_KNOBS]>,
    pub held_b: Option<[f32; LATENT_KNOBS]>,
    /// A base point drawn by the editor (steered by ratings); replaces the seed's point.
    pub base_point: Option<Vec<f32>>,
    /// A user model file; `None` = the embedded default model.
    pub model_path: Option<String>,
    /// The host's meter, as the audio thread last saw it; `None`: the host gives none (4/4).
    pub meter: Option<Meter>,
    /// Index of the form parameter's variant ([`Form::ALL`]).
    pub form_index: usize,
    /// Index of the Source parameter's variant ([`Source`]).
    pub source_index: usize,
    /// How far a variation moves from the clip, 0..=1.
    pub amount: f32,
    /// The musician's clip, in its own key and register (counts only when Source takes it).
    pub clip: Option<SavedMelody>,
    /// The chords typed in the editor, as text (`Am F C G`); `None`: no chords.
    pub chords: Option<String>,
    /// Bars kept note for note, the others sung anew around them (Regenerate, locks, an
    /// edit); `None`: the whole melody is sung.
    pub kept: Option<Kept>,
}

/// The largest knob value a stored point's held knobs count with.
const HELD_BOUND: f32 = 4.0 * KNOB_RANGE;

/// A melody made from a request: its notes, its meter and the latent point it was sung from.
#[derive(Clone, Debug)]
pub struct Sung {
    pub melody: Melody,
    pub meter: Meter,
    pub latent: Vec<f32>,
}

impl Request {
    /// Reads the parameters and the stored points.
    pub fn read(params: &NeumeParams) -> Request {
        Request {
            knobs: params.knobs(),
            variation: params.variation.value(),
            seed: params.seed.value().max(0) as u64,
            bars: params.bars.value().clamp(1, 16) as usize,
            key_root: params.key_root.value().clamp(0, 11) as u8,
            scale_index: params.scale.value().to_index(),
            morph: params.morph.value(),
            point_a: params.point_a.read().clone(),
            point_b: params.point_b.read().clone(),
            held_a: *params.held_a.read(),
            held_b: *params.held_b.read(),
            base_point: params.base_point.read().clone(),
            model_path: params.model_path.read().clone(),
            meter: None,
            form_index: params.form.value().to_index(),
            source_index: params.source.value().to_index(),
            amount: params.amount.value(),
            clip: params.clip.read().clone(),
            chords: params.chords.read().clone().filter(|c| c.len() <= MAX_CHORDS_TEXT),
            kept: params.kept.read().clone(),
        }
    }

    /// The request in the key heard at the input (major or natural minor), if one was.
    pub fn in_heard_key(self, heard: Option<Key>) -> Request {
        match heard {
            Some(key) => {
                Request { key_root: key.tonic, scale_index: key.scale().to_index(), ..self }
            }
            None => self,
        }
    }

    /// The request in the host's meter.
    pub fn in_meter(self, meter: Option<Meter>) -> Request {
        Request { meter, ..self }
    }

    /// The request with its values as the parameters will hold them (step sizes, float
    /// rounding), so its key is the one the parameters give once the host has applied it.
    pub fn as_held_by(mut self, params: &NeumeParams) -> Request {
        let held = |param: &nice_plug::prelude::FloatParam, v: f32| {
            param.preview_plain(param.preview_normalized(v))
        };
        for (k, param) in self.knobs.iter_mut().zip(params.knob_params()) {
            *k = held(param, *k);
        }
        self.variation = held(&params.variation, self.variation);
        self.morph = held(&params.morph, self.morph);
        self.amount = held(&params.amount, self.amount);
        self
    }

    /// Writes the request into the parameters (GUI thread): the stored points (and the clip,
    /// when the melody comes from it) at once, the automatable values through the host as one
    /// gesture each. [`Request::read`] then gives this request back (an invented melody's
    /// request, apart from the clip).
    pub fn apply(&self, params: &NeumeParams, setter: &ParamSetter) {
        *params.base_point.write() = self.base_point.clone();
        *params.point_a.write() = self.point_a.clone();
        *params.point_b.write() = self.point_b.clone();
        *params.held_a.write() = self.held_a;
        *params.held_b.write() = self.held_b;
        *params.chords.write() = self.chords.clone();
        *params.kept.write() = self.kept.clone();
        // A melody from the clip brings its clip back; one invented leaves the clip as it is.
        if self.clip_source().is_some() {
            *params.clip.write() = self.clip.clone();
        }
        for (param, value) in params.knob_params().into_iter().zip(self.knobs) {
            set_as_gesture(setter, param, value);
        }
        set_as_gesture(setter, &params.variation, self.variation);
        set_as_gesture(setter, &params.bars, self.bars as i32);
        set_as_gesture(setter, &params.key_root, i32::from(self.key_root));
        set_as_gesture(setter, &params.scale, Scale::from_index(self.scale_index));
        set_as_gesture(setter, &params.morph, self.morph);
        set_as_gesture(setter, &params.seed, self.seed as i32);
        set_as_gesture(setter, &params.form, FormChoice::from_index(self.form_index));
        set_as_gesture(setter, &params.source, Source::from_index(self.source_index));
        set_as_gesture(setter, &params.amount, self.amount);
    }

    /// The request Generate makes from this one: a new `seed` and `base` point, the knobs at
    /// 0, Source Invent, and no stored A/B points: with both stored, their blend would take
    /// the new point's place and Generate would change only the seed. Undo brings the points
    /// back with the melody before.
    pub fn generated(&self, base: Option<Vec<f32>>, seed: u64) -> Request {
        Request {
            base_point: base,
            knobs: [0.0; LATENT_KNOBS],
            seed,
            source_index: Source::Invent.to_index(),
            // A new melody keeps no bars but the locked ones, which the editor sets.
            kept: None,
            ..self.without_points()
        }
    }

    /// The request with its stored A/B points forgotten (the editor's Clear A/B), the morph
    /// at 0.
    pub fn without_points(&self) -> Request {
        Request {
            point_a: None,
            point_b: None,
            held_a: None,
            held_b: None,
            morph: 0.0,
            ..self.clone()
        }
    }

    /// The clip and what to make of it, when the melody comes from the clip (Source is Vary
    /// or Continue and there is a clip).
    pub fn clip_source(&self) -> Option<(&SavedMelody, Source)> {
        let source = Source::from_index(self.source_index.min(Source::variants().len() - 1));
        self.clip.as_ref().filter(|_| source != Source::Invent).map(|clip| (clip, source))
    }

    /// Makes the request's melody with `generator` (the worker's, or the editor's for
    /// candidates): invented from the prior, or a variation or continuation of the clip, in
    /// the clip's key, register and meter.
    pub fn sing(&self, generator: &mut Generator) -> Result<Sung, String> {
        let options = self.options(generator.info());
        // Kept notes from a damaged project (unplayable) count as none: the melody is made
        // whole, as with no bars kept.
        if let Some(kept) = self.kept.as_ref().filter(|k| k.melody.check().is_ok()) {
            return self.sing_around(kept, &options, generator);
        }
        let Some((saved, source)) = self.clip_source() else {
            let melody = generate(generator, &options).map_err(|e| e.to_string())?;
            return Ok(Sung {
                melody,
                meter: options.meter,
                latent: self.latent(generator.info()),
            });
        };
        // A clip from the project's state is checked as its melody is (bounded, playable).
        saved
            .check_as("clip")
            .map_err(|e| format!("{e}; Source plays the clip only when it can"))?;
        let clip =
            Clip::new(&saved.melody(), saved.meter()).map_err(|e| format!("the clip: {e}"))?;
        generator.info().check_meter(clip.meter).map_err(|e| format!("the clip: {e}"))?;
        let clip_options = ClipOptions {
            seed: self.seed,
            temperature: options.temperature,
            shift: options.shift.clone(),
            chords: options.chords.clone(),
        };
        let (melody, latent) = match source {
            // Continue carries the clip on: with Bars no longer than the clip, for as long
            // again (as the editor's button does), never just the clip looped.
            Source::Continue => {
                let bars = if self.bars > clip.bars { self.bars } else { (2 * clip.bars).min(16) };
                continue_clip(generator, &clip, bars, &clip_options)
            }
            Source::Vary | Source::Invent => vary(generator, &clip, self.amount, &clip_options),
        }
        .map_err(|e| e.to_string())?;
        Ok(Sung { melody, meter: clip.meter, latent })
    }

    /// The melody of `kept` with the bars it does not keep sung anew in context (see
    /// [`infill_bars`]), with this request's seed, variation, knobs and chords; every bar
    /// kept: the melody as it is.
    fn sing_around(
        &self,
        kept: &Kept,
        options: &GenerateOptions,
        generator: &mut Generator,
    ) -> Result<Sung, String> {
        let (melody, meter) = (kept.melody.melody(), kept.melody.meter());
        if kept.keeps_all() {
            return Ok(Sung { melody, meter, latent: kept.melody.latent.clone() });
        }
        generator.info().check_meter(meter).map_err(|e| format!("the kept bars: {e}"))?;
        let sung: Vec<bool> = (0..16).map(|b| !kept.keeps(b)).collect();
        let clip_options = ClipOptions {
            seed: self.seed,
            temperature: options.temperature,
            shift: options.shift.clone(),
            chords: options.chords.clone(),
        };
        let melody =
            infill_bars(generator, &melody, meter, &sung, &clip_options, INFILL_CANDIDATES)
                .map_err(|e| e.to_string())?;
        Ok(Sung { melody, meter, latent: kept.melody.latent.clone() })
    }

    /// The knob values inside the latent point this request sings from: the A↔B blend of
    /// the stored points' when both exist, else none (a base point is drawn without knobs).
    pub fn held_knobs(&self) -> [f32; LATENT_KNOBS] {
        if self.morph_points().is_none() {
            return [0.0; LATENT_KNOBS];
        }
        // A value from a damaged project counts as no move, or as one bounded far outside
        // the knobs' range (storing again while the knobs move adds up).
        let bound = |held: Option<[f32; LATENT_KNOBS]>| {
            held.unwrap_or_default().map(|v| {
                if v.is_finite() {
                    v.clamp(-HELD_BOUND, HELD_BOUND)
                } else {
                    0.0
                }
            })
        };
        let (a, b) = (bound(self.held_a), bound(self.held_b));
        std::array::from_fn(|i| a[i] + (b[i] - a[i]) * self.morph)
    }

    /// The knob values a melody of this request is sung with in all: the knobs and those
    /// inside its point (what a point stored from it holds).
    pub fn sung_knobs(&self) -> [f32; LATENT_KNOBS] {
        let held = self.held_knobs();
        std::array::from_fn(|i| self.knobs[i] + held[i])
    }

    /// The A↔B points when both are stored.
    fn morph_points(&self) -> Option<(&[f32], &[f32])> {
        match (&self.point_a, &self.point_b) {
            (Some(a), Some(b)) if a.len() == b.len() => Some((a, b)),
            _ => None,
        }
    }

    /// The identity apart from the host's meter: the same choice made again in another meter (or
    /// with none) has it.
    pub fn choice_identity(&self) -> u64 {
        self.clone().in_meter(None).identity()
    }

    /// A stable 64-bit identity (FNV-1a; saved as the melody's request key): equal requests make
    /// equal melodies. Not a musical key.
    pub fn identity(&self) -> u64 {
        let mut h = Fnv::default();
        h.bytes(b"neume-request-1");
        h.bytes(self.model_path.as_deref().unwrap_or("").as_bytes());
        self.knobs.iter().for_each(|k| h.u64(u64::from(k.to_bits())));
        h.u64(u64::from(self.variation.to_bits()));
        h.u64(self.seed);
        h.u64(self.bars as u64);
        // A melody from the clip is in the clip's key and meter, from the clip's point.
        let from_clip = self.clip_source().is_some();
        if !from_clip {
            h.u64(u64::from(self.key_root));
            h.u64(self.scale_index as u64);
            h.u64(self.meter.map_or(0, |m| m.index() as u64 + 1));
            h.u64(self.form_index as u64);
        }
        if let Some((a, b)) = self.morph_points().filter(|_| !from_clip) {
            h.u64(u64::from(self.morph.to_bits()));
            a.iter().chain(b).for_each(|v| h.u64(u64::from(v.to_bits())));
            self.held_knobs().iter().for_each(|v| h.u64(u64::from(v.to_bits())));
        }
        if let Some(chords) = &self.chords {
            h.bytes(b"chords");
            h.bytes(chords.as_bytes());
        }
        if let Some(base) = self.base_point.as_ref().filter(|_| !from_clip) {
            h.bytes(b"base");
            base.iter().for_each(|v| h.u64(u64::from(v.to_bits())));
        }
        if let Some(kept) = &self.kept {
            h.bytes(b"kept");
            h.u64(u64::from(kept.bars));
            h.bytes(kept.melody.meter().to_string().as_bytes());
            h.u64(u64::from(kept.melody.len_steps));
            kept.melody.notes.iter().flatten().for_each(|&v| h.u64(u64::from(v)));
        }
        if let Some((clip, source)) = self.clip_source() {
            h.bytes(b"clip");
            h.u64(source.to_index() as u64);
            if source == Source::Vary {
                h.u64(u64::from(self.amount.to_bits()));
            }
            h.bytes(clip.meter().to_string().as_bytes());
            h.u64(u64::from(clip.len_steps));
            clip.notes.iter().flatten().for_each(|&v| h.u64(u64::from(v)));
        }
        h.0
    }

    /// The base latent point: the A↔B blend when both are stored, else the editor's base
    /// point. `None`: the seed's point (drawn inside `generate`, so the plugin and
    /// `neume generate --seed` agree).
    pub fn base(&self, info: &runtime::ModelInfo) -> Option<Vec<f32>> {
        let n = info.latent_size;
        self.morph_points()
            .filter(|(a, _)| a.len() == n)
            .map(|(a, b)| {
                a.iter().zip(b).map(|(a, b)| a + (b - a) * self.morph).collect::<Vec<f32>>()
            })
            .or_else(|| self.base_point.clone().filter(|p| p.len() == n))
    }

    /// The melody's latent point: the base point moved by the knobs along the model's
    /// directions (what a rating or a stored point keeps).
    pub fn latent(&self, info: &runtime::ModelInfo) -> Vec<f32> {
        let base = self.base(info).unwrap_or_else(|| self.seed_point(info.latent_size));
        base.iter().zip(info.knob_shift(&self.knobs)).map(|(b, s)| b + s).collect()
    }

    /// The seed's latent point: what `generate` draws first from the seed's generator.
    pub fn seed_point(&self, latent_size: usize) -> Vec<f32> {
        draw_latent(&mut Rng::new(self.seed), latent_size)
    }

    /// Generation options for a model with `info`.
    pub fn options(&self, info: &runtime::ModelInfo) -> GenerateOptions {
        use nice_plug::prelude::Enum;
        GenerateOptions {
            bars: self.bars,
            seed: self.seed,
            temperature: Some(info.temperature * self.variation.max(0.0)),
            key_root: self.key_root,
            scale: Some(Scale::from_index(self.scale_index)),
            latent: self.base(info),
            shift: Some(info.knob_shift(&self.knobs)),
            held: Some(info.knob_shift(&self.held_knobs())),
            meter: self.meter.filter(|m| info.meters.contains(m)).unwrap_or(Meter::FourFour),
            form: Form::ALL[self.form_index.min(Form::ALL.len() - 1)],
            given: Vec::new(),
            detail: None,
            chords: self.progression(),
        }
    }

    /// The chords as a progression in the melody's meter, when they read as one (the editor
    /// says why not when they do not).
    pub fn progression(&self) -> Option<Progression> {
        let meter = self.meter.unwrap_or(Meter::FourFour);
        self.chords.as_deref().and_then(|text| Progression::parse(text, meter).ok())
    }
}

/// FNV-1a, 64 bit: stable across builds and platforms (unlike `DefaultHasher`).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn byte(&mut self, b: u8) {
        self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }

    /// A byte string, ended by 0xff so that neighbouring strings cannot run together.
    fn bytes(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.byte(b));
        self.byte(0xff);
    }

    fn u64(&mut self, v: u64) {
        v.to_le_bytes().into_iter().for_each(|b| self.byte(b));
    }
}

/// Sets a parameter from the editor as one gesture (so the host records automation).
pub fn set_as_gesture<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_keys_change_with_what_shapes_the_melody() {
        let base = Request {
            knobs: [0.0; LATENT_KNOBS],
            variation: 1.0,
            seed: 1,
            bars: 4,
            key_root: 0,
            scale_index: 0,
            morph: 0.0,
            point_a: None,
            point_b: None,
            held_a: None,
            held_b: None,
            base_point: None,
            model_path: None,
            meter: None,
            form_index: 0,
            source_index: 0,
            amount: 0.5,
            clip: None,
            chords: None,
            kept: None,
        };
        let k = base.identity();
        assert_eq!(k, base.clone().identity());
        // With A and B stored, Generate's requests sing from their own base points, not the
        // blend (before: the blend won, and only the seed changed).
        let ab_stored = Request {
            point_a: Some(vec![0.0; 4]),
            point_b: Some(vec![1.0; 4]),
            morph: 0.5,
            ..base.clone()
        };
        let (one, two) = (
            ab_stored.generated(Some(vec![0.3; 4]), 7),
            ab_stored.generated(Some(vec![-0.3; 4]), 8),
        );
        assert!(one.morph_points().is_none() && two.morph_points().is_none());
        assert_eq!(one.base_point, Some(vec![0.3; 4]));
        assert_ne!(one.identity(), two.identity());
        assert_eq!(ab_stored.without_points().morph_points(), None);
        // Typed chords make another melody.
        assert_ne!(k, Request { chords: Some("Am F C G".into()), ..base.clone() }.identity());
        // Kept bars make another melody: which bars, and which notes.
        let two_bars = Melody {
            notes: vec![crate::encoding::Note { pitch: 60, start_step: 0, len_steps: 4 }],
            len_steps: 32,
        };
        let kept = |bars: u16, pitch: u8| Kept {
            melody: SavedMelody::new(
                0,
                &Melody {
                    notes: vec![crate::encoding::Note { pitch, ..two_bars.notes[0] }],
                    ..two_bars.clone()
                },
                Meter::FourFour,
                vec![],
            ),
            bars,
        };
        let keeping = Request { kept: Some(kept(1, 60)), ..base.clone() };
        assert_ne!(k, keeping.identity());
        assert_ne!(
            keeping.identity(),
            Request { kept: Some(kept(2, 60)), ..base.clone() }.identity()
        );
        assert_ne!(
            keeping.identity(),
            Request { kept: Some(kept(1, 62)), ..base.clone() }.identity()
        );
        assert_ne!(k, Request { seed: 2, ..base.clone() }.identity());
        assert_ne!(
            k,
            Request { knobs: [0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], ..base.clone() }.identity()
        );
        assert_ne!(k, Request { model_path: Some("x.onnx".into()), ..base.clone() }.identity());
        // Morph only counts once both points exist.
        assert_eq!(k, Request { morph: 0.5, ..base.clone() }.identity());
        let ab =
            Request { point_a: Some(vec![0.0; 4]), point_b: Some(vec![1.0; 4]), ..base.clone() };
        assert_ne!(ab.identity(), Request { morph: 0.5, ..ab.clone() }.identity());
        let held =
            Request { held_b: Some([0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 0.0, 0.0]), ..ab.clone() };
        assert_ne!(ab.identity(), Request { morph: 1.0, ..held.clone() }.identity());
        assert_eq!(Request { morph: 1.0, ..held.clone() }.held_knobs()[2], -2.0);
        assert_eq!(Request { morph: 0.5, ..held.clone() }.held_knobs()[2], -1.0);
        assert_eq!(Request { point_a: None, ..held.clone() }.held_knobs(), [0.0; LATENT_KNOBS]);
        let damaged = Request {
            held_a: Some([f32::NAN, f32::INFINITY, 1e30, 0.0, 0.0, 0.0, 0.0, 0.0]),
            ..held
        };
        assert_eq!(&damaged.held_knobs()[..3], [0.0, 0.0, HELD_BOUND]);
        assert_ne!(k, Request { base_point: Some(vec![0.5; 4]), ..base.clone() }.identity());
        assert_ne!(k, Request { meter: Some(Meter::SixEight), ..base.clone() }.identity());
        assert_ne!(k, Request { form_index: 1, ..base.clone() }.identity());
        // The clip counts only when Source takes it; Amount only for variations.
        let clip =
            SavedMelody::new(0, &Melody { notes: vec![], len_steps: 16 }, Meter::FourFour, vec![]);
        let with_clip = Request { clip: Some(clip), ..base.clone() };
        assert_eq!(k, with_clip.identity());
        assert_eq!(k, Request { amount: 0.9, ..base.clone() }.identity());
        let varied = Request { source_index: 1, ..with_clip.clone() };
        assert_ne!(k, varied.identity());
        assert_ne!(varied.identity(), Request { amount: 0.9, ..varied.clone() }.identity());
        let continued = Request { source_index: 2, ..with_clip };
        assert_ne!(varied.identity(), continued.identity());
        assert_eq!(continued.identity(), Request { amount: 0.9, ..continued.clone() }.identity());
        // … in the clip's key and meter, from the clip's point.
        assert_eq!(varied.identity(), Request { key_root: 3, ..varied.clone() }.identity());
        assert_eq!(
            varied.identity(),
            Request { meter: Some(Meter::SixEight), ..varied.clone() }.identity()
        );
        assert_eq!(
            varied.identity(),
            Request { base_point: Some(vec![0.5; 4]), ..varied.clone() }.identity()
        );
    }
}
