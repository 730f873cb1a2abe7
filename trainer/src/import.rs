//! Reads an exported model (the decoder file and its encoder beside it) back into a [`Vae`]:
//! the inverse of [`crate::export`], so that a run can start from a shipped model (the
//! adversarial fine-tuning of `train --model gan --init`).

use std::collections::BTreeMap;
use std::path::Path;

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use neume::encoding::{step_features, VOCAB_SIZE};
use neume::model::model_file::{self as contract, meta};
use neume::model::onnx::{float_initializers, summarize, FloatTensor};

use crate::model::{Decoder, Encoder, GruLayer, ModelShape, Vae};

/// A model file's shape, float initializers and metadata.
struct ModelWeights {
    path: String,
    tensors: BTreeMap<String, FloatTensor>,
}

impl ModelWeights {
    fn read(path: &Path) -> Result<(ModelWeights, BTreeMap<String, String>), String> {
        let shown = path.display().to_string();
        let bytes =
            neume::model::validation::read_model_file(path).map_err(|e| format!("{shown}: {e}"))?;
        let summary = summarize(&bytes).map_err(|e| format!("{shown}: {}", e.0))?;
        let tensors = float_initializers(&bytes).map_err(|e| format!("{shown}: {}", e.0))?;
        Ok((ModelWeights { path: shown, tensors }, summary.metadata))
    }

    /// The initializer `name`, which must have `dims`.
    fn take(&self, name: &str, dims: &[usize]) -> Result<Vec<f32>, String> {
        let tensor = self
            .tensors
            .get(name)
            .ok_or_else(|| format!("{}: no initializer `{name}`", self.path))?;
        let want: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        if tensor.dims != want {
            return Err(format!(
                "{}: initializer `{name}` is {:?}, not {want:?} as the metadata's shape says",
                self.path, tensor.dims
            ));
        }
        Ok(tensor.data.clone())
    }

    /// A `Linear` of `[rows, cols]` from the Gemm initializers `name.weight`, `name.bias`.
    fn linear(
        &self,
        name: &str,
        rows: usize,
        cols: usize,
        device: &Device,
    ) -> Result<Linear, String> {
        let w = self.take(&format!("{name}.weight"), &[rows, cols])?;
        let b = self.take(&format!("{name}.bias"), &[cols])?;
        Ok(linear(w, rows, cols, Some(b), device))
    }
}

fn linear(w: Vec<f32>, rows: usize, cols: usize, b: Option<Vec<f32>>, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::from_data(TensorData::new(w, [rows, cols]), device)),
        bias: b.map(|b| Param::from_tensor(Tensor::from_data(TensorData::new(b, [cols]), device))),
    }
}

/// ONNX orders a GRU's gates update, reset, candidate; burn's columns are reset, update,
/// candidate. The permutation is its own inverse.
const GATE_ORDER: [usize; 3] = [1, 0, 2];

/// Undoes the exporter's transposition of a GRU weight: `onnx: [3·hidden, rows]` (gates in
/// ONNX order) → row-major `[rows, 3·hidden]` (gates in burn's order).
fn untranspose(onnx: &[f32], rows: usize, hidden: usize) -> Vec<f32> {
    let cols = 3 * hidden;
    let mut out = vec![0f32; rows * cols];
    for (position, &gate) in GATE_ORDER.iter().enumerate() {
        for j in 0..hidden {
            let onnx_row = &onnx[(position * hidden + j) * rows..][..rows];
            for (r, &v) in onnx_row.iter().enumerate() {
                out[r * cols + gate * hidden + j] = v;
            }
        }
    }
    out
}

fn unorder_bias(onnx: &[f32], hidden: usize) -> Vec<f32> {
    let mut out = vec![0f32; 3 * hidden];
    for (position, &gate) in GATE_ORDER.iter().enumerate() {
        out[gate * hidden..][..hidden].copy_from_slice(&onnx[position * hidden..][..hidden]);
    }
    out
}

fn number(md: &BTreeMap<String, String>, key: &str, path: &Path) -> Result<usize, String> {
    md.get(key)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{}: metadata `{key}` is missing or not a number", path.display()))
}

/// The VAE of an exported model: the decoder at `path`, the encoder beside it
/// (`name.encoder.onnx`), and its shape from the metadata.
pub fn read_vae(path: &Path, device: &Device) -> Result<(Vae, ModelShape), String> {
    let (decoder_file, md) = ModelWeights::read(path)?;
    if md.contains_key(meta::DETAIL_SIZE) {
        return Err(format!(
            "{}: a model with a detail code cannot be read back (only its prior part is \
             named in the metadata)",
            path.display()
        ));
    }
    let shape = ModelShape {
        bars: number(&md, meta::BARS, path)?,
        latent: number(&md, meta::LATENT_SIZE, path)?,
        hidden: number(&md, meta::HIDDEN, path)?,
        layers: number(&md, meta::LAYERS, path)?,
    };
    let hidden = shape.hidden;
    let features = step_features(shape.bars);
    let mut layers = Vec::with_capacity(shape.layers);
    let mut latent = None;
    for i in 0..shape.layers {
        let inputs = if i == 0 { features + shape.latent } else { hidden };
        let w = decoder_file.take(&format!("gru{i}.W"), &[1, 3 * hidden, inputs])?;
        let r = decoder_file.take(&format!("gru{i}.R"), &[1, 3 * hidden, hidden])?;
        let b = decoder_file.take(&format!("gru{i}.B"), &[1, 6 * hidden])?;
        let mut wx = untranspose(&w, inputs, hidden);
        if i == 0 {
            // The step input ends with z: its rows are the latent projection (no bias).
            let wz = wx.split_off(features * 3 * hidden);
            latent = Some(linear(wz, shape.latent, 3 * hidden, None, device));
        }
        let rows = if i == 0 { features } else { hidden };
        layers.push(GruLayer {
            input: linear(
                wx,
                rows,
                3 * hidden,
                Some(unorder_bias(&b[..3 * hidden], hidden)),
                device,
            ),
            recurrent: linear(
                untranspose(&r, hidden, hidden),
                hidden,
                3 * hidden,
                Some(unorder_bias(&b[3 * hidden..], hidden)),
                device,
            ),
        });
    }
    let latent = latent.ok_or_else(|| format!("{}: no GRU layers", path.display()))?;
    let out = decoder_file.linear(contract::LOGITS, hidden, VOCAB_SIZE, device)?;
    let encoder_path = contract::encoder_path(path);
    let (encoder_file, _) = ModelWeights::read(&encoder_path)?;
    let encoder = Encoder {
        l1: encoder_file.linear("l1", shape.flat(), 2 * hidden, device)?,
        l2: encoder_file.linear("l2", 2 * hidden, hidden, device)?,
        mu: encoder_file.linear(contract::MU, hidden, shape.latent, device)?,
        logvar: encoder_file.linear("logvar.raw", hidden, shape.latent, device)?,
    };
    Ok((Vae { encoder, decoder: Decoder { latent, layers, out } }, shape))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{export_decoder, export_encoder};

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Export, read back: every weight comes back where it was (the oracle is the model
    /// before export, not the reader).
    #[test]
    fn an_exported_model_reads_back_weight_for_weight() {
        let device = crate::device::cpu();
        let shape = ModelShape { bars: 2, latent: 6, hidden: 8, layers: 2 };
        let vae = Vae::new(&shape, &device);
        let dir = std::env::temp_dir().join(format!("neume-import-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.onnx");
        std::fs::write(&path, export_decoder(&vae.decoder, &shape, &BTreeMap::new())).unwrap();
        std::fs::write(
            contract::encoder_path(&path),
            export_encoder(&vae.encoder, &shape, &BTreeMap::new()),
        )
        .unwrap();
        let (back, read_shape) = read_vae(&path, &device).unwrap();
        assert_eq!(read_shape, shape);
        let pairs = |a: &Linear, b: &Linear| {
            assert_eq!(values(a.weight.val()), values(b.weight.val()));
            assert_eq!(
                a.bias.as_ref().map(|x| values(x.val())),
                b.bias.as_ref().map(|x| values(x.val()))
            );
        };
        pairs(&vae.decoder.latent, &back.decoder.latent);
        for (a, b) in vae.decoder.layers.iter().zip(&back.decoder.layers) {
            pairs(&a.input, &b.input);
            pairs(&a.recurrent, &b.recurrent);
        }
        pairs(&vae.decoder.out, &back.decoder.out);
        pairs(&vae.encoder.l1, &back.encoder.l1);
        pairs(&vae.encoder.l2, &back.encoder.l2);
        pairs(&vae.encoder.mu, &back.encoder.mu);
        pairs(&vae.encoder.logvar, &back.encoder.logvar);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_model_without_its_encoder_names_the_missing_file() {
        let device = crate::device::cpu();
        let shape = ModelShape { bars: 1, latent: 4, hidden: 4, layers: 1 };
        let vae = Vae::new(&shape, &device);
        let dir = std::env::temp_dir().join(format!("neume-import-lone-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lone.onnx");
        std::fs::write(&path, export_decoder(&vae.decoder, &shape, &BTreeMap::new())).unwrap();
        let err = read_vae(&path, &device).err().unwrap();
        assert!(err.contains("lone.encoder.onnx"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
