//! The generator families: a VAE and a GAN that share one decoder architecture and so one
//! ONNX contract (latent `z` in, token logits out).
//!
//! Model code takes a [`Device`]; the backend is chosen once, at the entry point.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::{leaky_relu, log_softmax, relu, softmax};
use neume::encoding::{STEPS_PER_BAR, VOCAB_SIZE};

/// Shape of a model: what the exporter and the trainer agree on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelShape {
    /// Bars generated at once.
    pub bars: usize,
    /// Latent size.
    pub latent: usize,
    /// Width of the decoder's hidden layers.
    pub hidden: usize,
}

impl ModelShape {
    /// The shipped default model's shape (`models/neume-default.onnx`), and the trainer's
    /// defaults.
    pub const DEFAULT: ModelShape = ModelShape { bars: 4, latent: 32, hidden: 512 };

    /// Steps per generated window.
    pub fn steps(&self) -> usize {
        self.bars * STEPS_PER_BAR
    }

    /// Flattened one-hot width.
    pub fn flat(&self) -> usize {
        self.steps() * VOCAB_SIZE
    }
}

/// The generator: an MLP from the latent point to per-step token logits. Exported as
/// Gemm/Relu layers, which both ONNX backends run fast.
#[derive(Module, Debug)]
pub struct Decoder {
    /// latent → hidden.
    pub l1: Linear,
    /// hidden → 2·hidden.
    pub l2: Linear,
    /// 2·hidden → steps·vocab.
    pub out: Linear,
}

impl Decoder {
    /// A freshly initialised decoder.
    pub fn new(shape: &ModelShape, device: &Device) -> Self {
        Decoder {
            l1: LinearConfig::new(shape.latent, shape.hidden).init(device),
            l2: LinearConfig::new(shape.hidden, shape.hidden * 2).init(device),
            out: LinearConfig::new(shape.hidden * 2, shape.flat()).init(device),
        }
    }

    /// `z: [batch, latent]` → logits `[batch, steps, vocab]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<3> {
        let [batch, _] = z.dims();
        let h = relu(self.l1.forward(z));
        let h = relu(self.l2.forward(h));
        let flat = self.out.forward(h); // [batch, steps * vocab]
        let steps = flat.dims()[1] / VOCAB_SIZE;
        flat.reshape([batch, steps, VOCAB_SIZE])
    }

    /// The layers in order, for export.
    pub fn layers(&self) -> [&Linear; 3] {
        [&self.l1, &self.l2, &self.out]
    }
}

/// VAE encoder: a one-hot window to the mean and log-variance of its latent posterior.
#[derive(Module, Debug)]
pub struct Encoder {
    l1: Linear,
    l2: Linear,
    mu: Linear,
    logvar: Linear,
}

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
        (self.mu.forward(h.clone()), self.logvar.forward(h).clamp(-8.0, 8.0))
    }
}

/// Variational autoencoder; its decoder is the generator, its encoder will turn a user's
/// clip into latent knobs.
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
    /// What is minimised: recon + beta · max(KL per dim, free bits).
    pub total: Tensor<1>,
}

impl Vae {
    /// A freshly initialised VAE.
    pub fn new(shape: &ModelShape, device: &Device) -> Self {
        Vae { encoder: Encoder::new(shape, device), decoder: Decoder::new(shape, device) }
    }

    /// Loss on a batch. `x: [batch, steps * vocab]` one-hot, `eps: [batch, latent]` ~ N(0, I).
    pub fn loss(&self, x: Tensor<2>, eps: Tensor<2>, beta: f64, free_bits: f64) -> VaeLoss {
        let [batch, _] = x.dims();
        let (mu, logvar) = self.encoder.forward(x.clone());
        let z = mu.clone() + (logvar.clone() * 0.5).exp() * eps;
        let logits = self.decoder.forward(z); // [batch, steps, vocab]
        let [_, steps, vocab] = logits.dims();
        let target = x.reshape([batch, steps, vocab]);
        let recon = (log_softmax(logits, 2) * target).sum().neg() / batch as f64;
        // KL per latent dimension, averaged over the batch: [1, latent].
        let kl_dims = (logvar.clone().exp() + mu.powi_scalar(2) - logvar - 1.0).mean_dim(0) * 0.5;
        let kl = kl_dims.clone().sum();
        let total = recon.clone() + kl_dims.clamp_min(free_bits).sum() * beta;
        VaeLoss { recon, kl, total }
    }
}

/// GAN critic: an MLP over the one-hot grid with a minibatch-deviation feature, which lets
/// it see a collapsed batch and so pushes the generator to cover the data.
#[derive(Module, Debug)]
pub struct Discriminator {
    l1: Linear,
    l2: Linear,
    out: Linear,
}

impl Discriminator {
    /// A freshly initialised critic.
    pub fn new(shape: &ModelShape, device: &Device) -> Self {
        Discriminator {
            l1: LinearConfig::new(shape.flat(), shape.hidden).init(device),
            l2: LinearConfig::new(shape.hidden + 1, shape.hidden / 2).init(device),
            out: LinearConfig::new(shape.hidden / 2, 1).init(device),
        }
    }

    /// `x: [batch, steps * vocab]` → (scores `[batch, 1]`, features `[batch, hidden / 2]`).
    pub fn forward(&self, x: Tensor<2>) -> (Tensor<2>, Tensor<2>) {
        let [batch, _] = x.dims();
        let h = leaky_relu(self.l1.forward(x), 0.2); // [batch, hidden]
        let spread = h.clone().var(0).add_scalar(1e-8).sqrt().mean().reshape([1, 1]).expand([batch, 1]);
        let h = leaky_relu(self.l2.forward(Tensor::cat(vec![h, spread], 1)), 0.2);
        (self.out.forward(h.clone()), h)
    }
}

/// GAN: generator and critic.
#[derive(Module, Debug)]
pub struct Gan {
    /// Generator.
    pub generator: Decoder,
    /// Critic.
    pub critic: Discriminator,
}

impl Gan {
    /// A freshly initialised GAN.
    pub fn new(shape: &ModelShape, device: &Device) -> Self {
        Gan { generator: Decoder::new(shape, device), critic: Discriminator::new(shape, device) }
    }
}

/// Straight-through Gumbel-softmax: a hard one-hot sample of `softmax(logits)` in the
/// forward pass, the gradient of the relaxed sample at temperature `tau` in the backward
/// pass. `logits: [batch, steps, vocab]`, `gumbel` the same shape, `-ln(-ln U)`.
pub fn straight_through_sample(logits: Tensor<3>, gumbel: Tensor<3>, tau: f64) -> Tensor<3> {
    let dims = logits.dims();
    let soft = softmax((logits + gumbel) / tau, 2);
    let max = soft.clone().max_dim(2).expand(dims);
    let hard = soft.clone().greater_equal(max).float();
    hard - soft.clone().detach() + soft
}

/// `log(1 + exp(x))`, stable for large |x|.
pub fn softplus(x: Tensor<2>) -> Tensor<2> {
    relu(x.clone()) + x.abs().neg().exp().log1p()
}
