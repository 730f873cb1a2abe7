//! The trainer end to end on a few corpus tunes: loss falls, checkpoints resume, the
//! exported ONNX files (decoder step, encoder) match burn's forward pass on ONNX Runtime and
//! on tract, and pass the ONNX checker.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::prelude::*;
use neume::encoding::{step_input, Meter, Token, VOCAB_SIZE};
use neume::model::runtime::{Backend, Generator};
use neume::sampling::generate::{generate, Form, GenerateOptions};
use neume_train::data::one_hot;
use neume_train::export::{export_decoder, export_encoder};
use neume_train::model::{step_features_batch, ModelShape, Vae};
use neume_train::training::{self, Kind, TrainConfig};

#[path = "support/trainer.rs"]
mod support;
use support::fixtures;

fn config(kind: Kind, epochs: usize) -> TrainConfig {
    TrainConfig {
        kind,
        data: fixtures("train"),
        valid: fixtures("valid"),
        shape: ModelShape { bars: 4, latent: 8, hidden: 64, layers: 2 },
        epochs,
        batch: 16,
        lr: 3e-3,
        max_steps_per_epoch: 12,
        checkpoint_every: 5,
        valid_samples: 20,
        seed: 5,
        free_bits: 0.1,
        kl_warmup_steps: 20,
        token_dropout: 0.2,
        detail: 0,
        selection: Default::default(),
        command: "test".into(),
        save_epochs: false,
        attribute_weight: 1.0,
        attribute_tie: Default::default(),
        init: None,
        adversarial_weight: 1.0,
        discriminator_lr: 2e-4,
        credit: Default::default(),
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

    // Resume for one more epoch (keeping it): it continues from the saved step count.
    let keep = TrainConfig { save_epochs: true, ..config(Kind::Vae, 4) };
    training::train(keep, &run, true, &device).unwrap();
    let m = epoch_metrics(&run);
    assert_eq!(m.len(), 4);
    assert_eq!(m[3]["epoch"], 4);
    assert_eq!(m[3]["steps"].as_u64().unwrap(), 4 * 12);
    // Both command lines are the run's provenance.
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("config.json")).unwrap()).unwrap();
    assert_eq!(saved["command"], "test; test");

    // The run's model loads in the runtime, and export writes the same kind of file.
    let generator = Generator::from_file(&run.join("model.onnx")).unwrap();
    assert_eq!(generator.info().kind, "vae");
    assert!(
        generator.has_encoder(),
        "model.encoder.onnx is written beside model.onnx and loaded with it"
    );
    let exported = run.join("exported.onnx");
    training::export_run(&run, None, &exported, None, &Default::default(), &Device::flex())
        .unwrap();
    let info = Generator::from_file(&exported).unwrap().info().clone();
    // An epoch other than the best is exported with its own weights and figures; one whose
    // weights were not kept is refused, naming the run and the epoch.
    let fourth = run.join("epoch-4.onnx");
    training::export_run(&run, Some(4), &fourth, None, &Default::default(), &Device::flex())
        .unwrap();
    let fourth_info = Generator::from_file(&fourth).unwrap().info().clone();
    assert_eq!(fourth_info.metadata["neume.epoch"], "4");
    let accuracy = m[3]["valid_classifier_accuracy"].as_f64().unwrap();
    assert_eq!(fourth_info.metadata["neume.valid_classifier_accuracy"], format!("{accuracy:.4}"));
    // Its weights are epoch 4's: the same melodies as the file training wrote after epoch 4.
    let melody = |path: &Path, seed: u64| {
        let mut generator = Generator::from_file(path).unwrap();
        let meter = generator.info().meters[0];
        let options = neume::sampling::generate::GenerateOptions {
            seed,
            temperature: Some(0.0),
            meter,
            ..Default::default()
        };
        neume::sampling::generate::generate(&mut generator, &options).unwrap().notes
    };
    for seed in 1..4 {
        assert_eq!(melody(&fourth, seed), melody(&run.join("epochs/epoch-004.onnx"), seed));
    }
    let refused =
        training::export_run(&run, Some(3), &fourth, None, &Default::default(), &Device::flex())
            .unwrap_err();
    assert!(
        refused.contains("epoch 3") && refused.contains(&run.display().to_string()),
        "{refused}"
    );
    // Once the run has gone on, epoch 4 is no longer the checkpoint: it comes from the
    // weights `--save-epochs` kept.
    let keep = TrainConfig { save_epochs: true, ..config(Kind::Vae, 5) };
    training::train(keep, &run, true, &device).unwrap();
    training::export_run(&run, Some(4), &fourth, None, &Default::default(), &Device::flex())
        .unwrap();
    for seed in 1..4 {
        assert_eq!(melody(&fourth, seed), melody(&run.join("epochs/epoch-004.onnx"), seed));
    }
    assert_eq!(info.latent_size, 8);
    // The VAE carries its knobs' directions: the five attribute-tied latent axes, named, then
    // the main directions of the rest, strongest first; all unit vectors.
    assert_eq!(info.directions.len(), 8);
    let names = info.knob_names(8);
    assert_eq!(&names[..6], ["Density", "Rhythm", "Range", "Contour", "Leaps", "Latent 6"]);
    for (k, (_, d)) in info.directions.iter().take(5).enumerate() {
        assert_eq!(d[k], 1.0, "knob {k} is latent axis {k}: {d:?}");
    }
    // The meters it learned, from the fixture tunes' time signatures.
    assert!(!info.meters.is_empty() && info.metadata["neume.meters"].contains('='));
    for pair in info.directions[5..].windows(2) {
        assert!(
            pair[0].0 >= pair[1].0,
            "scales not in order: {:?}",
            info.directions.iter().map(|d| d.0).collect::<Vec<_>>()
        );
    }
    for (_, d) in &info.directions {
        assert!((d.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-3);
    }
    std::fs::remove_dir_all(&run).ok();
}

/// A run with a detail code (`--detail`): the model file says which dimensions are the
/// latent point and which the code, the knobs' directions span the point alone, the encoder
/// gives the code, and the decoder reads it where `generate` is given it.
#[test]
fn a_detail_code_travels_from_the_encoder_to_the_decoder() {
    let run = temp_run("detail");
    let device = Device::flex().autodiff();
    let shape = ModelShape { bars: 4, latent: 8, hidden: 32, layers: 2 };
    let with_detail = TrainConfig { shape, detail: 3, ..config(Kind::Vae, 1) };
    training::train(with_detail, &run, false, &device).unwrap();
    let mut generator = Generator::from_file(&run.join("model.onnx")).unwrap();
    let info = generator.info().clone();
    assert_eq!((info.latent_size, info.detail_size), (5, 3));
    assert_eq!(info.step_input(), info.layout().features() + 8);
    assert!(!info.directions.is_empty());
    assert!(info.directions.iter().all(|(_, d)| d.len() == 5), "directions span the point only");

    let window = parity_window(&shape, Meter::FourFour, 0);
    let tokens: Vec<Token> =
        window.iter().map(|&i| Token::from_index(usize::from(i)).unwrap()).collect();
    let encoded = generator.encode_with_detail(&tokens).unwrap();
    assert_eq!((encoded.mu.len(), encoded.logvar.len(), encoded.detail.len()), (5, 5, 3));
    assert_eq!(generator.encode(&tokens).unwrap(), (encoded.mu.clone(), encoded.logvar.clone()));

    let sing = |generator: &mut Generator, detail: Option<Vec<f32>>| {
        let options = GenerateOptions {
            temperature: Some(0.0),
            latent: Some(encoded.mu.clone()),
            detail,
            form: Form::Through,
            ..GenerateOptions::default()
        };
        generate(generator, &options)
    };
    let plain = sing(&mut generator, None).unwrap();
    assert_eq!(plain, sing(&mut generator, Some(vec![0.0; 3])).unwrap(), "no code is a zero code");
    // A code far from zero saturates the decoder's gates: the melody changes.
    let loud = sing(&mut generator, Some(vec![60.0, -60.0, 60.0])).unwrap();
    assert_ne!(plain.notes, loud.notes, "the decoder reads the detail code");
    let err = sing(&mut generator, Some(vec![0.0, f32::NAN, 0.0])).unwrap_err().to_string();
    assert!(err.contains("detail code"), "{err}");
    std::fs::remove_dir_all(&run).ok();
}

/// Runs this test binary again for one test, with the native library hidden (so the
/// runtime falls back to tract); returns whether it passed, and its output.
fn rerun_on_tract(test: &str) -> (bool, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--include-ignored"])
        .env("NEUME_ORT_LIB", "/nonexistent/libonnxruntime.so")
        .env("NEUME_EXPECT_TRACT", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// Window tokens for the parity checks: a scale line with holds and a rest.
fn parity_window(shape: &ModelShape, meter: Meter, k: usize) -> Vec<u8> {
    (0..shape.bars * meter.bar_steps())
        .map(|s| match (s + k) % 5 {
            0 => Token::Note(60 + ((s * 2 + k) % 12) as u8).index() as u8,
            4 => Token::Rest.index() as u8,
            _ => Token::Hold.index() as u8,
        })
        .collect()
}

/// The exported decoder step and encoder against burn, on whichever backend this process
/// has (ONNX Runtime under scripts/test.sh; tract when rerun by the test below).
#[test]
fn onnx_export_matches_burn_and_passes_the_checker() {
    let device = Device::flex();
    let shape = ModelShape { bars: 2, latent: 6, hidden: 24, layers: 2 };
    device.seed(9);
    let vae = Vae::new(&shape, &device);
    let decoder_bytes = export_decoder(&vae.decoder, &shape, &BTreeMap::new());
    let encoder_bytes = export_encoder(&vae.encoder, &shape, &BTreeMap::new());
    let mut generator = Generator::from_bytes(&decoder_bytes, "parity.onnx")
        .unwrap()
        .with_encoder(&encoder_bytes, "parity.encoder.onnx")
        .unwrap();
    let on_tract = std::env::var_os("NEUME_EXPECT_TRACT").is_some();
    assert_eq!(*generator.backend() == Backend::Tract, on_tract, "backend {}", generator.backend());

    let (mut worst_logits, mut worst_encoder) = (0f32, 0f32);
    for k in 0..4 {
        // 4/4, then 6/8, 9/8 and 3/4: bars of 16, 12, 18 and 12 steps.
        let meter = [Meter::FourFour, Meter::SixEight, Meter::NineEight, Meter::ThreeFour][k];
        let window = parity_window(&shape, meter, k);
        let z: Vec<f32> =
            (0..shape.latent).map(|i| ((i * 7 + k * 13) % 11) as f32 / 5.0 - 1.0).collect();
        // burn, teacher-forced over the whole window.
        let features = step_features_batch(&[window.as_slice()], meter, None, &shape, &device);
        let z_tensor =
            Tensor::<2>::from_data(TensorData::new(z.clone(), [1, shape.latent]), &device);
        let burn_logits =
            vae.decoder.forward(features, z_tensor).into_data().try_to_vec::<f32>().unwrap();
        // ONNX, one step at a time, fed the same previous tokens.
        let mut state = generator.start();
        let mut row = vec![0f32; generator.info().step_input()];
        for step in 0..window.len() {
            let previous =
                (step > 0).then(|| Token::from_index(usize::from(window[step - 1])).unwrap());
            step_input(&mut row, previous, step, shape.bars, meter, &z);
            let logits = generator.step(&row, &mut state).unwrap();
            for (a, b) in
                burn_logits[step * VOCAB_SIZE..(step + 1) * VOCAB_SIZE].iter().zip(&logits)
            {
                worst_logits = worst_logits.max((a - b).abs());
            }
        }
        // The encoder.
        let x = one_hot(&[window.as_slice()], shape.encoder_steps(), &device);
        let (mu, logvar) = vae.encoder.forward(x);
        let burn_posterior = [
            mu.into_data().try_to_vec::<f32>().unwrap(),
            logvar.into_data().try_to_vec::<f32>().unwrap(),
        ]
        .concat();
        let tokens: Vec<Token> =
            window.iter().map(|&i| Token::from_index(usize::from(i)).unwrap()).collect();
        let (mu, logvar) = generator.encode(&tokens).unwrap();
        for (a, b) in burn_posterior.iter().zip(mu.iter().chain(&logvar)) {
            worst_encoder = worst_encoder.max((a - b).abs());
        }
    }
    assert!(worst_logits <= 1e-5, "decoder: largest difference {worst_logits}");
    assert!(worst_encoder <= 1e-5, "encoder: largest difference {worst_encoder}");
    eprintln!(
        "parity on {}: decoder {worst_logits:e}, encoder {worst_encoder:e}",
        generator.backend()
    );

    for (name, bytes) in [("decoder", &decoder_bytes), ("encoder", &encoder_bytes)] {
        let path =
            temp_run(&format!("checker-{name}-{}", u8::from(on_tract))).with_extension("onnx");
        std::fs::write(&path, bytes).unwrap();
        let out = Command::new("python3")
            .args(["-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)"])
            .arg(&path)
            .output()
            .expect("python3 runs (scripts/test.sh installs onnx)");
        assert!(
            out.status.success(),
            "ONNX checker on the {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::remove_file(&path).ok();
    }
}

#[test]
fn onnx_export_matches_burn_on_tract_too() {
    if std::env::var_os("NEUME_EXPECT_TRACT").is_some() {
        return; // the rerun itself
    }
    let (passed, output) = rerun_on_tract("onnx_export_matches_burn_and_passes_the_checker");
    assert!(passed && output.contains("parity on tract"), "{output}");
}

/// `--model gan`: a VAE's exported model is the maximum-likelihood start (its weights read
/// back from the files), the discriminator steps beside the generator (its figures in
/// `metrics.jsonl`), a resumed run finds its discriminator, and the result is a model of kind
/// `gan` that the runtime loads and sings from.
#[test]
fn the_adversarial_generator_starts_from_a_vae_and_ships_as_gan() {
    let device = Device::flex().autodiff();
    let vae_run = temp_run("gan-start");
    training::train(config(Kind::Vae, 1), &vae_run, false, &device).unwrap();
    let start = vae_run.join("model.onnx");

    let run = temp_run("gan");
    let gan = TrainConfig { init: Some(start.clone()), ..config(Kind::Gan, 1) };
    training::train(gan.clone(), &run, false, &device).unwrap();
    let m = epoch_metrics(&run);
    for figure in ["d_loss", "d_real", "d_fake", "g_adv", "recon"] {
        assert!(m[0]["train"][figure].as_f64().is_some_and(f64::is_finite), "{figure}: {}", m[0]);
    }
    // The start is the VAE: the first epoch's reconstruction is the VAE's, not a fresh model's
    // (a fresh decoder starts near 64 steps × ln 38 ≈ 233 nats a window).
    let vae_recon = epoch_metrics(&vae_run)[0]["train"]["recon"].as_f64().unwrap();
    assert!(m[0]["train"]["recon"].as_f64().unwrap() < vae_recon * 1.1, "{}", m[0]);
    assert!(run.join("checkpoint/discriminator.bpk").is_file());
    training::train(TrainConfig { epochs: 2, ..gan }, &run, true, &device).unwrap();
    assert_eq!(epoch_metrics(&run).len(), 2);

    let mut generator = Generator::from_file(&run.join("model.onnx")).unwrap();
    assert_eq!(generator.info().kind, "gan");
    assert!(generator.has_encoder());
    let meter = generator.info().meters[0];
    let melody =
        generate(&mut generator, &GenerateOptions { seed: 3, meter, ..Default::default() })
            .unwrap();
    assert!(!melody.notes.is_empty());

    // Per-step credit (`--credit step`) trains too, its figures finite.
    let step_run = temp_run("gan-step");
    let stepwise = TrainConfig {
        credit: neume_train::training::adversarial::Credit::Step,
        ..TrainConfig { init: Some(start.clone()), ..config(Kind::Gan, 1) }
    };
    training::train(stepwise, &step_run, false, &device).unwrap();
    let m = epoch_metrics(&step_run);
    for figure in ["d_loss", "g_adv", "recon"] {
        assert!(m[0]["train"][figure].as_f64().is_some_and(f64::is_finite), "{figure}: {}", m[0]);
    }
    std::fs::remove_dir_all(&step_run).ok();

    // A start whose shape is not the run's is refused, naming the file.
    let other = TrainConfig {
        init: Some(start.clone()),
        shape: ModelShape { hidden: 32, ..config(Kind::Gan, 1).shape },
        ..config(Kind::Gan, 1)
    };
    let refused = training::train(other, &temp_run("gan-shape"), false, &device).unwrap_err();
    assert!(refused.contains("model.onnx") && refused.contains("shape"), "{refused}");
    std::fs::remove_dir_all(&run).ok();
    std::fs::remove_dir_all(&vae_run).ok();
}
