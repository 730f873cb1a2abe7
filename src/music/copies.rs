//! The copy guard: whether a melody copies a tune the model learned from.
//!
//! "Copies" means the melody shares a run of consecutive notes with a training tune. A run is
//! compared by its intervals and its onset-to-onset durations, so a transposed copy is a copy.
//! A run's length is the time it spans, from its first note's onset to its last's, in quarters
//! of a bar ([`CopyIndex::span_quarters`]): a slow air's bars copied are as much a copy as a
//! reel's, whatever their notes number. The span is chosen on held-out tunes: at most 2 % of
//! their 4-bar windows may be flagged (`neume-train copies`, docs/evaluation.md).
//!
//! The index ships beside the model as `name.copies`, built by `neume-train copies` or
//! `neume-train export` from the training folder. It holds the hash of every run of every
//! tune (one run starts at each note) with its tune, so any shared run of that span is found.
//! Checking runs on the worker or the main thread, never on the audio thread.

use crate::encoding::{Melody, Meter};

/// The file's first bytes.
const MAGIC: &[u8; 8] = b"NEUMECPY";
/// The format's version (2: runs measured by the time they span; 1 counted notes).
const VERSION: u32 = 2;
/// The largest index file accepted, in bytes.
pub const MAX_INDEX_BYTES: usize = 8 << 20;

/// Where a melody copies a training tune.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Copy {
    /// The tune: its collection and title, as the index names it.
    pub tune: String,
    /// The melody's bars that hold the shared run, 1-based and inclusive.
    pub bars: (usize, usize),
}

/// The hashes of the training tunes' runs, with the tune each came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyIndex {
    /// The time a run spans, first onset to last, in quarters of a bar.
    pub span_quarters: u32,
    /// The model the index belongs to (`neume.model_id`), or empty.
    pub model_id: String,
    /// The tunes, by index: "collection/title".
    pub tunes: Vec<String>,
    /// Run hashes and their tune, sorted by hash.
    entries: Vec<(u32, u16)>,
}

/// A run of a melody: its hash and its first and last note's indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub hash: u32,
    pub first: usize,
    pub last: usize,
}

/// The runs of `melody` in `meter` that span `span_quarters` quarters of a bar: from each
/// note, the notes up to the first whose onset is at least that long after it (none once no
/// note is). A run's hash is that of its intervals and onset-to-onset durations (FNV-1a).
pub fn runs(melody: &Melody, meter: Meter, span_quarters: u32) -> Vec<Run> {
    let notes = &melody.notes;
    let span = (meter.bar_steps() as u32 * span_quarters / 4).max(1);
    let mut out = Vec::new();
    let mut last = 0;
    for first in 0..notes.len() {
        last = last.max(first + 1);
        while last < notes.len()
            && notes[last].start_step.saturating_sub(notes[first].start_step) < span
        {
            last += 1;
        }
        if last >= notes.len() {
            break;
        }
        let mut hash: u32 = 0x811c_9dc5;
        for w in notes[first..=last].windows(2) {
            let interval = i16::from(w[1].pitch) - i16::from(w[0].pitch);
            let ioi = w[1].start_step.saturating_sub(w[0].start_step).min(255) as u16;
            for byte in interval.to_le_bytes().into_iter().chain(ioi.to_le_bytes()) {
                hash ^= u32::from(byte);
                hash = hash.wrapping_mul(0x0100_0193);
            }
        }
        out.push(Run { hash, first, last });
    }
    out
}

impl CopyIndex {
    /// The index of `tunes` (`(name, melody, meter)`; at most 65,536) at runs spanning
    /// `span_quarters` quarters of a bar.
    pub fn build(
        tunes: &[(String, Melody, Meter)],
        span_quarters: u32,
        model_id: &str,
    ) -> CopyIndex {
        let mut entries: Vec<(u32, u16)> = tunes
            .iter()
            .take(usize::from(u16::MAX) + 1)
            .enumerate()
            .flat_map(|(t, (_, melody, meter))| {
                runs(melody, *meter, span_quarters).into_iter().map(move |r| (r.hash, t as u16))
            })
            .collect();
        entries.sort_unstable();
        entries.dedup();
        CopyIndex {
            span_quarters,
            model_id: model_id.to_string(),
            tunes: tunes.iter().map(|(name, _, _)| name.clone()).collect(),
            entries,
        }
    }

    /// Whether the index guards the model with id `model_id`: it names that model, or no
    /// model (an index built from a folder alone). The CLI and the plugin's worker both ask.
    pub fn guards(&self, model_id: Option<&str>) -> bool {
        self.model_id.is_empty() || Some(self.model_id.as_str()) == model_id
    }

    /// Where `melody` (in `meter`) copies a tune of the index: its first shared run.
    pub fn check(&self, melody: &Melody, meter: Meter) -> Option<Copy> {
        let bar = meter.bar_steps() as u32;
        runs(melody, meter, self.span_quarters).into_iter().find_map(|run| {
            let at = self.entries.partition_point(|&(h, _)| h < run.hash);
            let &(h, tune) = self.entries.get(at)?;
            (h == run.hash).then(|| Copy {
                tune: self.tunes.get(usize::from(tune)).cloned().unwrap_or_default(),
                bars: (
                    (melody.notes[run.first].start_step / bar + 1) as usize,
                    (melody.notes[run.last].start_step / bar + 1) as usize,
                ),
            })
        })
    }

    /// The index as a file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.span_quarters.to_le_bytes());
        let put_text = |out: &mut Vec<u8>, text: &str| {
            let bytes = &text.as_bytes()[..text.len().min(usize::from(u16::MAX))];
            out.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            out.extend_from_slice(bytes);
        };
        put_text(&mut out, &self.model_id);
        out.extend_from_slice(&(self.tunes.len() as u32).to_le_bytes());
        for name in &self.tunes {
            put_text(&mut out, name);
        }
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for &(h, t) in &self.entries {
            out.extend_from_slice(&h.to_le_bytes());
            out.extend_from_slice(&t.to_le_bytes());
        }
        out
    }

    /// Reads an index file, checking every length before it reads; `path` names it in errors.
    pub fn from_bytes(bytes: &[u8], path: &str) -> Result<CopyIndex, String> {
        let bad = |what: &str| format!("{path}: not a Neume copy index ({what})");
        if bytes.len() > MAX_INDEX_BYTES {
            return Err(bad("larger than 8 MiB"));
        }
        let mut r = Reader { bytes, at: 0 };
        if r.take(8).ok_or_else(|| bad("cut short"))? != MAGIC {
            return Err(bad("wrong magic"));
        }
        let version = r.u32().ok_or_else(|| bad("cut short"))?;
        if version != VERSION {
            return Err(bad(&format!("version {version}, this Neume reads {VERSION}")));
        }
        let span_quarters = r.u32().ok_or_else(|| bad("cut short"))?;
        if !(1..=64).contains(&span_quarters) {
            return Err(bad("a run span outside 1..=64 quarters of a bar"));
        }
        let model_id = r.text().ok_or_else(|| bad("cut short"))?;
        let tunes_len = r.u32().ok_or_else(|| bad("cut short"))? as usize;
        if tunes_len > usize::from(u16::MAX) + 1 {
            return Err(bad("more than 65,536 tunes"));
        }
        let mut tunes = Vec::with_capacity(tunes_len.min(bytes.len() / 2));
        for _ in 0..tunes_len {
            tunes.push(r.text().ok_or_else(|| bad("cut short"))?);
        }
        let entries_len = r.u32().ok_or_else(|| bad("cut short"))? as usize;
        let raw = r.take(entries_len.saturating_mul(6)).ok_or_else(|| bad("cut short"))?;
        let mut entries: Vec<(u32, u16)> = raw
            .chunks_exact(6)
            .map(|c| {
                (u32::from_le_bytes([c[0], c[1], c[2], c[3]]), u16::from_le_bytes([c[4], c[5]]))
            })
            .collect();
        if entries.iter().any(|&(_, t)| usize::from(t) >= tunes.len()) {
            return Err(bad("an entry names a tune it does not list"));
        }
        if !entries.windows(2).all(|w| w[0] <= w[1]) {
            entries.sort_unstable();
        }
        Ok(CopyIndex { span_quarters, model_id, tunes, entries })
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Reads an index file's fields in order, each length checked before it is read.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn text(&mut self) -> Option<String> {
        let len = self.take(2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))?;
        self.take(len).map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

impl CopyIndex {
    /// Reads an index file: a regular file, its size bounded before and while it is read
    /// (the model file's reader, [`crate::model::model_file::read_model_file`]), then checked
    /// as [`CopyIndex::from_bytes`] checks it.
    pub fn read_file(path: &std::path::Path) -> Result<CopyIndex, String> {
        let bytes = crate::model::model_file::read_model_file(path).map_err(|e| e.to_string())?;
        CopyIndex::from_bytes(&bytes, &path.display().to_string())
    }
}

/// Melodies sung in all for one under "avoid copies" (`--no-copies`, the plugin's Avoid
/// copies) before the copy is said instead.
pub const COPY_TRIES: u64 = 8;

/// Sings with `sing(seed)`; when `avoid`, sings again from other seeds while what it sang
/// copies a training tune (`copies` says where), at most [`COPY_TRIES`] times in all. Returns
/// the last song and the copy it still holds, if any.
pub fn sing_avoiding_copies<T, E>(
    avoid: bool,
    seed: u64,
    mut sing: impl FnMut(u64) -> Result<T, E>,
    copies: impl Fn(&T) -> Option<Copy>,
) -> Result<(T, Option<Copy>), E> {
    let mut sung = sing(seed)?;
    let mut copy = copies(&sung);
    let mut tries = 1;
    while copy.is_some() && avoid && tries < COPY_TRIES {
        sung = sing(seed.wrapping_add(tries * 1_000_003))?;
        copy = copies(&sung);
        tries += 1;
    }
    Ok((sung, copy))
}

/// The copy index of a model file: `name.copies` beside `name.onnx`.
pub fn index_path(model: &std::path::Path) -> std::path::PathBuf {
    let stem = model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    model.with_file_name(format!("{stem}.copies"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::Note;

    fn melody(notes: &[(u8, u32)]) -> Melody {
        let notes: Vec<Note> = notes
            .iter()
            .map(|&(pitch, start_step)| Note { pitch, start_step, len_steps: 2 })
            .collect();
        let len_steps = notes.last().map_or(0, |n| n.start_step + 2);
        Melody { notes, len_steps }
    }

    /// A tune's run found again, transposed and shifted in time; a slow tune's few notes
    /// as well as a fast one's many; a melody sharing less than the span is not flagged; the
    /// file round-trips and damaged files are refused.
    #[test]
    fn runs_are_found_transposed_and_files_are_checked() {
        let tune: Vec<(u8, u32)> = [60u8, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62]
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, 2 * i as u32))
            .collect();
        // Half notes: a bar holds two.
        let slow: Vec<(u8, u32)> = [72u8, 67, 69, 64, 65, 60]
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, 8 * i as u32))
            .collect();
        let named =
            |name: &str, notes: &[(u8, u32)]| (name.to_string(), melody(notes), Meter::FourFour);
        // Runs spanning a bar (4 quarters): 9 of the first tune's notes, 3 of the slow one's.
        let index = CopyIndex::build(
            &[named("misc/A tune", &tune), named("misc/An air", &slow)],
            4,
            "id:x",
        );
        assert_eq!(runs(&melody(&tune), Meter::FourFour, 4).len(), 14 - 8);
        assert!(runs(&melody(&tune), Meter::FourFour, 4).iter().all(|r| r.last - r.first == 8));
        // Notes 3..12 of the tune, a fourth higher, starting in bar 2.
        let copied: Vec<(u8, u32)> =
            tune[3..12].iter().map(|&(p, s)| (p + 5, s - 6 + 16)).collect();
        let found = index.check(&melody(&copied), Meter::FourFour).expect("a copy");
        assert_eq!(found, Copy { tune: "misc/A tune".into(), bars: (2, 3) });
        // The air's last three notes an octave lower: one bar of it, three notes.
        let air: Vec<(u8, u32)> = slow[3..].iter().map(|&(p, s)| (p - 12, s - 24)).collect();
        let found = index.check(&melody(&air), Meter::FourFour).expect("a copy of the air");
        assert_eq!(found, Copy { tune: "misc/An air".into(), bars: (1, 2) });
        // Five shared notes, then other moves: under the span.
        let mut other: Vec<(u8, u32)> = tune[..5].to_vec();
        other.extend([(50, 10), (70, 12), (52, 14), (75, 16)]);
        assert_eq!(index.check(&melody(&other), Meter::FourFour), None);
        let bytes = index.to_bytes();
        assert_eq!(CopyIndex::from_bytes(&bytes, "x.copies").unwrap(), index);
        for cut in [0, 7, 12, 20, bytes.len() - 1] {
            assert!(CopyIndex::from_bytes(&bytes[..cut], "x.copies")
                .unwrap_err()
                .contains("x.copies"));
        }
        let mut wrong = bytes.clone();
        wrong[8] = 9;
        assert!(CopyIndex::from_bytes(&wrong, "x.copies").unwrap_err().contains("version"));
        // It guards the model it names and no other; an index that names none guards any.
        assert!(index.guards(Some("id:x")));
        assert!(!index.guards(Some("id:y")) && !index.guards(None));
        let anyones = CopyIndex::build(&[named("misc/A tune", &tune)], 4, "");
        assert!(anyones.guards(Some("id:y")) && anyones.guards(None));
    }
}
