//! Fine-tuning on liked melodies: a run's VAE trained on for a few steps on the melodies a
//! listener liked, so that its prior itself leans their way. The listener benchmark tries it
//! against steering alone (`neume-train listener-bench --tune-run`).

use std::collections::BTreeMap;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use neume::encoding::{Melody, Meter};
use neume::rng::Rng;
use neume::runtime::Generator;

use crate::data;
use crate::export::export_decoder;
use crate::model::{step_features_batch, Vae};
use crate::training::TrainConfig;

/// How a fine-tuning runs.
#[derive(Clone, Copy, Debug)]
pub struct TuneSettings {
    /// Optimiser steps, each on every liked melody at once.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
}

impl Default for TuneSettings {
    fn default() -> Self {
        TuneSettings { steps: 60, lr: 2e-3 }
    }
}

/// A model to fine-tune: a run's VAE, its configuration and the metadata its tuned decoders
/// carry (the shipped model's: knobs, temperature, meters).
pub struct Tuner {
    vae: Vae,
    config: TrainConfig,
    metadata: BTreeMap<String, String>,
    device: Device,
}

impl Tuner {
    pub fn new(
        vae: Vae,
        config: TrainConfig,
        metadata: BTreeMap<String, String>,
        device: Device,
    ) -> Tuner {
        Tuner { vae, config, metadata, device }
    }

    /// The model fine-tuned on `melodies` (windows of the run's bars in `meter`), as a
    /// generator on Neume's runtime.
    pub fn tune(
        &self,
        melodies: &[Melody],
        meter: Meter,
        settings: TuneSettings,
        rng: &mut Rng,
    ) -> Result<Generator, String> {
        if melodies.is_empty() {
            return Err("no liked melodies to fine-tune on".into());
        }
        let shape = self.config.shape;
        let windows: Vec<Vec<u8>> = melodies.iter().map(data::encode_window).collect();
        let batch: Vec<&[u8]> = windows.iter().map(Vec::as_slice).collect();
        let device = &self.device;
        let x = data::one_hot(&batch, shape.encoder_steps(), device);
        let mut optim: ModuleOptimizer = AdamConfig::new()
            .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(1.0)))
            .init();
        let mut model = self.vae.clone();
        for _ in 0..settings.steps {
            let eps: Vec<f32> =
                (0..batch.len() * shape.latent).map(|_| rng.normal() as f32).collect();
            let eps = Tensor::<2>::from_data(TensorData::new(eps, [batch.len(), shape.latent]), device);
            let mut drop = || rng.uniform() < self.config.token_dropout;
            let features = step_features_batch(
                &batch,
                meter,
                (self.config.token_dropout > 0.0).then_some(&mut drop as &mut dyn FnMut() -> bool),
                &shape,
                device,
            );
            let loss = model.loss(x.clone(), features, eps, 1.0, self.config.free_bits, None);
            let grads = GradientsParams::from_grads(loss.total.backward(), &model);
            model = optim.step(settings.lr, model, grads);
        }
        let bytes = export_decoder(&model.decoder, &shape, &self.metadata);
        Generator::from_bytes(&bytes, "tuned").map_err(|e| e.to_string())
    }
}
