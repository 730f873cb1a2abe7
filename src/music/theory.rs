//! Music theory shared by the plugin, the CLI and the files they write: scales for key lock
//! (in the model's C major / A minor frame), key names, transpositions, and key signatures.

#[cfg(feature = "plugin")]
use nice_plug::prelude::Enum;

use crate::encoding::Melody;

/// Key names by pitch class, 0 = C (the plugin's Key parameter, the editor).
pub const KEY_NAMES: [&str; 12] = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

/// The name of pitch class `pc` (taken modulo 12).
pub fn key_name(pc: u8) -> &'static str {
    KEY_NAMES[usize::from(pc % 12)]
}

/// The note time (in steps) of `melody`, moved by `semitones`, that falls on the white keys:
/// the model's C major / A minor frame. The move that maximises it puts a melody in the frame.
pub fn white_key_time(melody: &Melody, semitones: i32) -> u32 {
    const WHITE: [bool; 12] =
        [true, false, true, false, true, true, false, true, false, true, false, true];
    let white = |pitch: u8| WHITE[(i32::from(pitch) + semitones).rem_euclid(12) as usize];
    melody.notes.iter().filter(|n| white(n.pitch)).map(|n| n.len_steps).sum()
}

/// Maps a transposition to the nearest equivalent in -5..=6 semitones.
pub fn wrap_semitones(semitones: i32) -> i32 {
    let s = semitones.rem_euclid(12);
    if s > 6 {
        s - 12
    } else {
        s
    }
}

/// Key signature: sharps (positive) or flats (negative), and whether it is minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeySignature {
    /// -7..=7.
    pub sharps: i8,
    /// True for a minor key.
    pub minor: bool,
}

impl KeySignature {
    /// Semitones to add to move this key to C major / A minor (in -5..=6).
    pub fn transpose_to_c(&self) -> i32 {
        // The major tonic of `sharps` sharps lies 7 semitones (a fifth) per sharp above C.
        let tonic = (i32::from(self.sharps) * 7).rem_euclid(12);
        wrap_semitones(-tonic)
    }
}

/// Scales for key lock: the one list the CLI (`--scale`), the plugin's Scale parameter and the
/// editor use. The model learns in C major / A minor; each scale names the tonic of its mode
/// inside that frame, so the model's diatonic output lands in the right mode.
///
/// The order and the `id`s are the plugin parameter's (saved in projects and automation):
/// never reorder; add new scales at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[cfg_attr(feature = "plugin", derive(Enum))]
pub enum Scale {
    /// Ionian.
    #[cfg_attr(feature = "plugin", id = "major")]
    Major,
    /// Natural minor (aeolian).
    #[cfg_attr(feature = "plugin", id = "minor")]
    Minor,
    /// Dorian.
    #[cfg_attr(feature = "plugin", id = "dorian")]
    Dorian,
    /// Mixolydian.
    #[cfg_attr(feature = "plugin", id = "mixolydian")]
    Mixolydian,
    /// Harmonic minor.
    #[cfg_attr(feature = "plugin", id = "harmonic-minor", name = "Harmonic minor")]
    HarmonicMinor,
    /// Major pentatonic.
    #[cfg_attr(feature = "plugin", id = "major-pentatonic", name = "Major pentatonic")]
    MajorPentatonic,
    /// Minor pentatonic.
    #[cfg_attr(feature = "plugin", id = "minor-pentatonic", name = "Minor pentatonic")]
    MinorPentatonic,
    /// Phrygian.
    #[cfg_attr(feature = "plugin", id = "phrygian")]
    Phrygian,
    /// Lydian.
    #[cfg_attr(feature = "plugin", id = "lydian")]
    Lydian,
    /// No lock: all twelve pitch classes.
    #[cfg_attr(feature = "plugin", id = "chromatic", name = "Chromatic (off)")]
    Chromatic,
    /// Locrian.
    #[cfg_attr(feature = "plugin", id = "locrian")]
    Locrian,
}

impl Scale {
    /// Pitch classes relative to the tonic.
    pub fn intervals(self) -> &'static [u8] {
        match self {
            Scale::Major => &[0, 2, 4, 5, 7, 9, 11],
            Scale::Minor => &[0, 2, 3, 5, 7, 8, 10],
            Scale::HarmonicMinor => &[0, 2, 3, 5, 7, 8, 11],
            Scale::Dorian => &[0, 2, 3, 5, 7, 9, 10],
            Scale::Phrygian => &[0, 1, 3, 5, 7, 8, 10],
            Scale::Lydian => &[0, 2, 4, 6, 7, 9, 11],
            Scale::Mixolydian => &[0, 2, 4, 5, 7, 9, 10],
            Scale::Locrian => &[0, 1, 3, 5, 6, 8, 10],
            Scale::MajorPentatonic => &[0, 2, 4, 7, 9],
            Scale::MinorPentatonic => &[0, 3, 5, 7, 10],
            Scale::Chromatic => &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
        }
    }

    /// Where this mode's tonic lies in the model's C major / A minor frame.
    pub fn frame_tonic(self) -> u8 {
        match self {
            Scale::Major | Scale::MajorPentatonic | Scale::Chromatic => 0,
            Scale::Minor | Scale::HarmonicMinor | Scale::MinorPentatonic => 9,
            Scale::Dorian => 2,
            Scale::Phrygian => 4,
            Scale::Lydian => 5,
            Scale::Mixolydian => 7,
            Scale::Locrian => 11,
        }
    }

    /// Whether pitch class `pc` belongs to this scale on `root`.
    pub fn contains(self, root: u8, pc: u8) -> bool {
        self.intervals().contains(&((pc + 12 - root % 12) % 12))
    }
}

/// Parses a key name: C, C#, Db, … B (case-insensitive).
pub fn parse_key(name: &str) -> Option<u8> {
    let lower = name.trim().to_ascii_lowercase();
    let mut chars = lower.chars();
    let base = match chars.next()? {
        'c' => 0,
        'd' => 2,
        'e' => 4,
        'f' => 5,
        'g' => 7,
        'a' => 9,
        'b' => 11,
        _ => return None,
    };
    let shift: i32 = match chars.as_str() {
        "" => 0,
        "#" | "s" | "sharp" => 1,
        "b" | "f" | "flat" => -1,
        _ => return None,
    };
    Some((base + shift).rem_euclid(12) as u8)
}

/// The key signature of `scale` on tonic `root` (pitch class, 0 = C): a mode has the
/// signature of its relative major (D dorian: none; G mixolydian: none; E phrygian: none),
/// minor modes are marked minor. `None` for the chromatic scale, which has no key.
pub fn key_signature(root: u8, scale: Scale) -> Option<KeySignature> {
    if scale == Scale::Chromatic {
        return None;
    }
    // The relative major's tonic lies `frame_tonic` below this mode's tonic.
    let major = (i32::from(root % 12) - i32::from(scale.frame_tonic())).rem_euclid(12);
    // A fifth (7 semitones) per sharp, and 7 is its own inverse modulo 12; six sharps rather
    // than six flats for F#/Gb major.
    let sharps = (major * 7).rem_euclid(12);
    let sharps = if sharps > 6 { sharps - 12 } else { sharps };
    Some(KeySignature { sharps: sharps as i8, minor: scale.frame_tonic() == 9 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_take_their_relative_majors_signature() {
        // (root, scale, sharps, minor), from a table of key signatures, not from the code.
        let cases = [
            (0, Scale::Major, 0, false),
            (7, Scale::Major, 1, false),
            (5, Scale::Major, -1, false),
            (9, Scale::Minor, 0, true),
            (2, Scale::Minor, -1, true),
            (2, Scale::Dorian, 0, false),
            (7, Scale::Mixolydian, 0, false),
            (4, Scale::Phrygian, 0, false),
            (5, Scale::Lydian, 0, false),
            (9, Scale::Dorian, 1, false),
            (2, Scale::Mixolydian, 1, false),
            (4, Scale::HarmonicMinor, 1, true),
            (11, Scale::Major, 5, false),
            (3, Scale::Major, -3, false),
            (6, Scale::Major, 6, false),
            (1, Scale::Minor, 4, true),
        ];
        for (root, scale, sharps, minor) in cases {
            assert_eq!(
                key_signature(root, scale),
                Some(KeySignature { sharps, minor }),
                "{root} {scale:?}"
            );
        }
        assert_eq!(key_signature(0, Scale::Chromatic), None);
        assert_eq!(
            key_signature(11, Scale::Locrian),
            Some(KeySignature { sharps: 0, minor: false })
        );
    }

    #[test]
    fn key_signatures_move_back_to_c() {
        for root in 0..12 {
            let major = key_signature(root, Scale::Major).unwrap();
            assert_eq!(major.transpose_to_c(), wrap_semitones(-i32::from(root)));
            let minor = key_signature(root, Scale::Minor).unwrap();
            // A minor key moves to A minor: its relative major to C.
            assert_eq!(minor.transpose_to_c(), wrap_semitones(9 - i32::from(root)));
        }
        // G major moves up a fourth to C; C minor moves down a minor third to A minor.
        assert_eq!(KeySignature { sharps: 1, minor: false }.transpose_to_c(), 5);
        assert_eq!(KeySignature { sharps: -3, minor: true }.transpose_to_c(), -3);
    }
}
