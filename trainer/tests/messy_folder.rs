//! A user's messy MIDI folder, as `neume-train` reads it: a FIFO named `.mid`, a hostile
//! 70-byte file whose notes lie billions of steps apart, a collection linked in twice and a
//! folder link that loops. Every good tune is read once, every bad file is skipped with its
//! name and reason, and nothing hangs or panics.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

#[path = "support/trainer.rs"]
mod support;
use support::{fixtures, trainer};

/// Four notes, each 2^28 − 1 ticks (the largest delta) after the last, at 1 tick a quarter.
fn hostile_file() -> Vec<u8> {
    let mut track = Vec::new();
    for key in [60u8, 62, 64, 65] {
        track.extend([0x00, 0x90, key, 100]);
        track.extend([0xFF, 0xFF, 0xFF, 0x7F, 0x80, key, 0]);
    }
    track.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut bytes = b"MThd\0\0\0\x06\0\0\0\x01\0\x01MTrk".to_vec();
    bytes.extend((track.len() as u32).to_be_bytes());
    bytes.extend(track);
    bytes
}

fn copy_fixtures(to: &Path, count: usize) -> usize {
    std::fs::create_dir_all(to).unwrap();
    let mut files: Vec<_> =
        std::fs::read_dir(fixtures("train")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files.iter().take(count) {
        std::fs::copy(f, to.join(f.file_name().unwrap())).unwrap();
    }
    count.min(files.len())
}

#[test]
fn a_messy_folder_is_read_once_and_bad_files_are_named() {
    let dir = std::env::temp_dir().join(format!("neume-messy-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let good = copy_fixtures(&dir.join("collection"), 40);
    assert_eq!(hostile_file().len(), 70);
    std::fs::write(dir.join("collection/huge-gaps.mid"), hostile_file()).unwrap();
    let status =
        std::process::Command::new("mkfifo").arg(dir.join("collection/fifo.mid")).status().unwrap();
    assert!(status.success());
    // The collection linked in a second time, and a link from inside it back to the top.
    std::os::unix::fs::symlink(dir.join("collection"), dir.join("linked")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("collection/loop")).unwrap();

    // In a thread: a FIFO read would block forever; the test fails instead of hanging.
    let (tx, rx) = mpsc::channel();
    let root = dir.clone();
    std::thread::spawn(move || {
        tx.send(neume_train::data::load_folder(&root, false).map(|c| (c.tunes.len(), c.skipped)))
            .unwrap()
    });
    let (tunes, skipped) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("loading the folder hangs")
        .expect("the folder loads");
    assert_eq!(tunes, good, "each good tune once");
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(skipped.iter().any(|s| s.contains("fifo.mid: not a regular file")), "{skipped:?}");
    assert!(
        skipped.iter().any(|s| s.contains("huge-gaps.mid: the melody reaches bar")),
        "{skipped:?}"
    );

    // The same through the command a user runs: warnings name the files, eval goes on.
    let out = trainer()
        .args(["eval", "--count", "20", "--model"])
        .arg(fixtures("valid"))
        .arg("--reference")
        .arg(&dir)
        .arg("--train")
        .arg(fixtures("train"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("fifo.mid: not a regular file") && stderr.contains("huge-gaps.mid"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
