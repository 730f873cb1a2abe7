//! Turning a model's logits into a melody: seeded sampling, temperature, the grammar of
//! the token grid, key/scale lock and the key restored from the training frame.
//!
//! Sampling lives here, in Rust, so the same arguments give the same notes on every
//! backend and in every host.

use crate::encoding::{Melody, Meter, Token, FIRST_NOTE_INDEX, HOLD_INDEX, VOCAB_SIZE};
use crate::model::runtime::{Generator, ModelError};
use crate::music::chords::Progression;
use crate::music::theory::wrap_semitones;
pub use crate::music::theory::{parse_key, Scale};
use crate::rng::Rng;
use crate::sampling::steering::{steer, Steering};

/// How the phrases of a long melody relate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Form {
    /// Every phrase new (each from its own latent point, correlated with the first).
    Through,
    /// Phrases that repeat, vary and answer, as real tunes do: a plan such as A A′ B A′ (a
    /// phrase comes back with its opening bars replayed and its cadence made anew), drawn
    /// from the seed.
    #[default]
    Song,
}

impl Form {
    /// Every form, in the order of the plugin's parameter.
    pub const ALL: [Form; 2] = [Form::Song, Form::Through];

    /// The name used on the command line and in the editor.
    pub fn name(self) -> &'static str {
        match self {
            Form::Through => "through",
            Form::Song => "song",
        }
    }

    /// Reads `song` or `through`.
    pub fn parse(text: &str) -> Result<Form, String> {
        Form::ALL
            .into_iter()
            .find(|f| f.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| format!("`{text}` is not a form: use song or through"))
    }
}

/// One phrase of a plan: which phrase label it sings, and how many of its opening bars come
/// back exactly from that label's first phrase (the rest are made anew from the label's point).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Phrase {
    /// Phrases with one label share a latent point.
    pub label: usize,
    /// Opening bars replayed from the label's first phrase (0 for a label's first phrase).
    pub replay_bars: usize,
    /// A label's first phrase only: its third bar repeats its first (a b a c).
    pub echo: bool,
}

/// The song-form plans of four phrases (a phrase is a model window, 4 bars), with how often
/// each is drawn (out of their sum): `(label, replayed bars)` per phrase. The mixture was
/// fitted to the similarity-by-lag profile of real tunes of 16 bars or more (`test` split;
/// see `neume-train eval --form` and the README), keeping near repeats under 45 % of bars.
const SONG_PLANS: [(u32, [(usize, usize); 4]); 4] = [
    // A A′ B A′: a period, an answer, the period again.
    (3, [(0, 0), (0, 3), (1, 0), (0, 3)]),
    // A A″ B C: an opening that comes back once, then new ground.
    (4, [(0, 0), (0, 2), (1, 0), (2, 0)]),
    // A A′ A A″: one strain, played twice with new cadences.
    (3, [(0, 0), (0, 3), (0, 4), (0, 2)]),
    // A B A′ C: a phrase that returns after an answer.
    (2, [(0, 0), (1, 0), (0, 3), (2, 0)]),
];

/// How often a melody's new phrases repeat their first bar as their third.
const ECHO_SHARE: f64 = 0.3;

/// The phrase plan of a melody of `phrases` phrases in `form`, drawn with `rng` for song form.
pub fn plan(form: Form, phrases: usize, rng: &mut Rng) -> Vec<Phrase> {
    match form {
        Form::Through => {
            (0..phrases).map(|label| Phrase { label, replay_bars: 0, echo: false }).collect()
        }
        Form::Song => {
            let total: u32 = SONG_PLANS.iter().map(|(w, _)| w).sum();
            let mut pick = (rng.uniform() * f64::from(total)) as u32;
            let mut chosen = &SONG_PLANS[0].1;
            for (weight, plan) in &SONG_PLANS {
                chosen = plan;
                if pick < *weight {
                    break;
                }
                pick -= weight;
            }
            let echo = rng.uniform() < ECHO_SHARE;
            // Longer melodies repeat the plan with fresh labels; shorter ones take its start.
            (0..phrases)
                .map(|i| {
                    let (label, replay_bars) = chosen[i % 4];
                    Phrase { label: label + 3 * (i / 4), replay_bars, echo }
                })
                .collect()
        }
    }
}

/// Everything that shapes one generation.
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    /// Melody length, 1..=16 bars.
    pub bars: usize,
    /// Seed for the latent point (when not given) and for sampling.
    pub seed: u64,
    /// Sampling temperature; 0 picks the most likely token at every step; `None` uses the
    /// temperature the model was tuned for.
    pub temperature: Option<f32>,
    /// Tonic of the output key, 0 = C.
    pub key_root: u8,
    /// Mode of the output; `None` plays the model's own (C major / A minor frame) moved to
    /// `key_root`, with no lock.
    pub scale: Option<Scale>,
    /// Latent point; drawn from the seed when `None`. Shorter vectors are zero-padded.
    pub latent: Option<Vec<f32>>,
    /// A move added in full to every phrase's latent point (the knobs); none when `None`.
    pub shift: Option<Vec<f32>>,
    /// The meter; the model must know it ([`crate::model::model_file::ModelInfo::check_meter`]).
    pub meter: Meter,
    /// How the phrases of a melody longer than the model's window relate.
    pub form: Form,
    /// A knob move already inside `latent` (a stored point's: the knobs it was stored with):
    /// it steers the sampler as those knobs would ([`crate::sampling::steering`]) but does not move the
    /// latent point again; none when `None`.
    pub held: Option<Vec<f32>>,
    /// Steps given in advance, in the model's frame, from the melody's start: each `Some` is
    /// fed to the decoder as its past instead of sampled (a clip to continue, the notes a
    /// variation keeps); `None` and the steps past the end are sampled.
    pub given: Vec<Option<Token>>,
    /// The detail code of an encoded window ([`crate::model::runtime::Encoded::detail`]) for the
    /// phrases that sing the encoded window (the first phrase and its repeats), for a model
    /// that has one; zero when `None`, as in a draw from the prior.
    pub detail: Option<Vec<f32>>,
    /// The chords the melody is sung over (in the output's pitch classes, from the melody's
    /// first step, repeating): each step's chord tones steer the sampler
    /// ([`Sampler::harmony`]); none when `None`, and then nothing changes.
    pub chords: Option<Progression>,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            bars: 4,
            seed: 0,
            temperature: None,
            key_root: 0,
            scale: None,
            latent: None,
            shift: None,
            meter: Meter::FourFour,
            form: Form::Song,
            held: None,
            given: Vec::new(),
            detail: None,
            chords: None,
        }
    }
}

impl GenerateOptions {
    /// Semitones from the model's frame to the output key, in -5..=6.
    pub fn transpose(&self) -> i32 {
        let tonic = self.scale.map_or(0, Scale::frame_tonic);
        wrap_semitones(i32::from(self.key_root) - i32::from(tonic))
    }
}

/// Draws a latent point from N(0, I): what [`generate`] uses when no point is given, drawn
/// first from the seed's generator.
pub fn draw_latent(rng: &mut Rng, latent_size: usize) -> Vec<f32> {
    (0..latent_size).map(|_| rng.normal() as f32).collect()
}

/// How strongly the latent points of a long melody's other phrases differ from the first
/// one's (0 = the same, 1 = independent). Each phrase's point stays a draw from N(0, I).
const CHUNK_LATENT_SPREAD: f32 = 0.6;

/// A latent vector of the model's size from `values`: zero-padded, and refused when not finite.
fn latent_of(values: &[f32], size: usize, what: &str) -> Result<Vec<f32>, ModelError> {
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::Input(format!(
            "the {what}'s value {} ({}) is not a finite number",
            i + 1,
            values[i]
        )));
    }
    Ok((0..size).map(|i| values.get(i).copied().unwrap_or(0.0)).collect())
}

/// Generates a melody of `options.bars` bars in `options.meter`, in the output key: the
/// decoder is stepped one 16th at a time, each step sampled (with the scale mask and the
/// grammar) before the next is computed from it. A melody longer than the model's window is
/// sung in phrases of a window each, planned by `options.form`; the state runs on across them.
pub fn generate(
    generator: &mut Generator,
    options: &GenerateOptions,
) -> Result<Melody, ModelError> {
    sing(generator, options, None).map(|(melody, _)| melody)
}

/// [`generate`], and how likely the decoder found the given steps of the [`SCORED_BARS`]
/// bars from `score_from` on: the sum of their log-probabilities (temperature 1, no masks),
/// as each came after the ones before. Infill scores a span's candidates by how well the kept bars after it follow.
pub fn generate_scored(
    generator: &mut Generator,
    options: &GenerateOptions,
    score_from: usize,
) -> Result<(Melody, f64), ModelError> {
    sing(generator, options, Some(score_from))
}

fn sing(
    generator: &mut Generator,
    options: &GenerateOptions,
    score_from: Option<usize>,
) -> Result<(Melody, f64), ModelError> {
    let info = generator.info().clone();
    info.check_meter(options.meter)?;
    let latent_size = info.latent_size;
    let layout = info.layout();
    let temperature = options.temperature.unwrap_or(info.temperature);
    let mut rng = Rng::new(options.seed);
    let z0 = match &options.latent {
        Some(z) => latent_of(z, latent_size, "latent point")?,
        None => draw_latent(&mut rng, latent_size),
    };
    let mut shift = match &options.shift {
        Some(s) => latent_of(s, latent_size, "knob move")?,
        None => vec![0.0; latent_size],
    };
    let bar_steps = options.meter.bar_steps();
    let beat_steps = options.meter.beat_steps();
    let bars = options.bars.clamp(1, 16);
    let phrase_bars = info.bars.max(1);
    let phrases = bars.div_ceil(phrase_bars);
    let plan = plan(options.form, phrases, &mut rng);
    let transpose = options.transpose();
    let mut sampler = Sampler::new(|pitch| match options.scale {
        Some(scale) => {
            scale.contains(options.key_root, ((i32::from(pitch) + transpose).rem_euclid(12)) as u8)
        }
        None => true,
    });
    sampler.steer(steer(&info, &mut shift, options.held.as_deref().unwrap_or_default()));
    let detail =
        latent_of(options.detail.as_deref().unwrap_or_default(), info.detail_size, "detail code")?;
    let first_label = plan.first().map(|p| p.label);
    // What the decoder reads after the step features: each phrase's point, then the detail
    // code (for the encoded window's phrases) or zeros.
    let points: Vec<Vec<f32>> = phrase_points(&plan, &z0, &shift, &mut rng)
        .into_iter()
        .zip(&plan)
        .map(|(mut z, phrase)| {
            if Some(phrase.label) == first_label {
                z.extend_from_slice(&detail);
            } else {
                z.resize(info.decoder_latent(), 0.0);
            }
            z
        })
        .collect();
    // Each label's first phrase's start step.
    let mut first_starts: Vec<Option<usize>> = vec![None; phrases];
    let mut state = generator.start();
    let mut row = vec![0f32; info.step_input()];
    let want_steps = bars * bar_steps;
    let mut tokens: Vec<Token> = Vec::with_capacity(want_steps);
    let mut score = 0.0f64;
    // Scoring reads the given steps of the two bars after `score_from`; when every step from
    // there on is given, the decoder need not run past them (the melody is known).
    let skip_from = score_from.map(|from| {
        let last_free =
            (0..want_steps).rev().find(|&s| !matches!(options.given.get(s), Some(Some(_))));
        (from + SCORED_BARS * bar_steps).max(last_free.map_or(0, |s| s + 1))
    });
    for (index, (phrase, z)) in plan.iter().zip(&points).enumerate() {
        let start = index * phrase_bars * bar_steps;
        let end = (start + phrase_bars * bar_steps).min(want_steps);
        let slot = &mut first_starts[phrase.label.min(phrases - 1)];
        let (first_start, replay) = match *slot {
            Some(first) => (first, phrase.replay_bars * bar_steps),
            None => {
                *slot = Some(start);
                (start, 0)
            }
        };
        let new_material = first_start == start;
        for step in start..end {
            if let (Some(skip), Some(&Some(given))) = (skip_from, options.given.get(step)) {
                if step >= skip {
                    tokens.push(given);
                    continue;
                }
            }
            layout.write(&mut row, tokens.last().copied(), step, options.meter, z);
            let logits = generator.step(&row, &mut state)?;
            if let Some(chords) = &options.chords {
                // The chord's tones in the model's frame (the melody is moved out of it by
                // `transpose` at the end).
                let tones = rotate_tones(chords.tones_at(step as u32), -transpose);
                sampler.harmony(Some(Harmony { tones, strong: step % beat_steps == 0 }));
            }
            let sampled = sampler.next(&logits, temperature, &mut rng);
            let in_phrase = step - start;
            let token = if let Some(&Some(given)) = options.given.get(step) {
                if score_from.is_some_and(|from| step >= from) {
                    score += log_probability(&logits, given);
                }
                given
            } else if in_phrase < replay {
                tokens[first_start + in_phrase]
            } else if phrase.echo && new_material && in_phrase / bar_steps == 2 {
                tokens[step - 2 * bar_steps]
            } else {
                sampled
            };
            sampler.follow(token);
            tokens.push(token);
        }
    }
    Ok((Melody::from_tokens(&tokens).transposed(transpose), score))
}

/// Bars of given steps after `score_from` that [`generate_scored`] scores.
pub const SCORED_BARS: usize = 2;

/// The log-probability of `token` under one step's logits (a log-softmax).
fn log_probability(logits: &[f32], token: Token) -> f64 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits.iter().map(|&l| f64::from(l - max).exp()).sum();
    f64::from(logits[token.index()] - max) - sum.ln()
}

/// The latent point of each phrase of `plan`: a label's first phrase has the melody's own
/// point `z0` (the first label) or one drawn correlated with it, phrases of one label share
/// it, and the knob move `shift` is added in full to every one.
pub fn phrase_points(plan: &[Phrase], z0: &[f32], shift: &[f32], rng: &mut Rng) -> Vec<Vec<f32>> {
    let mut by_label: Vec<Option<Vec<f32>>> = vec![None; plan.len()];
    plan.iter()
        .enumerate()
        .map(|(index, phrase)| {
            let slot = &mut by_label[phrase.label.min(plan.len() - 1)];
            let base = slot.get_or_insert_with(|| {
                if index == 0 {
                    z0.to_vec()
                } else {
                    let keep = (1.0 - CHUNK_LATENT_SPREAD * CHUNK_LATENT_SPREAD).sqrt();
                    z0.iter()
                        .map(|&v| keep * v + CHUNK_LATENT_SPREAD * rng.normal() as f32)
                        .collect()
                }
            });
            base.iter().zip(shift).map(|(v, s)| v + s).collect()
        })
        .collect()
}

/// Samples a token line one step at a time. A hold is only allowed while a note sounds;
/// `allowed(pitch)` masks note-ons (pitches in the model's frame). The probability of masked
/// tokens is shared among the others.
pub struct Sampler {
    note_allowed: [bool; VOCAB_SIZE - FIRST_NOTE_INDEX],
    sounding: bool,
    weights: [f64; VOCAB_SIZE],
    /// How the next note-on's pitch is steered (the Range and Leaps knobs).
    steering: Steering,
    /// The line's note-ons so far, once it has one.
    heard: Option<Heard>,
    /// The chord under the next step, when the melody has chords.
    harmony: Option<Harmony>,
    /// Whether the line's last note-on was not a tone of the chord under it.
    last_outside: bool,
}

/// The chord under a step, for the sampler: its tones (a 12-bit pitch-class mask in the
/// model's frame) and whether the step starts a beat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Harmony {
    pub tones: u16,
    pub strong: bool,
}

impl Harmony {
    /// Whether `pitch` is one of the chord's tones.
    fn holds(self, pitch: u8) -> bool {
        self.tones & (1 << (pitch % 12)) != 0
    }
}

/// Logit gain of a chord tone's note-on on a step that starts a beat: real melodies land on
/// chord tones there (the chorales' sopranos 98 %). Chosen on `valid`
/// (`neume-train chords`, docs/evaluation.md).
pub const CHORD_TONE_GAIN_STRONG: f32 = 6.0;
/// Logit gain of a chord tone's note-on between beats.
pub const CHORD_TONE_GAIN_WEAK: f32 = 1.0;
/// Logit gain of a note-on a step (1–2 semitones) from a last note that was not a chord tone:
/// a passing or neighbour note goes on by step.
pub const RESOLVE_GAIN: f32 = 4.0;

/// `tones` (a 12-bit pitch-class mask) moved by `semitones`.
pub fn rotate_tones(tones: u16, semitones: i32) -> u16 {
    let shift = semitones.rem_euclid(12) as u32;
    let tones = u32::from(tones & 0xfff);
    (((tones << shift) | (tones >> (12 - shift))) & 0xfff) as u16
}

/// What the steering needs of a line's note-ons so far.
#[derive(Clone, Copy, Debug)]
struct Heard {
    last: u8,
    low: u8,
    high: u8,
}

impl Sampler {
    /// A sampler at the start of a line (nothing sounding).
    pub fn new(allowed: impl Fn(u8) -> bool) -> Sampler {
        let mut note_allowed = [false; VOCAB_SIZE - FIRST_NOTE_INDEX];
        for (i, ok) in note_allowed.iter_mut().enumerate() {
            if let Some(Token::Note(p)) = Token::from_index(FIRST_NOTE_INDEX + i) {
                *ok = allowed(p);
            }
        }
        Sampler {
            note_allowed,
            sounding: false,
            weights: [0.0; VOCAB_SIZE],
            steering: Steering::default(),
            heard: None,
            harmony: None,
            last_outside: false,
        }
    }

    /// Sets the chord under the next step (`None`: no chord). A chord tone is never masked
    /// by the scale lock; on a beat a chord tone gains [`CHORD_TONE_GAIN_STRONG`] in its
    /// logit, between beats [`CHORD_TONE_GAIN_WEAK`]; after a note that was not a chord
    /// tone, a step away gains [`RESOLVE_GAIN`]. As with the knobs' steering, the total
    /// probability of a note-on stays the model's.
    pub fn harmony(&mut self, harmony: Option<Harmony>) {
        self.harmony = harmony;
    }

    /// Steers the pitch of each note-on after the first: each semitone by which it would
    /// widen the line's span (its lowest to highest note so far) costs `span_cost` in its
    /// logit, each semitone of its interval from the last note-on (at most 12) gains
    /// `leap_gain`. The total probability of a note-on stays the model's.
    pub fn steer(&mut self, steering: Steering) {
        self.steering = steering;
    }

    /// Logit of vocabulary index `i` after the steering.
    fn score(&self, row: &[f32], i: usize) -> f32 {
        let steered = match (self.heard, Token::from_index(i)) {
            (Some(Heard { last, low, high }), Some(Token::Note(p))) => {
                let widen = low.saturating_sub(p) + p.saturating_sub(high);
                let leap = last.abs_diff(p).min(12);
                let Steering { span_cost, leap_gain } = self.steering;
                row[i] - span_cost * f32::from(widen) + leap_gain * f32::from(leap)
            }
            _ => row[i],
        };
        match (self.harmony, Token::from_index(i)) {
            (Some(h), Some(Token::Note(p))) => {
                let mut gain = 0.0;
                if h.holds(p) {
                    gain += if h.strong { CHORD_TONE_GAIN_STRONG } else { CHORD_TONE_GAIN_WEAK };
                }
                if let Some(heard) = self.heard.filter(|_| self.last_outside) {
                    if (1..=2).contains(&heard.last.abs_diff(p)) {
                        gain += RESOLVE_GAIN;
                    }
                }
                steered + gain
            }
            _ => steered,
        }
    }

    /// Whether vocabulary index `i` may come next.
    fn ok(&self, i: usize) -> bool {
        match i {
            HOLD_INDEX => self.sounding,
            i if i >= FIRST_NOTE_INDEX => {
                self.note_allowed[i - FIRST_NOTE_INDEX]
                    || self.harmony.is_some_and(
                        |h| matches!(Token::from_index(i), Some(Token::Note(p)) if h.holds(p)),
                    )
            }
            _ => true,
        }
    }

    /// Samples the next token from one step's logits `[VOCAB_SIZE]` at `temperature` (0 or
    /// less: the likeliest allowed token).
    pub fn next(&mut self, row: &[f32], temperature: f32, rng: &mut Rng) -> Token {
        let max = (0..VOCAB_SIZE)
            .filter(|&i| self.ok(i))
            .map(|i| row[i])
            .fold(f32::NEG_INFINITY, f32::max);
        let steered = self.steered();
        let index = if temperature <= 1e-4 || !max.is_finite() {
            let likeliest =
                (0..VOCAB_SIZE).filter(|&i| self.ok(i)).max_by(|&a, &b| row[a].total_cmp(&row[b]));
            match likeliest {
                // A note wins: the steering picks its pitch.
                Some(i) if i >= FIRST_NOTE_INDEX && steered => (FIRST_NOTE_INDEX..VOCAB_SIZE)
                    .filter(|&i| self.ok(i))
                    .max_by(|&a, &b| self.score(row, a).total_cmp(&self.score(row, b)))
                    .unwrap_or(i),
                found => found.unwrap_or(0),
            }
        } else {
            let mut total = 0.0;
            let mut notes = 0.0;
            for i in 0..VOCAB_SIZE {
                let w =
                    if self.ok(i) { f64::from((row[i] - max) / temperature).exp() } else { 0.0 };
                self.weights[i] = w;
                total += w;
                if i >= FIRST_NOTE_INDEX {
                    notes += w;
                }
            }
            if steered {
                self.steer_notes(row, temperature, notes);
            }
            let mut target = rng.uniform() * total;
            let mut chosen = 0;
            for (i, &w) in self.weights.iter().enumerate() {
                if w > 0.0 {
                    chosen = i;
                    if target < w {
                        break;
                    }
                    target -= w;
                }
            }
            chosen
        };
        // `index` < VOCAB_SIZE by construction.
        let token = Token::from_index(index).expect("index inside the vocabulary");
        self.follow(token);
        token
    }

    /// Whether the steering reshapes the next note-on's pitch.
    fn steered(&self) -> bool {
        (self.heard.is_some() && self.steering != Steering::default()) || self.harmony.is_some()
    }

    /// Reweights the note-ons of `self.weights` by their steered scores, keeping their total
    /// `notes`: the steering chooses which pitch comes, not whether a note comes.
    fn steer_notes(&mut self, row: &[f32], temperature: f32, notes: f64) {
        let max = (FIRST_NOTE_INDEX..VOCAB_SIZE)
            .filter(|&i| self.ok(i))
            .map(|i| self.score(row, i))
            .fold(f32::NEG_INFINITY, f32::max);
        if notes <= 0.0 || !max.is_finite() {
            return;
        }
        let mut steered = 0.0;
        for i in FIRST_NOTE_INDEX..VOCAB_SIZE {
            let w = if self.ok(i) {
                f64::from((self.score(row, i) - max) / temperature).exp()
            } else {
                0.0
            };
            self.weights[i] = w;
            steered += w;
        }
        let scale = notes / steered;
        self.weights[FIRST_NOTE_INDEX..].iter_mut().for_each(|w| *w *= scale);
    }

    /// Takes `token` as the line's last step (a sampled one, or one replayed in its place).
    pub fn follow(&mut self, token: Token) {
        self.sounding = !matches!(token, Token::Rest);
        if let Token::Note(p) = token {
            self.last_outside = self.harmony.is_some_and(|h| !h.holds(p));
            self.heard = Some(match self.heard {
                Some(Heard { low, high, .. }) => {
                    Heard { last: p, low: low.min(p), high: high.max(p) }
                }
                None => Heard { last: p, low: p, high: p },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One token per step of precomputed logits (`[steps * VOCAB_SIZE]`), through one sampler.
    fn sample_tokens(
        logits: &[f32],
        temperature: f32,
        rng: &mut Rng,
        allowed: impl Fn(u8) -> bool,
    ) -> Vec<Token> {
        let mut sampler = Sampler::new(allowed);
        logits.chunks_exact(VOCAB_SIZE).map(|row| sampler.next(row, temperature, rng)).collect()
    }

    #[test]
    fn keys_and_scales() {
        assert_eq!(parse_key("C"), Some(0));
        assert_eq!(parse_key("f#"), Some(6));
        assert_eq!(parse_key("Bb"), Some(10));
        assert_eq!(parse_key("H"), None);
        assert!(Scale::Major.contains(2, 6)); // F# in D major
        assert!(!Scale::Major.contains(2, 5)); // F not in D major
        let opts = GenerateOptions { key_root: 4, scale: Some(Scale::Minor), ..Default::default() };
        assert_eq!(opts.transpose(), -5); // A minor frame to E minor
    }

    #[test]
    fn a_knob_move_reaches_every_phrase_in_full() {
        // Through-composed: four phrases, four labels, three points drawn after the first.
        let plan = plan(Form::Through, 4, &mut Rng::new(1));
        let z0 = [0.5f32, -1.0, 2.0];
        let shift = [1.5f32, 0.0, -0.75];
        let moved = phrase_points(&plan, &z0, &shift, &mut Rng::new(9));
        let still = phrase_points(&plan, &z0, &[0.0; 3], &mut Rng::new(9));
        for (m, s) in moved.iter().zip(&still) {
            for ((a, b), want) in m.iter().zip(s).zip(shift) {
                assert!((a - b - want).abs() < 1e-6, "every phrase moves by the whole knob move");
            }
        }
        assert_eq!(still[0], z0, "the first phrase sings the melody's own point");
        assert_ne!(still[1], still[0], "later phrases draw their own");
        // Song form: phrases of one label share their point.
        let song = [
            Phrase { label: 0, replay_bars: 0, echo: false },
            Phrase { label: 0, replay_bars: 3, echo: false },
            Phrase { label: 1, replay_bars: 0, echo: false },
        ];
        let points = phrase_points(&song, &z0, &shift, &mut Rng::new(9));
        assert_eq!(points[0], points[1]);
        assert_ne!(points[0], points[2]);
    }

    #[test]
    fn sampling_obeys_masks_and_grammar() {
        // Every step strongly prefers hold, then C#4 (61): hold is illegal at step 0 and
        // after a rest, and C# is masked out, so the line must start on another note.
        let steps = 8;
        let mut logits = vec![0f32; steps * VOCAB_SIZE];
        for row in logits.chunks_exact_mut(VOCAB_SIZE) {
            row[HOLD_INDEX] = 10.0;
            row[Token::Note(61).index()] = 9.0;
        }
        let mut rng = Rng::new(1);
        let tokens = sample_tokens(&logits, 0.0, &mut rng, |p| p % 12 != 1);
        assert!(matches!(tokens[0], Token::Note(p) if p % 12 != 1));
        assert!(tokens[1..].iter().all(|t| *t == Token::Hold));
        let sampled = sample_tokens(&logits, 1.0, &mut rng, |p| p % 12 != 1);
        assert!(sampled.iter().all(|t| !matches!(t, Token::Note(p) if p % 12 == 1)));
        assert_ne!(sampled[0], Token::Hold);
    }

    /// A sampler one note-on (C4) into its line, with the steering of `span_cost` and
    /// `leap_gain`.
    fn steered_after_c4(span_cost: f32, leap_gain: f32) -> Sampler {
        let mut sampler = Sampler::new(|_| true);
        sampler.follow(Token::Note(60));
        sampler.steer(Steering { span_cost, leap_gain });
        sampler
    }

    #[test]
    fn steering_moves_the_pitch_and_keeps_the_chance_of_a_note() {
        // Rest, C4 and C5 equally likely, everything else out of reach: unsteered, each
        // comes a third of the time. A span cost of ln 4 / 12 a semitone makes C5 (12
        // semitones wider) a quarter as likely as C4 among the notes, and leaves the notes
        // their two thirds: C4 8/15, C5 2/15, rest 1/3.
        let mut row = vec![-30f32; VOCAB_SIZE];
        for token in [Token::Rest, Token::Note(60), Token::Note(72)] {
            row[token.index()] = 0.0;
        }
        let mut rng = Rng::new(5);
        let draws = 30_000;
        let mut counts = [0usize; 3];
        for _ in 0..draws {
            let mut sampler = steered_after_c4(4f32.ln() / 12.0, 0.0);
            match sampler.next(&row, 1.0, &mut rng) {
                Token::Rest => counts[0] += 1,
                Token::Note(60) => counts[1] += 1,
                Token::Note(72) => counts[2] += 1,
                other => panic!("{other:?} was out of reach"),
            }
        }
        let share = counts.map(|c| c as f64 / draws as f64);
        for (got, want) in share.iter().zip([1.0 / 3.0, 8.0 / 15.0, 2.0 / 15.0]) {
            assert!((got - want).abs() < 0.012, "shares {share:?}");
        }
        // A leap gain of ln 4 / 12 a semitone turns it round: C5 four times C4.
        let mut leaps = [0usize; 2];
        for _ in 0..draws {
            match steered_after_c4(0.0, 4f32.ln() / 12.0).next(&row, 1.0, &mut rng) {
                Token::Note(60) => leaps[0] += 1,
                Token::Note(72) => leaps[1] += 1,
                _ => {}
            }
        }
        let ratio = leaps[1] as f64 / leaps[0] as f64;
        assert!((ratio - 4.0).abs() < 0.3, "C5 against C4: {ratio}");
    }

    #[test]
    fn greedy_steering_picks_among_the_notes_only_when_a_note_wins() {
        let mut row = vec![-30f32; VOCAB_SIZE];
        row[Token::Rest.index()] = 0.2;
        row[Token::Note(60).index()] = 0.5;
        row[Token::Note(72).index()] = 1.0;
        let mut rng = Rng::new(1);
        assert_eq!(steered_after_c4(0.0, 0.0).next(&row, 0.0, &mut rng), Token::Note(72));
        // C5 widens by 12: 1.0 − 1.2 < 0.5, so C4; the rest does not come into it.
        assert_eq!(steered_after_c4(0.1, 0.0).next(&row, 0.0, &mut rng), Token::Note(60));
        // The model would rest: no steering of the pitch makes a note of it.
        row[Token::Rest.index()] = 2.0;
        assert_eq!(steered_after_c4(-1.0, 1.0).next(&row, 0.0, &mut rng), Token::Rest);
        // Unsteered and zero-steered sampling agree draw for draw.
        let logits: Vec<f32> = (0..VOCAB_SIZE).map(|i| ((i * 7919) % 13) as f32 * 0.3).collect();
        let (mut a, mut b) = (Rng::new(3), Rng::new(3));
        let (mut plain, mut zero) = (Sampler::new(|_| true), steered_after_c4(0.0, 0.0));
        plain.follow(Token::Note(60));
        for _ in 0..200 {
            assert_eq!(plain.next(&logits, 0.9, &mut a), zero.next(&logits, 0.9, &mut b));
        }
    }
}
