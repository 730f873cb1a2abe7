//! The generator: a VAE whose decoder writes a melody one 16th at a time (a GRU conditioned
//! on the latent point and on the previous token), and whose encoder turns a window into the
//! mean and log-variance of its latent point.
//!
//! The decoder's per-step input is the model contract shared with the runtime
//! ([`neume::encoding::step_input`]): one-hot previous token (with a start token), one-hot
//! step in the bar, one-hot bar in the window, then `z`. Training feeds all steps at once
//! (teacher forcing); the exported ONNX graph is one step with the GRU state as input and
//! output, so sampling, masks and the grammar stay in Rust between steps.
//!
//! Model code takes a [`Device`]; the backend is chosen once, at the entry point.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{log_softmax, relu, sigmoid, tanh};
use neume::encoding::{step_features, Meter, Token, MAX_BAR_STEPS, STEPS_PER_BAR, VOCAB_SIZE};

/// Shape of a model: what the exporter and the trainer agree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelShape {
    /// Bars per window.
    pub bars: usize,
    /// Latent size.
    pub latent: usize,
    /// GRU state size of each decoder layer (the encoder's layers are 2·hidden and hidden wide).
    pub hidden: usize,
    /// Stacked GRU layers of the decoder.
    #[serde(default = "two")]
    pub layers: usize,
}

fn two() -> usize {
    2
}

impl ModelShape {
    /// The shipped default model's shape (`models/neume-default.onnx`), and the trainer's
    /// defaults.
    pub const DEFAULT: ModelShape = ModelShape { bars: 4, latent: 32, hidden: 128, layers: 2 };

    /// Steps per window in 4/4.
    pub fn steps(&self) -> usize {
        self.bars * STEPS_PER_BAR
    }

    /// Steps of the encoder's input: a window of the longest bars, shorter ones padded.
    pub fn encoder_steps(&self) -> usize {
        self.bars * MAX_BAR_STEPS
    }

    /// Flattened one-hot width of a window (the encoder's input).
    pub fn flat(&self) -> usize {
        self.encoder_steps() * VOCAB_SIZE
    }

    /// Width of the decoder's per-step input: the step features, then `z`.
    pub fn step_input(&self) -> usize {
        step_features(self.bars) + self.latent
    }
}

/// One GRU layer, gates in the order reset (r), update (u), candidate (n):
/// `r = σ(x·Wr + h·Ur)`, `u = σ(x·Wu + h·Uu)`, `n = tanh(x·Wn + r ⊙ (h·Un))`,
/// `h' = n + u ⊙ (h − n)` (each product with its bias). Written out, not burn's `Gru`, so the
/// exporter maps every weight to the ONNX graph one to one.
#[derive(Module, Debug)]
pub struct GruLayer {
    /// `x → [r | u | n]`: weight `[in, 3·hidden]`.
    pub input: Linear,
    /// `h → [r | u | n]`: weight `[hidden, 3·hidden]`.
    pub recurrent: Linear,
}

impl GruLayer {
    fn new(input: usize, hidden: usize, device: &Device) -> Self {
        GruLayer {
            input: LinearConfig::new(input, 3 * hidden).init(device),
            recurrent: LinearConfig::new(hidden, 3 * hidden).init(device),
        }
    }

    /// One step from the input projection `gx: [batch, 3·hidden]` and state `h: [batch, hidden]`.
    pub fn cell(&self, gx: Tensor<2>, h: Tensor<2>) -> Tensor<2> {
        let hidden = h.dims()[1];
        let gh = self.recurrent.forward(h.clone()); // [batch, 3·hidden]
        let gate = |t: &Tensor<2>, i: usize| t.clone().narrow(1, i * hidden, hidden);
        let r = sigmoid(gate(&gx, 0) + gate(&gh, 0));
        let u = sigmoid(gate(&gx, 1) + gate(&gh, 1));
        let n = tanh(gate(&gx, 2) + r * gate(&gh, 2));
        n.clone() + u * (h - n)
    }
}

/// The generator: a latent projection, stacked GRU layers and a linear read-out to token
/// logits. The first layer's input is the step features and `z`; its input weight is
/// `[features; latent]` stacked, split here into `layers[0].input` (features, with the bias)
/// and `latent` (z, no bias) so that the latent part is computed once per melody in training.
#[derive(Module, Debug)]
pub struct Decoder {
    /// `z → [r | u | n]` of the first layer: weight `[latent, 3·hidden]`, no bias.
    pub latent: Linear,
    /// GRU layers, the first reading the step features, each next one the previous one's state.
    pub layers: Vec<GruLayer>,
    /// Last layer's state → token logits.
    pub out: Linear,
}

impl Decoder {
    /// A freshly initialised decoder.
    pub fn new(shape: &ModelShape, device: &Device) -> Self {
        let features = step_features(shape.bars);
        let layers = (0..shape.layers.max(1))
            .map(|i| {
                GruLayer::new(if i == 0 { features } else { shape.hidden }, shape.hidden, device)
            })
            .collect();
        Decoder {
            latent: LinearConfig::new(shape.latent, 3 * shape.hidden).with_bias(false).init(device),
            layers,
            out: LinearConfig::new(shape.hidden, VOCAB_SIZE).init(device),
        }
    }

    /// Teacher-forced logits: one `[batch, step_features]` tensor per step (see
    /// [`step_features_batch`]) and `z: [batch, latent]` → `[batch, steps, vocab]`.
    pub fn forward(&self, features: Vec<Tensor<2>>, z: Tensor<2>) -> Tensor<3> {
        let from_z = self.latent.forward(z); // [batch, 3·hidden]
        let mut inputs = features;
        for (i, layer) in self.layers.iter().enumerate() {
            let Some(first) = inputs.first() else { break };
            let hidden = layer.recurrent.weight.dims()[0];
            let mut h = Tensor::<2>::zeros([first.dims()[0], hidden], &first.device());
            let mut states = Vec::with_capacity(inputs.len());
            for x in inputs {
                let gx = layer.input.forward(x);
                let gx = if i == 0 { gx + from_z.clone() } else { gx };
                h = layer.cell(gx, h);
                states.push(h.clone());
            }
            inputs = states;
        }
        self.out.forward(Tensor::stack(inputs, 1))
    }

    /// One step for every row: `features: [batch, step_features]`, `z: [batch, latent]`, one
    /// state `[batch, hidden]` per layer (zeros at the start) → logits `[batch, vocab]` and the
    /// new states.
    pub fn step(
        &self,
        features: Tensor<2>,
        z: Tensor<2>,
        states: Vec<Tensor<2>>,
    ) -> (Tensor<2>, Vec<Tensor<2>>) {
        let mut input = features;
        let mut next = Vec::with_capacity(states.len());
        for (i, (layer, h)) in self.layers.iter().zip(states).enumerate() {
            let gx = layer.input.forward(input);
            let gx = if i == 0 { gx + self.latent.forward(z.clone()) } else { gx };
            let h = layer.cell(gx, h);
            next.push(h.clone());
            input = h;
        }
        (self.out.forward(input), next)
    }
}

/// The decoder's teacher-forced step features of a batch of windows (token indices, all of
/// one length, in `meter`), one `[batch, step_features]` tensor per step, built as the runtime
/// builds them ([`neume::encoding::step_input`]) with an empty latent part. Where `dropout`
/// says so, the previous token is hidden (token dropout, which makes the decoder lean on `z`).
pub fn step_features_batch(
    windows: &[&[u8]],
    meter: Meter,
    mut dropout: Option<&mut dyn FnMut() -> bool>,
    shape: &ModelShape,
    device: &Device,
) -> Vec<Tensor<2>> {
    let width = step_features(shape.bars);
    let batch = windows.len();
    let steps = windows.first().map_or(0, |w| w.len());
    (0..steps)
        .map(|step| {
            let mut data = vec![0f32; batch * width];
            for (row, window) in data.chunks_exact_mut(width).zip(windows) {
                let dropped = dropout.as_mut().is_some_and(|drop| drop());
                let previous = if step == 0 || dropped {
                    None
                } else {
                    Token::from_index(usize::from(window[step - 1]))
                };
                neume::encoding::step_input(row, previous, step, shape.bars, meter, &[]);
            }
            Tensor::from_data(TensorData::new(data, [batch, width]), device)
        })
        .collect()
}

/// VAE encoder: a one-hot window to the mean and log-variance of its latent posterior.
#[derive(Module, Debug)]
pub struct Encoder {
    /// window → 2·hidden.
    pub l1: Linear,
    /// 2·hidden → hidden.
    pub l2: Linear,
    /// hidden → latent mean.
    pub mu: Linear,
    /// hidden → latent log-variance (clamped to ±[`LOGVAR_LIMIT`]).
    pub logvar: Linear,
}

/// Bound of the encoder's log-variance, here and in the exported graph (`Clip`).
pub const LOGVAR_LIMIT: f32 = 8.0;

impl Encoder {
    fn new(shape: &ModelShape, device: &Device) -> Self {
        Encoder {
            l1: LinearConfig::new(shape.flat(), shape.hidden * 2).init(device),
            l2: LinearConfig::new(shape.hidden * 2, shape.hidden).init(device),
            mu: LinearConfig::new(shape.hidden, shape.latent).init(device),
            logvar: LinearConfig::new(shape.hidden, shape.latent).init(device),
        }
    }

    /// `x: [batch, steps * vocab]` → (mu, logvar), each `[batch, latent]`.
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let h = relu(self.l1.forward(x));
        let h = relu(self.l2.forward(h));
        let limit = f64::from(LOGVAR_LIMIT);
        (self.mu.forward(h.clone()), self.logvar.forward(h).clamp(-limit, limit))
    }
}

/// Variational autoencoder; its decoder is the generator, its encoder turns a clip into a
/// latent point.
#[derive(Module, Debug)]
pub struct Vae {
    /// Posterior network.
    pub encoder: Encoder,
    /// Generator.
    pub decoder: Decoder,
}

/// Losses of one VAE batch.
pub struct VaeLoss {
    /// Reconstruction cross-entropy, nats per window.
    pub recon: Tensor<1>,
    /// KL divergence to N(0, I), nats per window (before free bits).
    pub kl: Tensor<1>,
    /// Attribute regularisation ([`AttributeTie`]), summed over the regularised dimensions
    /// (0 without attributes).
    pub attributes: Tensor<1>,
    /// What is minimised: recon + beta · max(KL per dim, free bits) + γ · attributes.
    pub total: Tensor<1>,
}

/// How the named latent dimensions are tied to their attributes.
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
pub enum AttributeTie {
    /// Pati & Lerch 2020: the order of z_k within a batch follows the order of the attribute
    /// (mean |tanh(δ·Δz) − sign(Δa)| over pairs). Only the order is tied, not how far.
    #[default]
    Order,
    /// z_k regresses on the attribute's normal score in its meter (squared error on the
    /// sampled z_k, see [`crate::training::normal_scores`]): the value is tied, so the decoder learns
    /// what melody a knob value means, and the posterior of z_k narrows.
    Value,
}

/// Attribute targets of a batch for the regularised latent dimensions (dimension k =
/// attribute k).
pub struct AttributeTargets {
    /// What z_k is pulled to.
    pub targets: Targets,
    /// γ: the weight of the term.
    pub weight: f64,
}

/// The per-batch targets of an [`AttributeTie`].
pub enum Targets {
    /// One `[batch, batch]` matrix sign(a_i − a_j) per dimension, with δ, the slope of tanh
    /// on latent differences.
    Order { signs: Vec<Tensor<2>>, sharpness: f64 },
    /// `[batch, dimensions]` normal scores.
    Value(Tensor<2>),
}

impl AttributeTargets {
    /// Order targets from per-window attribute values `values[i][k]`.
    pub fn order(values: &[Vec<f64>], weight: f64, sharpness: f64, device: &Device) -> Self {
        let batch = values.len();
        let count = values.first().map_or(0, Vec::len);
        let signs = (0..count)
            .map(|k| {
                let data: Vec<f32> = (0..batch * batch)
                    .map(|ij| {
                        let d = values[ij / batch][k] - values[ij % batch][k];
                        if d > 0.0 {
                            1.0
                        } else if d < 0.0 {
                            -1.0
                        } else {
                            0.0
                        }
                    })
                    .collect();
                Tensor::from_data(TensorData::new(data, [batch, batch]), device)
            })
            .collect();
        AttributeTargets { targets: Targets::Order { signs, sharpness }, weight }
    }

    /// Value targets from per-window normal scores `scores[i][k]`.
    pub fn value<const N: usize>(scores: &[[f32; N]], weight: f64, device: &Device) -> Self {
        let data: Vec<f32> = scores.iter().flatten().copied().collect();
        let targets = Tensor::from_data(TensorData::new(data, [scores.len(), N]), device);
        AttributeTargets { targets: Targets::Value(targets), weight }
    }

    /// The term on sampled latent points `z: [batch, latent]`, summed over the dimensions.
    fn loss(&self, z: Tensor<2>) -> Tensor<1> {
        let [batch, _] = z.dims();
        match &self.targets {
            Targets::Order { signs, sharpness } => {
                let mut sum = Tensor::<1>::zeros([1], &z.device());
                for (k, signs) in signs.iter().enumerate() {
                    let zk = z.clone().narrow(1, k, 1); // [batch, 1]
                    let differences =
                        zk.clone().repeat_dim(1, batch) - zk.transpose().repeat_dim(0, batch);
                    sum = sum + (tanh(differences * *sharpness) - signs.clone()).abs().mean();
                }
                sum
            }
            Targets::Value(targets) => {
                let named = z.narrow(1, 0, targets.dims()[1]);
                (named - targets.clone()).powi_scalar(2).mean_dim(0).sum()
            }
        }
    }
}

/// The decoder's input `z` from the encoder's `mu` and `logvar` and noise `eps` (all
/// `[batch, latent]`): mu + σ·eps, or, with a detail code, that on the first dimensions and
/// the code (the mean as it is, times `shown`) on the last. Returns the prior part's mu and
/// logvar (what the KL is taken of) and z.
pub fn latent_sample(
    mu: Tensor<2>,
    logvar: Tensor<2>,
    eps: Tensor<2>,
    detail: Option<Detail>,
) -> (Tensor<2>, Tensor<2>, Tensor<2>) {
    match detail {
        None => {
            let z = mu.clone() + (logvar.clone() * 0.5).exp() * eps;
            (mu, logvar, z)
        }
        Some(Detail { dims, shown }) => {
            let prior = mu.dims()[1] - dims;
            let (mu, code) = (mu.clone().narrow(1, 0, prior), mu.narrow(1, prior, dims));
            let logvar = logvar.narrow(1, 0, prior);
            let z = mu.clone() + (logvar.clone() * 0.5).exp() * eps.narrow(1, 0, prior);
            let z = Tensor::cat(vec![z, code * shown.repeat_dim(1, dims)], 1);
            (mu, logvar, z)
        }
    }
}

/// The detail code of a batch: the last `dims` latent dimensions are the encoder's mean as it
/// is (no noise, no KL), multiplied by `shown: [batch, 1]` (1: the decoder sees it, 0: it
/// sees zeros, as in a draw from the prior).
pub struct Detail {
    pub dims: usize,
    pub shown: Tensor<2>,
}

impl Vae {
    /// A freshly initialised VAE.
    pub fn new(shape: &ModelShape, device: &Device) -> Self {
        Vae { encoder: Encoder::new(shape, device), decoder: Decoder::new(shape, device) }
    }

    /// Loss on a batch. `x: [batch, steps * vocab]` one-hot windows, `features` their
    /// decoder step features ([`step_features_batch`]), `eps: [batch, latent]` ~ N(0, I);
    /// with `detail`, the last dimensions are a detail code ([`latent_sample`]), left out of
    /// the KL.
    pub fn loss(
        &self,
        x: Tensor<2>,
        features: Vec<Tensor<2>>,
        eps: Tensor<2>,
        beta: f64,
        free_bits: f64,
        attributes: Option<&AttributeTargets>,
        detail: Option<Detail>,
    ) -> VaeLoss {
        let [batch, _] = x.dims();
        let (mu, logvar) = self.encoder.forward(x.clone());
        let (mu, logvar, z) = latent_sample(mu, logvar, eps, detail);
        let logits = self.decoder.forward(features, z.clone()); // [batch, steps, vocab]
        let [_, steps, vocab] = logits.dims();
        // The encoder's window is padded past the melody's steps: the target is its start.
        let padded = x.dims()[1] / vocab;
        let target = x.reshape([batch, padded, vocab]).narrow(1, 0, steps);
        let recon = (log_softmax(logits, 2) * target).sum().neg() / batch as f64;
        // KL per latent dimension, averaged over the batch: [1, latent].
        let kl_dims = (logvar.clone().exp() + mu.powi_scalar(2) - logvar - 1.0).mean_dim(0) * 0.5;
        let kl = kl_dims.clone().sum();
        let mut total = recon.clone() + kl_dims.clamp_min(free_bits).sum() * beta;
        let mut regularisation = Tensor::<1>::zeros([1], &recon.device());
        if let Some(targets) = attributes {
            regularisation = targets.loss(z);
            total = total + regularisation.clone() * targets.weight;
        }
        VaeLoss { recon, kl, attributes: regularisation, total }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(values: &[f32], rows: usize, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(values.to_vec(), [rows, values.len() / rows]), device)
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn a_detail_code_is_the_mean_as_it_is_where_shown_and_zero_elsewhere() {
        let device = Device::flex();
        // Two windows, a latent point of 2 and a detail code of 2.
        let mu = [0.5, -1.0, 3.0, -4.0, 1.5, 2.0, 5.0, 6.0];
        let logvar = [0.0, 2.0, 7.0, 7.0, -2.0, 0.0, 7.0, 7.0];
        let eps = [1.0, 1.0, 9.0, 9.0, -1.0, 2.0, 9.0, 9.0];
        let shown = tensor(&[1.0, 0.0], 2, &device);
        let (prior_mu, prior_logvar, z) = latent_sample(
            tensor(&mu, 2, &device),
            tensor(&logvar, 2, &device),
            tensor(&eps, 2, &device),
            Some(Detail { dims: 2, shown }),
        );
        assert_eq!(values(prior_mu), [0.5, -1.0, 1.5, 2.0]);
        assert_eq!(values(prior_logvar), [0.0, 2.0, -2.0, 0.0]);
        // mu + exp(logvar / 2)·eps on the point; the code, no noise, only where shown.
        let want = [
            0.5 + 1.0,
            -1.0 + std::f32::consts::E,
            3.0,
            -4.0,
            1.5 - (-1f32).exp(),
            2.0 + 2.0,
            0.0,
            0.0,
        ];
        for (got, want) in values(z).iter().zip(want) {
            assert!((got - want).abs() < 1e-5, "{got} against {want}");
        }
    }
}
