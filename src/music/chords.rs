//! Chords and chord progressions on the song's bar grid: the one value every way a producer
//! gives chords ends in (typed `Am F C G`, a chord file, played notes). Names are read and
//! written here ([`Chord::parse`], [`Progression::parse`]), chords are named from notes
//! sounding together ([`name_chord`], [`Progression::from_notes`]), and a progression says
//! which pitch classes are chord tones at each step ([`Progression::tones_at`]). Any thread
//! but the audio thread (parsing allocates).

use std::fmt;

use crate::encoding::Meter;
use crate::music::key_finding::{best_key, Key};

/// Note names of the twelve pitch classes, as chord roots are written.
const ROOT_NAMES: [&str; 12] = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];

/// The accepted chord forms, for error messages.
pub const ACCEPTED_FORMS: &str = "a root C, C#, Db, D, … B (with # or b) and a quality: \
     (none) major, m, dim, aug, 7, maj7, m7, m7b5, dim7, sus2, sus4, optionally /bass \
     (e.g. Am, F#m7b5, Bbmaj7, C/E); N for no chord";

/// A chord's quality: its intervals above the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    Major,
    Minor,
    Diminished,
    Augmented,
    Dominant7,
    Major7,
    Minor7,
    HalfDiminished7,
    Diminished7,
    Sus2,
    Sus4,
}

impl Quality {
    /// Every quality, suffixes longest first where one is a prefix of another (`m7b5`
    /// before `m7` before `m`).
    pub const ALL: [Quality; 11] = [
        Quality::HalfDiminished7,
        Quality::Major7,
        Quality::Minor7,
        Quality::Diminished7,
        Quality::Diminished,
        Quality::Augmented,
        Quality::Sus2,
        Quality::Sus4,
        Quality::Dominant7,
        Quality::Minor,
        Quality::Major,
    ];

    /// Semitones above the root.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Quality::Major => &[0, 4, 7],
            Quality::Minor => &[0, 3, 7],
            Quality::Diminished => &[0, 3, 6],
            Quality::Augmented => &[0, 4, 8],
            Quality::Dominant7 => &[0, 4, 7, 10],
            Quality::Major7 => &[0, 4, 7, 11],
            Quality::Minor7 => &[0, 3, 7, 10],
            Quality::HalfDiminished7 => &[0, 3, 6, 10],
            Quality::Diminished7 => &[0, 3, 6, 9],
            Quality::Sus2 => &[0, 2, 7],
            Quality::Sus4 => &[0, 5, 7],
        }
    }

    /// How the quality is written after the root.
    pub fn suffix(self) -> &'static str {
        match self {
            Quality::Major => "",
            Quality::Minor => "m",
            Quality::Diminished => "dim",
            Quality::Augmented => "aug",
            Quality::Dominant7 => "7",
            Quality::Major7 => "maj7",
            Quality::Minor7 => "m7",
            Quality::HalfDiminished7 => "m7b5",
            Quality::Diminished7 => "dim7",
            Quality::Sus2 => "sus2",
            Quality::Sus4 => "sus4",
        }
    }
}

/// A chord: a root, a quality and, for display, a bass other than the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    /// Pitch class of the root, 0 = C.
    pub root: u8,
    pub quality: Quality,
    /// Pitch class of a slash bass (`C/E`), kept for display; it is a chord tone too.
    pub bass: Option<u8>,
}

/// Reads a note name (`C`, `F#`, `Bb`) at the start of `text`: its pitch class and its
/// length in bytes.
fn read_root(text: &str) -> Option<(u8, usize)> {
    let mut chars = text.char_indices();
    let (_, letter) = chars.next()?;
    let natural = match letter {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    match chars.next() {
        Some((i, c @ ('#' | '♯'))) => Some(((natural + 1) % 12, i + c.len_utf8())),
        Some((i, c @ ('b' | '♭'))) => Some(((natural + 11) % 12, i + c.len_utf8())),
        _ => Some((natural, 1)),
    }
}

impl Chord {
    /// Reads a chord name: `Am`, `F#m7b5`, `Bbmaj7`, `C/E`. `N` (no chord) is not a chord:
    /// see [`Progression::parse`].
    pub fn parse(name: &str) -> Result<Chord, String> {
        let bad = || format!("`{name}` is not a chord name; use {ACCEPTED_FORMS}");
        let (body, bass) = match name.split_once('/') {
            Some((body, bass)) => {
                let (pc, len) = read_root(bass).ok_or_else(bad)?;
                if len != bass.len() {
                    return Err(bad());
                }
                (body, Some(pc))
            }
            None => (name, None),
        };
        let (root, len) = read_root(body).ok_or_else(bad)?;
        let rest = &body[len..];
        let quality = Quality::ALL
            .into_iter()
            .find(|q| q.suffix() == rest)
            .or(match rest {
                "min" | "-" => Some(Quality::Minor),
                "maj" | "M" => Some(Quality::Major),
                "M7" | "Δ" | "Δ7" => Some(Quality::Major7),
                "°" | "o" => Some(Quality::Diminished),
                "°7" | "o7" => Some(Quality::Diminished7),
                "ø" | "ø7" | "min7b5" => Some(Quality::HalfDiminished7),
                "+" => Some(Quality::Augmented),
                "min7" | "-7" => Some(Quality::Minor7),
                "sus" => Some(Quality::Sus4),
                _ => None,
            })
            .ok_or_else(bad)?;
        Ok(Chord { root, quality, bass: bass.filter(|&b| b != root) })
    }

    /// The chord's pitch classes as a 12-bit mask (bit `pc` set), slash bass included.
    pub fn tones(&self) -> u16 {
        let mut mask = 0u16;
        for &i in self.quality.intervals() {
            mask |= 1 << ((self.root + i) % 12);
        }
        if let Some(b) = self.bass {
            mask |= 1 << (b % 12);
        }
        mask
    }

    /// Whether pitch class `pc` is one of the chord's tones.
    pub fn contains(&self, pc: u8) -> bool {
        self.tones() & (1 << (pc % 12)) != 0
    }

    /// The chord moved by `semitones`.
    pub fn transposed(&self, semitones: i32) -> Chord {
        let mv = |pc: u8| (i32::from(pc) + semitones).rem_euclid(12) as u8;
        Chord { root: mv(self.root), quality: self.quality, bass: self.bass.map(mv) }
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", ROOT_NAMES[usize::from(self.root % 12)], self.quality.suffix())?;
        if let Some(b) = self.bass {
            write!(f, "/{}", ROOT_NAMES[usize::from(b % 12)])?;
        }
        Ok(())
    }
}

/// The qualities in the order a tie is decided: the commoner first.
const NAMING_ORDER: [Quality; 11] = [
    Quality::Major,
    Quality::Minor,
    Quality::Dominant7,
    Quality::Minor7,
    Quality::Diminished,
    Quality::HalfDiminished7,
    Quality::Major7,
    Quality::Diminished7,
    Quality::Sus4,
    Quality::Sus2,
    Quality::Augmented,
];

// The naming's weights, chosen on the `train` chorales' harmony tracks against their labels
// (`neume-train chords --split train`; docs/evaluation.md, Chords).
/// Cost of weight outside a chord's tones, per unit of that weight.
const OUTSIDE_COST: f32 = 1.5;
/// Cost of each tone of the chord that does not sound, as a share of the total weight.
const MISSING_COST: f32 = 0.2;
/// Cost of a four-note quality (a seventh chord is named only when its seventh is heard).
const SEVENTH_COST: f32 = 0.2;
/// Gain of a chord whose root is the lowest sounding note.
const BASS_ROOT_GAIN: f32 = 0.15;
/// Extra weight of a note sounding as the beat starts, in beats (what moves inside a beat
/// passes).
const ONSET_WEIGHT: f32 = 2.0;

/// Names the chord of pitch-class weights `weights` (how long or how loud each sounds) with
/// `bass` the lowest sounding pitch class: the template (root × quality) that covers the
/// most weight, with a cost for tones it lacks and a preference for the bass as root. `None`
/// when fewer than two pitch classes sound.
pub fn name_chord(weights: &[f32; 12], bass: Option<u8>) -> Option<Chord> {
    let total: f32 = weights.iter().sum();
    if weights.iter().filter(|&&w| w > 0.0).count() < 2 || total <= 0.0 {
        return None;
    }
    let mut best: Option<(f32, Chord)> = None;
    for root in 0..12u8 {
        for quality in NAMING_ORDER {
            let chord = Chord { root, quality, bass: None };
            let tones = chord.tones();
            let mut inside = 0.0;
            let mut missing = 0usize;
            for pc in 0..12u8 {
                let w = weights[usize::from(pc)];
                if tones & (1 << pc) != 0 {
                    inside += w;
                    if w <= 0.0 {
                        missing += 1;
                    }
                }
            }
            let outside = total - inside;
            // Missing tones cost (a triad whose fifth is left out is still that triad, a
            // seventh chord whose seventh is not there is not); sevenths and suspensions are
            // chosen only when their tones are heard.
            let mut score = inside - OUTSIDE_COST * outside - MISSING_COST * total * missing as f32;
            if quality.intervals().len() == 4 {
                score -= SEVENTH_COST * total;
            }
            if matches!(quality, Quality::Sus2 | Quality::Sus4 | Quality::Augmented) {
                score -= 0.1 * total;
            }
            if bass == Some(root) {
                score += BASS_ROOT_GAIN * total;
            }
            if best.is_none_or(|(s, _)| score > s + 1e-6) {
                best = Some((score, chord));
            }
        }
    }
    let (_, mut chord) = best?;
    chord.bass = bass.filter(|&b| b != chord.root && chord.contains(b));
    Some(chord)
}

/// One chord of a progression, or none (`N`), over a span of steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChordSpan {
    /// First step (16th) of the span, from the progression's start.
    pub start_step: u32,
    /// Its length in steps (at least a beat).
    pub len_steps: u32,
    /// The chord; `None`: no chord.
    pub chord: Option<Chord>,
}

/// A chord progression on the song's bar grid, a chord a beat at the finest. It repeats when
/// the melody is longer and is cut when shorter ([`Progression::at`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progression {
    /// The chords in order, without gaps, from step 0.
    pub spans: Vec<ChordSpan>,
    /// Its length in steps: a whole number of bars.
    pub len_steps: u32,
    /// The meter it is laid out in.
    pub meter: Meter,
}

/// The longest progression, in bars (a melody is at most 16).
pub const MAX_PROGRESSION_BARS: u32 = 16;

impl Progression {
    /// Reads `Am F C G` (a chord a bar) or `Am:2 F:2 C G` (a length in beats after a colon;
    /// a beat is the meter's: a quarter in x/4, a half in 2/2, a dotted quarter in 6/8 and
    /// 9/8), `N` for no chord. The whole must be a whole number of bars, at most
    /// [`MAX_PROGRESSION_BARS`].
    pub fn parse(text: &str, meter: Meter) -> Result<Progression, String> {
        let bar = meter.bar_steps() as u32;
        let beat = meter.beat_steps() as u32;
        let mut spans = Vec::new();
        let mut at = 0u32;
        for word in text.split(|c: char| c.is_whitespace() || c == ',' || c == '|') {
            if word.is_empty() {
                continue;
            }
            let (name, len_steps) = match word.split_once(':') {
                Some((name, beats)) => {
                    let beats: u32 = beats.parse().ok().filter(|&b| (1..=64).contains(&b)).ok_or_else(
                        || format!("`{word}`: the length after the colon is a number of beats, 1 to 64"),
                    )?;
                    (name, beats * beat)
                }
                None => (word, bar),
            };
            let chord = if name == "N" || name == "N.C." || name == "NC" {
                None
            } else {
                Some(Chord::parse(name)?)
            };
            spans.push(ChordSpan { start_step: at, len_steps, chord });
            at += len_steps;
            if at > MAX_PROGRESSION_BARS * bar {
                return Err(format!(
                    "the progression is longer than {MAX_PROGRESSION_BARS} bars of {meter}"
                ));
            }
        }
        if spans.is_empty() {
            return Err(format!("no chords in `{text}`; use {ACCEPTED_FORMS}"));
        }
        if at % bar != 0 {
            let beats = at / beat;
            let bar_beats = bar / beat;
            return Err(format!(
                "the progression is {beats} beats long, not a whole number of {meter} bars \
                 ({bar_beats} beats each): add {} beat(s) or take {} away",
                bar_beats - beats % bar_beats,
                beats % bar_beats
            ));
        }
        Ok(Progression { spans, len_steps: at, meter })
    }

    /// The chord at `step` of a melody, the progression repeating.
    pub fn at(&self, step: u32) -> Option<Chord> {
        if self.len_steps == 0 {
            return None;
        }
        let step = step % self.len_steps;
        self.spans
            .iter()
            .find(|s| step >= s.start_step && step < s.start_step + s.len_steps)
            .and_then(|s| s.chord)
    }

    /// The chord tones at `step` as a 12-bit pitch-class mask (0: no chord).
    pub fn tones_at(&self, step: u32) -> u16 {
        self.at(step).map_or(0, |c| c.tones())
    }

    /// Its bars.
    pub fn bars(&self) -> u32 {
        self.len_steps / self.meter.bar_steps() as u32
    }

    /// The progression moved by `semitones`.
    pub fn transposed(&self, semitones: i32) -> Progression {
        Progression {
            spans: self
                .spans
                .iter()
                .map(|s| ChordSpan { chord: s.chord.map(|c| c.transposed(semitones)), ..*s })
                .collect(),
            ..self.clone()
        }
    }

    /// The progression as `parse` reads it: `Am F C:2 G:2`.
    pub fn to_text(&self) -> String {
        let bar = self.meter.bar_steps() as u32;
        let beat = self.meter.beat_steps() as u32;
        self.spans
            .iter()
            .map(|s| {
                let name = s.chord.map_or("N".to_string(), |c| c.to_string());
                if s.len_steps == bar {
                    name
                } else {
                    format!("{name}:{}", s.len_steps.div_ceil(beat))
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The key the chords are in: their tones weighted by duration, through the key
    /// profiles; `None` without chords.
    pub fn key(&self) -> Option<Key> {
        let mut profile = [0f32; 12];
        for span in &self.spans {
            if let Some(chord) = span.chord {
                for pc in 0..12u8 {
                    if chord.contains(pc) {
                        // The root counts twice: a progression is heard from its roots.
                        let weight = if pc == chord.root { 2.0 } else { 1.0 };
                        profile[usize::from(pc)] += weight * span.len_steps as f32;
                    }
                }
            }
        }
        best_key(&profile)
    }

    /// Names the chords of notes sounding together, `(start step, end step, pitch)`, a
    /// chord a beat (each beat named from what sounds in it, weighted by time), equal
    /// neighbours merged, over `bars` bars of `meter` (at most [`MAX_PROGRESSION_BARS`]).
    pub fn from_notes(notes: &[(u32, u32, u8)], meter: Meter, bars: u32) -> Progression {
        let bar = meter.bar_steps() as u32;
        let beat = meter.beat_steps() as u32;
        let bars = bars.clamp(1, MAX_PROGRESSION_BARS);
        let mut spans: Vec<ChordSpan> = Vec::new();
        for b in 0..bars * bar / beat {
            let (from, to) = (b * beat, (b + 1) * beat);
            let mut weights = [0f32; 12];
            let mut low: Option<u8> = None;
            for &(start, end, pitch) in notes {
                let overlap = end.min(to).saturating_sub(start.max(from));
                if overlap > 0 {
                    // What sounds as the beat starts is the chord; what moves inside it
                    // passes.
                    let onset = if start <= from { ONSET_WEIGHT * beat as f32 } else { 0.0 };
                    weights[usize::from(pitch % 12)] += overlap as f32 + onset;
                    if start <= from || overlap * 2 >= beat {
                        low = Some(low.map_or(pitch, |l| l.min(pitch)));
                    }
                }
            }
            let chord = name_chord(&weights, low.map(|p| p % 12));
            match spans.last_mut() {
                Some(last) if last.chord == chord => last.len_steps += beat,
                _ => spans.push(ChordSpan { start_step: from, len_steps: beat, chord }),
            }
        }
        Progression { spans, len_steps: bars * bar, meter }
    }

    /// The progression as notes to write beside a melody: each chord's tones in close
    /// position from its root between C3 and B4 (a slash bass an octave below), `(start
    /// step, length in steps, pitch)`, over `len_steps` steps (repeating or cut).
    pub fn voicing(&self, len_steps: u32) -> Vec<(u32, u32, u8)> {
        let mut out = Vec::new();
        if self.len_steps == 0 {
            return out;
        }
        let mut offset = 0;
        while offset < len_steps {
            for span in &self.spans {
                let start = offset + span.start_step;
                if start >= len_steps {
                    break;
                }
                let len = span.len_steps.min(len_steps - start);
                if let Some(chord) = span.chord {
                    let root = 48 + chord.root;
                    for &i in chord.quality.intervals() {
                        out.push((start, len, root + i));
                    }
                    if let Some(b) = chord.bass {
                        out.push((start, len, 36 + b));
                    }
                }
            }
            offset += self.len_steps;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chord_names_are_read_and_written() {
        let cases = [
            ("C", 0, Quality::Major, [0, 4, 7].as_slice()),
            ("Am", 9, Quality::Minor, &[9, 0, 4]),
            ("F#m7b5", 6, Quality::HalfDiminished7, &[6, 9, 0, 4]),
            ("Bbmaj7", 10, Quality::Major7, &[10, 2, 5, 9]),
            ("G7", 7, Quality::Dominant7, &[7, 11, 2, 5]),
            ("Ebdim7", 3, Quality::Diminished7, &[3, 6, 9, 0]),
            ("Dsus4", 2, Quality::Sus4, &[2, 7, 9]),
            ("Esus2", 4, Quality::Sus2, &[4, 6, 11]),
            ("Caug", 0, Quality::Augmented, &[0, 4, 8]),
            ("Bdim", 11, Quality::Diminished, &[11, 2, 5]),
            ("Dbm7", 1, Quality::Minor7, &[1, 4, 8, 11]),
        ];
        for (name, root, quality, tones) in cases {
            let chord = Chord::parse(name).unwrap();
            assert_eq!((chord.root, chord.quality), (root, quality), "{name}");
            let mut want: Vec<u8> = tones.to_vec();
            want.sort();
            let got: Vec<u8> = (0..12).filter(|&pc| chord.contains(pc)).collect();
            assert_eq!(got, want, "{name}");
            // Written back in Neume's spelling (flats but F#, C#).
            assert_eq!(Chord::parse(&chord.to_string()).unwrap(), chord);
        }
        let slash = Chord::parse("C/E").unwrap();
        assert_eq!((slash.root, slash.bass, slash.to_string()), (0, Some(4), "C/E".to_string()));
        for bad in ["H", "Cm9", "am", "C#x", "", "C/Q", "7"] {
            let err = Chord::parse(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")) && err.contains("m7b5"), "{err}");
        }
    }

    #[test]
    fn progressions_are_laid_on_the_bar_grid() {
        let p = Progression::parse("Am F C G", Meter::FourFour).unwrap();
        assert_eq!(p.len_steps, 64);
        assert_eq!(p.at(0).unwrap().to_string(), "Am");
        assert_eq!(p.at(16).unwrap().to_string(), "F");
        assert_eq!(p.at(63).unwrap().to_string(), "G");
        assert_eq!(p.at(64).unwrap().to_string(), "Am", "it repeats");
        let p = Progression::parse("Am:2 F:2 C G N", Meter::FourFour).unwrap();
        assert_eq!(p.len_steps, 64);
        assert_eq!(p.at(8).unwrap().to_string(), "F");
        assert_eq!(p.at(16).unwrap().to_string(), "C");
        assert_eq!(p.at(32).unwrap().to_string(), "G");
        assert_eq!(p.at(48), None);
        assert_eq!(p.to_text(), "Am:2 F:2 C G N");
        // 6/8: a beat is a dotted quarter, two a bar.
        let p = Progression::parse("D:1 A:1 Bm", Meter::SixEight).unwrap();
        assert_eq!((p.len_steps, p.at(6).unwrap().to_string()), (24, "A".to_string()));
        let err = Progression::parse("Am:3 F", Meter::FourFour).unwrap_err();
        assert!(err.contains("7 beats") && err.contains("4/4"), "{err}");
        let err = Progression::parse("Am Xq", Meter::FourFour).unwrap_err();
        assert!(err.contains("`Xq`"), "{err}");
        assert!(Progression::parse("  ", Meter::FourFour).is_err());
        assert!(Progression::parse(&"C ".repeat(17), Meter::FourFour).is_err());
    }

    #[test]
    fn chords_are_named_from_the_notes_that_sound() {
        let name = |pitches: &[u8]| {
            let mut w = [0f32; 12];
            for &p in pitches {
                w[usize::from(p % 12)] += 1.0;
            }
            name_chord(&w, pitches.iter().min().map(|p| p % 12)).map(|c| c.to_string())
        };
        assert_eq!(name(&[57, 60, 64]).as_deref(), Some("Am"));
        assert_eq!(name(&[48, 52, 55, 60]).as_deref(), Some("C"));
        assert_eq!(name(&[43, 59, 62, 65]).as_deref(), Some("G7"));
        assert_eq!(name(&[52, 60, 67]).as_deref(), Some("C/E"));
        assert_eq!(name(&[50, 65, 69, 72]).as_deref(), Some("Dm7"));
        assert_eq!(name(&[47, 62, 65]).as_deref(), Some("Bdim"));
        assert_eq!(name(&[60]), None, "one pitch class is no chord");
        // A beat of two chords: the one sounding longer names it.
        let notes = [(0, 4, 57), (0, 4, 60), (0, 4, 64), (16, 32, 53), (16, 32, 57), (16, 32, 60)];
        let p = Progression::from_notes(&notes, Meter::FourFour, 2);
        assert_eq!(p.to_text(), "Am:1 N:3 F");
    }

    #[test]
    fn a_progression_gives_its_key() {
        let key = |text: &str| Progression::parse(text, Meter::FourFour).unwrap().key();
        assert_eq!(key("C G Am F"), Some(Key { tonic: 0, minor: false }));
        assert_eq!(key("Am Dm E Am"), Some(Key { tonic: 9, minor: true }));
        assert_eq!(key("D A Bm G"), Some(Key { tonic: 2, minor: false }));
    }
}
