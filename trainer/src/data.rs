//! Reading a folder of MIDI files into training windows on the token grid.

use std::path::{Path, PathBuf};

use burn::prelude::*;

use neume::encoding::{
    centring_octave_shift, Melody, Meter, Token, PITCH_HIGH, PITCH_LOW, VOCAB_SIZE,
};
use neume::music::midi::{self, MidiMelody};
use neume::music::theory::{white_key_time, wrap_semitones};
use neume::rng::Rng;

/// A tune read from disk, moved into the C major / A minor frame.
#[derive(Clone, Debug)]
pub struct Tune {
    /// Where it came from.
    pub path: PathBuf,
    /// Notes in the frame (transposed, octave not yet centred).
    pub melody: Melody,
    /// Length of one of the tune's own bars, in steps (windows start on its bar lines).
    pub bar_steps: u32,
    /// The meter its windows are learned in (12/8 tunes as 6/8, 6/4 as 3/4 …: see
    /// [`Meter::for_signature`]).
    pub meter: Meter,
    /// Whether its key signature says minor (tonic A in the frame) or major (C); `None`
    /// when the file has no key signature.
    pub minor: Option<bool>,
}

/// What loading a folder found.
pub struct Corpus {
    /// Tunes that could be used.
    pub tunes: Vec<Tune>,
    /// `path: reason` for each file skipped.
    pub skipped: Vec<String>,
}

/// All `.mid`/`.midi` files under `dir`, recursively, in sorted order. Linked folders are
/// followed, but each real folder (and file) is read once: a collection linked twice is not
/// read twice, and a link loop ends. Whether a listed path is a regular file is checked when
/// it is read (`midi::read_file`).
pub fn midi_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut seen_dirs = std::collections::HashSet::new();
    let mut seen_files = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        // The first folder must be readable; below it, a folder that vanished or cannot be
        // resolved is left out.
        let real = match std::fs::canonicalize(&d) {
            Ok(real) => real,
            Err(e) if d == dir => return Err(e),
            Err(_) => continue,
        };
        if !seen_dirs.insert(real) {
            continue;
        }
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(&d)?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
            {
                if seen_files.insert(std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone()))
                {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Semitones that move a melody to the C major / A minor frame: from its key signature if
/// it has one, else the shift that puts the most note time on the white keys.
pub fn frame_transpose(midi: &MidiMelody) -> i32 {
    if let Some(key) = midi.key {
        return key.transpose_to_c();
    }
    estimate_frame_transpose(&midi.melody)
}

/// The transposition (in -5..=6) that puts the most note time into the C major scale.
pub fn estimate_frame_transpose(melody: &Melody) -> i32 {
    (0..12)
        .map(wrap_semitones)
        // Prefer the smallest move on ties.
        .max_by_key(|&t| (white_key_time(melody, t), -t.abs()))
        .unwrap_or(0)
}

/// Which tunes of a folder to use.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Selection {
    /// Subfolder names (collections) to leave out, e.g. `essen`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Only tunes in duple meter (2/4, 4/4, 2/2): how model v2 was trained.
    #[serde(default)]
    pub duple_only: bool,
    /// Only tunes in these meters (`6/8` …); empty: every meter Neume knows.
    #[serde(default)]
    pub meters: Vec<String>,
}

impl Selection {
    /// Whether tunes in `meter` are kept.
    pub fn keeps(&self, meter: Meter) -> bool {
        let duple = [Meter::TwoFour, Meter::FourFour, Meter::TwoTwo];
        (!self.duple_only || duple.contains(&meter))
            && (self.meters.is_empty()
                || self.meters.iter().any(|m| Meter::parse(m).is_ok_and(|m| m == meter)))
    }

    /// Checks the meters named: each one Neume knows.
    pub fn check(&self) -> Result<(), String> {
        self.meters.iter().try_for_each(|m| Meter::parse(m).map(|_| ()))
    }

    /// Whether a file (below `root`) is in an excluded collection.
    fn excludes(&self, root: &Path, path: &Path) -> bool {
        let relative = path.strip_prefix(root).unwrap_or(path);
        relative.components().any(|c| self.exclude.iter().any(|e| c.as_os_str() == e.as_str()))
    }
}

/// The collections (first-level subfolders) of `dir` a selection keeps, sorted.
pub fn collections(dir: &Path, selection: &Selection) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !selection.exclude.contains(n))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The licence of a set of the corpus's collections: Essen's encodings are licensed for
/// non-commercial use only; the others are public-domain music (see the corpus README).
pub fn licence_of(collections: &[String]) -> &'static str {
    if collections.iter().any(|c| c == "essen") {
        "non-commercial"
    } else {
        "public-domain"
    }
}

/// Reads every MIDI file under `dir`. Unreadable files are skipped with one warning line
/// each on stderr (when `warn`) and listed in [`Corpus::skipped`].
pub fn load_folder(dir: &Path, warn: bool) -> std::io::Result<Corpus> {
    load_selection(dir, &Selection::default(), warn)
}

/// Reads the MIDI files under `dir` that `selection` keeps (see [`load_folder`]).
pub fn load_selection(dir: &Path, selection: &Selection, warn: bool) -> std::io::Result<Corpus> {
    let mut tunes = Vec::new();
    let mut skipped = Vec::new();
    for path in midi_files(dir)?.into_iter().filter(|p| !selection.excludes(dir, p)) {
        match midi::read_file(&path) {
            Ok(midi) => {
                let signature = midi.time_signature;
                let Some((meter, _)) =
                    Meter::for_signature(signature.numerator, signature.denominator)
                else {
                    skipped.push(format!(
                        "{}: meter {}/{} is not one Neume learns",
                        path.display(),
                        signature.numerator,
                        signature.denominator
                    ));
                    continue;
                };
                if !selection.keeps(meter) {
                    continue;
                }
                let transpose = frame_transpose(&midi);
                tunes.push(Tune {
                    melody: midi.melody.transposed(transpose),
                    bar_steps: meter.bar_steps() as u32,
                    meter,
                    minor: midi.key.map(|k| k.minor),
                    path,
                });
            }
            Err(e) => {
                if warn {
                    eprintln!("warning: skipping {e}");
                }
                skipped.push(e.to_string());
            }
        }
    }
    Ok(Corpus { tunes, skipped })
}

/// A training example: token indices, `bars` bars of its meter long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Token indices.
    pub tokens: Vec<u8>,
    /// Its meter.
    pub meter: Meter,
}

/// Cuts `bars`-bar windows starting on each bar line of each tune (`stride_bars` apart),
/// keeping windows whose first step sounds and that have at least 4 notes; octave-centres
/// each window into the token range.
pub fn windows(tunes: &[Tune], bars: usize, stride_bars: usize) -> Vec<Window> {
    let mut out = Vec::new();
    for tune in tunes {
        let len = (bars * tune.meter.bar_steps()) as u32;
        // A tune shorter than a window gives one window, padded with rests.
        let last_start = tune.melody.len_steps.saturating_sub(len);
        let mut start = 0;
        while start <= last_start {
            let w = tune.melody.window(start, len);
            if w.notes.len() >= 4 && w.notes[0].start_step == 0 {
                out.push(Window { tokens: encode_window(&w), meter: tune.meter });
            }
            start = start
                .saturating_add(tune.bar_steps.max(1).saturating_mul(stride_bars.max(1) as u32));
            if start == u32::MAX {
                break;
            }
        }
    }
    out
}

/// Training windows per meter, in [`Meter::ALL`]'s order (meters with none left out).
pub fn meter_counts(windows: &[Window]) -> Vec<(Meter, usize)> {
    Meter::ALL
        .into_iter()
        .map(|m| (m, windows.iter().filter(|w| w.meter == m).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Windows of `bars` bars cut one after another from each tune (no overlap, from bar lines),
/// octave-centred: the reference sets of evaluation. Each comes with the index of the tune it
/// was cut from (windows of one tune are alike, so a classifier test must keep them on one
/// side of every split).
pub fn reference_windows(tunes: &[Tune], bars: usize) -> Vec<(Melody, usize)> {
    reference_windows_in_meters(tunes, bars).into_iter().map(|(m, i, _)| (m, i)).collect()
}

/// [`reference_windows`], each with its meter.
pub fn reference_windows_in_meters(tunes: &[Tune], bars: usize) -> Vec<(Melody, usize, Meter)> {
    let mut out = Vec::new();
    for (index, tune) in tunes.iter().enumerate() {
        let len = (bars * tune.meter.bar_steps()) as u32;
        let mut start = 0u32;
        while start.checked_add(len).is_some_and(|end| end <= tune.melody.len_steps) {
            let w = tune.melody.window(start, len);
            if w.notes.len() >= 4 && w.notes[0].start_step == 0 {
                out.push((
                    w.transposed(centring_octave_shift(w.notes.iter().map(|n| n.pitch))),
                    index,
                    tune.meter,
                ));
                start += len.div_ceil(tune.bar_steps.max(1)) * tune.bar_steps.max(1);
            } else {
                start += tune.bar_steps.max(1);
            }
        }
    }
    out
}

/// Token indices of a window, octave-centred into the range.
pub fn encode_window(melody: &Melody) -> Vec<u8> {
    let shift = centring_octave_shift(melody.notes.iter().map(|n| n.pitch));
    melody.to_tokens(shift).into_iter().map(|t| t.index() as u8).collect()
}

/// Moves a window by `semitones` if every note stays inside the range; else leaves it.
pub fn transpose_window(window: &mut [u8], semitones: i32) {
    let fits = window.iter().all(|&i| match Token::from_index(usize::from(i)) {
        Some(Token::Note(p)) => {
            (i32::from(PITCH_LOW)..=i32::from(PITCH_HIGH)).contains(&(i32::from(p) + semitones))
        }
        _ => true,
    });
    if !fits {
        return;
    }
    for i in window.iter_mut() {
        if let Some(Token::Note(p)) = Token::from_index(usize::from(*i)) {
            *i = Token::Note((i32::from(p) + semitones) as u8).index() as u8;
        }
    }
}

/// One-hot encodes windows on `device`, each padded with empty steps to `steps` (the
/// encoder's input: [`neume::encoding::MAX_BAR_STEPS`] a bar): the tokens go up as integers
/// and expand there, a 38th of the bytes of the one-hot grid. `[batch, steps * VOCAB_SIZE]`.
pub fn one_hot(windows: &[&[u8]], steps: usize, device: &Device) -> Tensor<2> {
    let pad = VOCAB_SIZE as i32; // one past the vocabulary: a step with no token
    let tokens: Vec<i32> = windows
        .iter()
        .flat_map(|w| (0..steps).map(move |i| w.get(i).map_or(pad, |&t| i32::from(t))))
        .collect();
    let tokens =
        Tensor::<2, Int>::from_data(TensorData::new(tokens, [windows.len(), steps]), device);
    tokens
        .one_hot::<3>(VOCAB_SIZE + 1)
        .float()
        .narrow(2, 0, VOCAB_SIZE)
        .reshape([windows.len(), steps * VOCAB_SIZE])
}

/// `count` windows of `steps` uniformly random tokens: inputs for timing and comparing
/// devices, where what the tokens mean does not matter.
pub fn random_windows(count: usize, steps: usize, rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..count).map(|_| (0..steps).map(|_| rng.below(VOCAB_SIZE) as u8).collect()).collect()
}

/// Decodes a window back into a melody.
pub fn window_melody(window: &[u8]) -> Melody {
    let tokens: Vec<Token> =
        window.iter().filter_map(|&i| Token::from_index(usize::from(i))).collect();
    Melody::from_tokens(&tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::encoding::Note;

    #[test]
    fn estimates_the_frame_of_a_d_major_scale() {
        let notes = [62u8, 64, 66, 67, 69, 71, 73, 74]
            .iter()
            .enumerate()
            .map(|(i, &p)| Note { pitch: p, start_step: i as u32 * 2, len_steps: 2 })
            .collect();
        let melody = Melody { notes, len_steps: 16 };
        assert_eq!(estimate_frame_transpose(&melody), -2);
    }

    #[test]
    fn windows_start_on_bar_lines_and_transpose_in_range() {
        let notes = (0..24)
            .map(|i| Note { pitch: 60 + (i % 5) as u8, start_step: i * 4, len_steps: 4 })
            .collect();
        let tune = Tune {
            path: "t.mid".into(),
            melody: Melody { notes, len_steps: 96 },
            bar_steps: 12,
            meter: Meter::ThreeFour,
            minor: None,
        };
        let ws = windows(&[tune], 4, 1);
        // 96 steps, 3/4 bars of 12 steps, 48-step windows: starts 0, 12, …, 48 fit.
        assert_eq!(ws.len(), 5);
        assert!(ws.iter().all(|w| w.tokens.len() == 48 && w.meter == Meter::ThreeFour));
        let mut w = ws[0].tokens.clone();
        transpose_window(&mut w, 12);
        assert_eq!(
            window_melody(&w).notes[0].pitch,
            window_melody(&ws[0].tokens).notes[0].pitch + 12
        );
        let mut far = ws[0].tokens.clone();
        transpose_window(&mut far, 40); // would leave the range: unchanged
        assert_eq!(far, ws[0].tokens);
    }
}
