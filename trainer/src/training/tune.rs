//! Fine-tuning on liked melodies: a run's VAE trained on for a few steps on the melodies a
//! listener liked, so that its prior itself leans their way. `neume-train tune` does it from
//! the plugin's ratings file; the listener benchmark tries it against steering alone
//! (`neume-train listener-bench --tune-run`).

use std::collections::BTreeMap;
use std::path::Path;

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use neume::encoding::{Melody, Meter, Note};
use neume::model::model_file::{self, meta};
use neume::model::runtime::Generator;
use neume::rng::Rng;
use neume::taste::ratings::Rating;

use crate::data;
use crate::export::{export_decoder, export_encoder};
use crate::model::{step_features_batch, Vae};
use crate::training::{adam, fnv1a, TrainConfig};

/// How a fine-tuning runs. The defaults were chosen on `valid` listeners (over 30 steps at
/// 5e-4, which moved the model too little to help).
#[derive(Clone, Copy, Debug)]
pub struct TuneSettings {
    /// Optimiser steps, each on every liked window of one meter at once.
    pub steps: usize,
    /// Adam learning rate.
    pub lr: f64,
}

impl Default for TuneSettings {
    fn default() -> Self {
        TuneSettings { steps: 60, lr: 2e-3 }
    }
}

/// A model to fine-tune: a run's VAE, its configuration and the metadata its tuned models
/// carry (the model's it was exported as: knobs, temperature, meters).
pub struct Tuner {
    vae: Vae,
    config: TrainConfig,
    metadata: BTreeMap<String, String>,
    device: Device,
}

impl Tuner {
    /// `device` must be an autodiff device.
    pub fn new(
        vae: Vae,
        config: TrainConfig,
        metadata: BTreeMap<String, String>,
        device: Device,
    ) -> Tuner {
        Tuner { vae, config, metadata, device }
    }

    /// Bars of the model's windows.
    pub fn bars(&self) -> usize {
        self.config.shape.bars
    }

    /// The VAE trained on `windows` (melodies of the model's bars, with their meters): each
    /// step takes every window of one meter, the meters in turn.
    pub fn tune(
        &self,
        windows: &[(Melody, Meter)],
        settings: TuneSettings,
        rng: &mut Rng,
    ) -> Result<Vae, String> {
        let mut meters: Vec<Meter> = windows.iter().map(|(_, m)| *m).collect();
        meters.sort_by_key(|m| m.index());
        meters.dedup();
        if meters.is_empty() {
            return Err("no liked melodies to fine-tune on".into());
        }
        let shape = self.config.shape;
        let device = &self.device;
        // Each meter's windows: their tokens and their one-hot encoder input, made once.
        let groups: Vec<(Meter, Vec<Vec<u8>>, Tensor<2>)> = meters
            .iter()
            .map(|&meter| {
                let tokens: Vec<Vec<u8>> = windows
                    .iter()
                    .filter(|(_, m)| *m == meter)
                    .map(|(w, _)| data::encode_window(w))
                    .collect();
                let batch: Vec<&[u8]> = tokens.iter().map(Vec::as_slice).collect();
                let x = data::one_hot(&batch, shape.encoder_steps(), device);
                (meter, tokens, x)
            })
            .collect();
        let mut optim: ModuleOptimizer = adam().init();
        let mut model = self.vae.clone();
        for step in 0..settings.steps {
            let (meter, tokens, x) = &groups[step % groups.len()];
            let batch: Vec<&[u8]> = tokens.iter().map(Vec::as_slice).collect();
            let eps: Vec<f32> =
                (0..batch.len() * shape.latent).map(|_| rng.normal() as f32).collect();
            let eps =
                Tensor::<2>::from_data(TensorData::new(eps, [batch.len(), shape.latent]), device);
            let mut drop = || rng.uniform() < self.config.token_dropout;
            let dropout =
                (self.config.token_dropout > 0.0).then_some(&mut drop as &mut dyn FnMut() -> bool);
            let features = step_features_batch(&batch, *meter, dropout, &shape, device);
            let loss = model.loss(x.clone(), features, eps, 1.0, self.config.free_bits, None, None);
            let grads = GradientsParams::from_grads(loss.total.backward(), &model);
            model = optim.step(settings.lr, model, grads);
        }
        Ok(model)
    }

    /// A tuned VAE's decoder on Neume's runtime (for the benchmark).
    pub fn generator(&self, vae: &Vae) -> Result<Generator, String> {
        let bytes = export_decoder(&vae.decoder, &self.config.shape, &self.metadata);
        Generator::from_bytes(&bytes, "tuned").map_err(|e| e.to_string())
    }

    /// Writes a tuned VAE as a model file at `path` (its encoder beside it), with the
    /// metadata of the model it was tuned from, a new id, and `tuned_on` added to its
    /// training data.
    pub fn write(&self, vae: &Vae, path: &Path, tuned_on: &str) -> Result<(), String> {
        let mut extra = self.metadata.clone();
        extra.remove(meta::ROLE);
        extra.remove(meta::MODEL_ID);
        let data = extra.get(meta::TRAINING_DATA).cloned().unwrap_or_default();
        extra.insert(meta::TRAINING_DATA.to_string(), format!("{data}; fine-tuned on {tuned_on}"));
        let shape = &self.config.shape;
        let draft = export_decoder(&vae.decoder, shape, &extra);
        extra.insert(meta::MODEL_ID.to_string(), format!("{:016x}", fnv1a(&draft)));
        let decoder = export_decoder(&vae.decoder, shape, &extra);
        let encoder = export_encoder(&vae.encoder, shape, &extra);
        std::fs::write(path, decoder).map_err(|e| format!("{}: {e}", path.display()))?;
        let encoder_path = model_file::encoder_path(path);
        std::fs::write(&encoder_path, encoder)
            .map_err(|e| format!("{}: {e}", encoder_path.display()))
    }
}

/// The liked melodies of `ratings` cut into windows of `bars` bars (a 16-bar melody gives
/// four 4-bar windows, a shorter one none), in the meters of `meters`; and how many liked
/// lines gave none (written before ratings kept notes, shorter than a window, or in a meter
/// the model does not know).
pub fn liked_windows(
    ratings: &[Rating],
    bars: usize,
    meters: &[Meter],
) -> (Vec<(Melody, Meter)>, usize) {
    let mut windows = Vec::new();
    let mut left_out = 0;
    for rating in ratings.iter().filter(|r| r.rating > 0) {
        let cut = rating
            .melody
            .as_ref()
            .and_then(|m| m.melody())
            .filter(|(_, meter)| meters.contains(meter))
            .map(|(melody, meter)| {
                let len = (bars * meter.bar_steps()) as u32;
                (0..melody.len_steps / len.max(1))
                    .map(|w| (window(&melody, w * len, len), meter))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        if cut.is_empty() {
            left_out += 1;
        }
        windows.extend(cut);
    }
    (windows, left_out)
}

/// The notes of `melody` that start in `start..start + len`, moved to start at 0 and cut at
/// the window's end.
fn window(melody: &Melody, start: u32, len: u32) -> Melody {
    let notes = melody
        .notes
        .iter()
        .filter(|n| (start..start + len).contains(&n.start_step))
        .map(|n| Note {
            pitch: n.pitch,
            start_step: n.start_step - start,
            len_steps: n.len_steps.min(start + len - n.start_step),
        })
        .collect();
    Melody { notes, len_steps: len }
}

#[cfg(test)]
mod tests {
    use super::*;
    use neume::taste::ratings::RatedMelody;

    fn rating(rating: i8, melody: Option<(&Melody, Meter)>) -> Rating {
        Rating {
            rating,
            latent: vec![0.0],
            model: "m".into(),
            seed: 0,
            time: 0,
            attributes: None,
            melody: melody.map(|(m, meter)| RatedMelody::new(m, meter)),
        }
    }

    #[test]
    fn liked_melodies_are_cut_into_whole_windows() {
        // 9 bars of 3/4 (12 steps a bar), a note every bar, the 5th held over the bar line
        // into the 6th.
        let notes = (0..9u32)
            .map(|b| Note {
                pitch: 60 + b as u8,
                start_step: b * 12,
                len_steps: if b == 3 { 16 } else { 4 },
            })
            .collect();
        let long = Melody { notes, len_steps: 9 * 12 };
        let short = Melody { notes: vec![], len_steps: 24 };
        let ratings = [
            rating(1, Some((&long, Meter::ThreeFour))),
            rating(-1, Some((&long, Meter::ThreeFour))),
            rating(1, Some((&short, Meter::ThreeFour))),
            rating(1, None),
            rating(1, Some((&long, Meter::SixEight))),
        ];
        let (windows, left_out) = liked_windows(&ratings, 4, &[Meter::ThreeFour, Meter::FourFour]);
        // Two whole 4-bar windows of the liked 3/4 melody; the short one, the one without
        // notes and the one in 6/8 (not among the model's meters) give none.
        assert_eq!(left_out, 3);
        assert_eq!(windows.len(), 2);
        let (second, meter) = &windows[1];
        assert_eq!(*meter, Meter::ThreeFour);
        assert_eq!(second.len_steps, 48);
        let pitches: Vec<u8> = second.notes.iter().map(|n| n.pitch).collect();
        assert_eq!(pitches, [64, 65, 66, 67]);
        assert_eq!(second.notes[0].start_step, 0);
        // The note held over the first window's end is cut there.
        assert_eq!(windows[0].0.notes[3].len_steps, 12);
    }
}
