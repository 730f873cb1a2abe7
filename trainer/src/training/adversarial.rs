//! The adversarial generator (`train --model gan`): the decoder `G(z)` trained against a
//! discriminator `D` over whole melodies, `min_G max_D E[log D(x)] + E[log(1 − D(G(z)))]`.
//!
//! The generator is the runtime's autoregressive GRU, so its melodies are discrete tokens
//! and no gradient flows from `D` through a sampled step. The gradient estimator is
//! REINFORCE with a baseline (SeqGAN, Yu et al. 2017) on whole melodies: `G` samples a batch
//! at temperature 1 with the runtime's sampler (its grammar masks included), `D` scores each
//! melody, and the log-likelihood of every melody is pushed up in proportion to its score
//! minus the batch's mean (divided by the batch's spread). Why this estimator: Gumbel-softmax
//! would feed the decoder soft tokens it never sees at run time, and the contract's step input
//! is a one-hot previous token; REINFORCE trains exactly the sampler that ships. Why whole
//! melodies, not SeqGAN's Monte-Carlo roll-outs per step: roll-outs cost 64 samplings per
//! step, more than two CPU cores give.
//!
//! The maximum-likelihood start is a trained VAE (`--init model.onnx`), and its loss stays
//! in the generator's objective as an anchor (weight 1, the adversarial term weighted by
//! `--adversarial-weight`): it keeps the encoder, the named knobs and the variety of the
//! tunes while `D` pulls the melodies toward what it cannot tell from real ones. Without the
//! anchor, REINFORCE against a discriminator collapses to a few melodies; the diversity
//! figures of `neume-train eval` (mean pairwise similarity, distinct share) would show it.

use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu, sigmoid, softplus};
use neume::encoding::{Meter, Token, MAX_BAR_STEPS, VOCAB_SIZE};
use neume::rng::Rng;

use crate::data;
use crate::model::{step_features_batch, Decoder, ModelShape};

/// Intervals the discriminator's input names (a note's onset, from the note before): −12..=12
/// semitones, wider ones at the ends.
const INTERVALS: usize = 25;

/// Channels of the discriminator's input at each step: the token, the step in the bar, the
/// meter, and at a note's onset its interval from the note before (what the classifier test
/// reads first), one-hot each.
const INPUT_CHANNELS: usize = VOCAB_SIZE + MAX_BAR_STEPS + Meter::ALL.len() + INTERVALS;

/// Channels of each convolution.
const WIDTH: usize = 96;

/// The discriminator: three 1-D convolutions over the steps (kernel 4, dilations 1, 2 and 4:
/// 22 steps, more than a bar, seen by each output), then the mean and the maximum over time,
/// and a linear read-out to one logit ("real"). Conditioned on the meter by its input.
#[derive(Module, Debug)]
pub struct Discriminator {
    conv1: Conv1d,
    conv2: Conv1d,
    conv3: Conv1d,
    out: Linear,
}

impl Discriminator {
    pub fn new(device: &Device) -> Discriminator {
        let conv = |input, dilation| {
            Conv1dConfig::new(input, WIDTH, 4).with_dilation(dilation).init(device)
        };
        Discriminator {
            conv1: conv(INPUT_CHANNELS, 1),
            conv2: conv(WIDTH, 2),
            conv3: conv(WIDTH, 4),
            out: LinearConfig::new(2 * WIDTH, 1).init(device),
        }
    }

    /// `x: [batch, INPUT_CHANNELS, steps]` → logits `[batch, 1]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let h = relu(self.conv1.forward(x));
        let h = relu(self.conv2.forward(h));
        let h = relu(self.conv3.forward(h)); // [batch, WIDTH, steps']
        let [batch, width, _] = h.dims();
        let mean = h.clone().mean_dim(2).reshape([batch, width]);
        let max = h.max_dim(2).reshape([batch, width]);
        self.out.forward(Tensor::cat(vec![mean, max], 1))
    }
}

/// How the REINFORCE term gives each sampled step its credit.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Credit {
    /// Every step of a melody gets the melody's score (D's probability), less the batch's
    /// mean, over its spread.
    #[default]
    Melody,
    /// Each step gets the reward to go: the part of D's logit read from the positions that
    /// hold the step or come after it (the mean-pooled read-out of each 22-step position),
    /// less the batch's mean at that step, over its spread. A step is credited with what
    /// it and what followed it did, not with the whole melody.
    Step,
}

impl Discriminator {
    /// Each position's part of the mean-pooled read-out: `x: [batch, INPUT_CHANNELS, steps]`
    /// → `[batch, positions]` (positions = steps − 21), whose mean over positions is the
    /// logit's mean-pool term.
    pub fn position_scores(&self, x: Tensor<3>) -> Tensor<2> {
        let h = relu(self.conv1.forward(x));
        let h = relu(self.conv2.forward(h));
        let h = relu(self.conv3.forward(h)); // [batch, WIDTH, positions]
        let [batch, width, positions] = h.dims();
        let weight = self.out.weight.val().slice([0..width, 0..1]); // the mean-pool half
        h.swap_dims(1, 2)
            .reshape([batch * positions, width])
            .matmul(weight)
            .reshape([batch, positions])
    }
}

/// Per-step REINFORCE advantages from D's position scores (`[batch][positions]`) of windows
/// of `steps` steps: a step's reward is the sum of the scores of the positions whose span
/// (22 steps from the position) reaches it or lies after it; each step's rewards less their
/// batch mean, over their batch spread (a floor keeps equal rewards from dividing by zero).
/// Row-major `[batch, steps]`.
pub fn step_advantages(scores: &[Vec<f32>], steps: usize) -> Vec<f32> {
    let span = steps.saturating_sub(scores.first().map_or(0, Vec::len)) + 1;
    let batch = scores.len();
    let mut rewards = vec![0f32; batch * steps];
    for (b, row) in scores.iter().enumerate() {
        // The reward to go at step s: positions p with p + span - 1 >= s.
        let mut to_go = 0f32;
        let mut p = row.len();
        for s in (0..steps).rev() {
            while p > 0 && p - 1 + span > s {
                p -= 1;
                to_go += row[p];
            }
            rewards[b * steps + s] = to_go;
        }
    }
    for s in 0..steps {
        let column: Vec<f32> = (0..batch).map(|b| rewards[b * steps + s]).collect();
        for (b, a) in advantages(&column).into_iter().enumerate() {
            rewards[b * steps + s] = a;
        }
    }
    rewards
}

/// The discriminator's input of windows (token indices, all of one length) in `meter`.
pub fn discriminator_input(windows: &[&[u8]], meter: Meter, device: &Device) -> Tensor<3> {
    let batch = windows.len();
    let steps = windows.first().map_or(0, |w| w.len());
    let mut data = vec![0f32; batch * INPUT_CHANNELS * steps];
    let bar_steps = meter.bar_steps();
    for (row, window) in data.chunks_exact_mut(INPUT_CHANNELS * steps).zip(windows) {
        let mut set = |channel: usize, step: usize| row[channel * steps + step] = 1.0;
        let mut previous: Option<i32> = None;
        for (step, &token) in window.iter().enumerate() {
            set(usize::from(token).min(VOCAB_SIZE - 1), step);
            set(VOCAB_SIZE + step % bar_steps, step);
            set(VOCAB_SIZE + MAX_BAR_STEPS + meter.index(), step);
            if let Some(Token::Note(pitch)) = Token::from_index(usize::from(token)) {
                let pitch = i32::from(pitch);
                if let Some(before) = previous {
                    let interval = (pitch - before).clamp(-12, 12) + 12;
                    set(VOCAB_SIZE + MAX_BAR_STEPS + Meter::ALL.len() + interval as usize, step);
                }
                previous = Some(pitch);
            }
        }
    }
    Tensor::from_data(TensorData::new(data, [batch, INPUT_CHANNELS, steps]), device)
}

/// `D` and its optimiser.
pub struct Adversary {
    pub discriminator: Discriminator,
    pub optim: ModuleOptimizer,
}

/// The figures of one adversarial step (still on the device, `[1]` each).
pub struct StepFigures {
    /// `D`'s loss: −log D(real) − log(1 − D(fake)), batch means.
    pub d_loss: Tensor<1>,
    /// Mean D(real) and D(fake), probabilities.
    pub d_real: Tensor<1>,
    pub d_fake: Tensor<1>,
}

/// Samples windows of the model's bars in `meter` from `decoder` at temperature 1 with the
/// runtime's sampler, one from each latent point of `z` (`[batch, latent]` row-major): token
/// indices.
pub fn sample_windows(
    decoder: &Decoder,
    shape: &ModelShape,
    meter: Meter,
    z: &[f32],
    rng: &mut Rng,
    device: &Device,
) -> Vec<Vec<u8>> {
    let meters = vec![meter; z.len() / shape.latent];
    super::sample_tokens(decoder, shape, &meters, z, 1.0, rng, device)
        .iter()
        .map(|t| t.iter().map(|token| token.index() as u8).collect())
        .collect()
}

/// Log-likelihood of each step of each window under the teacher-forced decoder:
/// `[batch, steps]`.
pub fn step_log_likelihood(
    decoder: &Decoder,
    windows: &[&[u8]],
    meter: Meter,
    z: Tensor<2>,
    shape: &ModelShape,
    device: &Device,
) -> Tensor<2> {
    let steps = windows.first().map_or(0, |w| w.len());
    let features = step_features_batch(windows, meter, None, shape, device);
    let logits = decoder.forward(features, z); // [batch, steps, vocab]
    let target = data::one_hot(windows, steps, device).reshape([windows.len(), steps, VOCAB_SIZE]);
    (log_softmax(logits, 2) * target).sum_dim(2).reshape([windows.len(), steps])
}

/// Log-likelihood of each window under the teacher-forced decoder: `[batch, 1]`.
pub fn log_likelihood(
    decoder: &Decoder,
    windows: &[&[u8]],
    meter: Meter,
    z: Tensor<2>,
    shape: &ModelShape,
    device: &Device,
) -> Tensor<2> {
    step_log_likelihood(decoder, windows, meter, z, shape, device).sum_dim(1)
}

impl Adversary {
    pub fn new(device: &Device) -> Adversary {
        Adversary { discriminator: Discriminator::new(device), optim: super::adam().init() }
    }

    /// One step of `D` on a real and a generated batch of one meter; returns the rewards of
    /// the generated melodies under the updated `D` (probabilities, on the CPU) and the step's
    /// figures.
    pub fn step(
        self,
        real: &[&[u8]],
        fake: &[&[u8]],
        meter: Meter,
        lr: f64,
        device: &Device,
    ) -> (Adversary, Vec<f32>, StepFigures) {
        let Adversary { discriminator, mut optim } = self;
        let real_logits = discriminator.forward(discriminator_input(real, meter, device));
        let fake_logits = discriminator.forward(discriminator_input(fake, meter, device));
        // −log σ(a) = softplus(−a); −log(1 − σ(b)) = softplus(b).
        let d_loss = softplus(real_logits.clone().neg(), 1.0).mean()
            + softplus(fake_logits.clone(), 1.0).mean();
        let d_real = sigmoid(real_logits.detach()).mean();
        let d_fake = sigmoid(fake_logits.detach()).mean();
        let figures = StepFigures { d_loss: d_loss.clone().detach(), d_real, d_fake };
        let grads = GradientsParams::from_grads(d_loss.backward(), &discriminator);
        let discriminator = optim.step(lr, discriminator, grads);
        let judge = discriminator.valid();
        let rewards = sigmoid(judge.forward(discriminator_input(fake, meter, device)))
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("f32 rewards");
        (Adversary { discriminator, optim }, rewards, figures)
    }

    /// The position scores of `fake` under the current `D` (see
    /// [`Discriminator::position_scores`]), one row a window, on the CPU.
    pub fn position_scores(&self, fake: &[&[u8]], meter: Meter, device: &Device) -> Vec<Vec<f32>> {
        let scores =
            self.discriminator.valid().position_scores(discriminator_input(fake, meter, device));
        let [_, positions] = scores.dims();
        let flat = scores.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 scores");
        flat.chunks(positions.max(1)).map(<[f32]>::to_vec).collect()
    }

    pub fn save(&self, dir: &std::path::Path) -> Result<(), String> {
        let err = |e: burn::store::RecordError| format!("saving the discriminator: {e:?}");
        self.discriminator.clone().save_file(dir.join("discriminator.bpk")).map_err(err)?;
        self.optim.save(dir.join("discriminator-optim.bpk")).map_err(err)
    }

    pub fn load(self, dir: &std::path::Path) -> Result<Adversary, String> {
        let err = |e: burn::store::RecordError| {
            format!("loading the discriminator from {}: {e:?}", dir.display())
        };
        Ok(Adversary {
            discriminator: self
                .discriminator
                .try_load_file(dir.join("discriminator.bpk"))
                .map_err(err)?,
            optim: self.optim.load(dir.join("discriminator-optim.bpk")).map_err(err)?,
        })
    }
}

/// REINFORCE advantages of rewards: minus the batch mean (the baseline), over the batch's
/// standard deviation (a floor keeps a batch of equal rewards from dividing by zero).
pub fn advantages(rewards: &[f32]) -> Vec<f32> {
    let n = rewards.len().max(1) as f32;
    let mean = rewards.iter().sum::<f32>() / n;
    let spread = (rewards.iter().map(|r| (r - mean).powi(2)).sum::<f32>() / n).sqrt();
    rewards.iter().map(|r| (r - mean) / spread.max(1e-3)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advantages_are_centred_and_scaled() {
        let a = advantages(&[0.2, 0.4, 0.6, 0.8]);
        assert!(a.iter().sum::<f32>().abs() < 1e-5);
        let var = a.iter().map(|x| x * x).sum::<f32>() / 4.0;
        assert!((var - 1.0).abs() < 1e-4, "{var}");
        assert!(a[3] > a[2] && a[2] > a[1] && a[1] > a[0]);
        assert_eq!(advantages(&[0.5, 0.5]), vec![0.0, 0.0]);
    }

    #[test]
    fn a_step_is_credited_with_the_positions_that_reach_it_or_follow() {
        // Windows of 24 steps: 3 positions, each reading 22 steps (p..p+21). Two melodies
        // alike but for position 2 (steps 2..23), which D likes in the first.
        let scores = vec![vec![0.0, 0.0, 1.0], vec![0.0, 0.0, -1.0]];
        let a = step_advantages(&scores, 24);
        assert_eq!(a.len(), 48);
        // Every step reaches position 2 or precedes it, so each step of the first melody
        // gets the credit: +1 after centring and scaling, the second −1.
        assert!(a[..24].iter().all(|&x| (x - 1.0).abs() < 1e-5), "{a:?}");
        assert!(a[24..].iter().all(|&x| (x + 1.0).abs() < 1e-5), "{a:?}");
        // Position 0 alone differs: only steps 0..=21 reach it; steps 22 and 23 come after
        // its span, so they are not credited with it.
        let a = step_advantages(&[vec![1.0, 0.0, 0.0], vec![-1.0, 0.0, 0.0]], 24);
        assert!((a[21] - 1.0).abs() < 1e-5 && a[22] == 0.0 && a[23] == 0.0, "{a:?}");
    }

    /// D learns to tell two kinds of windows apart (rests only vs a held pitch), so its
    /// gradient step is the right way round: the oracle is which batch is real.
    #[test]
    fn the_discriminator_learns_which_batch_is_real() {
        let device = crate::device::cpu().autodiff();
        let mut adversary = Adversary::new(&device);
        let real: Vec<Vec<u8>> = (0..8).map(|_| vec![0u8; 32]).collect();
        let fake: Vec<Vec<u8>> = (0..8).map(|i| vec![(2 + i) as u8; 32]).collect();
        let real: Vec<&[u8]> = real.iter().map(|w| w.as_slice()).collect();
        let fake: Vec<&[u8]> = fake.iter().map(|w| w.as_slice()).collect();
        let mut rewards = Vec::new();
        for _ in 0..30 {
            let (next, r, _) = adversary.step(&real, &fake, Meter::TwoFour, 1e-2, &device);
            adversary = next;
            rewards = r;
        }
        let mean = rewards.iter().sum::<f32>() / rewards.len() as f32;
        assert!(mean < 0.2, "D still takes the generated batch for real: {mean}");
    }
}
