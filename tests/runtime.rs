//! The runtime on real model files: the shipped default model through ONNX Runtime, and
//! files that are wrong in each way the validator checks.

use std::collections::BTreeMap;

use neume::encoding::{ENCODING_VERSION, PITCH_COUNT, PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE};
use neume::onnx::{self, Attribute, ProtoWriter};
use neume::runtime::{self, meta, Backend, Generator};

const LATENT: usize = 4;
const BARS: usize = 1;

fn good_metadata() -> BTreeMap<String, String> {
    BTreeMap::from([
        (meta::ENCODING_VERSION.into(), ENCODING_VERSION.to_string()),
        (meta::LATENT_SIZE.into(), LATENT.to_string()),
        (meta::BARS.into(), BARS.to_string()),
        (meta::STEPS_PER_BAR.into(), STEPS_PER_BAR.to_string()),
        (meta::PITCH_LOW.into(), PITCH_LOW.to_string()),
        (meta::PITCH_COUNT.into(), PITCH_COUNT.to_string()),
        (meta::VOCAB.into(), runtime::vocab_string()),
        (meta::MODEL_KIND.into(), "vae".into()),
    ])
}

/// A one-layer model: logits = reshape(z · W + b), with W[i][j] = (i + 1) · j / 1000.
fn tiny_model(metadata: &BTreeMap<String, String>, op: &str, out_steps: usize) -> Vec<u8> {
    let width = out_steps * VOCAB_SIZE;
    let w: Vec<f32> = (0..LATENT * width).map(|k| ((k / width + 1) * (k % width)) as f32 / 1000.0).collect();
    let mut graph = ProtoWriter::new();
    graph
        .string(2, "tiny")
        .message(5, onnx::float_tensor("w", &[LATENT as i64, width as i64], &w))
        .message(5, onnx::float_tensor("b", &[width as i64], &vec![0.5; width]))
        .message(5, onnx::int64_tensor("shape", &[3], &[1, out_steps as i64, VOCAB_SIZE as i64]))
        .message(1, onnx::node(op, "gemm", &["z", "w", "b"], &["flat"], &[Attribute::Float("alpha", 1.0)]))
        .message(1, onnx::node("Reshape", "reshape", &["flat", "shape"], &["logits"], &[]))
        .message(11, onnx::value_info("z", &[1, LATENT as i64]))
        .message(12, onnx::value_info("logits", &[1, out_steps as i64, VOCAB_SIZE as i64]));
    onnx::model(graph, 17, "test", metadata)
}

fn expect_invalid(bytes: &[u8], name: &str, needle: &str) {
    match Generator::from_bytes(bytes, name) {
        Ok(_) => panic!("{name} was accepted"),
        Err(e) => {
            let message = e.to_string();
            assert!(message.starts_with(&format!("{name}: ")), "{message}");
            assert!(message.contains(needle), "`{message}` does not mention `{needle}`");
        }
    }
}

#[test]
fn a_valid_model_runs_and_computes_the_right_numbers() {
    let bytes = tiny_model(&good_metadata(), "Gemm", BARS * STEPS_PER_BAR);
    let mut generator = Generator::from_bytes(&bytes, "tiny.onnx").unwrap();
    let z = [1.0, -2.0, 0.5, 3.0];
    let logits = generator.run(&z).unwrap();
    let width = BARS * STEPS_PER_BAR * VOCAB_SIZE;
    assert_eq!(logits.len(), width);
    for j in [0, 1, 77, width - 1] {
        // Computed independently: Σ_i z_i · (i + 1) · j / 1000 + 0.5.
        let want: f64 = z.iter().enumerate().map(|(i, &v)| f64::from(v) * (i + 1) as f64 * j as f64 / 1000.0).sum::<f64>() + 0.5;
        assert!((f64::from(logits[j]) - want).abs() < 1e-3, "logit {j}: {} vs {want}", logits[j]);
    }
    let err = generator.run(&[1.0]).unwrap_err().to_string();
    assert!(err.contains("latent point has 1 values, the model takes 4"), "{err}");
}

#[test]
fn wrong_files_are_refused_with_the_reason() {
    expect_invalid(b"this is not an onnx file at all", "junk.onnx", "not an ONNX model");
    expect_invalid(&[], "empty.onnx", "not an ONNX model");

    let mut md = good_metadata();
    md.insert(meta::ENCODING_VERSION.into(), (ENCODING_VERSION + 1).to_string());
    expect_invalid(&tiny_model(&md, "Gemm", STEPS_PER_BAR), "future.onnx", "neume.encoding_version");

    let mut md = good_metadata();
    md.remove(meta::LATENT_SIZE);
    expect_invalid(&tiny_model(&md, "Gemm", STEPS_PER_BAR), "nolatent.onnx", "`neume.latent_size` is missing");

    let mut md = good_metadata();
    md.insert(meta::PITCH_LOW.into(), "40".into());
    expect_invalid(&tiny_model(&md, "Gemm", STEPS_PER_BAR), "range.onnx", "neume.pitch_low");

    let mut md = good_metadata();
    md.insert(meta::MODEL_KIND.into(), "diffusion".into());
    expect_invalid(&tiny_model(&md, "Gemm", STEPS_PER_BAR), "kind.onnx", "neither `gan` nor `vae`");

    expect_invalid(&tiny_model(&good_metadata(), "Loop", STEPS_PER_BAR), "loop.onnx", "operator `Loop`");
    expect_invalid(&tiny_model(&good_metadata(), "Gemm", 2 * STEPS_PER_BAR), "shape.onnx", "shape");
}

#[test]
fn a_missing_file_is_named() {
    let err = Generator::from_file(std::path::Path::new("/nonexistent/model.onnx")).err().unwrap().to_string();
    assert!(err.starts_with("/nonexistent/model.onnx: "), "{err}");
}

#[test]
fn the_default_model_loads_on_the_native_runtime() {
    let generator = neume::default_generator().unwrap();
    assert!(generator.info().latent_size >= 8);
    assert_eq!(generator.info().bars, 4);
    // scripts/test.sh installs the native library; with it, the native backend is chosen.
    if std::env::var_os("NEUME_ORT_LIB").is_some() {
        assert!(matches!(generator.backend(), Backend::Native(_)), "backend: {}", generator.backend());
    }
}
