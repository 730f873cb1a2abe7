//! Standard MIDI files in and out, with `midly`.
//!
//! Reading takes any SMF (type 0, 1 or 2, any ticks per quarter, running status), keeps
//! the top monophonic line of all non-drum channels and quantises it to 16th notes.
//! Writing produces a type 0 file with tempo, time signature, key signature and track name.

use std::path::{Path, PathBuf};

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

use crate::encoding::{Melody, Note};
use crate::music::chords::Progression;
use crate::music::played;
pub use crate::music::theory::KeySignature;

/// Ticks per quarter note of the files Neume writes.
pub const WRITE_TICKS_PER_QUARTER: u16 = 480;

/// Why a MIDI file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum MidiError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The bytes are not a standard MIDI file.
    #[error("{path}: not a valid MIDI file: {source}")]
    Parse { path: PathBuf, source: midly::Error },
    /// The file uses SMPTE time code instead of ticks per quarter note.
    #[error("{path}: SMPTE time code timing is not supported (only ticks per quarter note)")]
    Timecode { path: PathBuf },
    /// A chunk claims more bytes than the file has.
    #[error("{path}: truncated: {chunk} chunk at byte {offset} declares {declared} bytes, only {available} remain")]
    Truncated { path: PathBuf, chunk: String, offset: usize, declared: usize, available: usize },
    /// The file has no notes outside the drum channel.
    #[error("{path}: no melodic notes found")]
    NoNotes { path: PathBuf },
    /// Not a regular file (a FIFO, a device, a folder): never opened, so it cannot block.
    #[error("{path}: not a regular file")]
    NotAFile { path: PathBuf },
    /// Larger than any melody file needs to be.
    #[error("{path}: file is {bytes} bytes, more than the {MAX_FILE_BYTES} allowed")]
    TooLarge { path: PathBuf, bytes: u64 },
    /// A melody longer than [`MAX_MELODY_BARS`] bars (or timing that puts a note there).
    #[error("{path}: the melody reaches bar {bars}, past the {MAX_MELODY_BARS} bars Neume reads")]
    TooLong { path: PathBuf, bars: u64 },
}

/// Largest MIDI file read, in bytes (the longest folk tune is a few kilobytes).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Longest melody read, in 4/4 bars of 16ths: anything longer (such as four notes with the
/// largest delta a file can hold, at 1 tick per quarter) is refused, so that no step number
/// overflows and no loop over the steps runs for long.
pub const MAX_MELODY_BARS: u64 = 4096;

/// Time signature as written in the file, e.g. 6/8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeSignature {
    /// Beats per bar.
    pub numerator: u8,
    /// Note value of a beat: 2, 4, 8, …
    pub denominator: u8,
}

impl TimeSignature {
    /// 4/4.
    pub const COMMON: TimeSignature = TimeSignature { numerator: 4, denominator: 4 };

    /// Length of one bar in 16th steps (at least 1).
    pub fn bar_steps(&self) -> u32 {
        (u32::from(self.numerator) * 16 / u32::from(self.denominator.max(1))).max(1)
    }
}

/// A melody read from a file, with what the file said about tempo, metre and key.
#[derive(Clone, Debug, PartialEq)]
pub struct MidiMelody {
    /// The top line, quantised to 16ths.
    pub melody: Melody,
    /// First tempo of the file, in quarter notes per minute (120 if none).
    pub tempo_bpm: f64,
    /// First time signature (4/4 if none).
    pub time_signature: TimeSignature,
    /// Whether the file had a time signature at all.
    pub has_time_signature: bool,
    /// First key signature, if any.
    pub key: Option<KeySignature>,
    /// Name of the first named track, if any.
    pub name: Option<String>,
    /// Notes left out under the top line (the lower notes of chords and of overlaps).
    pub under_top_line: usize,
    /// The notes chords are named from, `(start step, end step, pitch)` on the 16th grid:
    /// those of a track named `chords` or `harmony` (whose notes are then not part of the
    /// top line), else every note of the file.
    pub harmony: Vec<(u32, u32, u8)>,
}

/// Reads a MIDI file from disk.
pub fn read_file(path: &Path) -> Result<MidiMelody, MidiError> {
    use std::io::Read;
    let io = |source| MidiError::Io { path: path.into(), source };
    // Regular files only, checked before opening: a FIFO would block the read forever.
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(MidiError::NotAFile { path: path.into() });
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(MidiError::TooLarge { path: path.into(), bytes: metadata.len() });
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(MidiError::TooLarge { path: path.into(), bytes: bytes.len() as u64 });
    }
    read_bytes(&bytes, path)
}

/// Reads MIDI bytes; `path` only names the source in errors.
pub fn read_bytes(bytes: &[u8], path: &Path) -> Result<MidiMelody, MidiError> {
    check_chunks(bytes, path)?;
    // SMPTE timing is refused before midly reads it: midly 0.5.3 negates the frame rate as
    // an `i8`, which overflows (a panic in a debug build) for the byte 0x80. Found by
    // `tests/fuzz_readers.rs`.
    let header = bytes.windows(4).position(|w| w == b"MThd");
    if header.and_then(|at| bytes.get(at + 12)).is_some_and(|division| division & 0x80 != 0) {
        return Err(MidiError::Timecode { path: path.into() });
    }
    let smf = Smf::parse(bytes).map_err(|source| MidiError::Parse { path: path.into(), source })?;
    let ticks_per_quarter = match smf.header.timing {
        Timing::Metrical(tpq) => u32::from(tpq.as_int().max(1)),
        Timing::Timecode(..) => return Err(MidiError::Timecode { path: path.into() }),
    };

    let mut tempo_us_per_quarter = None;
    let mut time_signature = None;
    let mut key = None;
    let mut name = None;
    // (start tick, end tick, pitch) of every note, all tracks and channels but drums.
    let mut notes: Vec<(u64, u64, u8)> = Vec::new();

    // Notes of a track named `chords` or `harmony`: the chords, not the melody.
    let mut chord_notes: Vec<(u64, u64, u8)> = Vec::new();
    for track in &smf.tracks {
        let is_chords = track.iter().any(|e| {
            matches!(e.kind, TrackEventKind::Meta(MetaMessage::TrackName(b)) if is_chord_track(&String::from_utf8_lossy(b)))
        });
        let before = notes.len();
        let mut tick = 0u64;
        // Onset tick of the sounding note, per channel and key.
        let mut open: [[Option<u64>; 128]; 16] = [[None; 128]; 16];
        for event in track {
            // At most 2^28 per event and far fewer events than 2^35: no overflow.
            tick = tick.saturating_add(u64::from(event.delta.as_int()));
            match event.kind {
                TrackEventKind::Meta(MetaMessage::Tempo(t)) if tempo_us_per_quarter.is_none() => {
                    tempo_us_per_quarter = Some(t.as_int());
                }
                TrackEventKind::Meta(MetaMessage::TimeSignature(num, den_pow, _, _))
                    if time_signature.is_none() =>
                {
                    let denominator = 1u8.checked_shl(u32::from(den_pow)).unwrap_or(4);
                    time_signature = Some(TimeSignature { numerator: num.max(1), denominator });
                }
                TrackEventKind::Meta(MetaMessage::KeySignature(sharps, minor)) if key.is_none() => {
                    key = Some(KeySignature { sharps: sharps.clamp(-7, 7), minor });
                }
                TrackEventKind::Meta(MetaMessage::TrackName(bytes)) if name.is_none() => {
                    let text = String::from_utf8_lossy(bytes).trim().to_string();
                    if !text.is_empty() {
                        name = Some(text);
                    }
                }
                TrackEventKind::Midi { channel, message } => {
                    let ch = usize::from(channel.as_int());
                    if ch == 9 {
                        continue; // General MIDI drums carry no melody.
                    }
                    let (pitch, on) = match message {
                        MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int() > 0),
                        MidiMessage::NoteOff { key, .. } => (key.as_int(), false),
                        _ => continue,
                    };
                    let slot = &mut open[ch][usize::from(pitch)];
                    // A note-on of a sounding key ends it first (re-strike).
                    if let Some(start) = slot.take() {
                        notes.push((start, tick, pitch));
                    }
                    if on {
                        *slot = Some(tick);
                    }
                }
                _ => {}
            }
        }
        // Notes never released end with their track.
        for (pitch, slot) in open.iter().flat_map(|ch| ch.iter().enumerate()) {
            if let Some(start) = slot {
                notes.push((*start, tick, pitch as u8));
            }
        }
        if is_chords {
            chord_notes.extend(notes.drain(before..));
        }
    }
    // A file of chords alone: its chords are every note, and so is its top line.
    let harmony_from = if chord_notes.is_empty() { notes.clone() } else { chord_notes.clone() };
    if notes.is_empty() {
        notes = chord_notes;
    }

    // Bound the length before any step number is computed in 32 bits.
    let tpq = u64::from(ticks_per_quarter);
    let last_tick = notes.iter().map(|&(_, end, _)| end).max().unwrap_or(0);
    let last_bar = last_tick / tpq.saturating_mul(4).max(1) + 1;
    if last_bar > MAX_MELODY_BARS {
        return Err(MidiError::TooLong { path: path.into(), bars: last_bar });
    }
    let tpq_steps = |tick: u64| ((tick * 4 + tpq / 2) / tpq.max(1)) as u32;
    let harmony: Vec<(u32, u32, u8)> = harmony_from
        .iter()
        .filter(|&&(start, end, _)| end > start)
        .map(|&(start, end, pitch)| {
            (tpq_steps(start), tpq_steps(end).max(tpq_steps(start) + 1), pitch)
        })
        .collect();
    let last_tick = last_tick.max(harmony_from.iter().map(|&(_, end, _)| end).max().unwrap_or(0));
    let last_bar = last_tick / tpq.saturating_mul(4).max(1) + 1;
    if last_bar > MAX_MELODY_BARS {
        return Err(MidiError::TooLong { path: path.into(), bars: last_bar });
    }
    let melody = top_line(&mut notes, ticks_per_quarter);
    let sounding = notes.iter().filter(|&&(start, end, _)| end > start).count();
    let under_top_line = sounding.saturating_sub(melody.notes.len());
    if melody.notes.is_empty() {
        return Err(MidiError::NoNotes { path: path.into() });
    }
    Ok(MidiMelody {
        melody,
        under_top_line,
        tempo_bpm: tempo_us_per_quarter.map_or(120.0, |us| 60_000_000.0 / f64::from(us.max(1))),
        has_time_signature: time_signature.is_some(),
        time_signature: time_signature.unwrap_or(TimeSignature::COMMON),
        key,
        name,
        harmony,
    })
}

/// Refuses files whose chunks run past the end (midly reads such files leniently, as far
/// as they go, which would silently lose the rest of a tune).
fn check_chunks(bytes: &[u8], path: &Path) -> Result<(), MidiError> {
    if !bytes.starts_with(b"MThd") {
        return Ok(()); // Not a MIDI file at all: midly says so.
    }
    let mut offset = 0;
    while bytes.len() - offset >= 8 {
        let tag = String::from_utf8_lossy(&bytes[offset..offset + 4]).into_owned();
        let declared = u32::from_be_bytes([
            bytes[offset + 4],
            bytes[offset + 5],
            bytes[offset + 6],
            bytes[offset + 7],
        ]) as usize;
        let available = bytes.len() - offset - 8;
        if declared > available {
            return Err(MidiError::Truncated {
                path: path.into(),
                chunk: tag,
                offset,
                declared,
                available,
            });
        }
        offset += 8 + declared;
    }
    Ok(())
}

/// The skyline of `notes` on the 16th grid: the highest sounding line. A note joins it when
/// nothing higher of the line still sounds at its onset (of notes struck together, the
/// highest); it cuts the line's note before it. A lower note that starts under a held line
/// note (an accompaniment under the tune) is left out, whatever its onset. Zero-length notes
/// are dropped.
fn top_line(notes: &mut [(u64, u64, u8)], ticks_per_quarter: u32) -> Melody {
    let tpq = u64::from(ticks_per_quarter);
    // Round to the nearest 16th: a 16th is tpq / 4 ticks.
    let to_step = |tick: u64| ((tick * 4 + tpq / 2) / tpq) as u32;
    notes.sort_by_key(|&(start, end, pitch)| (to_step(start), std::cmp::Reverse(pitch), end));

    let mut out: Vec<Note> = Vec::new();
    for &(start, end, pitch) in notes.iter() {
        if end <= start {
            continue;
        }
        let start_step = to_step(start);
        let end_step = to_step(end).max(start_step + 1);
        if let Some(last) = out.last_mut() {
            if last.start_step == start_step {
                continue; // A lower note of a chord.
            }
            if last.end_step() > start_step {
                if pitch < last.pitch {
                    continue; // Under a held note of the line.
                }
                last.len_steps = start_step - last.start_step;
            }
        }
        out.push(Note { pitch, start_step, len_steps: end_step - start_step });
    }
    let len_steps = out.last().map_or(0, |n| n.end_step());
    Melody { notes: out, len_steps }
}

/// What to write into a MIDI file beside the notes.
#[derive(Clone, Debug)]
pub struct WriteOptions {
    /// Tempo in quarter notes per minute.
    pub tempo_bpm: f64,
    /// Time signature.
    pub time_signature: TimeSignature,
    /// Key signature, if known.
    pub key: Option<KeySignature>,
    /// Track name.
    pub name: String,
    /// Note-on velocity, 1..=127.
    pub velocity: u8,
    /// MIDI channel, 0..=15.
    pub channel: u8,
    /// Sounding share of each note's length, 0.05..=1 (the plugin's Gate).
    pub gate: f32,
    /// Delay of odd 16ths as a share of half a 16th, 0..=1 (the plugin's Swing).
    pub swing: f32,
    /// The chords under the melody: written as a second track, named [`CHORD_TRACK_NAME`],
    /// on [`CHORD_CHANNEL`] (the file is then type 1); `None`: one track, as always.
    pub chords: Option<Progression>,
}

/// The name of the chord track Neume writes, and one of the names it reads chords from.
pub const CHORD_TRACK_NAME: &str = "Chords";

/// The channel of the chord track Neume writes (MIDI channel 2, numbered from 0).
pub const CHORD_CHANNEL: u8 = 1;

/// Whether a track of this name holds chords (`chords`, `harmony`, any case).
fn is_chord_track(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    name == "chords" || name == "harmony"
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            tempo_bpm: 120.0,
            time_signature: TimeSignature::COMMON,
            key: None,
            name: "Neume melody".into(),
            velocity: 100,
            channel: 0,
            gate: 1.0,
            swing: 0.0,
            chords: None,
        }
    }
}

/// Encodes a melody as a type 0 standard MIDI file.
pub fn write_bytes(melody: &Melody, options: &WriteOptions) -> Vec<u8> {
    let ticks_per_step = u32::from(WRITE_TICKS_PER_QUARTER) / 4;
    let tempo_us = (60_000_000.0 / options.tempo_bpm.clamp(10.0, 1000.0)).round() as u32;
    let den_pow = options.time_signature.denominator.max(1).trailing_zeros() as u8;

    // (tick, order, event): at one tick, note-offs (order 0) come before note-ons (1).
    let mut timed: Vec<(u32, u8, TrackEventKind<'_>)> = vec![
        (0, 0, TrackEventKind::Meta(MetaMessage::TrackName(options.name.as_bytes()))),
        (0, 0, TrackEventKind::Meta(MetaMessage::Tempo(u24::new(tempo_us)))),
        (
            0,
            0,
            TrackEventKind::Meta(MetaMessage::TimeSignature(
                options.time_signature.numerator,
                den_pow,
                24,
                8,
            )),
        ),
    ];
    if let Some(key) = options.key {
        timed.push((0, 0, TrackEventKind::Meta(MetaMessage::KeySignature(key.sharps, key.minor))));
    }
    let channel = u4::new(options.channel.min(15));
    let vel = u7::new(options.velocity.clamp(1, 127));
    // The notes as the plugin plays them (`played::span_steps`), at least a tick each.
    let to_tick = |steps: f64| (steps * f64::from(ticks_per_step)).round() as u32;
    let mut notes: Vec<&Note> = melody.notes.iter().collect();
    notes.sort_by_key(|n| n.start_step);
    for (i, note) in notes.iter().enumerate() {
        let key = u7::new(note.pitch.min(127));
        let next = notes.get(i + 1).map(|n| n.start_step);
        let (on_steps, off_steps) = played::span_steps(
            note.start_step,
            note.len_steps,
            next,
            melody.len_steps,
            options.swing,
            options.gate,
        );
        let on = to_tick(on_steps);
        let off = to_tick(off_steps).max(on + 1);
        timed.push((
            on,
            1,
            TrackEventKind::Midi { channel, message: MidiMessage::NoteOn { key, vel } },
        ));
        timed.push((
            off,
            0,
            TrackEventKind::Midi {
                channel,
                message: MidiMessage::NoteOff { key, vel: u7::new(0) },
            },
        ));
    }
    let track = into_track(timed, melody.len_steps * ticks_per_step);

    let mut tracks = vec![track];
    if let Some(chords) = &options.chords {
        tracks.push(chord_track(chords, melody.len_steps, ticks_per_step));
    }
    let format = if tracks.len() == 1 { Format::SingleTrack } else { Format::Parallel };
    let smf = Smf {
        header: Header::new(format, Timing::Metrical(u15::new(WRITE_TICKS_PER_QUARTER))),
        tracks,
    };
    let mut bytes = Vec::new();
    // Writing into a Vec cannot fail: every value above is in range by construction.
    smf.write_std(&mut bytes).expect("writing MIDI to memory");
    bytes
}

/// The chord track: `chords` voiced ([`Progression::voicing`]) over `len_steps`, named
/// [`CHORD_TRACK_NAME`], on [`CHORD_CHANNEL`].
fn chord_track(
    chords: &Progression,
    len_steps: u32,
    ticks_per_step: u32,
) -> Vec<TrackEvent<'static>> {
    let channel = u4::new(CHORD_CHANNEL);
    let mut timed: Vec<(u32, u8, TrackEventKind<'static>)> =
        vec![(0, 0, TrackEventKind::Meta(MetaMessage::TrackName(CHORD_TRACK_NAME.as_bytes())))];
    for (start, len, pitch) in chords.voicing(len_steps) {
        let key = u7::new(pitch.min(127));
        let on = start * ticks_per_step;
        let off = (start + len) * ticks_per_step;
        let message = MidiMessage::NoteOn { key, vel: u7::new(70) };
        timed.push((on, 1, TrackEventKind::Midi { channel, message }));
        let message = MidiMessage::NoteOff { key, vel: u7::new(0) };
        timed.push((off, 0, TrackEventKind::Midi { channel, message }));
    }
    into_track(timed, len_steps * ticks_per_step)
}

/// A track of `(tick, order, event)`s: sorted by tick (at one tick, order 0 before 1; the
/// sort is stable, so meta events stay first and each note's events in order), as deltas,
/// ended at `end_tick`.
fn into_track<'a>(
    mut timed: Vec<(u32, u8, TrackEventKind<'a>)>,
    end_tick: u32,
) -> Vec<TrackEvent<'a>> {
    timed.sort_by_key(|(tick, order, _)| (*tick, *order));
    let mut track = Vec::with_capacity(timed.len() + 1);
    let mut last = 0;
    for (tick, _, kind) in timed {
        track.push(TrackEvent { delta: u28::new(tick - last), kind });
        last = tick;
    }
    track.push(TrackEvent {
        delta: u28::new(end_tick.saturating_sub(last)),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    track
}

/// Writes a melody to a type 0 standard MIDI file.
pub fn write_file(path: &Path, melody: &Melody, options: &WriteOptions) -> Result<(), MidiError> {
    std::fs::write(path, write_bytes(melody, options))
        .map_err(|source| MidiError::Io { path: path.into(), source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn melody() -> Melody {
        Melody {
            notes: vec![
                Note { pitch: 62, start_step: 0, len_steps: 2 },
                Note { pitch: 66, start_step: 2, len_steps: 2 },
                Note { pitch: 69, start_step: 6, len_steps: 10 },
            ],
            len_steps: 16,
        }
    }

    /// A tune in quarter notes over a bass of eighths, every bass note starting under a held
    /// tune note: the line is the tune, note for note (before: the latest onset won, and half
    /// the line was the bass). The expectation is the tune as written, not a computed line.
    #[test]
    fn the_top_line_is_the_tune_over_a_moving_bass() {
        let tune: [(u64, u8); 8] =
            [(0, 76), (1, 74), (2, 72), (3, 74), (4, 76), (5, 76), (6, 76), (7, 79)];
        let tpq = 480u64;
        let mut notes: Vec<(u64, u64, u8)> =
            tune.iter().map(|&(q, p)| (q * tpq, (q + 1) * tpq, p)).collect();
        for e in 0..16u64 {
            // Eighths, a fifth and an octave apart: C3 G3 C4 G3 …, never above the tune.
            let pitch = [48, 55, 60, 55][(e % 4) as usize];
            notes.push((e * tpq / 2, (e + 1) * tpq / 2, pitch));
        }
        let line = top_line(&mut notes, tpq as u32);
        let got: Vec<(u32, u8, u32)> =
            line.notes.iter().map(|n| (n.start_step, n.pitch, n.len_steps)).collect();
        let want: Vec<(u32, u8, u32)> = tune.iter().map(|&(q, p)| (q as u32 * 4, p, 4)).collect();
        assert_eq!(got, want);
        // A higher note starting under a held one cuts it: the line goes up to it.
        let mut rising = vec![(0, 4 * tpq, 60), (tpq, 2 * tpq, 67)];
        let line = top_line(&mut rising, tpq as u32);
        let got: Vec<(u32, u8, u32)> =
            line.notes.iter().map(|n| (n.start_step, n.pitch, n.len_steps)).collect();
        assert_eq!(got, vec![(0, 60, 4), (4, 67, 4)]);
    }

    /// A header whose timing byte is 0x80 (SMPTE at "-128 fps") is refused as SMPTE timing:
    /// midly 0.5.3 overflowed negating it (a panic in a debug build: a crashed DAW, had a
    /// user dropped such a file). Found by the fuzz targets; kept as their regression too.
    #[test]
    fn smpte_timing_of_minus_128_is_refused_not_a_panic() {
        let bytes = b"MThd\0\0\0\x06\0\0\0\x01\x80\x00MTrk\0\0\0\x04\0\xff\x2f\0";
        let err = read_bytes(bytes, Path::new("smpte.mid")).unwrap_err();
        assert!(matches!(err, MidiError::Timecode { .. }), "{err}");
    }

    #[test]
    fn files_hold_the_notes_as_played() {
        // Gate 0.5, full swing (odd 16ths half a 16th late), velocity 90, at 120 ticks a 16th.
        let melody = Melody {
            notes: vec![
                Note { pitch: 60, start_step: 0, len_steps: 2 },
                Note { pitch: 62, start_step: 3, len_steps: 1 },
                Note { pitch: 64, start_step: 4, len_steps: 4 },
            ],
            len_steps: 8,
        };
        let options =
            WriteOptions { gate: 0.5, swing: 1.0, velocity: 90, ..WriteOptions::default() };
        let bytes = write_bytes(&melody, &options);
        let smf = Smf::parse(&bytes).unwrap();
        let mut tick = 0;
        let mut notes = Vec::new();
        for event in &smf.tracks[0] {
            tick += event.delta.as_int();
            if let TrackEventKind::Midi { message, .. } = event.kind {
                match message {
                    MidiMessage::NoteOn { key, vel } => {
                        notes.push((tick, key.as_int(), vel.as_int()))
                    }
                    MidiMessage::NoteOff { key, .. } => notes.push((tick, key.as_int(), 0)),
                    _ => {}
                }
            }
        }
        // By hand: 60 sounds 0..120; 62 is swung to 420 and cut by 64's onset at 480; 64
        // sounds 480..720 (half of 4 16ths).
        assert_eq!(
            notes,
            [(0, 60, 90), (120, 60, 0), (420, 62, 90), (480, 62, 0), (480, 64, 90), (720, 64, 0)]
        );
    }

    #[test]
    fn write_then_read_gives_the_same_melody_and_meta() {
        let options = WriteOptions {
            tempo_bpm: 96.0,
            time_signature: TimeSignature { numerator: 6, denominator: 8 },
            key: Some(KeySignature { sharps: 2, minor: false }),
            name: "test tune".into(),
            ..WriteOptions::default()
        };
        let bytes = write_bytes(&melody(), &options);
        let read = read_bytes(&bytes, Path::new("mem.mid")).unwrap();
        assert_eq!(read.melody, melody());
        assert!((read.tempo_bpm - 96.0).abs() < 0.01);
        assert_eq!(read.time_signature, options.time_signature);
        assert_eq!(read.key, options.key);
        assert_eq!(read.name.as_deref(), Some("test tune"));
    }

    #[test]
    fn garbage_is_a_named_error() {
        let err = read_bytes(b"garbage, not MIDI", Path::new("broken.mid")).unwrap_err();
        let message = err.to_string();
        assert!(message.starts_with("broken.mid: not a valid MIDI file"), "{message}");
    }
}
