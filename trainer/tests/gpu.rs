//! The GPU build on a real Vulkan device: `cargo test -p neume-train --features gpu --test gpu`.
//! Not part of CI, which never compiles GPU code. On a machine without Rust (the lent GPU
//! machine), `scripts/gpu/device-run.sh` runs this test binary built here, with
//! `NEUME_TRAIN_BIN` and `NEUME_FIXTURES` saying where the trainer and the fixtures are.
//! (Mesa's software Vulkan driver, llvmpipe 22.3 and 25.0, crashes compiling burn's kernels,
//! so a machine without a GPU cannot stand in.)
#![cfg(feature = "gpu")]

use neume_train::device;
use neume_train::model::ModelShape;

#[path = "support/trainer.rs"]
mod support;
use support::{train_command, trainer};

fn gpu() -> burn::prelude::Device {
    device::gpu().unwrap_or_else(|why| {
        panic!(
            "this test needs a Vulkan device (mesa-vulkan-drivers provides a software one): {why}"
        )
    })
}

#[test]
fn the_gpu_computes_what_the_cpu_computes() {
    let parity = device::parity(&gpu(), &ModelShape::DEFAULT, 64, 7);
    eprintln!("{parity:?}");
    assert!(parity.device.starts_with("GPU "), "{parity:?}");
    assert!(parity.agrees(), "{parity:?}");
    assert!(
        parity.decoder_max_abs_diff > 0.0 || parity.after_step_max_abs_diff > 0.0,
        "two backends that agree to the last bit: was the GPU used at all? {parity:?}"
    );
}

#[test]
fn train_on_the_gpu_trains_and_exports() {
    let out = std::env::temp_dir().join(format!("neume-gpu-train-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let output = train_command(&out, "2")
        .args(["--device", "gpu", "--max-steps", "4", "--save-epochs"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("device: GPU "), "{stderr}");
    assert!(!stderr.contains("no GPU"), "{stderr}");
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let records: Vec<serde_json::Value> =
        metrics.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    assert!(records[1]["device_memory_mib"].as_f64().unwrap() > 0.0, "{}", records[1]);
    // The exported models run in the plugin's runtime.
    for file in ["model.onnx", "epochs/epoch-001.onnx", "epochs/epoch-002.onnx"] {
        neume::model::runtime::Generator::from_file(&out.join(file)).unwrap();
    }
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bench_runs_on_the_gpu() {
    let output = trainer()
        .args(["bench", "--device", "gpu", "--batch", "16", "--steps", "3", "--warmup", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(report["device"].as_str().unwrap().starts_with("GPU "), "{report}");
    assert!(report["memory_mib"].as_f64().unwrap() > 0.0, "{report}");
}
