//! The trainer end to end on a few corpus tunes: loss falls, checkpoints resume, the
//! exported ONNX file matches burn's forward pass on ONNX Runtime and passes the checker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::prelude::*;
use neume::encoding::VOCAB_SIZE;
use neume::runtime::Generator;
use neume_train::export::export_decoder;
use neume_train::model::{Decoder, ModelShape};
use neume_train::training::{self, Kind, TrainConfig};

#[path = "support/trainer.rs"]
mod support;
use support::fixtures;

fn config(kind: Kind, epochs: usize) -> TrainConfig {
    TrainConfig {
        kind,
        data: fixtures("train"),
        valid: fixtures("valid"),
        shape: ModelShape { bars: 4, latent: 8, hidden: 64 },
        epochs,
        batch: 16,
        lr: if kind == Kind::Vae { 3e-3 } else { 5e-4 },
        max_steps_per_epoch: 12,
        checkpoint_every: 5,
        valid_samples: 20,
        seed: 5,
        free_bits: 0.1,
        kl_warmup_steps: 20,
        gumbel_tau: 0.5,
        feature_matching: 1.0,
        save_epochs: false,
    }
}

fn temp_run(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("neume-train-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    dir
}

fn epoch_metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn vae_loss_falls_and_training_resumes() {
    let run = temp_run("vae");
    let device = Device::flex().autodiff();
    training::train(config(Kind::Vae, 3), &run, false, &device).unwrap();
    let m = epoch_metrics(&run);
    assert_eq!(m.len(), 3);
    let recon = |i: usize| m[i]["train"]["recon"].as_f64().unwrap();
    assert!(recon(2) < 0.8 * recon(0), "reconstruction loss {} -> {}", recon(0), recon(2));
    assert!(run.join("checkpoint/model.bpk").is_file());

    // Resume for one more epoch: it continues from the saved step count.
    training::train(config(Kind::Vae, 4), &run, true, &device).unwrap();
    let m = epoch_metrics(&run);
    assert_eq!(m.len(), 4);
    assert_eq!(m[3]["epoch"], 4);
    assert_eq!(m[3]["steps"].as_u64().unwrap(), 4 * 12);

    // The run's model loads in the runtime, and export writes the same kind of file.
    let generator = Generator::from_file(&run.join("model.onnx")).unwrap();
    assert_eq!(generator.info().kind, "vae");
    let exported = run.join("exported.onnx");
    training::export_run(&run, &exported, None, &Device::flex()).unwrap();
    let info = Generator::from_file(&exported).unwrap().info().clone();
    assert_eq!(info.latent_size, 8);
    // The VAE carries its latent directions for the plugin's knobs: unit vectors, strongest first.
    assert_eq!(info.directions.len(), 8);
    for pair in info.directions.windows(2) {
        assert!(pair[0].0 >= pair[1].0, "scales not in order: {:?}", info.directions.iter().map(|d| d.0).collect::<Vec<_>>());
    }
    for (_, d) in &info.directions {
        assert!((d.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-3);
    }
    std::fs::remove_dir_all(&run).ok();
}

#[test]
fn gan_trains_and_exports() {
    let run = temp_run("gan");
    training::train(config(Kind::Gan, 2), &run, false, &Device::flex().autodiff()).unwrap();
    let m = epoch_metrics(&run);
    assert_eq!(m.len(), 2);
    for epoch in &m {
        for key in ["d", "g"] {
            assert!(epoch["train"][key].as_f64().unwrap().is_finite());
        }
    }
    let generator = Generator::from_file(&run.join("model.onnx")).unwrap();
    assert_eq!(generator.info().kind, "gan");
    assert!(generator.info().directions.is_empty(), "a GAN has no measured directions");
    std::fs::remove_dir_all(&run).ok();
}

#[test]
fn onnx_export_matches_burn_and_passes_the_checker() {
    let device = Device::flex();
    let shape = ModelShape { bars: 4, latent: 16, hidden: 96 };
    let decoder = Decoder::new(&shape, &device);
    let bytes = export_decoder(&decoder, &shape, "vae", &BTreeMap::new());
    let mut generator = Generator::from_bytes(&bytes, "parity.onnx").unwrap();

    let mut worst = 0f32;
    for k in 0..8 {
        let z: Vec<f32> = (0..shape.latent).map(|i| ((i * 7 + k * 13) % 11) as f32 / 5.0 - 1.0).collect();
        let burn_logits = decoder
            .forward(Tensor::<2>::from_data(TensorData::new(z.clone(), [1, shape.latent]), &device))
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let onnx_logits = generator.run(&z).unwrap();
        assert_eq!(onnx_logits.len(), shape.steps() * VOCAB_SIZE);
        for (a, b) in burn_logits.iter().zip(&onnx_logits) {
            worst = worst.max((a - b).abs());
        }
    }
    assert!(worst <= 1e-5, "largest difference {worst}");

    let path = temp_run("checker").with_extension("onnx");
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("python3")
        .args(["-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)"])
        .arg(&path)
        .output()
        .expect("python3 runs (scripts/test.sh installs onnx)");
    assert!(out.status.success(), "ONNX checker: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(&path).ok();
}
