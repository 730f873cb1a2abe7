//! `neume-train` as a user runs it: Ctrl-C in the middle of training leaves a checkpoint and a
//! usable model, `--resume` continues, and `eval` prints figures with the baselines beside them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn fixtures(split: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures").join(split)
}

fn train_command(out: &Path, epochs: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_neume-train"));
    cmd.args(["train", "--model", "vae", "--hidden", "64", "--latent", "8", "--batch", "8", "--valid-samples", "10"])
        .args(["--epochs", epochs, "--checkpoint-every", "3", "--out"])
        .arg(out)
        .arg("--data")
        .arg(fixtures("train"))
        .arg("--valid")
        .arg(fixtures("valid"));
    cmd
}

#[test]
fn ctrl_c_leaves_a_usable_checkpoint_and_resume_continues() {
    let out = std::env::temp_dir().join(format!("neume-ctrlc-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let child = train_command(&out, "100000").stderr(Stdio::piped()).spawn().unwrap();
    // Wait for the first step checkpoint, then interrupt as a terminal's Ctrl-C would.
    let started = Instant::now();
    while !out.join("checkpoint/state.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(300), "no checkpoint written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("stopped: checkpoint saved"), "{stderr}");
    assert!(out.join("model.onnx").is_file());
    neume::runtime::Generator::from_file(&out.join("model.onnx")).unwrap();

    let resumed = train_command(&out, "1").arg("--resume").output().unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("resumed after epoch"), "{stderr}");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn eval_puts_the_baselines_beside_every_figure() {
    let out = Command::new(env!("CARGO_BIN_EXE_neume-train"))
        .args(["eval", "--count", "20", "--model"])
        .arg(fixtures("valid"))
        .arg("--reference")
        .arg(fixtures("train"))
        .arg("--train")
        .arg(fixtures("train"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(rows[2].starts_with("markov ") && rows[3].starts_with("markov-notes"), "{table}");
    for row in &rows[1..] {
        let mean: f64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&mean), "{row}");
    }
}

#[test]
fn device_gpu_without_a_gpu_build_falls_back_to_the_cpu_with_a_message() {
    let out = std::env::temp_dir().join(format!("neume-gpu-fallback-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let output = train_command(&out, "1").args(["--device", "gpu", "--max-steps", "2"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    if cfg!(not(feature = "gpu")) {
        assert!(stderr.contains("warning: no GPU: this build has no GPU support"), "{stderr}");
    }
    assert!(stderr.contains("device: "), "{stderr}");
    assert!(out.join("model.onnx").is_file());
    std::fs::remove_dir_all(&out).ok();
}
