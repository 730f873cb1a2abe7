//! Reading odd MIDI files written byte by byte, round trips of corpus fixtures, and an
//! independent reader (Python's `mido`) agreeing with Neume's files.

use std::path::{Path, PathBuf};
use std::process::Command;

use neume::encoding::{Melody, Note};
use neume::music::midi::{self, KeySignature, TimeSignature, WriteOptions};

fn chunk(tag: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = tag.to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

fn smf(format: u16, division: u16, tracks: &[Vec<u8>]) -> Vec<u8> {
    let mut header = Vec::new();
    header.extend_from_slice(&format.to_be_bytes());
    header.extend_from_slice(&(tracks.len() as u16).to_be_bytes());
    header.extend_from_slice(&division.to_be_bytes());
    let mut out = chunk(b"MThd", &header);
    for t in tracks {
        out.extend(chunk(b"MTrk", t));
    }
    out
}

/// A type 1 file at 96 ticks per quarter (a 16th is 24 ticks): a tempo/metre track, then a
/// note track using running status, overlapping notes, a zero-length note and a chord.
fn odd_type1() -> Vec<u8> {
    let conductor = vec![
        0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, // tempo 500000 us = 120 BPM
        0x00, 0xFF, 0x58, 0x04, 0x03, 0x02, 0x18, 0x08, // 3/4
        0x00, 0xFF, 0x59, 0x02, 0x01, 0x00, // G major
        0x00, 0xFF, 0x2F, 0x00,
    ];
    let notes = vec![
        0x00, 0xFF, 0x03, 0x04, b'l', b'e', b'a', b'd', // track name
        0x00, 0x90, 60, 100, // C4 on
        0x30, 64, 100, // running status: E4 on at 48 (C4 still sounding)
        0x00, 60, 0, // C4 off (velocity 0)
        0x30, 64, 0, // E4 off at 96
        0x00, 67, 100, // G4 on at 96 ...
        0x00, 67, 0, // ... and off at once: zero length
        0x00, 65, 90, // F4 on at 96
        0x60, 0x80, 65, 64, // F4 off at 192 (explicit note-off)
        0x00, 0x90, 60, 80, // chord at 192: C4 ...
        0x00, 72, 80, // ... and C5: the top line takes C5
        0x60, 60, 0, // both off at 288
        0x00, 72, 0, 0x00, 0x99, 36, 100, // a drum hit on channel 10 is ignored
        0x18, 0x89, 36, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    smf(1, 96, &[conductor, notes])
}

#[test]
fn reads_type1_running_status_overlaps_and_zero_length_notes() {
    let read = midi::read_bytes(&odd_type1(), Path::new("odd.mid")).unwrap();
    let expected = vec![
        Note { pitch: 60, start_step: 0, len_steps: 2 },
        Note { pitch: 64, start_step: 2, len_steps: 2 },
        Note { pitch: 65, start_step: 4, len_steps: 4 },
        Note { pitch: 72, start_step: 8, len_steps: 4 },
    ];
    assert_eq!(read.melody.notes, expected);
    // The chord's C4 is under the top line (the overlapped C4 is only cut, and the zero-length
    // G4 never sounded).
    assert_eq!(read.under_top_line, 1);
    assert_eq!(read.time_signature, TimeSignature { numerator: 3, denominator: 4 });
    assert_eq!(read.key, Some(KeySignature { sharps: 1, minor: false }));
    assert!((read.tempo_bpm - 120.0).abs() < 1e-9);
    assert_eq!(read.name.as_deref(), Some("lead"));
}

#[test]
fn off_grid_notes_snap_to_the_nearest_16th() {
    // 100 ticks per quarter: a note at tick 26 (just past a 16th at 25) lasting 49 ticks.
    let track = vec![0x1A, 0x90, 62, 90, 0x31, 0x80, 62, 0, 0x00, 0xFF, 0x2F, 0x00];
    let read = midi::read_bytes(&smf(0, 100, &[track]), Path::new("swing.mid")).unwrap();
    assert_eq!(read.melody.notes, vec![Note { pitch: 62, start_step: 1, len_steps: 2 }]);
    assert_eq!(read.under_top_line, 0);
}

#[test]
fn broken_files_name_the_file_and_the_problem() {
    let truncated = &odd_type1()[..30];
    let err = midi::read_bytes(truncated, Path::new("cut.mid")).unwrap_err().to_string();
    assert!(err.starts_with("cut.mid: truncated: MTrk chunk at byte 14 declares"), "{err}");
    let garbage = b"RIFF\0\0\0\x04WAVE";
    let err = midi::read_bytes(garbage, Path::new("sound.wav")).unwrap_err().to_string();
    assert!(err.starts_with("sound.wav: not a valid MIDI file"), "{err}");
    let empty_track = smf(0, 96, &[vec![0x00, 0xFF, 0x2F, 0x00]]);
    let err = midi::read_bytes(&empty_track, Path::new("silent.mid")).unwrap_err().to_string();
    assert_eq!(err, "silent.mid: no melodic notes found");
    let err = midi::read_file(Path::new("/no/such/file.mid")).unwrap_err().to_string();
    assert!(err.starts_with("/no/such/file.mid:"), "{err}");
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/train");
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

#[test]
fn corpus_fixtures_round_trip_through_neume_files() {
    for path in fixtures() {
        let read = midi::read_file(&path).unwrap();
        assert!(read.melody.notes.len() > 10, "{}", path.display());
        let options = WriteOptions {
            tempo_bpm: read.tempo_bpm,
            time_signature: read.time_signature,
            key: read.key,
            ..WriteOptions::default()
        };
        let again = midi::read_bytes(&midi::write_bytes(&read.melody, &options), &path).unwrap();
        assert_eq!(again.melody, read.melody, "{}", path.display());
        assert_eq!(again.time_signature, read.time_signature);
        assert_eq!(again.key, read.key);
        assert!((again.tempo_bpm - read.tempo_bpm).abs() < 0.01);
    }
}

/// Notes as Python's `mido` reads them: `pitch start_tick end_tick` lines.
fn mido_notes(path: &Path) -> String {
    let script = r#"
import sys, mido
f = mido.MidiFile(sys.argv[1])
assert f.type == 0, f.type
t, on = 0, {}
for msg in f.tracks[0]:
    t += msg.time
    if msg.type == 'note_on' and msg.velocity > 0:
        on[msg.note] = t
    elif msg.type in ('note_off', 'note_on'):
        print(msg.note, on.pop(msg.note), t)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("python3 runs (scripts/test.sh installs mido)");
    assert!(out.status.success(), "mido failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[cfg_attr(
    windows,
    ignore = "runs Python's mido, which a Windows build under Wine cannot start; the Linux run \
              reads the same bytes (scripts/windows.sh compares the files)"
)]
fn an_independent_reader_sees_the_same_notes() {
    let dir = std::env::temp_dir().join(format!("neume-mido-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for path in fixtures().iter().take(5) {
        let melody: Melody = midi::read_file(path).unwrap().melody;
        let out = dir.join("written.mid");
        midi::write_file(&out, &melody, &WriteOptions::default()).unwrap();
        let ticks = u32::from(midi::WRITE_TICKS_PER_QUARTER) / 4;
        let expected: String = melody
            .notes
            .iter()
            .map(|n| format!("{} {} {}\n", n.pitch, n.start_step * ticks, n.end_step() * ticks))
            .collect();
        assert_eq!(mido_notes(&out), expected, "{}", path.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}
