//! Writes a trained VAE as the two ONNX files the runtime loads:
//! - the decoder as one step of the GRU (`x`, `state0…` in; `logits`, `state0_out…` out):
//!   one ONNX `GRU` node per layer, Reshapes around them and a Gemm read-out, which ONNX
//!   Runtime and tract both run;
//! - the encoder (`tokens` one-hot window in; `mu`, `logvar` out): Reshape, Gemm, Relu, Clip.
//!
//! Both carry the metadata the runtime checks.

use std::collections::BTreeMap;

use burn::nn::Linear;
use neume::encoding::{Meter, ENCODING_VERSION, PITCH_COUNT, PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE};
use neume::model::model_file::{self as contract, meta, vocab_string};
use neume::model::onnx::{self, Attribute, ProtoWriter};

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
        Some(bias) => {
            bias.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 bias")
        }
        None => vec![0.0; cols],
    };
    Weights { w, rows, cols, b }
}

/// The metadata every exported model carries; `role` is `decoder` or `encoder`.
pub fn metadata(
    shape: &ModelShape,
    role: &str,
    extra: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
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
        // A trained model's own meters (with their window counts) replace this in `extra`.
        (meta::METERS.to_string(), Meter::ALL.map(|m| m.to_string()).join(",")),
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

    fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attributes: &[Attribute<'_>],
    ) -> String {
        self.proto.message(1, onnx::node(op, name, inputs, &[name], attributes));
        name.to_string()
    }

    /// `input · W + b` with the weights stored as initializers `name.weight`, `name.bias`.
    fn gemm(&mut self, name: &str, input: &str, w: &Weights) -> String {
        let (w_name, b_name) = (format!("{name}.weight"), format!("{name}.bias"));
        self.proto.message(5, onnx::float_tensor(&w_name, &[w.rows as i64, w.cols as i64], &w.w));
        self.proto.message(5, onnx::float_tensor(&b_name, &[w.cols as i64], &w.b));
        // burn stores Linear weights as [in, out]: Y = X·W + b, no transposition.
        self.node(
            "Gemm",
            name,
            &[input, &w_name, &b_name],
            &[Attribute::Float("alpha", 1.0), Attribute::Float("beta", 1.0)],
        )
    }

    /// One GRU layer as ONNX's `GRU` operator run for one step (`linear_before_reset = 1`:
    /// the reset gate scales `h·Un + bn`, as in [`GruLayer::cell`]). `x` is `[1, 1, in]`, the
    /// state `[1, 1, hidden]`; returns the new state `[1, 1, hidden]`, which is also the next
    /// layer's input. `latent`: the first layer's `z` projection, stacked under its input
    /// weight (the step input ends with `z`).
    ///
    /// One node per layer: per step, the runtime's fixed cost per node, not the arithmetic, is
    /// most of what a small GRU pays (the figures are in DEVELOPERS.md, Decisions).
    fn gru_layer(
        &mut self,
        prefix: &str,
        layer: &GruLayer,
        latent: Option<&Linear>,
        x: &str,
        h: &str,
    ) -> String {
        let mut wx = weights(&layer.input);
        if let Some(latent) = latent {
            let wz = weights(latent);
            wx.w.extend_from_slice(&wz.w);
            wx.rows += wz.rows;
        }
        let wh = weights(&layer.recurrent);
        let hidden = wh.rows;
        // ONNX orders the gates update, reset, candidate (z, r, h); burn's columns are r, u, n.
        // W, R: [1, 3·hidden, in] (transposed); B: [1, 6·hidden] = input biases, then state biases.
        let order = [1, 0, 2];
        let transposed = |m: &Weights| -> Vec<f32> {
            let mut t = Vec::with_capacity(m.w.len());
            for gate in order {
                for c in gate * hidden..(gate + 1) * hidden {
                    t.extend((0..m.rows).map(|r| m.w[r * m.cols + c]));
                }
            }
            t
        };
        let bias = |m: &Weights| {
            order
                .iter()
                .flat_map(|&g| m.b[g * hidden..(g + 1) * hidden].to_vec())
                .collect::<Vec<f32>>()
        };
        let (w, r, b) = (format!("{prefix}.W"), format!("{prefix}.R"), format!("{prefix}.B"));
        let gates = 3 * hidden as i64;
        self.proto
            .message(5, onnx::float_tensor(&w, &[1, gates, wx.rows as i64], &transposed(&wx)));
        self.proto.message(5, onnx::float_tensor(&r, &[1, gates, hidden as i64], &transposed(&wh)));
        self.proto
            .message(5, onnx::float_tensor(&b, &[1, 2 * gates], &[bias(&wx), bias(&wh)].concat()));
        let h3 = self.node("Reshape", &format!("{prefix}.h"), &[h, STEP_SHAPE], &[]);
        let out = format!("{prefix}.h_out");
        let attributes = [
            Attribute::Int("hidden_size", hidden as i64),
            Attribute::Int("linear_before_reset", 1),
        ];
        // Inputs X, W, R, B, sequence_lens (absent), initial_h; outputs Y (absent), Y_h.
        self.proto.message(
            1,
            onnx::node("GRU", prefix, &[x, &w, &r, &b, "", &h3], &["", &out], &attributes),
        );
        out
    }
}

/// Name of the `[1, 1, -1]` shape initializer: a `[1, n]` value as a one-step sequence.
const STEP_SHAPE: &str = "step_shape";
/// Name of the `[1, -1]` shape initializer: back to `[1, n]`.
const ROW_SHAPE: &str = "row_shape";

/// Encodes the decoder as one ONNX step (batch 1, fixed shapes): input `x`
/// `[1, step_input]` (see [`neume::encoding::step_input`]) and one state `stateK` `[1, hidden]`
/// per layer; outputs `logits` `[1, vocab]` and the new states `stateK_out`.
pub fn export_decoder(
    decoder: &Decoder,
    shape: &ModelShape,
    extra: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut graph = Graph::new("neume_decoder_step");
    graph.proto.message(5, onnx::int64_tensor(STEP_SHAPE, &[3], &[1, 1, -1]));
    graph.proto.message(5, onnx::int64_tensor(ROW_SHAPE, &[2], &[1, -1]));
    let mut input = graph.node("Reshape", "x.step", &[contract::STEP_INPUT, STEP_SHAPE], &[]);
    let mut state_out = String::new();
    for (i, layer) in decoder.layers.iter().enumerate() {
        let latent = (i == 0).then_some(&decoder.latent);
        input =
            graph.gru_layer(&format!("gru{i}"), layer, latent, &input, &contract::state_input(i));
        state_out = graph.node("Reshape", &contract::state_output(i), &[&input, ROW_SHAPE], &[]);
    }
    graph.gemm(contract::LOGITS, &state_out, &weights(&decoder.out));
    let hidden = shape.hidden as i64;
    graph
        .proto
        .message(11, onnx::value_info(contract::STEP_INPUT, &[1, shape.step_input() as i64]));
    for i in 0..decoder.layers.len() {
        graph.proto.message(11, onnx::value_info(&contract::state_input(i), &[1, hidden]));
    }
    graph.proto.message(12, onnx::value_info(contract::LOGITS, &[1, VOCAB_SIZE as i64]));
    for i in 0..decoder.layers.len() {
        graph.proto.message(12, onnx::value_info(&contract::state_output(i), &[1, hidden]));
    }
    onnx::model(graph.proto, OPSET, "neume-train", &metadata(shape, "decoder", extra))
}

/// Encodes the encoder as ONNX: input `tokens` `[1, steps, vocab]` (a one-hot window in the
/// model's frame), outputs `mu` and `logvar` `[1, latent]`.
pub fn export_encoder(
    encoder: &Encoder,
    shape: &ModelShape,
    extra: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut graph = Graph::new("neume_encoder");
    graph.proto.message(5, onnx::int64_tensor("flat_shape", &[2], &[1, shape.flat() as i64]));
    let flat = graph.node("Reshape", "flat", &[contract::ENCODER_INPUT, "flat_shape"], &[]);
    let l1 = graph.gemm("l1", &flat, &weights(&encoder.l1));
    let h1 = graph.node("Relu", "l1.relu", &[&l1], &[]);
    let l2 = graph.gemm("l2", &h1, &weights(&encoder.l2));
    let h2 = graph.node("Relu", "l2.relu", &[&l2], &[]);
    graph.gemm(contract::MU, &h2, &weights(&encoder.mu));
    let raw = graph.gemm("logvar.raw", &h2, &weights(&encoder.logvar));
    graph.proto.message(5, onnx::float_tensor("logvar.min", &[], &[-LOGVAR_LIMIT]));
    graph.proto.message(5, onnx::float_tensor("logvar.max", &[], &[LOGVAR_LIMIT]));
    graph.node("Clip", contract::LOGVAR, &[&raw, "logvar.min", "logvar.max"], &[]);
    graph.proto.message(
        11,
        onnx::value_info(
            contract::ENCODER_INPUT,
            &[1, shape.encoder_steps() as i64, VOCAB_SIZE as i64],
        ),
    );
    graph.proto.message(12, onnx::value_info(contract::MU, &[1, shape.latent as i64]));
    graph.proto.message(12, onnx::value_info(contract::LOGVAR, &[1, shape.latent as i64]));
    onnx::model(graph.proto, OPSET, "neume-train", &metadata(shape, "encoder", extra))
}
