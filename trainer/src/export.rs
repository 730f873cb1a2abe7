//! Writes a trained decoder as the ONNX file the runtime loads: Gemm/Relu layers, one
//! Reshape to `[1, steps, vocab]`, and the metadata the runtime checks.

use std::collections::BTreeMap;

use burn::nn::Linear;
use neume::encoding::{ENCODING_VERSION, PITCH_COUNT, PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE};
use neume::onnx::{self, Attribute, ProtoWriter};
use neume::runtime::{meta, vocab_string, INPUT_NAME, OUTPUT_NAME};

use crate::model::{Decoder, ModelShape};

/// ONNX opset the exporter writes.
pub const OPSET: i64 = 17;

fn weights(layer: &Linear) -> (Vec<f32>, [usize; 2], Vec<f32>) {
    let weight = layer.weight.val();
    let dims = weight.dims();
    // Float parameters convert to f32 data; a failure would be a burn bug.
    let w = weight.into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 weights");
    let b = match &layer.bias {
        Some(bias) => bias.val().into_data().convert::<f32>().try_to_vec::<f32>().expect("f32 bias"),
        None => vec![0.0; dims[1]],
    };
    (w, dims, b)
}

/// The metadata every exported model carries.
pub fn metadata(shape: &ModelShape, kind: &str, extra: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut md = BTreeMap::from([
        (meta::ENCODING_VERSION.to_string(), ENCODING_VERSION.to_string()),
        (meta::LATENT_SIZE.to_string(), shape.latent.to_string()),
        (meta::BARS.to_string(), shape.bars.to_string()),
        (meta::STEPS_PER_BAR.to_string(), STEPS_PER_BAR.to_string()),
        (meta::PITCH_LOW.to_string(), PITCH_LOW.to_string()),
        (meta::PITCH_COUNT.to_string(), PITCH_COUNT.to_string()),
        (meta::VOCAB.to_string(), vocab_string()),
        (meta::MODEL_KIND.to_string(), kind.to_string()),
    ]);
    md.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    md
}

/// Encodes `decoder` as an ONNX model (batch 1, fixed shapes).
pub fn export_decoder(decoder: &Decoder, shape: &ModelShape, kind: &str, extra: &BTreeMap<String, String>) -> Vec<u8> {
    let mut graph = ProtoWriter::new();
    graph.string(2, "neume_decoder");
    let layers = decoder.layers();
    let mut input = INPUT_NAME.to_string();
    for (i, layer) in layers.iter().enumerate() {
        let (w, dims, b) = weights(layer);
        let (w_name, b_name) = (format!("layer{i}.weight"), format!("layer{i}.bias"));
        graph.message(5, onnx::float_tensor(&w_name, &[dims[0] as i64, dims[1] as i64], &w));
        graph.message(5, onnx::float_tensor(&b_name, &[dims[1] as i64], &b));
        let gemm_out = format!("layer{i}.gemm");
        // burn stores Linear weights as [in, out]: Y = X·W + b, no transposition.
        graph.message(1, onnx::node("Gemm", &format!("layer{i}"), &[&input, &w_name, &b_name], &[&gemm_out], &[
            Attribute::Float("alpha", 1.0),
            Attribute::Float("beta", 1.0),
        ]));
        input = gemm_out;
        if i + 1 < layers.len() {
            let relu_out = format!("layer{i}.relu");
            graph.message(1, onnx::node("Relu", &format!("relu{i}"), &[&input], &[&relu_out], &[]));
            input = relu_out;
        }
    }
    let out_shape = [1, shape.steps() as i64, VOCAB_SIZE as i64];
    graph.message(5, onnx::int64_tensor("logits_shape", &[3], &out_shape));
    graph.message(1, onnx::node("Reshape", "to_steps", &[&input, "logits_shape"], &[OUTPUT_NAME], &[]));
    graph.message(11, onnx::value_info(INPUT_NAME, &[1, shape.latent as i64]));
    graph.message(12, onnx::value_info(OUTPUT_NAME, &out_shape));
    onnx::model(graph, OPSET, "neume-train", &metadata(shape, kind, extra))
}
