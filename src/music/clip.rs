//! The musician's own melody, a clip of 1–4 bars (from a `.mid` file), made ready for the
//! model: cut to its first 4 bars on its meter's grid, moved by the key it is heard in to the
//! model's C major / A minor frame and into the model's range, and moved back afterwards.
//! Variations and continuations start from it ([`vary`], [`continue_clip`]).

use std::path::Path;

use crate::encoding::{centring_octave_shift, Melody, Meter, Token};
use crate::model::runtime::{Generator, ModelError};
use crate::music::chords::Progression;
use crate::music::key_finding::{melody_key, Key};
use crate::music::midi::{self, MidiMelody};
use crate::music::theory::{white_key_time, wrap_semitones};
use crate::rng::Rng;
use crate::sampling::generate::{generate, generate_scored, GenerateOptions};

/// The longest clip, in bars.
pub const MAX_BARS: usize = 4;

/// A clip in the model's frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Clip {
    /// Its notes in the frame, `bars` bars of `meter` long (a rest at its start is kept).
    pub melody: Melody,
    /// Its meter.
    pub meter: Meter,
    /// Its length in bars, 1..=[`MAX_BARS`].
    pub bars: usize,
    /// The key it is heard in.
    pub key: Key,
    /// Semitones that move the frame back to the clip's own key and register.
    pub to_clip: i32,
}

impl Clip {
    /// The clip of `melody` (the top line of a file, on the 16th grid) in `meter`: from the
    /// bar of its first note (a file exported at its song position starts there), up to
    /// [`MAX_BARS`] bars, as many as it has notes in or as its length says (a take that ends
    /// in a rest keeps its last bar).
    pub fn new(melody: &Melody, meter: Meter) -> Result<Clip, String> {
        let bar_steps = meter.bar_steps() as u32;
        let start = first_bar_step(melody, meter).ok_or("the clip has no notes")?;
        let melody = melody.window(start, melody.len_steps.saturating_sub(start));
        let end =
            melody.notes.iter().map(|n| n.end_step()).max().unwrap_or(0).max(melody.len_steps);
        let bars = (end.div_ceil(bar_steps) as usize).clamp(1, MAX_BARS);
        let window = melody.window(0, bars as u32 * bar_steps);
        let key = melody_key(&window).ok_or("the clip has no notes")?;
        let to_frame = frame_move(&window, key);
        let moved = window.transposed(to_frame);
        let octave = centring_octave_shift(moved.notes.iter().map(|n| n.pitch));
        Ok(Clip {
            melody: moved.transposed(octave),
            meter,
            bars,
            key,
            to_clip: -(to_frame + octave),
        })
    }

    /// Its tokens, one per 16th.
    pub fn tokens(&self) -> Vec<Token> {
        self.melody.to_tokens(0)
    }

    /// A melody in the frame moved back to the clip's key and register.
    pub fn back(&self, melody: &Melody) -> Melody {
        melody.transposed(self.to_clip)
    }

    /// The clip's latent point (the encoder's mean): the clip looped to fill the model's
    /// window, so that it reads as a whole melody that begins like the clip.
    pub fn latent(&self, generator: &mut Generator) -> Result<Vec<f32>, ModelError> {
        let tokens = self.tokens();
        let window = generator.info().bars.max(1) * self.meter.bar_steps();
        let looped: Vec<Token> = tokens.iter().copied().cycle().take(window).collect();
        Ok(generator.encode(&looped)?.0)
    }
}

/// The step of the bar line where `melody`'s first note starts, in `meter`; `None` without
/// notes. A clip starts there: the empty bars before it are not part of it.
pub fn first_bar_step(melody: &Melody, meter: Meter) -> Option<u32> {
    let bar_steps = meter.bar_steps() as u32;
    let first = melody.notes.iter().map(|n| n.start_step).min()?;
    Some(first / bar_steps * bar_steps)
}

/// Reads a clip file: its top line and the meter it is read in (see [`file_meter`]).
pub fn read_file(path: &Path, meter: Option<Meter>) -> Result<(MidiMelody, Meter), String> {
    let file = midi::read_file(path).map_err(|e| e.to_string())?;
    let meter = file_meter(&file, meter, path)?;
    Ok((file, meter))
}

/// The meter a clip file is read in: `meter` when given, else the file's time signature; one
/// Neume does not play is an error naming the file.
pub fn file_meter(file: &MidiMelody, meter: Option<Meter>, path: &Path) -> Result<Meter, String> {
    if let Some(meter) = meter {
        return Ok(meter);
    }
    let midi::TimeSignature { numerator, denominator } = file.time_signature;
    match Meter::for_signature(numerator, denominator) {
        Some((meter, 1)) => Ok(meter),
        _ => Err(format!(
            "{}: its time signature {numerator}/{denominator} is not one Neume plays ({})",
            path.display(),
            Meter::ALL.map(|m| m.to_string()).join(", ")
        )),
    }
}

/// The move into the model's frame (C major / A minor: the white keys). The frame is a
/// scale, not a tonic: of the moves that put the most sounding time on the white keys, the
/// heard key's when it is one of them, else the smallest. (The model knows the frame's scale;
/// a short clip's scale is usually clearer than its tonic.)
fn frame_move(melody: &Melody, key: Key) -> i32 {
    let inside = |t: i32| white_key_time(melody, t);
    let moves = (0..12).map(wrap_semitones);
    let best = moves.clone().map(inside).max().unwrap_or(0);
    let heard = wrap_semitones(if key.minor { 9 } else { 0 } - i32::from(key.tonic));
    if inside(heard) == best {
        heard
    } else {
        moves.filter(|&t| inside(t) == best).min_by_key(|t| t.abs()).unwrap_or(0)
    }
}

/// A point around `mu` at `amount` (0: `mu`; 1: a fresh draw from the prior):
/// √(1 − a²)·μ + a·ε, which keeps the prior's spread.
pub fn around(mu: &[f32], amount: f32, rng: &mut Rng) -> Vec<f32> {
    let a = amount.clamp(0.0, 1.0);
    let keep = (1.0 - a * a).sqrt();
    mu.iter().map(|&m| keep * m + a * rng.normal() as f32).collect()
}

/// What shapes a variation or a continuation besides the clip.
#[derive(Clone, Debug)]
pub struct ClipOptions {
    /// Seed of the latent draw and of sampling.
    pub seed: u64,
    /// Sampling temperature (`None`: the model's).
    pub temperature: Option<f32>,
    /// The knobs' latent move.
    pub shift: Option<Vec<f32>>,
    /// The chords the new notes are sung over, in the clip's own key (as the producer gives
    /// them), from the clip's first step; none when `None`.
    pub chords: Option<Progression>,
}

/// A variation of `clip` and the latent point it was sung from, as long as the clip, in its key and register. `amount` (0..=1) is
/// both how far the latent point moves from the clip's ([`around`]) and the chance that each
/// of the clip's notes and rests is sung anew rather than kept: Amount 0 gives the clip back,
/// 0.5 keeps about half of it and answers the rest in its manner, 1 is a new melody from a
/// prior draw. (The model's latent point holds a clip's rhythm and contour but not its
/// notes, see `models/README.md`: moving the point alone makes melodies that share almost no
/// note with the clip, at any Amount.)
pub fn vary(
    generator: &mut Generator,
    clip: &Clip,
    amount: f32,
    options: &ClipOptions,
) -> Result<(Melody, Vec<f32>), ModelError> {
    let mu = clip.latent(generator)?;
    let mut rng = Rng::new(options.seed ^ 0x5eed_0fc1_1b00);
    let z = around(&mu, amount, &mut rng);
    let tokens = clip.tokens();
    let mut keep = true;
    let given = (0..tokens.len())
        .map(|i| {
            // A note's onset, or the first of a run of rests, starts a span: kept or sung anew
            // whole (a kept hold always follows its kept onset, so the line stays playable).
            let starts_span = match tokens[i] {
                Token::Hold => false,
                Token::Rest => i == 0 || tokens[i - 1] != Token::Rest,
                Token::Note(_) => true,
            };
            if starts_span {
                keep = rng.uniform() >= f64::from(amount);
            }
            keep.then_some(tokens[i])
        })
        .collect();
    sing(generator, clip, clip.bars, z, given, options)
}

/// The longest melody `infill` takes, in bars.
pub const MAX_INFILL_BARS: usize = 16;

/// Candidates sung for each [`infill`]; the one after which the kept bars are likeliest wins.
pub const INFILL_CANDIDATES: u64 = 8;

/// Bars `first..=last` (1-based) of `melody` (its first bar at step 0, `meter`, at most
/// [`MAX_INFILL_BARS`] bars) sung anew in its key, register and manner; every other bar is
/// kept note for note. The decoder is given the kept bars before the span as its past and
/// the kept bars after it as given steps; of [`INFILL_CANDIDATES`] spans (each from a point
/// around the encoded phrase the span lies in), the one after which the decoder finds the
/// kept bars likeliest is kept, so the span leads into what follows.
pub fn infill(
    generator: &mut Generator,
    melody: &Melody,
    meter: Meter,
    (first, last): (usize, usize),
    options: &ClipOptions,
    candidates: u64,
) -> Result<Melody, ModelError> {
    let sung: Vec<bool> = (1..=MAX_INFILL_BARS).map(|bar| (first..=last).contains(&bar)).collect();
    infill_bars(generator, melody, meter, &sung, options, candidates)
}

/// [`infill`] of any bars: bar `b + 1` of `melody` is sung anew where `sung[b]`, kept note for
/// note elsewhere (locked bars around regenerated ones). The candidates are scored by the kept
/// bars after the first sung span; the manner is the encoded phrase that span starts in. With
/// no bar to sing, the melody comes back as it is.
pub fn infill_bars(
    generator: &mut Generator,
    melody: &Melody,
    meter: Meter,
    sung: &[bool],
    options: &ClipOptions,
    candidates: u64,
) -> Result<Melody, ModelError> {
    let bar_steps = meter.bar_steps();
    let bars = (melody.len_steps as usize).div_ceil(bar_steps).clamp(1, MAX_INFILL_BARS);
    let steps = bars * bar_steps;
    let is_sung = |bar: usize| sung.get(bar).copied().unwrap_or(false);
    let Some(first) = (0..bars).find(|&b| is_sung(b)).map(|b| b + 1) else {
        return Ok(melody.window(0, steps as u32));
    };
    let last = (first - 1..bars).take_while(|&b| is_sung(b)).last().map_or(first, |b| b + 1);
    let window = melody.window(0, steps as u32);
    let key = melody_key(&window).unwrap_or(Key { tonic: 0, minor: false });
    let to_frame = frame_move(&window, key);
    let octave = centring_octave_shift(
        window.notes.iter().map(|n| n.pitch.saturating_add_signed(to_frame as i8)),
    );
    let moved = window.transposed(to_frame + octave);
    let tokens = moved.to_tokens(0);
    let span_end = last * bar_steps;
    // The sung bars' steps are sung; a kept note held on into a sung bar ends there, and a
    // kept bar after a sung one starts fresh (its hold would continue a note it never had).
    let given: Vec<Option<Token>> = (0..steps)
        .map(|i| {
            let token = tokens.get(i).copied().unwrap_or(Token::Rest);
            let bar = i / bar_steps;
            if is_sung(bar) {
                None
            } else if i % bar_steps == 0 && bar > 0 && is_sung(bar - 1) && token == Token::Hold {
                Some(Token::Rest)
            } else {
                Some(token)
            }
        })
        .collect();
    // The phrase (the model's window) the span starts in, encoded: the new bars' manner.
    let phrase_bars = generator.info().bars.max(1);
    let phrase = (first - 1) / phrase_bars * phrase_bars;
    let phrase_tokens: Vec<Token> = (0..phrase_bars * bar_steps)
        .map(|i| tokens.get(phrase * bar_steps + i).copied().unwrap_or(Token::Rest))
        .collect();
    let mu = generator.encode(&phrase_tokens)?.0;
    let mut best: Option<(f64, Melody)> = None;
    for k in 0..candidates.max(1) {
        let seed = options.seed.wrapping_mul(INFILL_CANDIDATES).wrapping_add(k);
        let z = around(&mu, 0.5, &mut Rng::new(seed ^ 0x1f11));
        let generate_options = GenerateOptions {
            bars,
            given: given.clone(),
            seed,
            temperature: options.temperature,
            latent: Some(z),
            shift: options.shift.clone(),
            meter,
            form: crate::sampling::generate::Form::Through,
            chords: options.chords.as_ref().map(|c| c.transposed(-(to_frame + octave))),
            ..GenerateOptions::default()
        };
        let (sung, score) = generate_scored(generator, &generate_options, span_end)?;
        if best.as_ref().is_none_or(|(b, _)| score > *b) {
            best = Some((score, sung));
        }
    }
    let (_, sung) = best.expect("at least one candidate");
    Ok(sung.transposed(-(to_frame + octave)))
}

/// Continuations sung for each [`continue_clip`]; the one that carries on most like the clip
/// is kept (on `valid`: 1, 4 and 8 candidates gave a mean distance of the new bars to the
/// tune's real ones of 0.529, 0.489 and 0.486 over 3 seeds, see `neume-train clips`).
pub const CONTINUATION_CANDIDATES: u64 = 8;

/// How unlike two passages are: half the L1 distance of their duration-weighted pitch-class
/// histograms (0..=1) plus their relative difference in note count (0..=1).
pub fn passage_distance(a: &Melody, b: &Melody) -> f64 {
    let histogram = |m: &Melody| {
        let p = crate::music::key_finding::profile(m);
        let total: f32 = p.iter().sum();
        p.map(|v| f64::from(v / total.max(1e-9)))
    };
    let (ha, hb) = (histogram(a), histogram(b));
    let l1: f64 = ha.iter().zip(&hb).map(|(x, y)| (x - y).abs()).sum();
    let (na, nb) = (a.notes.len() as f64, b.notes.len() as f64);
    l1 / 2.0 + (na - nb).abs() / na.max(nb).max(1.0)
}

/// A melody of `bars` bars that begins with `clip` exactly and goes on from it, and the latent
/// point it was sung from: the decoder
/// takes the clip's steps as its past (forced, not sampled) and samples the rest, from the
/// clip's latent point (the encoder's mean of the looped clip: on `valid`, continuations from
/// it were closer to the tune's real bars 3–4 than to another tune's for 75 % of the tunes,
/// from a prior draw 60 %; the best of 32 points by the decoder's likelihood of the clip, or
/// posterior draws, did no better than the mean). Of [`CONTINUATION_CANDIDATES`] continuations
/// the one whose first new bars are nearest the clip ([`passage_distance`]) is kept.
pub fn continue_clip(
    generator: &mut Generator,
    clip: &Clip,
    bars: usize,
    options: &ClipOptions,
) -> Result<(Melody, Vec<f32>), ModelError> {
    let z = clip.latent(generator)?;
    let given: Vec<Option<Token>> = clip.tokens().into_iter().map(Some).collect();
    let bars = bars.max(clip.bars);
    if bars == clip.bars {
        return sing(generator, clip, bars, z, given, options);
    }
    // Of several continuations, the one whose first new bars are nearest the clip in key
    // (pitch classes) and density.
    let clip_steps = clip.melody.len_steps;
    let source = clip.back(&clip.melody);
    let mut best: Option<(f64, (Melody, Vec<f32>))> = None;
    for k in 0..CONTINUATION_CANDIDATES {
        let seeded = ClipOptions {
            seed: options.seed.wrapping_mul(CONTINUATION_CANDIDATES).wrapping_add(k),
            ..options.clone()
        };
        let sung = sing(generator, clip, bars, z.clone(), given.clone(), &seeded)?;
        let d = passage_distance(&sung.0.window(clip_steps, clip_steps), &source);
        if best.as_ref().is_none_or(|(b, _)| d < *b) {
            best = Some((d, sung));
        }
    }
    Ok(best.map(|(_, sung)| sung).expect("at least one candidate"))
}

/// A melody of `bars` bars in the clip's meter from latent point `z`, with the `given` steps
/// fed as its past, moved back to the clip's key and register; with `z` moved by the knobs
/// (the point it was sung from).
fn sing(
    generator: &mut Generator,
    clip: &Clip,
    bars: usize,
    z: Vec<f32>,
    given: Vec<Option<Token>>,
    options: &ClipOptions,
) -> Result<(Melody, Vec<f32>), ModelError> {
    let point = match &options.shift {
        Some(shift) => z.iter().zip(shift).map(|(z, s)| z + s).collect(),
        None => z.clone(),
    };
    let melody = generate(
        generator,
        &GenerateOptions {
            bars,
            given,
            seed: options.seed,
            temperature: options.temperature,
            latent: Some(z),
            shift: options.shift.clone(),
            meter: clip.meter,
            // The melody is sung in the model's frame: the chords go there with it.
            chords: options.chords.as_ref().map(|c| c.transposed(-clip.to_clip)),
            ..GenerateOptions::default()
        },
    )?;
    Ok((clip.back(&melody), point))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Note;

    #[test]
    fn a_clip_moves_to_the_frame_and_back() {
        // Two bars of E minor (E F# G A B … E) starting after a quarter rest, in 3/4, high up.
        let pitches = [88, 90, 91, 93, 95, 91, 88, 95, 88];
        let notes = pitches
            .iter()
            .enumerate()
            .map(|(i, &pitch)| Note { pitch, start_step: 4 + 2 * i as u32, len_steps: 2 })
            .collect();
        let melody = Melody { notes, len_steps: 24 };
        let clip = Clip::new(&melody, Meter::ThreeFour).unwrap();
        assert_eq!((clip.bars, clip.key), (2, Key { tonic: 4, minor: true }));
        // In the frame the tonic is A, inside the model's range, and the rest is kept.
        let first = clip.melody.notes[0];
        assert_eq!((first.pitch % 12, first.start_step), (9, 4));
        assert!(clip.melody.notes.iter().all(|n| (48..=83).contains(&n.pitch)));
        assert_eq!(clip.back(&clip.melody), melody);
        assert_eq!(clip.tokens().len(), 24);
    }

    #[test]
    fn a_long_clip_is_cut_to_four_bars_and_an_empty_one_refused() {
        let notes = (0..40)
            .map(|i| Note { pitch: 60 + (i % 3) as u8 * 2, start_step: 4 * i, len_steps: 4 })
            .collect();
        let clip = Clip::new(&Melody { notes, len_steps: 160 }, Meter::FourFour).unwrap();
        assert_eq!((clip.bars, clip.melody.len_steps, clip.melody.notes.len()), (4, 64, 16));
        assert!(Clip::new(&Melody { notes: vec![], len_steps: 16 }, Meter::FourFour).is_err());
    }

    /// A file exported at its song position: notes in bars 5–6 only. The clip is those two
    /// bars (before: refused as "no notes"), and notes in bars 3–6 keep bars 3–6 (before: two
    /// empty bars and bars 3–4). The expectation is the notes as written, bar by bar.
    #[test]
    fn a_clip_starts_at_the_bar_of_its_first_note() {
        let bar = 16u32;
        let late: Vec<Note> = (0..8)
            .map(|i| Note {
                pitch: 72 + (i % 2) as u8 * 2,
                start_step: 4 * bar + 4 * i,
                len_steps: 4,
            })
            .collect();
        let clip = Clip::new(&Melody { notes: late.clone(), len_steps: 6 * bar }, Meter::FourFour)
            .unwrap();
        assert_eq!(clip.bars, 2);
        let back = clip.back(&clip.melody);
        let got: Vec<(u32, u8)> = back.notes.iter().map(|n| (n.start_step, n.pitch)).collect();
        let want: Vec<(u32, u8)> = late.iter().map(|n| (n.start_step - 4 * bar, n.pitch)).collect();
        assert_eq!(got, want);
        // Bars 3–6 (a note every bar): four bars, from bar 3.
        let spread: Vec<Note> =
            (2..6).map(|b| Note { pitch: 67, start_step: b * bar + 2, len_steps: 2 }).collect();
        let clip =
            Clip::new(&Melody { notes: spread, len_steps: 6 * bar }, Meter::FourFour).unwrap();
        assert_eq!(clip.bars, 4);
        let starts: Vec<u32> = clip.melody.notes.iter().map(|n| n.start_step).collect();
        assert_eq!(starts, vec![2, bar + 2, 2 * bar + 2, 3 * bar + 2]);
    }

    /// A take of 2 bars that ends in a rest stays 2 bars (before: 1).
    #[test]
    fn a_take_that_ends_in_a_rest_keeps_its_bars() {
        let notes = vec![
            Note { pitch: 64, start_step: 0, len_steps: 4 },
            Note { pitch: 67, start_step: 4, len_steps: 4 },
        ];
        let clip = Clip::new(&Melody { notes, len_steps: 32 }, Meter::FourFour).unwrap();
        assert_eq!(clip.bars, 2);
        assert_eq!(clip.melody.len_steps, 32);
    }

    #[test]
    fn around_keeps_the_point_at_zero_and_the_spread_at_one() {
        let mu = vec![2.0f32; 4000];
        assert_eq!(around(&mu, 0.0, &mut Rng::new(1)), mu);
        let far = around(&mu, 1.0, &mut Rng::new(1));
        let mean = far.iter().sum::<f32>() / far.len() as f32;
        let var = far.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / far.len() as f32;
        assert!(mean.abs() < 0.1 && (var - 1.0).abs() < 0.1, "{mean} {var}");
    }
}
