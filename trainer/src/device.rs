//! Where training runs: the CPU (burn's `flex` backend) or a GPU (burn's Vulkan backend,
//! behind the `gpu` Cargo feature), and the check that a GPU computes what the CPU computes.
//!
//! The binary picks the device once, here, and passes it down; model and training code only
//! see a [`Device`].

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::prelude::*;
use neume::encoding::Meter;
use neume::rng::Rng;

use crate::data::{one_hot, random_windows};
use crate::model::{step_features_batch, ModelShape, Vae};

/// The CPU device.
pub fn cpu() -> Device {
    Device::flex()
}

/// The device named on the command line (`cpu` or `gpu`), with a line saying what it is.
/// `gpu` falls back to the CPU, saying why, when this build or this machine has no usable
/// GPU.
pub fn select(name: &str) -> Result<Device, String> {
    match name {
        "cpu" => {
            eprintln!("device: {}", describe(&cpu()));
            Ok(cpu())
        }
        "gpu" => match open_gpu() {
            Ok(device) => {
                eprintln!("device: {}", describe(&device));
                if is_software(&device) {
                    eprintln!("warning: this Vulkan device is a software renderer on the CPU; expect CPU speed or less");
                }
                Ok(device)
            }
            Err(why) => {
                eprintln!("warning: no GPU: {why}; training on the CPU instead");
                eprintln!("device: {}", describe(&cpu()));
                Ok(cpu())
            }
        },
        other => Err(format!("--device {other}: use `cpu` or `gpu`")),
    }
}

/// One line naming the device and backend, e.g. `GPU NVIDIA H200 (burn vulkan backend)`.
pub fn describe(device: &Device) -> String {
    match gpu_name(device) {
        Some(name) => format!("GPU {name} (burn vulkan backend)"),
        None => "CPU (burn flex backend)".to_string(),
    }
}

/// MiB the device's allocator holds (reserved pages included); `None` on the CPU.
pub fn memory_reserved_mib(device: &Device) -> Option<f64> {
    device.memory_pool_usage().map(|usage| usage.bytes_reserved as f64 / (1 << 20) as f64)
}

/// The GPU, once a child process has proven it (see [`probe_gpu_in_child`]); else why not.
pub fn open_gpu() -> Result<Device, String> {
    probe_gpu_in_child().and_then(|()| gpu())
}

/// Environment variable that makes `neume-train` only probe the GPU and exit (see
/// [`probe_main`]).
pub const PROBE_ENV: &str = "NEUME_GPU_PROBE";

/// How long the probe may take before the GPU counts as unusable.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

/// Opens the GPU in a child process (this executable, with [`PROBE_ENV`] set) before this
/// process does. A broken Vulkan driver can crash the process that compiles its first kernel
/// (Mesa's software driver here segfaults), and no Rust code can catch a segfault; a crashed
/// child becomes an error, and the caller falls back to the CPU.
pub fn probe_gpu_in_child() -> Result<(), String> {
    if cfg!(not(feature = "gpu")) {
        return gpu().map(drop);
    }
    let exe = std::env::current_exe()
        .map_err(|e| format!("finding this executable to probe the GPU: {e}"))?;
    let mut child = std::process::Command::new(&exe)
        .env(PROBE_ENV, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    // Piped just above, so it is there.
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).map(|_| text).unwrap_or_default()
    });
    // A driver can also hang; the probe gets long enough to compile and tune its kernels.
    let deadline = std::time::Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Ok(None) => {
                child.kill().ok();
                child.wait().ok();
                return Err(format!(
                    "the GPU probe did not finish in {} s (a hung driver?)",
                    PROBE_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for the GPU probe: {e}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let said = reader.join().unwrap_or_default();
    let said = said.lines().filter(|l| !l.contains("XDG_RUNTIME_DIR")).last().unwrap_or("").trim();
    #[cfg(unix)]
    if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        return Err(format!(
            "the GPU driver crashed (signal {signal}) running its first kernels{}",
            if said.is_empty() { String::new() } else { format!(" after: {said}") }
        ));
    }
    Err(if said.is_empty() { format!("the GPU probe failed ({status})") } else { said.to_string() })
}

/// What the probe child runs: opens the GPU, compares one small training step with the
/// CPU's (the kernels training uses: matrix products, reductions, softmax, their gradients),
/// and reports on stderr. The exit status says whether it worked.
pub fn probe_main() -> std::process::ExitCode {
    match gpu() {
        Ok(device) => {
            let parity =
                parity(&device, &ModelShape { bars: 1, latent: 4, hidden: 16, layers: 2 }, 8, 1);
            if !parity.roughly_agrees() {
                eprintln!("{} computed other numbers than the CPU: {parity:?}", describe(&device));
                return std::process::ExitCode::FAILURE;
            }
            eprintln!("probe: {}", describe(&device));
            std::process::ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("{why}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A Vulkan device, proven by one small computation. wgpu panics when no adapter is found;
/// the probe catches that (both profiles keep `panic = "unwind"`).
#[cfg(feature = "gpu")]
pub fn gpu() -> Result<Device, String> {
    let probe = std::panic::catch_unwind(|| {
        let device = Device::vulkan(Default::default());
        let sum: f32 = Tensor::<1>::from_floats([1.0, 2.0, 3.0], &device).sum().into_scalar();
        (device, sum)
    });
    match probe {
        Ok((device, sum)) if sum == 6.0 => Ok(device),
        Ok((_, sum)) => Err(format!("the Vulkan device computed 1 + 2 + 3 = {sum}")),
        Err(_) => Err(
            "no Vulkan adapter could be opened (are libvulkan.so.1 and a GPU driver installed?)"
                .into(),
        ),
    }
}

/// Without the `gpu` feature there is no GPU backend to open.
#[cfg(not(feature = "gpu"))]
pub fn gpu() -> Result<Device, String> {
    Err("this build has no GPU support (rebuild with `--features gpu`)".into())
}

#[cfg(feature = "gpu")]
fn gpu_name(device: &Device) -> Option<String> {
    device.identity().map(|identity| identity.name)
}

#[cfg(not(feature = "gpu"))]
fn gpu_name(_: &Device) -> Option<String> {
    None
}

/// True for a Vulkan device that is no card (Mesa's llvmpipe, SwiftShader).
#[cfg(feature = "gpu")]
fn is_software(device: &Device) -> bool {
    device.identity().is_some_and(|identity| identity.physical.is_none())
}

#[cfg(not(feature = "gpu"))]
fn is_software(_: &Device) -> bool {
    false
}

/// How far a device's results are from the CPU's for the same weights and inputs.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Parity {
    /// The device compared with the CPU.
    pub device: String,
    /// Largest |logit difference| of the decoder on the same latent points.
    pub decoder_max_abs_diff: f64,
    /// Largest |logit| on the CPU, for scale.
    pub decoder_max_abs: f64,
    /// Reconstruction loss of one batch, CPU and device.
    pub recon: [f64; 2],
    /// KL of the same batch, CPU and device.
    pub kl: [f64; 2],
    /// Parameters that received a gradient, CPU and device.
    pub params_with_grads: [usize; 2],
    /// Largest |logit difference| of the decoder after one SGD step (learning rate 0.1) on
    /// each device: the gradients agree when this is as small as the forward difference.
    pub after_step_max_abs_diff: f64,
}

impl Parity {
    /// Whether the device agrees with the CPU to single-precision accuracy: every parameter
    /// gets a gradient on both, logits within 1e-3 relative to their scale before and after
    /// the step (matrix products summed in another order differ by about 1e-6), and losses
    /// within 1e-4 relative.
    pub fn agrees(&self) -> bool {
        self.agrees_within(1e-3, 1e-4)
    }

    /// Whether the device computes the same thing at all: the bar of the GPU probe. Loose
    /// enough for matrix products in reduced precision (TF32 keeps 10 mantissa bits), tight
    /// enough to catch a driver that computes garbage.
    pub fn roughly_agrees(&self) -> bool {
        self.agrees_within(5e-2, 1e-2)
    }

    fn agrees_within(&self, logits: f64, losses: f64) -> bool {
        let relative = |a: f64, b: f64| (a - b).abs() / a.abs().max(1.0);
        let scale = self.decoder_max_abs.max(1.0);
        // NaN fails every comparison below, so a device that computes NaN disagrees.
        self.params_with_grads[0] > 0
            && self.params_with_grads[0] == self.params_with_grads[1]
            && self.decoder_max_abs_diff <= logits * scale
            && relative(self.recon[0], self.recon[1]) <= losses
            && relative(self.kl[0], self.kl[1]) <= losses
            && self.after_step_max_abs_diff <= logits * scale
    }
}

/// Runs the same VAE, with the same weights and inputs, on the CPU and on `device`: the
/// decoder's forward pass, the loss of one batch, and the decoder after one SGD step.
pub fn parity(device: &Device, shape: &ModelShape, batch: usize, seed: u64) -> Parity {
    let cpu = cpu().autodiff();
    let device = device.clone().autodiff();
    cpu.seed(seed);
    let model_cpu = Vae::new(shape, &cpu);
    // `load_record`, not `to_device`: in burn 0.22.1 a VAE moved with `to_device` (tried
    // CPU to CPU) got no gradients at all, so it would never train.
    let model_dev = Vae::new(shape, &device).load_record(model_cpu.clone().into_record());

    let mut rng = Rng::new(seed);
    let z: Vec<f32> = (0..batch * shape.latent).map(|_| rng.normal() as f32).collect();
    let eps: Vec<f32> = (0..batch * shape.latent).map(|_| rng.normal() as f32).collect();
    let windows = random_windows(batch, shape.steps(), &mut rng);
    let windows: Vec<&[u8]> = windows.iter().map(Vec::as_slice).collect();
    let tensor = |values: &[f32], dims: [usize; 2], device: &Device| {
        Tensor::<2>::from_data(TensorData::new(values.to_vec(), dims), device)
    };
    let logits = |model: &Vae, device: &Device| -> Vec<f32> {
        let features = step_features_batch(&windows, Meter::FourFour, None, shape, device);
        let out = model.decoder.forward(features, tensor(&z, [batch, shape.latent], device)); // [batch, steps, vocab]
                                                                                              // The decoder's output is f32 on both backends.
        out.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 logits")
    };
    let max_abs_diff = |a: &[f32], b: &[f32]| {
        a.iter().zip(b).map(|(p, q)| (p - q).abs() as f64).fold(0.0, f64::max)
    };

    let before_cpu = logits(&model_cpu, &cpu);
    let before_dev = logits(&model_dev, &device);

    let step = |model: Vae, device: &Device| -> (Vae, f64, f64, usize) {
        let features = step_features_batch(&windows, Meter::FourFour, None, shape, device);
        let loss = model.loss(
            one_hot(&windows, shape.encoder_steps(), device),
            features,
            tensor(&eps, [batch, shape.latent], device),
            1.0,
            0.1,
            None,
            None,
        );
        let recon = loss.recon.clone().into_scalar::<f32>() as f64;
        let kl = loss.kl.clone().into_scalar::<f32>() as f64;
        let grads = GradientsParams::from_grads(loss.total.backward(), &model);
        let with_grads = grads.len();
        let mut optim: ModuleOptimizer = SgdConfig::new().init();
        (optim.step(0.1, model, grads), recon, kl, with_grads)
    };
    let (model_cpu, recon_cpu, kl_cpu, grads_cpu) = step(model_cpu, &cpu);
    let (model_dev, recon_dev, kl_dev, grads_dev) = step(model_dev, &device);

    Parity {
        device: describe(&device),
        decoder_max_abs_diff: max_abs_diff(&before_cpu, &before_dev),
        decoder_max_abs: before_cpu.iter().map(|v| v.abs() as f64).fold(0.0, f64::max),
        recon: [recon_cpu, recon_dev],
        kl: [kl_cpu, kl_dev],
        params_with_grads: [grads_cpu, grads_dev],
        after_step_max_abs_diff: max_abs_diff(
            &logits(&model_cpu, &cpu),
            &logits(&model_dev, &device),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_agrees_with_itself_and_a_changed_weight_is_caught() {
        let shape = ModelShape { bars: 1, latent: 4, hidden: 16, layers: 2 };
        let same = parity(&cpu(), &shape, 8, 3);
        assert!(same.agrees(), "{same:?}");
        assert_eq!(same.decoder_max_abs_diff, 0.0);
        assert_eq!(same.after_step_max_abs_diff, 0.0);
        // Encoder l1, l2, mu, logvar, decoder 2 × (input, recurrent) and out: a weight and a
        // bias each; the decoder's latent projection: a weight.
        assert_eq!(same.params_with_grads, [19, 19]);
        let off =
            Parity { decoder_max_abs_diff: same.decoder_max_abs.max(1.0) * 2e-3, ..same.clone() };
        assert!(!off.agrees());
        let off = Parity { recon: [same.recon[0], same.recon[0] * 1.001], ..same.clone() };
        assert!(!off.agrees());
        let off = Parity { params_with_grads: [same.params_with_grads[0], 0], ..same.clone() };
        assert!(!off.agrees() && !off.roughly_agrees());
        // Reduced-precision products pass the probe's bar, not the strict one; NaN passes neither.
        let tf32 =
            Parity { decoder_max_abs_diff: same.decoder_max_abs.max(1.0) * 1e-2, ..same.clone() };
        assert!(!tf32.agrees() && tf32.roughly_agrees());
        let nan = Parity { recon: [same.recon[0], f64::NAN], ..same };
        assert!(!nan.agrees() && !nan.roughly_agrees());
    }
}
