//! The training loop: batches, optimiser steps, validation on music statistics, checkpoints,
//! resume, and a clean stop on Ctrl-C.

pub mod adversarial;
pub mod directions;
pub mod normal_scores;
pub mod tune;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use neume::encoding::{step_features, step_input, Melody, Meter, Token, VOCAB_SIZE};
use neume::model::model_file::meta;
use neume::music::attributes::Attribute;
use neume::rng::Rng;
use neume::sampling::generate::Sampler;

use crate::data::{self, Window};
use crate::device::memory_reserved_mib;
use crate::eval::classifier;
use crate::eval::metrics;
use crate::export::{export_decoder, export_encoder};
use crate::model::{
    step_features_batch, AttributeTargets, AttributeTie, Decoder, Detail, ModelShape, Vae,
};
use crate::training::adversarial::Adversary;
use crate::training::normal_scores::normal_scores;

/// Set by the Ctrl-C handler; the loop checkpoints and stops at the next step.
pub static STOP: AtomicBool = AtomicBool::new(false);

/// Which generator family to train: a VAE with an autoregressive decoder, or that decoder
/// trained against a discriminator ([`adversarial`]). Both export the same contract.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Variational autoencoder (GRU decoder, free bits, KL annealing, token dropout).
    Vae,
    /// The VAE's decoder as the generator G(z) of a GAN: trained against a discriminator
    /// over whole melodies by REINFORCE with a baseline, the VAE's loss kept as an anchor;
    /// best started from a trained VAE (`--init`).
    Gan,
}

impl Kind {
    /// The `neume.model_kind` a model of this family carries.
    pub fn model_kind(self) -> &'static str {
        match self {
            Kind::Vae => "vae",
            Kind::Gan => "gan",
        }
    }
}

/// Everything a run is configured with; stored in the run folder.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Generator family.
    pub kind: Kind,
    /// Training MIDI folder.
    pub data: PathBuf,
    /// Validation MIDI folder (model selection).
    pub valid: PathBuf,
    /// Model shape.
    pub shape: ModelShape,
    /// Epochs to train.
    pub epochs: usize,
    /// Windows per batch.
    pub batch: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Stop an epoch after this many steps (0: whole epoch). For quick runs and tests.
    pub max_steps_per_epoch: usize,
    /// Steps between checkpoints inside an epoch.
    pub checkpoint_every: usize,
    /// Melodies generated for validation each epoch.
    pub valid_samples: usize,
    /// Random seed.
    pub seed: u64,
    /// VAE: nats of KL per latent dimension that cost nothing.
    pub free_bits: f64,
    /// VAE: steps over which the KL weight ramps from 0 to 1.
    pub kl_warmup_steps: usize,
    /// VAE: share of previous tokens hidden from the decoder while training (token dropout),
    /// so that it has to use the latent point.
    #[serde(default)]
    pub token_dropout: f64,
    /// VAE: the last `detail` latent dimensions are a detail code (see [`Vae::loss`]).
    #[serde(default)]
    pub detail: usize,
    /// Which tunes of `data` and `valid` are used.
    #[serde(default)]
    pub selection: data::Selection,
    /// The command lines that started and resumed the run (provenance in the model's
    /// metadata), `; `-separated.
    #[serde(default)]
    pub command: String,
    /// Also write every epoch's generator to `epochs/epoch-NNN.onnx` (to find, after the run,
    /// the first epoch that reaches a quality bar on another split).
    #[serde(default)]
    pub save_epochs: bool,
    /// γ of the attribute regularisation that ties latent dimension k to the k-th of
    /// [`Attribute::ALL`] (0: no named knobs).
    #[serde(default)]
    pub attribute_weight: f64,
    /// How those dimensions are tied to their attributes (runs from before this setting
    /// tied their order).
    #[serde(default)]
    pub attribute_tie: AttributeTie,
    /// A model file (and its encoder beside it) whose weights the run starts from.
    #[serde(default)]
    pub init: Option<PathBuf>,
    /// GAN: weight of the adversarial term beside the VAE's loss.
    #[serde(default)]
    pub adversarial_weight: f64,
    /// GAN: the discriminator's learning rate.
    #[serde(default)]
    pub discriminator_lr: f64,
    /// GAN: how REINFORCE credits each sampled step (runs from before this setting credited
    /// whole melodies).
    #[serde(default)]
    pub credit: adversarial::Credit,
}

/// δ of the attribute regularisation: the slope of tanh on latent differences (Pati & Lerch
/// 2020 use 10).
const ATTRIBUTE_SHARPNESS: f64 = 10.0;

/// Share of training windows whose detail code the decoder sees.
const DETAIL_SHOWN: f64 = 0.5;

/// Token dropout of the windows whose detail code the decoder sees: most of their past is
/// hidden, so that the code, not the past, has to carry the notes.
const DETAIL_TOKEN_DROPOUT: f64 = 0.75;

/// Progress saved with every checkpoint.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct RunState {
    /// Epochs fully done.
    epochs_done: usize,
    /// Optimiser steps done.
    steps_done: usize,
    /// Best validation mean overlap so far (of the best epoch by the classifier test).
    best_valid_overlap: f64,
    /// Lowest validation classifier accuracy so far (real vs generated; 0.5 is the ideal).
    #[serde(default = "worst_accuracy")]
    best_valid_accuracy: f64,
    /// Sampling temperature of that best score.
    #[serde(default = "one")]
    best_temperature: f32,
    /// Epoch of that best score.
    #[serde(default)]
    best_epoch: usize,
}

fn one() -> f32 {
    1.0
}

fn worst_accuracy() -> f64 {
    1.0
}

impl Default for RunState {
    fn default() -> Self {
        RunState {
            epochs_done: 0,
            steps_done: 0,
            best_valid_overlap: 0.0,
            best_valid_accuracy: 1.0,
            best_temperature: 1.0,
            best_epoch: 0,
        }
    }
}

/// Sampling temperatures tried at each validation. An autoregressive decoder's melodies
/// are hardest to tell from real ones near temperature 1; lower ones lose the variety.
pub const VALID_TEMPERATURES: [f32; 4] = [0.7, 0.8, 0.9, 1.0];

/// Metadata of a best model: its temperature and validation scores.
fn best_metadata(state: &RunState) -> BTreeMap<String, String> {
    epoch_metadata(
        state.best_temperature,
        state.best_valid_overlap,
        state.best_valid_accuracy,
        state.best_epoch,
    )
}

/// Metadata of an epoch's model: the temperature it scored best at, and its scores.
fn epoch_metadata(
    temperature: f32,
    valid_mean_overlap: f64,
    valid_accuracy: f64,
    epoch: usize,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (neume::model::model_file::meta::TEMPERATURE.to_string(), format!("{temperature}")),
        ("neume.valid_mean_overlap".to_string(), format!("{valid_mean_overlap:.4}")),
        ("neume.valid_classifier_accuracy".to_string(), format!("{valid_accuracy:.4}")),
        ("neume.epoch".to_string(), epoch.to_string()),
    ])
}

/// Steps between reads of the losses. Reading a value waits for the device, so the loop
/// reads them in batches instead of after every step; a GPU keeps its queue full meanwhile.
const READ_LOSSES_EVERY: usize = 50;

/// The optimiser of training and fine-tuning: Adam, with the gradient norm clipped, which keeps
/// the recurrent decoder from the occasional exploding step.
pub fn adam() -> AdamConfig {
    AdamConfig::new()
        .with_grad_clipping(Some(burn::grad_clipping::GradientClippingConfig::Norm(1.0)))
}

/// The model and optimiser of one run.
struct Learner {
    model: Vae,
    optim: ModuleOptimizer,
    /// The discriminator of a GAN run.
    adversary: Option<Adversary>,
}

impl Learner {
    fn new(config: &TrainConfig, device: &Device) -> Learner {
        Learner {
            model: Vae::new(&config.shape, device),
            optim: adam().init(),
            adversary: (config.kind == Kind::Gan).then(|| Adversary::new(device)),
        }
    }

    /// The latent directions the knobs use (see [`directions`]): the attribute-tied dimensions
    /// first (named knobs), then the main directions of the rest.
    fn directions_metadata(
        &self,
        config: &TrainConfig,
        windows: &[Window],
        device: &Device,
    ) -> BTreeMap<String, String> {
        let named = if config.attribute_weight > 0.0 { Attribute::ALL.len() } else { 0 };
        directions::metadata_with_attributes(
            &directions::measure(
                &self.model.encoder,
                windows,
                &config.shape,
                named,
                config.detail,
                device,
            ),
            named,
        )
    }

    fn decoder(&self) -> &Decoder {
        &self.model.decoder
    }

    fn save(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let err =
            |e: burn::store::RecordError| format!("saving checkpoint in {}: {e:?}", dir.display());
        self.model.clone().save_file(dir.join("model.bpk")).map_err(err)?;
        self.optim.save(dir.join("optim.bpk")).map_err(err)?;
        match &self.adversary {
            Some(adversary) => adversary.save(dir),
            None => Ok(()),
        }
    }

    fn load(self, dir: &Path) -> Result<Learner, String> {
        let err = |e: burn::store::RecordError| {
            format!("loading checkpoint from {}: {e:?}", dir.display())
        };
        let adversary = match self.adversary {
            // A best model saved without its discriminator (export reads only G) still loads.
            Some(adversary) if dir.join("discriminator.bpk").exists() => Some(adversary.load(dir)?),
            other => other,
        };
        Ok(Learner {
            model: self.model.try_load_file(dir.join("model.bpk")).map_err(err)?,
            optim: self.optim.load(dir.join("optim.bpk")).map_err(err)?,
            adversary,
        })
    }

    /// One optimiser step; returns named losses, still on the device (`[1]` each).
    /// `scores`: the batch's normal scores when the tie is [`AttributeTie::Value`].
    #[allow(clippy::too_many_arguments)]
    fn step(
        self,
        batch: &[&[u8]],
        scores: Option<&[[f32; 5]]>,
        meter: Meter,
        config: &TrainConfig,
        step: usize,
        rng: &mut Rng,
        device: &Device,
    ) -> (Learner, Vec<(&'static str, Tensor<1>)>) {
        let b = batch.len();
        let shape = config.shape;
        let x = data::one_hot(batch, shape.encoder_steps(), device); // [batch, steps * vocab]
        let attributes = (config.attribute_weight > 0.0).then(|| match scores {
            Some(scores) => AttributeTargets::value(scores, config.attribute_weight, device),
            None => {
                let values: Vec<Vec<f64>> = batch
                    .iter()
                    .map(|w| Attribute::measure_all(&data::window_melody(w), meter).to_vec())
                    .collect();
                AttributeTargets::order(
                    &values,
                    config.attribute_weight,
                    ATTRIBUTE_SHARPNESS,
                    device,
                )
            }
        });
        let eps: Vec<f32> = (0..b * shape.latent).map(|_| rng.normal() as f32).collect();
        let eps = Tensor::<2>::from_data(TensorData::new(eps, [b, shape.latent]), device);
        let shown: Vec<f32> = (0..b)
            .map(|_| if config.detail > 0 && rng.uniform() < DETAIL_SHOWN { 1.0 } else { 0.0 })
            .collect();
        // step_features_batch asks row by row, step after step.
        let mut asked = 0usize;
        let mut drop = || {
            let row = asked % b;
            asked += 1;
            let rate = if shown[row] > 0.0 { DETAIL_TOKEN_DROPOUT } else { config.token_dropout };
            rng.uniform() < rate
        };
        let features = step_features_batch(
            batch,
            meter,
            (config.token_dropout > 0.0 || config.detail > 0)
                .then_some(&mut drop as &mut dyn FnMut() -> bool),
            &shape,
            device,
        );
        let Learner { model, mut optim, adversary } = self;
        let beta = ((step + 1) as f64 / config.kl_warmup_steps.max(1) as f64).min(1.0);
        let detail = (config.detail > 0).then(|| Detail {
            dims: config.detail,
            shown: Tensor::from_data(TensorData::new(shown, [b, 1]), device),
        });
        let loss =
            model.loss(x, features, eps, beta, config.free_bits, attributes.as_ref(), detail);
        let recon = loss.recon.clone().detach();
        let kl = loss.kl.clone().detach();
        let regularisation = loss.attributes.clone().detach();
        let mut figures = vec![("recon", recon), ("kl", kl), ("attr", regularisation)];
        let mut total = loss.total;
        let adversary = match adversary {
            None => None,
            Some(adversary) => {
                // G samples a batch from the prior; D steps on it and the real batch, then
                // scores it; G's log-likelihood of each melody moves with its advantage.
                let prior = shape.latent - config.detail;
                let z: Vec<f32> = (0..b * shape.latent)
                    .map(|i| if i % shape.latent < prior { rng.normal() as f32 } else { 0.0 })
                    .collect();
                let fakes = adversarial::sample_windows(
                    &model.decoder.valid(),
                    &shape,
                    meter,
                    &z,
                    rng,
                    device,
                );
                let fakes: Vec<&[u8]> = fakes.iter().map(|w| w.as_slice()).collect();
                let (adversary, rewards, d) =
                    adversary.step(batch, &fakes, meter, config.discriminator_lr, device);
                let z = Tensor::<2>::from_data(TensorData::new(z, [b, shape.latent]), device);
                let reinforce = match config.credit {
                    adversarial::Credit::Melody => {
                        let advantage = adversarial::advantages(&rewards);
                        let advantage =
                            Tensor::<2>::from_data(TensorData::new(advantage, [b, 1]), device);
                        let log_p = adversarial::log_likelihood(
                            &model.decoder,
                            &fakes,
                            meter,
                            z,
                            &shape,
                            device,
                        );
                        (advantage * log_p).mean().neg()
                    }
                    adversarial::Credit::Step => {
                        let steps = fakes.first().map_or(0, |w| w.len());
                        let scores = adversary.position_scores(&fakes, meter, device);
                        let advantage = adversarial::step_advantages(&scores, steps);
                        let advantage =
                            Tensor::<2>::from_data(TensorData::new(advantage, [b, steps]), device);
                        let log_p = adversarial::step_log_likelihood(
                            &model.decoder,
                            &fakes,
                            meter,
                            z,
                            &shape,
                            device,
                        );
                        // Summed over the steps, as the melody's log-likelihood is.
                        (advantage * log_p).sum_dim(1).mean().neg()
                    }
                };
                total = total + reinforce.clone() * config.adversarial_weight;
                figures.extend([
                    ("g_adv", reinforce.detach()),
                    ("d_loss", d.d_loss),
                    ("d_real", d.d_real),
                    ("d_fake", d.d_fake),
                ]);
                Some(adversary)
            }
        };
        let grads = GradientsParams::from_grads(total.backward(), &model);
        let model = optim.step(config.lr, model, grads);
        (Learner { model, optim, adversary }, figures)
    }
}

/// Reads the losses gathered since the last read (one wait for the device), adds them to
/// `sums`, and returns the newest value of each as a progress message.
fn read_losses(
    pending: &mut Vec<(&'static str, Tensor<1>)>,
    sums: &mut BTreeMap<&'static str, f64>,
) -> String {
    if pending.is_empty() {
        return String::new();
    }
    let values = Tensor::cat(pending.iter().map(|(_, t)| t.clone()).collect(), 0);
    // Losses are f32 on every backend.
    let values = values.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 losses");
    let mut newest = BTreeMap::new();
    for ((name, _), value) in pending.drain(..).zip(values) {
        *sums.entry(name).or_default() += f64::from(value);
        newest.insert(name, value);
    }
    newest.iter().map(|(name, value)| format!("{name} {value:.3} ")).collect()
}

/// Samples one melody of the model's window per meter in `meters` from a decoder with burn
/// (no export needed), stepping all of them at once with the runtime's step inputs and sampler.
/// The last `detail` latent dimensions (a detail code) are zero, as in any draw from the prior.
pub fn sample_melodies(
    decoder: &Decoder,
    shape: &ModelShape,
    detail: usize,
    meters: &[Meter],
    temperature: f32,
    seed: u64,
    device: &Device,
) -> Vec<Melody> {
    let mut rng = Rng::new(seed);
    let prior = shape.latent.saturating_sub(detail);
    let z: Vec<f32> = (0..meters.len())
        .flat_map(|_| {
            (0..shape.latent)
                .map(|k| if k < prior { rng.normal() as f32 } else { 0.0 })
                .collect::<Vec<f32>>()
        })
        .collect();
    sample_tokens(decoder, shape, meters, &z, temperature, &mut rng, device)
        .iter()
        .map(|tokens| Melody::from_tokens(tokens))
        .collect()
}

/// Samples one window of the model's bars per meter in `meters` from the latent points `z`
/// (`[meters, latent]` row-major) at `temperature`, all rows stepped at once with the
/// runtime's step inputs and sampler (its grammar masks included): each row's tokens, as long
/// as its meter's window.
pub fn sample_tokens(
    decoder: &Decoder,
    shape: &ModelShape,
    meters: &[Meter],
    z: &[f32],
    temperature: f32,
    rng: &mut Rng,
    device: &Device,
) -> Vec<Vec<Token>> {
    let n = meters.len();
    let lengths: Vec<usize> = meters.iter().map(|m| shape.bars * m.bar_steps()).collect();
    let longest = lengths.iter().copied().max().unwrap_or(0);
    let mut samplers: Vec<Sampler> = (0..n).map(|_| Sampler::new(|_| true)).collect();
    let mut tokens: Vec<Vec<Token>> = vec![Vec::with_capacity(longest); n];
    let mut states: Vec<Tensor<2>> =
        (0..decoder.layers.len()).map(|_| Tensor::zeros([n, shape.hidden], device)).collect();
    let width = step_features(shape.bars);
    let z = Tensor::<2>::from_data(TensorData::new(z.to_vec(), [n, shape.latent]), device);
    let mut rows = vec![0f32; n * width];
    for step in 0..longest {
        for (i, row) in rows.chunks_exact_mut(width).enumerate() {
            step_input(row, tokens[i].last().copied(), step, shape.bars, meters[i], &[]);
        }
        let x = Tensor::<2>::from_data(TensorData::new(rows.clone(), [n, width]), device);
        let (logits, next) = decoder.step(x, z.clone(), states);
        states = next;
        let logits = logits.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 logits");
        for (i, row) in logits.chunks_exact(VOCAB_SIZE).enumerate() {
            let token = samplers[i].next(row, temperature, rng);
            tokens[i].push(token);
        }
    }
    tokens
        .into_iter()
        .zip(&lengths)
        .map(|(mut t, &len)| {
            t.truncate(len);
            t
        })
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Trains a model into `out`; resumes from `out/checkpoint` when `resume`.
pub fn train(config: TrainConfig, out: &Path, resume: bool, device: &Device) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let checkpoint_dir = out.join("checkpoint");
    let config = run_config(config, out, resume)?;
    write_json(&out.join("config.json"), &config)?;
    let data = TrainingData::load(&config)?;

    // The initial weights come from the backend's generator: seed it, so a run repeats.
    device.seed(config.seed);
    let mut learner = Learner::new(&config, device);
    let mut state = RunState::default();
    if let (Some(init), false) = (&config.init, resume) {
        let (model, shape) = crate::import::read_vae(init, device)?;
        if shape != config.shape {
            return Err(format!(
                "{}: the model's shape {shape:?} is not the run's {:?} (set --bars, --latent, \
                 --hidden and --layers to the model's)",
                init.display(),
                config.shape
            ));
        }
        learner.model = model;
        eprintln!("starting from the weights of {}", init.display());
    }
    if resume {
        learner = learner.load(&checkpoint_dir)?;
        state = read_json(&checkpoint_dir.join("state.json"))?;
        eprintln!("resumed after epoch {}, step {}", state.epochs_done, state.steps_done);
    }

    let batch = config.batch.min(data.windows.len());
    let steps_per_epoch = {
        let full = meter_batches(&data.windows, batch, &mut Rng::new(config.seed)).len();
        if config.max_steps_per_epoch > 0 { full.min(config.max_steps_per_epoch) } else { full }
            .max(1)
    };
    let mut metrics_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("metrics.jsonl"))
        .map_err(|e| format!("metrics.jsonl: {e}"))?;
    let started = Instant::now();

    for epoch in state.epochs_done..config.epochs {
        let epoch_started = Instant::now();
        let run = EpochRun { config: &config, data: &data, batch, steps_per_epoch, epoch };
        let sums = match run_epoch(&run, learner, &mut state, &checkpoint_dir, device)? {
            EpochEnd::Done(next, sums) => {
                learner = next;
                sums
            }
            EpochEnd::Stopped(stopped) => return stop(&stopped, &config, &data, out, device),
        };
        let train_seconds = epoch_started.elapsed().as_secs_f64();
        let valid_started = Instant::now();
        let validation = validate_epoch(&learner, &config, &data, device);
        state.epochs_done = epoch + 1;
        let train_losses: BTreeMap<&str, f64> =
            sums.iter().map(|(k, v)| (*k, v / steps_per_epoch as f64)).collect();
        let steps_per_s = steps_per_epoch as f64 / train_seconds;
        let record = serde_json::json!({
            "epoch": epoch + 1,
            "steps": state.steps_done,
            "seconds": started.elapsed().as_secs_f64(),
            "train_seconds": train_seconds,
            "valid_seconds": valid_started.elapsed().as_secs_f64(),
            "steps_per_s": steps_per_s,
            "samples_per_s": steps_per_s * batch as f64,
            "device_memory_mib": memory_reserved_mib(device),
            "train": train_losses,
            "valid_temperature": validation.temperature,
            "valid_mean_overlap": validation.mean_overlap,
            "valid_mean_overlap_by_temperature": validation.overlap_by_temperature,
            "valid_overlap": validation.overlap,
            "valid_classifier_accuracy": validation.accuracy,
            "valid_classifier_accuracy_by_temperature": validation.accuracy_by_temperature,
            "valid_in_scale_rate": validation.in_scale,
        });
        writeln!(metrics_file, "{record}").map_err(|e| format!("metrics.jsonl: {e}"))?;
        eprintln!(
            "epoch {}: train {train_losses:?}, valid classifier accuracy {:.3}, mean overlap {:.3} at temperature {}, in-scale {:.3}; \
             {steps_per_s:.1} steps/s, {:.0} windows/s, {:.0} s in all",
            epoch + 1,
            validation.accuracy,
            validation.mean_overlap,
            validation.temperature,
            validation.in_scale,
            steps_per_s * batch as f64,
            started.elapsed().as_secs_f64(),
        );
        keep_epoch(&learner, &mut state, &validation, &config, &data, out, epoch + 1, device)?;
        save_checkpoint(&learner, &state, &checkpoint_dir)?;
    }
    eprintln!(
        "done in {:.0} s; best validation classifier accuracy {:.3} (mean overlap {:.3}); model: {}",
        started.elapsed().as_secs_f64(),
        state.best_valid_accuracy,
        state.best_valid_overlap,
        out.join("model.onnx").display()
    );
    Ok(())
}

/// The configuration a run goes on with: on `--resume`, the saved model, data and optimiser
/// settings win; `--epochs` sets where to stop, and `--save-epochs` can start keeping epochs.
fn run_config(config: TrainConfig, out: &Path, resume: bool) -> Result<TrainConfig, String> {
    if !resume {
        return Ok(config);
    }
    let saved: TrainConfig = read_json(&out.join("config.json"))?;
    Ok(TrainConfig {
        epochs: config.epochs,
        save_epochs: saved.save_epochs || config.save_epochs,
        command: format!("{}; {}", saved.command, config.command),
        ..saved
    })
}

/// What a run trains and validates on, read once.
struct TrainingData {
    /// The training windows.
    windows: Vec<Window>,
    /// Each window's attributes as normal scores within its meter (the value tie), or `None`.
    scores: Option<Vec<[f32; 5]>>,
    /// The validation windows with the index of their tune (the classifier's groups).
    valid_grouped: Vec<(Melody, usize)>,
    /// The validation windows alone.
    valid_reference: Vec<Melody>,
    /// The meters validation melodies are sampled in: those of the validation windows, in
    /// their proportions, so that the classifier compares like with like.
    valid_meters: Vec<Meter>,
}

impl TrainingData {
    fn load(config: &TrainConfig) -> Result<TrainingData, String> {
        eprintln!("reading training data from {}", config.data.display());
        let corpus = data::load_selection(&config.data, &config.selection, true)
            .map_err(|e| format!("{}: {e}", config.data.display()))?;
        let windows: Vec<Window> = data::windows(&corpus.tunes, config.shape.bars, 1);
        eprintln!(
            "{} files used, {} skipped, {} windows of {} bars ({})",
            corpus.tunes.len(),
            corpus.skipped.len(),
            windows.len(),
            config.shape.bars,
            data::meter_counts(&windows)
                .iter()
                .map(|(m, n)| format!("{m}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if windows.len() < config.batch.min(2) {
            return Err(format!(
                "{}: not enough usable melodies to train on",
                config.data.display()
            ));
        }
        // Transposing a window by an octave (the augmentation) changes none of the attributes.
        let scores = (config.attribute_weight > 0.0 && config.attribute_tie == AttributeTie::Value)
            .then(|| {
                let values: Vec<[f64; 5]> = windows
                    .iter()
                    .map(|w| Attribute::measure_all(&data::window_melody(&w.tokens), w.meter))
                    .collect();
                normal_scores(&values, &windows.iter().map(|w| w.meter).collect::<Vec<_>>())
            });
        let valid = data::load_selection(&config.valid, &config.selection, true)
            .map_err(|e| format!("{}: {e}", config.valid.display()))?;
        let valid_in_meters = data::reference_windows_in_meters(&valid.tunes, config.shape.bars);
        let valid_grouped: Vec<(Melody, usize)> =
            valid_in_meters.iter().map(|(m, i, _)| (m.clone(), *i)).collect();
        let valid_reference: Vec<Melody> = valid_grouped.iter().map(|(m, _)| m.clone()).collect();
        let valid_meters: Vec<Meter> = valid_in_meters
            .iter()
            .map(|(_, _, m)| *m)
            .cycle()
            .take(config.valid_samples.max(valid_in_meters.len().min(1)))
            .collect();
        eprintln!("{} validation windows", valid_reference.len());
        Ok(TrainingData { windows, scores, valid_grouped, valid_reference, valid_meters })
    }
}

/// One epoch's batches in a shuffled order: every batch holds windows of one meter (one
/// length); windows of a meter too rare to fill a batch are left out.
fn meter_batches(windows: &[Window], batch: usize, rng: &mut Rng) -> Vec<(Meter, Vec<usize>)> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    rng.shuffle(&mut order);
    let mut batches = Vec::new();
    for meter in Meter::ALL {
        let of_meter: Vec<usize> =
            order.iter().copied().filter(|&i| windows[i].meter == meter).collect();
        batches.extend(of_meter.chunks_exact(batch).map(|c| (meter, c.to_vec())));
    }
    let mut shuffled: Vec<usize> = (0..batches.len()).collect();
    rng.shuffle(&mut shuffled);
    shuffled.into_iter().map(|i| batches[i].clone()).collect()
}

/// What one epoch of steps runs on.
struct EpochRun<'a> {
    config: &'a TrainConfig,
    data: &'a TrainingData,
    batch: usize,
    steps_per_epoch: usize,
    /// The epoch, from 0.
    epoch: usize,
}

/// How an epoch of steps ended: done, with the learner and the summed losses, or stopped by
/// Ctrl-C (the checkpoint saved), with the learner as it was.
enum EpochEnd {
    Done(Learner, BTreeMap<&'static str, f64>),
    Stopped(Learner),
}

/// One epoch of optimiser steps (octave-shift augmentation, a progress bar, checkpoints every
/// `checkpoint_every` steps, and a clean stop on Ctrl-C).
fn run_epoch(
    run: &EpochRun,
    mut learner: Learner,
    state: &mut RunState,
    checkpoint_dir: &Path,
    device: &Device,
) -> Result<EpochEnd, String> {
    let (config, windows) = (run.config, &run.data.windows);
    let mut rng = Rng::new(config.seed.wrapping_add(run.epoch as u64 * 7919));
    let batches = meter_batches(windows, run.batch, &mut rng);
    let bar = ProgressBar::new(run.steps_per_epoch as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{}/{}", run.epoch + 1, config.epochs));
    let mut sums: BTreeMap<&'static str, f64> = BTreeMap::new();
    let mut pending: Vec<(&'static str, Tensor<1>)> = Vec::new();
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); run.batch];
    for step in 0..run.steps_per_epoch {
        let Some((meter, members)) = batches.get(step % batches.len().max(1)) else { break };
        for (slot, &i) in buffers.iter_mut().zip(members) {
            slot.clone_from(&windows[i].tokens);
            // Augment by transposition: up or down an octave when it fits the range.
            let shift = [0, 12, -12][rng.below(3)];
            data::transpose_window(slot, shift);
        }
        let refs: Vec<&[u8]> = buffers.iter().map(|w| w.as_slice()).collect();
        let batch_scores: Option<Vec<[f32; 5]>> =
            run.data.scores.as_ref().map(|s| members.iter().map(|&i| s[i]).collect());
        let (next, losses) = learner.step(
            &refs,
            batch_scores.as_deref(),
            *meter,
            config,
            state.steps_done,
            &mut rng,
            device,
        );
        learner = next;
        state.steps_done += 1;
        pending.extend(losses);
        if (step + 1) % READ_LOSSES_EVERY == 0 || step + 1 == run.steps_per_epoch {
            bar.set_message(read_losses(&mut pending, &mut sums));
        }
        bar.inc(1);
        if config.checkpoint_every > 0 && state.steps_done % config.checkpoint_every == 0 {
            save_checkpoint(&learner, state, checkpoint_dir)?;
        }
        if STOP.load(Ordering::Relaxed) {
            bar.abandon_with_message("stopped");
            save_checkpoint(&learner, state, checkpoint_dir)?;
            return Ok(EpochEnd::Stopped(learner));
        }
    }
    bar.finish();
    Ok(EpochEnd::Done(learner, sums))
}

/// After Ctrl-C: a model file when the run has none yet, and how to go on.
fn stop(
    learner: &Learner,
    config: &TrainConfig,
    data: &TrainingData,
    out: &Path,
    device: &Device,
) -> Result<(), String> {
    if !out.join("model.onnx").exists() {
        write_model(
            learner,
            config,
            &out.join("model.onnx"),
            &BTreeMap::new(),
            &data.windows,
            device,
        )?;
    }
    eprintln!(
        "stopped: checkpoint saved in {}; continue with --resume",
        out.join("checkpoint").display()
    );
    Ok(())
}

/// An epoch's validation: music statistics of generated melodies against the `valid`
/// windows at each of [`VALID_TEMPERATURES`], and the temperature the classifier tells from
/// real tunes least often.
struct Validation {
    temperature: f32,
    overlap: [f64; 9],
    mean_overlap: f64,
    in_scale: f64,
    accuracy: f64,
    overlap_by_temperature: BTreeMap<String, f64>,
    accuracy_by_temperature: BTreeMap<String, f64>,
}

fn validate_epoch(
    learner: &Learner,
    config: &TrainConfig,
    data: &TrainingData,
    device: &Device,
) -> Validation {
    let decoder = learner.decoder().valid();
    let samples: Vec<(f32, Vec<Melody>)> = VALID_TEMPERATURES
        .iter()
        .map(|&t| {
            let melodies = sample_melodies(
                &decoder,
                &config.shape,
                config.detail,
                &data.valid_meters,
                t,
                12345,
                device,
            );
            (t, melodies)
        })
        .collect();
    // The statistics run on the CPU, one thread per temperature (and per feature inside).
    let sweep: Vec<(f32, [f64; 9], f64, f64)> = std::thread::scope(|scope| {
        let threads: Vec<_> = samples
            .iter()
            .map(|(t, generated)| {
                let (reference, grouped) = (&data.valid_reference, &data.valid_grouped);
                scope.spawn(move || {
                    let accuracy =
                        classifier::two_sample(&classifier::ungrouped(generated), grouped, 5, 1)
                            .accuracy;
                    (
                        *t,
                        metrics::overlap_areas(generated, reference, 1),
                        metrics::in_scale_rate(generated),
                        accuracy,
                    )
                })
            })
            .collect();
        // The statistics are arithmetic on owned data: a panic there is a bug, reported as one.
        threads.into_iter().map(|t| t.join().expect("validation thread")).collect()
    });
    // VALID_TEMPERATURES is not empty.
    let (temperature, overlap, in_scale, accuracy) =
        sweep.iter().min_by(|a, b| a.3.total_cmp(&b.3)).copied().expect("temperatures to try");
    Validation {
        temperature,
        overlap,
        mean_overlap: metrics::mean(&overlap),
        in_scale,
        accuracy,
        overlap_by_temperature: sweep
            .iter()
            .map(|(t, o, _, _)| (format!("{t}"), metrics::mean(o)))
            .collect(),
        accuracy_by_temperature: sweep.iter().map(|(t, _, _, a)| (format!("{t}"), *a)).collect(),
    }
}

/// Keeps what an epoch made: its model and weights under `epochs/` with `--save-epochs`, and
/// the run's `model.onnx` and `best/` when the classifier tells its melodies from real ones
/// less often than any epoch's before.
#[allow(clippy::too_many_arguments)]
fn keep_epoch(
    learner: &Learner,
    state: &mut RunState,
    validation: &Validation,
    config: &TrainConfig,
    data: &TrainingData,
    out: &Path,
    epoch: usize,
    device: &Device,
) -> Result<(), String> {
    let Validation { temperature, mean_overlap, accuracy, .. } = *validation;
    if config.save_epochs {
        let dir = out.join("epochs");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let metadata = epoch_metadata(temperature, mean_overlap, accuracy, epoch);
        write_model(
            learner,
            config,
            &dir.join(format!("epoch-{epoch:03}.onnx")),
            &metadata,
            &data.windows,
            device,
        )?;
        // Its weights too, so that `export --epoch` can ship an epoch other than the best.
        learner
            .model
            .clone()
            .save_file(epoch_weights(out, epoch))
            .map_err(|e| format!("saving epoch {epoch} in {}: {e:?}", dir.display()))?;
    }
    if accuracy < state.best_valid_accuracy {
        state.best_valid_accuracy = accuracy;
        state.best_valid_overlap = mean_overlap;
        state.best_temperature = temperature;
        state.best_epoch = epoch;
        write_model(
            learner,
            config,
            &out.join("model.onnx"),
            &best_metadata(state),
            &data.windows,
            device,
        )?;
        learner.save(&out.join("best"))?;
        write_json(&out.join("best/state.json"), state)?;
    }
    Ok(())
}

fn save_checkpoint(learner: &Learner, state: &RunState, dir: &Path) -> Result<(), String> {
    learner.save(dir)?;
    write_json(&dir.join("state.json"), state)
}

/// Writes the learner's decoder to `path` and its encoder beside it (`name.encoder.onnx`),
/// with `extra` metadata, the provenance of the run and the latent directions measured on
/// `windows`. Both files carry the same model id (a hash of the decoder file).
fn write_model(
    learner: &Learner,
    config: &TrainConfig,
    path: &Path,
    extra: &BTreeMap<String, String>,
    windows: &[Window],
    device: &Device,
) -> Result<(), String> {
    let mut extra = extra.clone();
    extra.extend(learner.directions_metadata(config, windows, device));
    extra.insert(
        meta::METERS.to_string(),
        data::meter_counts(windows)
            .iter()
            .map(|(m, n)| format!("{m}={n}"))
            .collect::<Vec<_>>()
            .join(","),
    );
    extra.extend(provenance(config));
    extra.insert(meta::MODEL_KIND.to_string(), config.kind.model_kind().to_string());
    if config.detail > 0 {
        // The graph reads the latent point, then the detail code.
        let prior = config.shape.latent - config.detail;
        extra.insert(meta::LATENT_SIZE.to_string(), prior.to_string());
        extra.insert(meta::DETAIL_SIZE.to_string(), config.detail.to_string());
    }
    let draft = export_decoder(learner.decoder(), &config.shape, &extra);
    extra.insert(meta::MODEL_ID.to_string(), format!("{:016x}", fnv1a(&draft)));
    let decoder = export_decoder(learner.decoder(), &config.shape, &extra);
    let encoder = export_encoder(&learner.model.encoder, &config.shape, &extra);
    std::fs::write(path, decoder).map_err(|e| format!("{}: {e}", path.display()))?;
    let encoder_path = neume::model::model_file::encoder_path(path);
    std::fs::write(&encoder_path, encoder).map_err(|e| format!("{}: {e}", encoder_path.display()))
}

/// FNV-1a, 64 bits: a stable fingerprint of a file's bytes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Where a run's model comes from: its collections, their licence, the date and the command.
fn provenance(config: &TrainConfig) -> BTreeMap<String, String> {
    let collections = data::collections(&config.data, &config.selection);
    let meter = if config.selection.duple_only {
        " (duple-meter tunes only)".to_string()
    } else if !config.selection.meters.is_empty() {
        format!(" ({} only)", config.selection.meters.join(", "))
    } else {
        String::new()
    };
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok());
    let mut md = BTreeMap::from([
        (meta::TRAINING_DATA.to_string(), format!("{}{meter}", collections.join(","))),
        (meta::DATA_LICENCE.to_string(), data::licence_of(&collections).to_string()),
        (meta::COMMAND.to_string(), config.command.clone()),
    ]);
    if let Some(date) = date {
        md.insert(meta::TRAINED.to_string(), date.trim().to_string());
    }
    md
}

/// Loads a run's best (else latest) checkpoint.
fn load_learner(run: &Path, device: &Device) -> Result<(Learner, TrainConfig), String> {
    let config: TrainConfig = read_json(&run.join("config.json"))?;
    let dir = if run.join("best").exists() { run.join("best") } else { run.join("checkpoint") };
    let learner = Learner::new(&config, device).load(&dir)?;
    Ok((learner, config))
}

/// Loads a run's best (else latest) checkpoint, with the metadata of its state.
fn load_best(
    run: &Path,
    device: &Device,
) -> Result<(Learner, TrainConfig, BTreeMap<String, String>), String> {
    let (learner, config) = load_learner(run, device)?;
    let state_path = if run.join("best/state.json").exists() {
        run.join("best/state.json")
    } else {
        run.join("checkpoint/state.json")
    };
    let metadata = match std::fs::read_to_string(&state_path) {
        Ok(text) => best_metadata(
            &serde_json::from_str(&text).map_err(|e| format!("{}: {e}", state_path.display()))?,
        ),
        Err(_) => BTreeMap::new(),
    };
    Ok((learner, config, metadata))
}

/// Where `train --save-epochs` keeps the weights of epoch `epoch` (1-based).
fn epoch_weights(run: &Path, epoch: usize) -> PathBuf {
    run.join("epochs").join(format!("epoch-{epoch:03}.bpk"))
}

/// Loads the weights of one epoch of a run: those `--save-epochs` kept, or the last
/// checkpoint when it is that epoch; with the epoch's metadata from `metrics.jsonl`.
fn load_epoch(
    run: &Path,
    epoch: usize,
    device: &Device,
) -> Result<(Learner, TrainConfig, BTreeMap<String, String>), String> {
    let config: TrainConfig = read_json(&run.join("config.json"))?;
    let learner = Learner::new(&config, device);
    let weights = epoch_weights(run, epoch);
    let checkpoint: Option<RunState> = read_json(&run.join("checkpoint/state.json")).ok();
    let learner = if weights.exists() {
        let model = learner
            .model
            .try_load_file(&weights)
            .map_err(|e| format!("loading {}: {e:?}", weights.display()))?;
        Learner { model, ..learner }
    } else if checkpoint.as_ref().is_some_and(|s| s.epochs_done == epoch) {
        learner.load(&run.join("checkpoint"))?
    } else {
        return Err(format!(
            "{}: no weights of epoch {epoch} (`train --save-epochs` keeps every epoch's; the \
             last checkpoint is epoch {})",
            run.display(),
            checkpoint.map_or(0, |s| s.epochs_done)
        ));
    };
    let metrics_path = run.join("metrics.jsonl");
    let metrics = std::fs::read_to_string(&metrics_path)
        .map_err(|e| format!("{}: {e}", metrics_path.display()))?;
    let line: serde_json::Value = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["epoch"].as_u64() == Some(epoch as u64))
        .last()
        .ok_or_else(|| format!("{}: no line for epoch {epoch}", metrics_path.display()))?;
    let figure = |key: &str| {
        line[key]
            .as_f64()
            .ok_or_else(|| format!("{}: epoch {epoch} has no {key}", metrics_path.display()))
    };
    let metadata = epoch_metadata(
        figure("valid_temperature")? as f32,
        figure("valid_mean_overlap")?,
        figure("valid_classifier_accuracy")?,
        epoch,
    );
    Ok((learner, config, metadata))
}

/// Loads the VAE of epoch `epoch` of a run (or its best, else latest, checkpoint).
pub fn load_vae(
    run: &Path,
    epoch: Option<usize>,
    device: &Device,
) -> Result<(Vae, TrainConfig), String> {
    let (learner, config) = match epoch {
        Some(epoch) => load_epoch(run, epoch, device).map(|(l, c, _)| (l, c))?,
        None => load_learner(run, device)?,
    };
    Ok((learner.model, config))
}

/// Loads the decoder of a run's best (else latest) checkpoint.
pub fn load_decoder(run: &Path, device: &Device) -> Result<(Decoder, TrainConfig), String> {
    let (learner, config) = load_learner(run, device)?;
    Ok((learner.decoder().clone(), config))
}

/// Writes the ONNX file of a run's best checkpoint (or of `epoch`) to `path`, with its tuned
/// temperature and, for a VAE, the latent directions measured on `data` (default: the run's
/// training folder). Returns the tunes of that folder it read (what the copy index of the
/// model is built from).
pub fn export_run(
    run: &Path,
    epoch: Option<usize>,
    path: &Path,
    data: Option<&Path>,
    overrides: &BTreeMap<String, String>,
    device: &Device,
) -> Result<Vec<data::Tune>, String> {
    let (learner, config, mut extra) = match epoch {
        Some(epoch) => load_epoch(run, epoch, device)?,
        None => load_best(run, device)?,
    };
    extra.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
    // The latent directions are measured on training windows.
    let folder = data.unwrap_or(&config.data);
    let corpus = data::load_selection(folder, &config.selection, false)
        .map_err(|e| format!("{}: {e}", folder.display()))?;
    let windows = data::windows(&corpus.tunes, config.shape.bars, 1);
    if windows.is_empty() {
        return Err(format!(
            "{}: no training windows to measure the latent directions on",
            folder.display()
        ));
    }
    write_model(&learner, &config, path, &extra, &windows, device)?;
    Ok(corpus.tunes)
}
