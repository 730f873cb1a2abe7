//! Writes a trained VAE as the two ONNX files the runtime loads:
//! - the decoder as one step of the GRU (`x`, `state0…` in; `logits`, `state0_out…` out),
//!   written with Concat, Gemm, Split, Add, Mul, Sub, Sigmoid and Tanh only, which ONNX
//!   Runtime and tract both run (tract refuses ONNX's own `GRU` operator in the variant we
//!   would need);
//! - the encoder (`tokens` one-hot window in; `mu`, `logvar` out): Reshape, Gemm, Relu, Clip.
//!
//! Both carry the metadata the runtime checks.

use std::collections::BTreeMap;

use burn::nn::Linear;
use neume::encoding::{ENCODING_VERSION, PITCH_COUNT, PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE};
use neume::onnx::{self, Attribute, ProtoWriter};
use neume::runtime::{self, meta, vocab_string};

use crate::model::{Decoder, Encoder, GruLayer, ModelShape, LOGVAR_LIMIT};

/// ONNX opset the exporter writes.
pub const OPSET: i64 = 17;

/// A linear layer's weight `[in, out]` (row-major) and bias `[out]`.
struct Weights {
    w: Vec<f32>,
    rows: usize,
    cols: usize,
    b: Vec<f32>,
}

fn weights(layer: &Linear) -> Weights {
    let weight = layer.weight.val();
    let [rows, cols] = weight.dims();
    // Float parameters convert to f32 data; a failure would be a burn bug.
    let w = weight.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 weights");
    let b = match &layer.bias {
        Some(bias) => bias.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 bias"),
        None => vec![0.0; cols],
    };
    Weights { w, rows, cols, b }
}

/// The metadata every exported model carries; `role` is `decoder` or `encoder`.
pub fn metadata(shape: &ModelShape, role: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut md = BTreeMap::from([
        (meta::ENCODING_VERSION.to_string(), ENCODING_VERSION.to_string()),
        (meta::LATENT_SIZE.to_string(), shape.latent.to_string()),
        (meta::BARS.to_string(), shape.bars.to_string()),
        (meta::STEPS_PER_BAR.to_string(), STEPS_PER_BAR.to_string()),
        (meta::PITCH_LOW.to_string(), PITCH_LOW.to_string()),
        (meta::PITCH_COUNT.to_string(), PITCH_COUNT.to_string()),
        (meta::VOCAB.to_string(), vocab_string()),
        (meta::MODEL_KIND.to_string(), "vae".to_string()),
        (meta::ROLE.to_string(), role.to_string()),
        (meta::LAYERS.to_string(), shape.layers.to_string()),
        (meta::HIDDEN.to_string(), shape.hidden.to_string()),
    ]);
    md.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    md
}

/// Builds a graph node by node, naming initializers and intermediate values.
struct Graph {
    proto: ProtoWriter,
}

impl Graph {
    fn new(name: &str) -> Graph {
        let mut proto = ProtoWriter::new();
        proto.string(2, name);
        Graph { proto }
    }

    fn node(&mut self, op: &str, name: &str, inputs: &[&str], attributes: &[Attribute<'_>]) -> String {
        self.proto.message(1, onnx::node(op, name, inputs, &[name], attributes));
        name.to_string()
    }

    /// `input · W + b` with the weights stored as initializers `name.weight`, `name.bias`.
    fn gemm(&mut self, name: &str, input: &str, w: &Weights) -> String {
        let (w_name, b_name) = (format!("{name}.weight"), format!("{name}.bias"));
        self.proto.message(5, onnx::float_tensor(&w_name, &[w.rows as i64, w.cols as i64], &w.w));
        self.proto.message(5, onnx::float_tensor(&b_name, &[w.cols as i64], &w.b));
        // burn stores Linear weights as [in, out]: Y = X·W + b, no transposition.
        self.node("Gemm", name, &[input, &w_name, &b_name], &[Attribute::Float("alpha", 1.0), Attribute::Float("beta", 1.0)])
    }

    /// One GRU cell (see [`GruLayer`]): returns the new state's name. `latent`: the first
    /// layer's `z` projection, stacked under its input weight (the step input ends with `z`).
    ///
    /// One Gemm per layer over `[x, h]`, whose columns are the reset and update sums
    /// (`x·Wr + h·Ur`, `x·Wu + h·Uu`), the candidate's input part `x·Wn` and its state part
    /// `h·Un` (zeros where a part does not read an input): per step, the runtime's fixed cost per
    /// node, not the arithmetic, is what a small GRU pays, so fewer, larger nodes are faster.
    fn gru_cell(&mut self, prefix: &str, layer: &GruLayer, latent: Option<&Linear>, x: &str, h: &str, out: &str) -> String {
        let mut wx = weights(&layer.input);
        if let Some(latent) = latent {
            let wz = weights(latent);
            wx.w.extend_from_slice(&wz.w);
            wx.rows += wz.rows;
        }
        let wh = weights(&layer.recurrent);
        let hidden = wh.rows;
        let (rows, cols) = (wx.rows + hidden, 4 * hidden);
        let mut w = vec![0f32; rows * cols];
        let mut b = vec![0f32; cols];
        for c in 0..hidden {
            // Column blocks of the fused weight: r, u (both inputs), x·Wn, h·Un.
            for (block, gate, from_x, from_h) in [(0, 0, true, true), (1, 1, true, true), (2, 2, true, false), (3, 2, false, true)] {
                let col = block * hidden + c;
                let src = gate * hidden + c;
                if from_x {
                    for r in 0..wx.rows {
                        w[r * cols + col] = wx.w[r * wx.cols + src];
                    }
                    b[col] += wx.b[src];
                }
                if from_h {
                    for r in 0..hidden {
                        w[(wx.rows + r) * cols + col] = wh.w[r * wh.cols + src];
                    }
                    b[col] += wh.b[src];
                }
            }
        }
        let xh = self.node("Concat", &format!("{prefix}.xh"), &[x, h], &[Attribute::Int("axis", 1)]);
        let fused = self.gemm(&format!("{prefix}.gates"), &xh, &Weights { w, rows, cols, b });
        let split_name = format!("{prefix}.split_sizes");
        self.proto.message(5, onnx::int64_tensor(&split_name, &[4], &[hidden as i64; 4]));
        let parts: Vec<String> = ["r_sum", "u_sum", "xn", "hn"].iter().map(|p| format!("{prefix}.{p}")).collect();
        let part_refs: Vec<&str> = parts.iter().map(String::as_str).collect();
        self.proto.message(1, onnx::node("Split", &format!("{prefix}.split"), &[&fused, &split_name], &part_refs, &[Attribute::Int("axis", 1)]));
        let r = self.node("Sigmoid", &format!("{prefix}.r"), &[&parts[0]], &[]);
        let u = self.node("Sigmoid", &format!("{prefix}.u"), &[&parts[1]], &[]);
        let rh = self.node("Mul", &format!("{prefix}.r_hn"), &[&r, &parts[3]], &[]);
        let n_sum = self.node("Add", &format!("{prefix}.n_sum"), &[&parts[2], &rh], &[]);
        let n = self.node("Tanh", &format!("{prefix}.n"), &[&n_sum], &[]);
        let h_minus_n = self.node("Sub", &format!("{prefix}.h_minus_n"), &[h, &n], &[]);
        let gated = self.node("Mul", &format!("{prefix}.u_gated"), &[&u, &h_minus_n], &[]);
        self.node("Add", out, &[&n, &gated], &[])
    }
}

/// Encodes the decoder as one ONNX step (batch 1, fixed shapes): input `x`
/// `[1, step_input]` (see [`neume::encoding::step_input`]) and one state `stateK` `[1, hidden]`
/// per layer; outputs `logits` `[1, vocab]` and the new states `stateK_out`.
pub fn export_decoder(decoder: &Decoder, shape: &ModelShape, extra: &BTreeMap<String, String>) -> Vec<u8> {
    let mut graph = Graph::new("neume_decoder_step");
    let mut input = runtime::STEP_INPUT.to_string();
    for (i, layer) in decoder.layers.iter().enumerate() {
        let state = runtime::state_input(i);
        let latent = (i == 0).then_some(&decoder.latent);
        input = graph.gru_cell(&format!("gru{i}"), layer, latent, &input, &state, &runtime::state_output(i));
    }
    graph.gemm(runtime::LOGITS, &input, &weights(&decoder.out));
    let hidden = shape.hidden as i64;
    graph.proto.message(11, onnx::value_info(runtime::STEP_INPUT, &[1, shape.step_input() as i64]));
    for i in 0..decoder.layers.len() {
        graph.proto.message(11, onnx::value_info(&runtime::state_input(i), &[1, hidden]));
    }
    graph.proto.message(12, onnx::value_info(runtime::LOGITS, &[1, VOCAB_SIZE as i64]));
    for i in 0..decoder.layers.len() {
        graph.proto.message(12, onnx::value_info(&runtime::state_output(i), &[1, hidden]));
    }
    onnx::model(graph.proto, OPSET, "neume-train", &metadata(shape, "decoder", extra))
}

/// Encodes the encoder as ONNX: input `tokens` `[1, steps, vocab]` (a one-hot window in the
/// model's frame), outputs `mu` and `logvar` `[1, latent]`.
pub fn export_encoder(encoder: &Encoder, shape: &ModelShape, extra: &BTreeMap<String, String>) -> Vec<u8> {
    let mut graph = Graph::new("neume_encoder");
    graph.proto.message(5, onnx::int64_tensor("flat_shape", &[2], &[1, shape.flat() as i64]));
    let flat = graph.node("Reshape", "flat", &[runtime::ENCODER_INPUT, "flat_shape"], &[]);
    let l1 = graph.gemm("l1", &flat, &weights(&encoder.l1));
    let h1 = graph.node("Relu", "l1.relu", &[&l1], &[]);
    let l2 = graph.gemm("l2", &h1, &weights(&encoder.l2));
    let h2 = graph.node("Relu", "l2.relu", &[&l2], &[]);
    graph.gemm(runtime::MU, &h2, &weights(&encoder.mu));
    let raw = graph.gemm("logvar.raw", &h2, &weights(&encoder.logvar));
    graph.proto.message(5, onnx::float_tensor("logvar.min", &[], &[-LOGVAR_LIMIT]));
    graph.proto.message(5, onnx::float_tensor("logvar.max", &[], &[LOGVAR_LIMIT]));
    graph.node("Clip", runtime::LOGVAR, &[&raw, "logvar.min", "logvar.max"], &[]);
    graph.proto.message(11, onnx::value_info(runtime::ENCODER_INPUT, &[1, shape.steps() as i64, VOCAB_SIZE as i64]));
    graph.proto.message(12, onnx::value_info(runtime::MU, &[1, shape.latent as i64]));
    graph.proto.message(12, onnx::value_info(runtime::LOGVAR, &[1, shape.latent as i64]));
    onnx::model(graph.proto, OPSET, "neume-train", &metadata(shape, "encoder", extra))
}
