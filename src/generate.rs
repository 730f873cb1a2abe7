//! Turning a model's logits into a melody: seeded sampling, temperature, the grammar of
//! the token grid, key/scale lock and the key restored from the training frame.
//!
//! Sampling lives here, in Rust, so the same arguments give the same notes on every
//! backend and in every host.

use crate::encoding::{
    step_features, step_input, Melody, Token, FIRST_NOTE_INDEX, HOLD_INDEX, STEPS_PER_BAR,
    VOCAB_SIZE,
};
use crate::rng::Rng;
use crate::runtime::{Generator, ModelError};
use crate::theory::wrap_semitones;
pub use crate::theory::{parse_key, Scale};

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

/// How strongly the latent points of the chunks of a long melody differ from the first
/// chunk's (0 = the same, 1 = independent). Each chunk's point stays a draw from N(0, I).
const CHUNK_LATENT_SPREAD: f32 = 0.6;

/// Generates a melody of `options.bars` bars, in the output key: the decoder is stepped one
/// 16th at a time, each step sampled (with the scale mask and the grammar) before the next
/// is computed from it. Past the model's window the state runs on, and the latent point moves
/// to a point correlated with the first one for each further window.
pub fn generate(
    generator: &mut Generator,
    options: &GenerateOptions,
) -> Result<Melody, ModelError> {
    let info = generator.info();
    let (latent_size, model_bars, model_steps) = (info.latent_size, info.bars, info.steps());
    let temperature = options.temperature.unwrap_or(info.temperature);
    let mut rng = Rng::new(options.seed);
    let z0: Vec<f32> = match &options.latent {
        Some(z) => {
            if let Some(i) = z.iter().position(|v| !v.is_finite()) {
                return Err(ModelError::Input(format!(
                    "the latent point's value {} ({}) is not a finite number",
                    i + 1,
                    z[i]
                )));
            }
            (0..latent_size).map(|i| z.get(i).copied().unwrap_or(0.0)).collect()
        }
        None => draw_latent(&mut rng, latent_size),
    };
    let want_steps = options.bars.clamp(1, 16) * STEPS_PER_BAR;
    let transpose = options.transpose();
    let mut sampler = Sampler::new(|pitch| match options.scale {
        Some(scale) => {
            scale.contains(options.key_root, ((i32::from(pitch) + transpose).rem_euclid(12)) as u8)
        }
        None => true,
    });
    let mut z = z0.clone();
    let mut state = generator.start();
    let mut row = vec![0f32; step_features(model_bars) + latent_size];
    let mut tokens = Vec::with_capacity(want_steps);
    for step in 0..want_steps {
        if step > 0 && step % model_steps == 0 {
            let keep = (1.0 - CHUNK_LATENT_SPREAD * CHUNK_LATENT_SPREAD).sqrt();
            z = z0.iter().map(|&v| keep * v + CHUNK_LATENT_SPREAD * rng.normal() as f32).collect();
        }
        step_input(&mut row, tokens.last().copied(), step, model_bars, &z);
        let logits = generator.step(&row, &mut state)?;
        tokens.push(sampler.next(&logits, temperature, &mut rng));
    }
    Ok(Melody::from_tokens(&tokens).transposed(transpose))
}

/// Samples a token line one step at a time. A hold is only allowed while a note sounds;
/// `allowed(pitch)` masks note-ons (pitches in the model's frame). The probability of masked
/// tokens is shared among the others.
pub struct Sampler {
    note_allowed: [bool; VOCAB_SIZE - FIRST_NOTE_INDEX],
    sounding: bool,
    weights: [f64; VOCAB_SIZE],
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
        Sampler { note_allowed, sounding: false, weights: [0.0; VOCAB_SIZE] }
    }

    /// Whether vocabulary index `i` may come next.
    fn ok(&self, i: usize) -> bool {
        match i {
            HOLD_INDEX => self.sounding,
            i if i >= FIRST_NOTE_INDEX => self.note_allowed[i - FIRST_NOTE_INDEX],
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
        let index = if temperature <= 1e-4 || !max.is_finite() {
            (0..VOCAB_SIZE)
                .filter(|&i| self.ok(i))
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap_or(0)
        } else {
            let mut total = 0.0;
            for i in 0..VOCAB_SIZE {
                let w =
                    if self.ok(i) { f64::from((row[i] - max) / temperature).exp() } else { 0.0 };
                self.weights[i] = w;
                total += w;
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
        self.sounding = !matches!(token, Token::Rest);
        token
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
}
