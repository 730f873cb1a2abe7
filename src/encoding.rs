//! The melody encoding: the one contract shared by the trainer and the plugin.
//!
//! A melody is a grid of 16th-note steps, `bars × STEPS_PER_BAR` long, with one token
//! per step: a rest, a hold (the sounding note goes on), or the onset of a pitch in the
//! fixed range `PITCH_LOW ..= PITCH_HIGH`. Every ONNX model carries
//! [`ENCODING_VERSION`] in its metadata and the runtime refuses any other version.
//!
//! Melodies are learned in a frame transposed to C major / A minor and re-centred by
//! octaves into the pitch range; the key is restored at generation time.

/// Version of this encoding. Bump it whenever anything below changes meaning.
///
/// 1: the token grid, read by an MLP decoder that emitted all steps at once.
/// 2: the same grid, plus the per-step decoder input of [`step_input`] (an autoregressive
///    decoder stepped by the runtime), in 4/4 only.
/// 3: every [`Meter`]: the step input carries the step in a bar of up to [`MAX_BAR_STEPS`]
///    and the meter; the encoder's window is padded to `bars × MAX_BAR_STEPS` steps.
pub const ENCODING_VERSION: u32 = 3;

/// The oldest version this runtime still plays (in 4/4 only).
pub const OLDEST_PLAYABLE_VERSION: u32 = 2;

/// Grid resolution: 16th notes, so a 4/4 bar has 16 steps (and a 6/8 bar 12).
pub const STEPS_PER_BAR: usize = 16;

/// Steps per quarter note.
pub const STEPS_PER_QUARTER: usize = 4;

/// Steps of the longest bar of any [`Meter`] (9/8).
pub const MAX_BAR_STEPS: usize = 18;

/// A meter the models of this encoding know. Bars always start on the grid's step 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Meter {
    /// 2/4: two quarter beats.
    TwoFour,
    /// 3/4: three quarter beats.
    ThreeFour,
    /// 4/4: four quarter beats.
    FourFour,
    /// 2/2: two half-note beats (reels, hornpipes, chorales in alla breve).
    TwoTwo,
    /// 6/8: two dotted-quarter beats (jigs).
    SixEight,
    /// 9/8: three dotted-quarter beats (slip jigs).
    NineEight,
}

/// Number of meters (the width of the step input's meter one-hot).
pub const METERS: usize = Meter::ALL.len();

impl Meter {
    /// Every meter, in the order of the step input's meter columns.
    pub const ALL: [Meter; 6] = [
        Meter::TwoFour,
        Meter::ThreeFour,
        Meter::FourFour,
        Meter::TwoTwo,
        Meter::SixEight,
        Meter::NineEight,
    ];

    /// Column of this meter in the step input's meter one-hot.
    pub fn index(self) -> usize {
        Meter::ALL.iter().position(|&m| m == self).unwrap_or(0)
    }

    /// Time signature `(numerator, denominator)`.
    pub fn signature(self) -> (u8, u8) {
        match self {
            Meter::TwoFour => (2, 4),
            Meter::ThreeFour => (3, 4),
            Meter::FourFour => (4, 4),
            Meter::TwoTwo => (2, 2),
            Meter::SixEight => (6, 8),
            Meter::NineEight => (9, 8),
        }
    }

    /// Steps (16ths) per bar.
    pub fn bar_steps(self) -> usize {
        let (numerator, denominator) = self.signature();
        usize::from(numerator) * STEPS_PER_BAR / usize::from(denominator)
    }

    /// Steps per beat: a quarter (x/4), a half (2/2) or a dotted quarter (6/8, 9/8).
    pub fn beat_steps(self) -> usize {
        match self {
            Meter::TwoTwo => 8,
            Meter::SixEight | Meter::NineEight => 6,
            Meter::TwoFour | Meter::ThreeFour | Meter::FourFour => 4,
        }
    }

    /// The pulses of the bar, coarsest first, as periods in steps: the bar, its beats, and
    /// their divisions down to the 16th. An onset's metrical level is the first pulse it is on.
    pub fn pulses(self) -> &'static [usize] {
        match self {
            Meter::TwoFour => &[8, 4, 2, 1],
            Meter::ThreeFour => &[12, 4, 2, 1],
            Meter::FourFour => &[16, 8, 4, 2, 1],
            Meter::TwoTwo => &[16, 8, 4, 2, 1],
            Meter::SixEight => &[12, 6, 2, 1],
            Meter::NineEight => &[18, 6, 2, 1],
        }
    }

    /// How weak the metrical position of bar step `step` is: 0 on the downbeat, 1 on the
    /// weakest 16th, in equal parts between.
    pub fn weakness(self, step: usize) -> f64 {
        let pulses = self.pulses();
        let level = pulses.iter().position(|&p| step % p == 0).unwrap_or(pulses.len() - 1);
        level as f64 / (pulses.len() - 1) as f64
    }

    /// The meter of a time signature, when it is one of these.
    pub fn from_signature(numerator: u8, denominator: u8) -> Option<Meter> {
        Meter::ALL.into_iter().find(|m| m.signature() == (numerator, denominator))
    }

    /// The meter Neume plays a host's time signature in, and how many of its bars make one
    /// of the host's: the meter itself; 12/8 as two bars of 6/8, 6/4 and 3/2 as two of 3/4,
    /// 4/2 as two of 4/4 (the bar lines stay the host's). `None`: not supported (5/4, 7/8 …).
    pub fn for_signature(numerator: u8, denominator: u8) -> Option<(Meter, usize)> {
        if let Some(meter) = Meter::from_signature(numerator, denominator) {
            return Some((meter, 1));
        }
        match (numerator, denominator) {
            (12, 8) => Some((Meter::SixEight, 2)),
            (6, 4) | (3, 2) => Some((Meter::ThreeFour, 2)),
            (4, 2) => Some((Meter::FourFour, 2)),
            _ => None,
        }
    }

    /// Reads `6/8`; other signatures get an error naming the meters there are.
    pub fn parse(text: &str) -> Result<Meter, String> {
        let supported = || Meter::ALL.map(|m| m.to_string()).join(", ");
        let (n, d) = text
            .trim()
            .split_once('/')
            .and_then(|(n, d)| Some((n.trim().parse::<u8>().ok()?, d.trim().parse::<u8>().ok()?)))
            .ok_or_else(|| format!("`{text}` is not a time signature like 6/8"))?;
        match Meter::for_signature(n, d) {
            Some((meter, 1)) => Ok(meter),
            Some((meter, k)) => Err(format!(
                "{n}/{d} is written as {k} bars of {meter} here: use --meter {meter} and twice the bars"
            )),
            None => Err(format!("{n}/{d} is not supported; the meters are {}", supported())),
        }
    }
}

impl std::fmt::Display for Meter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (n, d) = self.signature();
        write!(f, "{n}/{d}")
    }
}

/// Lowest pitch a token can carry (C3). The corpus, transposed to C/Am and re-centred
/// by octave, has 99.98% of its notes inside a three-octave window; this is that window.
pub const PITCH_LOW: u8 = 48;

/// Number of pitches in the range (three octaves, C3..=B5).
pub const PITCH_COUNT: usize = 36;

/// Highest pitch a token can carry (B5).
pub const PITCH_HIGH: u8 = PITCH_LOW + PITCH_COUNT as u8 - 1;

/// Index of the rest token.
pub const REST_INDEX: usize = 0;
/// Index of the hold token.
pub const HOLD_INDEX: usize = 1;
/// Index of the note-on token of `PITCH_LOW`; the others follow in pitch order.
pub const FIRST_NOTE_INDEX: usize = 2;

/// Size of the vocabulary: rest, hold and one note-on per pitch.
pub const VOCAB_SIZE: usize = FIRST_NOTE_INDEX + PITCH_COUNT;

/// Column of the start flag in a step input (set at step 0, where there is no previous token).
pub const START_INDEX: usize = VOCAB_SIZE;

/// Width of a decoder step input before the latent point: previous token (one-hot over the
/// vocabulary), start flag, step in the bar (one-hot over [`MAX_BAR_STEPS`]), bar in the
/// window (one-hot), meter (one-hot over [`Meter::ALL`]).
pub const fn step_features(bars: usize) -> usize {
    VOCAB_SIZE + 1 + MAX_BAR_STEPS + bars + METERS
}

/// Writes the decoder input of grid step `step` of a melody in `meter` into `row`
/// (`step_features(bars) + z.len()` wide): the previous token (`None` at step 0, or to hide
/// it), the start flag at step 0, the step inside its bar, the bar inside the model's window
/// (`bars` bars, counted modulo for longer melodies), the meter, then the latent point `z`.
///
/// This is the decoder's contract: the trainer builds the same rows for every step at once,
/// the runtime one step at a time.
pub fn step_input(
    row: &mut [f32],
    previous: Option<Token>,
    step: usize,
    bars: usize,
    meter: Meter,
    z: &[f32],
) {
    StepLayout { version: ENCODING_VERSION, bars }.write(row, previous, step, meter, z);
}

/// The step input of a model of some encoding version: what the runtime builds for the model
/// it has loaded (version 2 models knew 4/4 only, with a 16-step bar and no meter columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepLayout {
    /// The model's encoding version (2 or 3).
    pub version: u32,
    /// Bars of the model's window.
    pub bars: usize,
}

impl StepLayout {
    /// Columns before the latent point.
    pub fn features(&self) -> usize {
        if self.version == 2 {
            VOCAB_SIZE + 1 + STEPS_PER_BAR + self.bars
        } else {
            step_features(self.bars)
        }
    }

    /// See [`step_input`]. A version 2 layout ignores `meter` (its models are 4/4 only).
    pub fn write(
        &self,
        row: &mut [f32],
        previous: Option<Token>,
        step: usize,
        meter: Meter,
        z: &[f32],
    ) {
        let features = self.features();
        debug_assert_eq!(row.len(), features + z.len());
        let (bar_steps, bar_columns) = if self.version == 2 {
            (STEPS_PER_BAR, STEPS_PER_BAR)
        } else {
            (meter.bar_steps(), MAX_BAR_STEPS)
        };
        row.fill(0.0);
        if let Some(token) = previous {
            row[token.index()] = 1.0;
        }
        if step == 0 {
            row[START_INDEX] = 1.0;
        }
        row[START_INDEX + 1 + step % bar_steps] = 1.0;
        row[START_INDEX + 1 + bar_columns + (step / bar_steps) % self.bars.max(1)] = 1.0;
        if self.version != 2 {
            row[START_INDEX + 1 + bar_columns + self.bars + meter.index()] = 1.0;
        }
        row[features..].copy_from_slice(z);
    }
}

/// One step of the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Token {
    /// Silence.
    Rest,
    /// The note sounding at the previous step goes on (a rest if there is none).
    Hold,
    /// A new note of this MIDI pitch starts, ending the previous one.
    Note(u8),
}

impl Token {
    /// Index of this token in the vocabulary (the model's output channel).
    ///
    /// A pitch outside the range is folded into it by octaves first.
    pub fn index(self) -> usize {
        match self {
            Token::Rest => REST_INDEX,
            Token::Hold => HOLD_INDEX,
            Token::Note(pitch) => {
                FIRST_NOTE_INDEX + usize::from(fold_into_range(pitch) - PITCH_LOW)
            }
        }
    }

    /// The token of a vocabulary index, or `None` past the vocabulary.
    pub fn from_index(index: usize) -> Option<Token> {
        match index {
            REST_INDEX => Some(Token::Rest),
            HOLD_INDEX => Some(Token::Hold),
            i if i < VOCAB_SIZE => Some(Token::Note(PITCH_LOW + (i - FIRST_NOTE_INDEX) as u8)),
            _ => None,
        }
    }
}

/// Moves a pitch by octaves until it lies in `PITCH_LOW ..= PITCH_HIGH`.
pub fn fold_into_range(mut pitch: u8) -> u8 {
    while pitch < PITCH_LOW {
        pitch += 12;
    }
    while pitch > PITCH_HIGH {
        pitch -= 12;
    }
    pitch
}

/// A note on the 16th grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Note {
    /// MIDI pitch, 0..=127.
    pub pitch: u8,
    /// Onset, in 16th steps from the start of the melody.
    pub start_step: u32,
    /// Length in 16th steps, at least 1.
    pub len_steps: u32,
}

impl Note {
    /// The step just after the note ends.
    pub fn end_step(&self) -> u32 {
        self.start_step + self.len_steps
    }
}

/// A monophonic melody on the 16th grid.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Melody {
    /// Notes in onset order; they never overlap.
    pub notes: Vec<Note>,
    /// Length of the melody in steps (it may end with silence).
    pub len_steps: u32,
}

impl Melody {
    /// Decodes a token sequence. A hold with nothing sounding is read as a rest.
    pub fn from_tokens(tokens: &[Token]) -> Melody {
        let mut notes: Vec<Note> = Vec::new();
        let mut sounding = false;
        for (step, token) in tokens.iter().enumerate() {
            match token {
                Token::Rest => sounding = false,
                Token::Hold => {
                    if sounding {
                        // `sounding` is only true once a note was pushed.
                        notes.last_mut().expect("a sounding note").len_steps += 1;
                    }
                }
                Token::Note(pitch) => {
                    notes.push(Note { pitch: *pitch, start_step: step as u32, len_steps: 1 });
                    sounding = true;
                }
            }
        }
        Melody { notes, len_steps: tokens.len() as u32 }
    }

    /// Encodes the melody into `len_steps` tokens, moving every pitch by `transpose`
    /// semitones and folding it into the range. Later onsets cut earlier notes short;
    /// notes past `len_steps` are dropped.
    pub fn to_tokens(&self, transpose: i32) -> Vec<Token> {
        let len = self.len_steps as usize;
        let mut tokens = vec![Token::Rest; len];
        for note in &self.notes {
            let start = note.start_step as usize;
            if start >= len {
                continue;
            }
            let pitch = (i32::from(note.pitch) + transpose).clamp(0, 127) as u8;
            tokens[start] = Token::Note(fold_into_range(pitch));
            let end = (note.end_step() as usize).min(len);
            for token in &mut tokens[start + 1..end] {
                *token = Token::Hold;
            }
        }
        tokens
    }

    /// The notes sounding between `start_step` and `start_step + len_steps`, moved to start
    /// at 0 and cut at the window's end.
    pub fn window(&self, start_step: u32, len_steps: u32) -> Melody {
        let end = start_step.saturating_add(len_steps);
        let notes = self
            .notes
            .iter()
            .filter(|n| n.start_step >= start_step && n.start_step < end)
            .map(|n| Note {
                pitch: n.pitch,
                start_step: n.start_step - start_step,
                len_steps: n.end_step().min(end) - n.start_step,
            })
            .collect();
        Melody { notes, len_steps }
    }

    /// Moves every note by `semitones`, clamped to the MIDI range.
    pub fn transposed(&self, semitones: i32) -> Melody {
        let notes = self
            .notes
            .iter()
            .map(|n| Note { pitch: (i32::from(n.pitch) + semitones).clamp(0, 127) as u8, ..*n })
            .collect();
        Melody { notes, len_steps: self.len_steps }
    }
}

/// Octave shift (a multiple of 12) that puts most of `pitches` inside the token range,
/// preferring the shift that centres them.
pub fn centring_octave_shift(pitches: impl Iterator<Item = u8> + Clone) -> i32 {
    let centre = f64::from(PITCH_LOW) + PITCH_COUNT as f64 / 2.0;
    (-4..=4)
        .map(|k| k * 12)
        .max_by(|&a, &b| {
            let score = |shift: i32| {
                let (mut inside, mut sum, mut n) = (0usize, 0f64, 0usize);
                for p in pitches.clone() {
                    let q = i32::from(p) + shift;
                    inside +=
                        usize::from((i32::from(PITCH_LOW)..=i32::from(PITCH_HIGH)).contains(&q));
                    sum += f64::from(q);
                    n += 1;
                }
                let mean = if n == 0 { centre } else { sum / n as f64 };
                (inside, -(mean - centre).abs())
            };
            let (ia, da) = score(a);
            let (ib, db) = score(b);
            ia.cmp(&ib).then(da.total_cmp(&db))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_indices_round_trip() {
        for i in 0..VOCAB_SIZE {
            assert_eq!(Token::from_index(i).unwrap().index(), i);
        }
        assert_eq!(Token::from_index(VOCAB_SIZE), None);
        assert_eq!(Token::Note(PITCH_LOW).index(), FIRST_NOTE_INDEX);
        assert_eq!(Token::Note(PITCH_HIGH).index(), VOCAB_SIZE - 1);
        // Out of range pitches fold by octaves: C1 (24) becomes C3 (48).
        assert_eq!(Token::Note(24).index(), FIRST_NOTE_INDEX);
    }

    #[test]
    fn melody_tokens_round_trip() {
        // C4 quarter, rest 8th, E4 8th, G4 half (ends past the window: cut).
        let melody = Melody {
            notes: vec![
                Note { pitch: 60, start_step: 0, len_steps: 4 },
                Note { pitch: 64, start_step: 6, len_steps: 2 },
                Note { pitch: 67, start_step: 8, len_steps: 8 },
            ],
            len_steps: 16,
        };
        let tokens = melody.to_tokens(0);
        let hold = Token::Hold;
        let expected = [
            Token::Note(60),
            hold,
            hold,
            hold,
            Token::Rest,
            Token::Rest,
            Token::Note(64),
            hold,
            Token::Note(67),
            hold,
            hold,
            hold,
            hold,
            hold,
            hold,
            hold,
        ];
        assert_eq!(tokens, expected);
        assert_eq!(Melody::from_tokens(&tokens), melody);
    }

    #[test]
    fn hold_after_rest_is_silence_and_overlaps_are_cut() {
        let tokens = [Token::Hold, Token::Note(60), Token::Rest, Token::Hold];
        let melody = Melody::from_tokens(&tokens);
        assert_eq!(melody.notes, vec![Note { pitch: 60, start_step: 1, len_steps: 1 }]);

        let overlapping = Melody {
            notes: vec![
                Note { pitch: 60, start_step: 0, len_steps: 8 },
                Note { pitch: 62, start_step: 4, len_steps: 4 },
            ],
            len_steps: 8,
        };
        let decoded = Melody::from_tokens(&overlapping.to_tokens(0));
        assert_eq!(decoded.notes[0].len_steps, 4);
        assert_eq!(decoded.notes[1], Note { pitch: 62, start_step: 4, len_steps: 4 });
    }

    #[test]
    fn transposition_and_octave_centring() {
        let melody =
            Melody { notes: vec![Note { pitch: 90, start_step: 0, len_steps: 1 }], len_steps: 1 };
        // 90 + 2 = 92 (G#6) folds down one octave to 80 (G#5), the top of the range.
        assert_eq!(melody.to_tokens(2), vec![Token::Note(80)]);
        assert_eq!(centring_octave_shift([84u8, 88, 91].into_iter()), -24); // mean 63.7, near the centre 66
        assert_eq!(centring_octave_shift([60u8, 64, 67].into_iter()), 0);
    }

    #[test]
    fn step_input_layout() {
        // 2 bars, z of 3: 38 tokens + start + 18 bar positions + 2 bars + 6 meters + 3 = 68.
        let mut row = vec![9.0; step_features(2) + 3];
        assert_eq!(row.len(), 68);
        step_input(&mut row, None, 0, 2, Meter::FourFour, &[0.5, -1.0, 2.0]);
        let ones: Vec<usize> = (0..65).filter(|&i| row[i] == 1.0).collect();
        assert_eq!(ones, vec![38, 39, 57, 61]); // start, step 0 of the bar, bar 0, 4/4 (third)
        assert_eq!(&row[65..], &[0.5, -1.0, 2.0]);
        // Step 37 of a longer 4/4 melody: bar 2 of the melody is bar 0 of a 2-bar window, step 5.
        step_input(&mut row, Some(Token::Note(60)), 37, 2, Meter::FourFour, &[0.0; 3]);
        let ones: Vec<usize> = (0..65).filter(|&i| row[i] == 1.0).collect();
        assert_eq!(ones, vec![2 + 12, 39 + 5, 57, 61]);
        assert_eq!(row.iter().sum::<f32>(), 4.0);
        // Step 13 in 6/8 (12 steps a bar): step 1 of bar 1; 6/8 is the fifth meter.
        step_input(&mut row, Some(Token::Hold), 13, 2, Meter::SixEight, &[0.0; 3]);
        let ones: Vec<usize> = (0..65).filter(|&i| row[i] == 1.0).collect();
        assert_eq!(ones, vec![1, 39 + 1, 58, 63]);
        // A version 2 model's row: 16 bar positions, no meter: 38 + 1 + 16 + 2 = 57 columns.
        let old = StepLayout { version: 2, bars: 2 };
        let mut row = vec![9.0; old.features() + 3];
        assert_eq!(row.len(), 60);
        old.write(&mut row, None, 0, Meter::FourFour, &[0.5, -1.0, 2.0]);
        let ones: Vec<usize> = (0..57).filter(|&i| row[i] == 1.0).collect();
        assert_eq!(ones, vec![38, 39, 55]);
    }

    #[test]
    fn meters_and_their_bars() {
        let bars: Vec<usize> = Meter::ALL.iter().map(|m| m.bar_steps()).collect();
        assert_eq!(bars, vec![8, 12, 16, 16, 12, 18]);
        assert!(Meter::ALL.iter().all(|m| m.bar_steps() <= MAX_BAR_STEPS));
        assert_eq!(Meter::parse("6/8"), Ok(Meter::SixEight));
        assert_eq!(Meter::parse(" 3 / 4 "), Ok(Meter::ThreeFour));
        assert!(Meter::parse("5/4").unwrap_err().contains("not supported"));
        assert!(Meter::parse("12/8").unwrap_err().contains("2 bars of 6/8"));
        assert!(Meter::parse("waltz").is_err());
        assert_eq!(Meter::for_signature(12, 8), Some((Meter::SixEight, 2)));
        // 6/8: downbeat strongest, the second dotted quarter next, then 8ths, then 16ths.
        let w: Vec<f64> = [0, 6, 2, 1].iter().map(|&s| Meter::SixEight.weakness(s)).collect();
        assert_eq!(w, vec![0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
        assert_eq!(Meter::FourFour.weakness(8), 0.25);
    }

    #[test]
    fn window_cuts_notes_at_its_end() {
        let melody = Melody {
            notes: vec![
                Note { pitch: 60, start_step: 0, len_steps: 4 },
                Note { pitch: 62, start_step: 14, len_steps: 4 },
                Note { pitch: 64, start_step: 18, len_steps: 2 },
            ],
            len_steps: 20,
        };
        let w = melody.window(4, 12);
        assert_eq!(w.notes, vec![Note { pitch: 62, start_step: 10, len_steps: 2 }]);
    }
}
