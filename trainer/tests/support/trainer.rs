//! What the trainer's integration tests share: the fixture tunes and the `neume-train`
//! command. On the lent GPU machine, where the tests run as a binary built elsewhere,
//! `NEUME_FIXTURES` and `NEUME_TRAIN_BIN` say where those are.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A split of the public-domain fixture tunes (`tests/fixtures/<split>`).
pub fn fixtures(split: &str) -> PathBuf {
    let root = std::env::var_os("NEUME_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures"),
        PathBuf::from,
    );
    root.join(split)
}

/// The `neume-train` binary.
pub fn trainer() -> Command {
    Command::new(
        std::env::var_os("NEUME_TRAIN_BIN")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_neume-train").into()),
    )
}

/// A small, quick VAE training run on the fixtures into `out`.
pub fn train_command(out: &Path, epochs: &str) -> Command {
    let mut cmd = trainer();
    cmd.args([
        "train",
        "--model",
        "vae",
        "--hidden",
        "64",
        "--latent",
        "8",
        "--batch",
        "8",
        "--valid-samples",
        "10",
    ])
    .args(["--epochs", epochs, "--checkpoint-every", "3", "--out"])
    .arg(out)
    .arg("--data")
    .arg(fixtures("train"))
    .arg("--valid")
    .arg(fixtures("valid"));
    cmd
}
