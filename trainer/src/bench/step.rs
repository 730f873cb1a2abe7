//! The VAE training step alone, timed on a device: the twin of `scripts/gpu/torch_baseline.py`
//! (same network, batch, loss and optimiser, batches already on the device), so burn's
//! steps per second can be stated as a ratio of PyTorch's.

use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::Distribution;
use neume::encoding::Meter;
use neume::music::attributes::Attribute;

/// γ of the attribute term, as the default model was trained (`--attribute-weight 5`).
const ATTRIBUTE_WEIGHT: f64 = 5.0;
use neume::rng::Rng;

use crate::data::{one_hot, random_windows, window_melody};
use crate::device::{describe, memory_reserved_mib};
use crate::model::{step_features_batch, AttributeTargets, ModelShape, Vae};

/// Batches prepared on the device and cycled through, as the PyTorch twin does.
pub const BATCHES: usize = 16;

/// What to time.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Model shape (the default model's).
    pub shape: ModelShape,
    /// Windows per batch.
    pub batch: usize,
    /// Timed optimiser steps.
    pub steps: usize,
    /// Untimed steps first (kernel compilation and autotuning happen here).
    pub warmup: usize,
    /// Also time forward, backward and the optimiser apart, waiting for the device after each.
    pub profile: bool,
}

/// Mean milliseconds per step of each phase, each ended by waiting for the device.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Phases {
    /// Loss of one batch (encoder, sampling, decoder, cross-entropy, KL).
    pub forward_ms: f64,
    /// Gradients of the loss.
    pub backward_ms: f64,
    /// The Adam update.
    pub optimizer_ms: f64,
}

/// Throughput of the training step.
#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchReport {
    /// Framework and version.
    pub framework: String,
    /// Device and backend.
    pub device: String,
    /// Windows per batch.
    pub batch: usize,
    /// Timed steps.
    pub steps: usize,
    /// Optimiser steps per second, unsynchronised as in training (one wait at the end).
    pub steps_per_s: f64,
    /// Windows per second.
    pub samples_per_s: f64,
    /// Device memory the allocator holds at the end, MiB (`None` on the CPU).
    pub memory_mib: Option<f64>,
    /// The step split into phases, when asked for.
    pub phases: Option<Phases>,
}

/// Times `config.steps` VAE training steps on `device`.
pub fn run(config: &BenchConfig, device: &Device) -> Result<BenchReport, String> {
    let device = device.clone().autodiff();
    let shape = config.shape;
    let wait =
        |device: &Device| device.sync().map_err(|e| format!("waiting for the device: {e:?}"));
    let mut model = Vae::new(&shape, &device);
    let mut optim: ModuleOptimizer = AdamConfig::new().init();
    let mut rng = Rng::new(1);
    let batches: Vec<(Tensor<2>, Vec<Tensor<2>>, AttributeTargets)> = (0..BATCHES)
        .map(|_| {
            let windows = random_windows(config.batch, shape.steps(), &mut rng);
            let windows: Vec<&[u8]> = windows.iter().map(Vec::as_slice).collect();
            // The attribute targets of the named knobs, as training computes them.
            let values: Vec<Vec<f64>> = windows
                .iter()
                .map(|w| Attribute::measure_all(&window_melody(w), Meter::FourFour).to_vec())
                .collect();
            // [batch, steps * vocab], the decoder's step features, the attribute signs
            (
                one_hot(&windows, shape.encoder_steps(), &device),
                step_features_batch(&windows, Meter::FourFour, None, &shape, &device),
                AttributeTargets::order(&values, ATTRIBUTE_WEIGHT, 10.0, &device),
            )
        })
        .collect();

    let mut phases = Phases { forward_ms: 0.0, backward_ms: 0.0, optimizer_ms: 0.0 };
    // One step; with `phases`, each phase ends by waiting for the device and is timed.
    let mut step = |model: Vae, i: usize, phases: Option<&mut Phases>| -> Result<Vae, String> {
        let lap = |timed: bool| -> Result<Instant, String> {
            if timed {
                wait(&device)?;
            }
            Ok(Instant::now())
        };
        let timed = phases.is_some();
        let eps = Tensor::<2>::random(
            [config.batch, shape.latent],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let start = Instant::now();
        let (x, features, targets) = &batches[i % BATCHES];
        let loss = model.loss(x.clone(), features.clone(), eps, 1.0, 0.1, Some(targets), None);
        let forward = lap(timed)?;
        let grads = loss.total.backward();
        let backward = lap(timed)?;
        let grads = GradientsParams::from_grads(grads, &model);
        let model = optim.step(1e-3, model, grads);
        let optimizer = lap(timed)?;
        if let Some(phases) = phases {
            phases.forward_ms += (forward - start).as_secs_f64() * 1e3;
            phases.backward_ms += (backward - forward).as_secs_f64() * 1e3;
            phases.optimizer_ms += (optimizer - backward).as_secs_f64() * 1e3;
        }
        Ok(model)
    };

    for i in 0..config.warmup {
        model = step(model, i, None)?;
    }
    wait(&device)?;
    let start = Instant::now();
    for i in 0..config.steps {
        model = step(model, i, None)?;
    }
    wait(&device)?;
    let seconds = start.elapsed().as_secs_f64();
    if config.profile {
        for i in 0..config.steps {
            model = step(model, i, Some(&mut phases))?;
        }
        let n = config.steps.max(1) as f64;
        phases = Phases {
            forward_ms: phases.forward_ms / n,
            backward_ms: phases.backward_ms / n,
            optimizer_ms: phases.optimizer_ms / n,
        };
    }
    Ok(BenchReport {
        framework: "burn 0.22.1".to_string(),
        device: describe(&device),
        batch: config.batch,
        steps: config.steps,
        steps_per_s: config.steps as f64 / seconds,
        samples_per_s: (config.steps * config.batch) as f64 / seconds,
        memory_mib: memory_reserved_mib(&device),
        phases: config.profile.then_some(phases),
    })
}
