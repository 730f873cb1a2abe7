//! The runtime on real model files: the shipped default model through ONNX Runtime, and
//! files that are wrong in each way the validator checks.

use std::collections::BTreeMap;

use neume::encoding::{
    step_features, step_input, Meter, StepLayout, Token, ENCODING_VERSION, MAX_BAR_STEPS,
    PITCH_COUNT, PITCH_LOW, STEPS_PER_BAR, VOCAB_SIZE,
};
use neume::model::model_file::{self as contract, meta};
use neume::model::onnx::{self, Attribute, ProtoWriter};
use neume::model::runtime::{Backend, Generator};

const LATENT: usize = 4;
const BARS: usize = 1;
const HIDDEN: usize = 2;

fn good_metadata() -> BTreeMap<String, String> {
    BTreeMap::from([
        (meta::ENCODING_VERSION.into(), ENCODING_VERSION.to_string()),
        (meta::LATENT_SIZE.into(), LATENT.to_string()),
        (meta::BARS.into(), BARS.to_string()),
        (meta::STEPS_PER_BAR.into(), STEPS_PER_BAR.to_string()),
        (meta::PITCH_LOW.into(), PITCH_LOW.to_string()),
        (meta::PITCH_COUNT.into(), PITCH_COUNT.to_string()),
        (meta::VOCAB.into(), contract::vocab_string()),
        (meta::MODEL_KIND.into(), "vae".into()),
        (meta::ROLE.into(), "decoder".into()),
        (meta::LAYERS.into(), "1".into()),
        (meta::HIDDEN.into(), HIDDEN.to_string()),
        (meta::METERS.into(), "4/4=10,6/8=5".into()),
    ])
}

/// Width of the tiny model's step input.
fn step_width() -> usize {
    step_features(BARS) + LATENT
}

/// A one-layer step model: logits = x · W + b with W[i][j] = (i + 1) · j / 1000 and b = 0.5
/// (`op` computes it), and a state that grows by [1, 2] per step.
fn tiny_model(metadata: &BTreeMap<String, String>, op: &str, vocab: usize, bias: f32) -> Vec<u8> {
    tiny_model_of_width(metadata, op, vocab, bias, step_width())
}

fn tiny_model_of_width(
    metadata: &BTreeMap<String, String>,
    op: &str,
    vocab: usize,
    bias: f32,
    rows: usize,
) -> Vec<u8> {
    let w: Vec<f32> =
        (0..rows * vocab).map(|k| ((k / vocab + 1) * (k % vocab)) as f32 / 1000.0).collect();
    let mut graph = ProtoWriter::new();
    graph
        .string(2, "tiny")
        .message(5, onnx::float_tensor("w", &[rows as i64, vocab as i64], &w))
        .message(5, onnx::float_tensor("b", &[vocab as i64], &vec![bias; vocab]))
        .message(5, onnx::float_tensor("growth", &[HIDDEN as i64], &[1.0, 2.0]))
        .message(
            1,
            onnx::node(
                op,
                "gemm",
                &["x", "w", "b"],
                &["logits"],
                &[Attribute::Float("alpha", 1.0)],
            ),
        )
        .message(1, onnx::node("Add", "grow", &["state0", "growth"], &["state0_out"], &[]))
        .message(11, onnx::value_info("x", &[1, rows as i64]))
        .message(11, onnx::value_info("state0", &[1, HIDDEN as i64]))
        .message(12, onnx::value_info("logits", &[1, vocab as i64]))
        .message(12, onnx::value_info("state0_out", &[1, HIDDEN as i64]));
    onnx::model(graph, 17, "test", metadata)
}

fn good_model() -> Vec<u8> {
    tiny_model(&good_metadata(), "Gemm", VOCAB_SIZE, 0.5)
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
fn a_valid_model_steps_and_computes_the_right_numbers() {
    let mut generator = Generator::from_bytes(&good_model(), "tiny.onnx").unwrap();
    let mut row = vec![0f32; step_width()];
    let z = [1.0, -2.0, 0.5, 3.0];
    step_input(&mut row, Some(Token::Note(62)), 5, BARS, Meter::FourFour, &z);
    let mut state = generator.start();
    assert_eq!(state.layers(), &[vec![0.0, 0.0]]);
    let logits = generator.step(&row, &mut state).unwrap();
    let logits2 = generator.step(&row, &mut state).unwrap();
    assert_eq!(logits, logits2, "the logits depend on x only");
    assert_eq!(state.layers(), &[vec![2.0, 4.0]], "two steps of growth [1, 2]");
    assert_eq!(logits.len(), VOCAB_SIZE);
    // The step input, written out: the one-hot columns of note 62 (2 + 14), step 5 of the
    // bar (39 + 5; 18 bar positions), bar 0 (57), 4/4 (the third of six meters: 58 + 2), then
    // z at columns 64..68.
    let ones = [2 + 14, 39 + 5, 57, 60];
    for j in [0, 1, 17, VOCAB_SIZE - 1] {
        let w = |i: usize| (i + 1) as f64 * j as f64 / 1000.0;
        let want: f64 = ones.iter().map(|&i| w(i)).sum::<f64>()
            + z.iter().enumerate().map(|(k, &v)| f64::from(v) * w(64 + k)).sum::<f64>()
            + 0.5;
        assert!((f64::from(logits[j]) - want).abs() < 1e-3, "logit {j}: {} vs {want}", logits[j]);
    }
    let err = generator.step(&[1.0], &mut state).unwrap_err().to_string();
    assert!(err.contains("step input has 1 values, the model takes 68"), "{err}");
    let err = generator.encode(&[Token::Rest]).unwrap_err().to_string();
    assert!(err.contains("no encoder"), "{err}");
}

/// A model trained before meters (encoding version 2: 16 bar positions, no meter columns)
/// still loads and plays in 4/4, with its own step layout; other meters are refused by name.
#[test]
fn a_version_2_model_plays_in_4_4_only() {
    let mut md = good_metadata();
    md.insert(meta::ENCODING_VERSION.into(), "2".into());
    md.remove(meta::METERS);
    let v2 = StepLayout { version: 2, bars: BARS };
    // 38 tokens + start + 16 positions + 1 bar = 56 columns, then z.
    assert_eq!(v2.features(), 56);
    let bytes = tiny_model_of_width(&md, "Gemm", VOCAB_SIZE, 0.5, v2.features() + LATENT);
    let mut generator = Generator::from_bytes(&bytes, "old.onnx").unwrap();
    assert_eq!(generator.info().meters, vec![Meter::FourFour]);
    assert_eq!(generator.info().step_input(), 60);
    let options = |meter| neume::sampling::generate::GenerateOptions {
        bars: 2,
        seed: 3,
        meter,
        ..Default::default()
    };
    let melody =
        neume::sampling::generate::generate(&mut generator, &options(Meter::FourFour)).unwrap();
    assert_eq!(melody.len_steps, 32);
    let err = neume::sampling::generate::generate(&mut generator, &options(Meter::SixEight))
        .unwrap_err()
        .to_string();
    assert!(err.contains("knows 4/4 only") && err.contains("6/8"), "{err}");
    // A version 3 model must say which meters it knows.
    let mut md = good_metadata();
    md.remove(meta::METERS);
    expect_invalid(&tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5), "nometer.onnx", "neume.meters");
    let mut md = good_metadata();
    md.insert(meta::ENCODING_VERSION.into(), "4".into());
    expect_invalid(&tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5), "future.onnx", "versions 2..=3");
}

#[test]
fn wrong_files_are_refused_with_the_reason() {
    expect_invalid(b"this is not an onnx file at all", "junk.onnx", "not an ONNX model");
    expect_invalid(&[], "empty.onnx", "not an ONNX model");

    let mut md = good_metadata();
    md.insert(meta::ENCODING_VERSION.into(), (ENCODING_VERSION + 1).to_string());
    expect_invalid(
        &tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5),
        "future.onnx",
        "neume.encoding_version",
    );

    let mut md = good_metadata();
    md.insert(meta::ENCODING_VERSION.into(), "1".into());
    expect_invalid(&tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5), "v1.onnx", "a version 1 Neume model");

    let mut md = good_metadata();
    md.remove(meta::LATENT_SIZE);
    expect_invalid(
        &tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5),
        "nolatent.onnx",
        "`neume.latent_size` is missing",
    );

    // A detail code widens the decoder's input: a file that says it has one and is not that
    // wide is refused, one that is loads; a size past any model's is refused by name.
    let mut md = good_metadata();
    md.insert(meta::DETAIL_SIZE.into(), "2".into());
    expect_invalid(
        &tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5),
        "detail.onnx",
        "expected float tensor `x`",
    );
    let wide = tiny_model_of_width(&md, "Gemm", VOCAB_SIZE, 0.5, step_width() + 2);
    let info = Generator::from_bytes(&wide, "detail.onnx").unwrap().info().clone();
    assert_eq!((info.latent_size, info.detail_size), (LATENT, 2));
    md.insert(meta::DETAIL_SIZE.into(), usize::MAX.to_string());
    expect_invalid(&tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5), "huge.onnx", "more than 4096");

    let mut md = good_metadata();
    md.insert(meta::PITCH_LOW.into(), "40".into());
    expect_invalid(&tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5), "range.onnx", "neume.pitch_low");

    let mut md = good_metadata();
    md.insert(meta::MODEL_KIND.into(), "diffusion".into());
    expect_invalid(
        &tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5),
        "kind.onnx",
        "not one Neume runs (vae, gan)",
    );

    let mut md = good_metadata();
    md.insert(meta::ROLE.into(), "encoder".into());
    expect_invalid(
        &tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5),
        "role.onnx",
        "encoder file, not its decoder",
    );

    let mut md = good_metadata();
    md.insert(meta::LAYERS.into(), "2".into());
    expect_invalid(&tiny_model(&md, "Gemm", VOCAB_SIZE, 0.5), "layers.onnx", "expected inputs");

    expect_invalid(
        &tiny_model(&good_metadata(), "Loop", VOCAB_SIZE, 0.5),
        "loop.onnx",
        "operator `Loop`",
    );
    // Appended fields merge into the model (protobuf): a second graph with a node of another
    // domain, and a model-local function, each get past an allow-list that reads op names only.
    let mut foreign = onnx::node("Gemm", "foreign", &["x", "w", "b"], &["unused"], &[]);
    foreign.string(7, "com.microsoft");
    let mut graph = ProtoWriter::new();
    graph.message(1, foreign);
    let mut appended = ProtoWriter::new();
    appended.message(7, graph);
    expect_invalid(
        &[good_model(), appended.into_bytes()].concat(),
        "domain.onnx",
        "operator `com.microsoft:Gemm`",
    );
    let mut function = ProtoWriter::new();
    function.string(1, "Gemm").string(10, "");
    let mut appended = ProtoWriter::new();
    appended.message(25, function);
    expect_invalid(
        &[good_model(), appended.into_bytes()].concat(),
        "function.onnx",
        "model-local function",
    );
    expect_invalid(
        &tiny_model(&good_metadata(), "Gemm", VOCAB_SIZE + 1, 0.5),
        "shape.onnx",
        "shape",
    );
    expect_invalid(
        &tiny_model(&good_metadata(), "Gemm", VOCAB_SIZE, f32::NAN),
        "nan.onnx",
        "non-finite",
    );
}

#[test]
fn model_files_that_are_not_regular_files_are_refused_without_reading() {
    let dir = std::env::temp_dir().join(format!("neume-runtime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        let fifo = dir.join("fifo.onnx");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        // Reading a FIFO with no writer would block forever; the check comes first.
        let err = Generator::from_file(&fifo).err().unwrap().to_string();
        assert!(err.contains("fifo.onnx: not a regular file"), "{err}");
        let err =
            Generator::from_file(std::path::Path::new("/dev/zero")).err().unwrap().to_string();
        assert!(err.contains("/dev/zero: not a regular file"), "{err}");
    }
    let err = Generator::from_file(&dir).err().unwrap().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A tiny encoder of the tiny decoder's shape (latent size, bars): tokens → Reshape → Gemm
/// for `mu` and for `logvar`, with `metadata`.
fn tiny_encoder(metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let flat = (BARS * MAX_BAR_STEPS * VOCAB_SIZE) as i64;
    let w = vec![0.01f32; flat as usize * LATENT];
    let mut graph = ProtoWriter::new();
    graph
        .string(2, "tiny-encoder")
        .message(5, onnx::int64_tensor("flat_shape", &[2], &[1, flat]))
        .message(5, onnx::float_tensor("w", &[flat, LATENT as i64], &w))
        .message(5, onnx::float_tensor("b", &[LATENT as i64], &[0.0; LATENT]))
        .message(
            1,
            onnx::node("Reshape", "flat", &[contract::ENCODER_INPUT, "flat_shape"], &["flat"], &[]),
        )
        .message(1, onnx::node("Gemm", "mu", &["flat", "w", "b"], &[contract::MU], &[]))
        .message(1, onnx::node("Gemm", "logvar", &["flat", "w", "b"], &[contract::LOGVAR], &[]))
        .message(
            11,
            onnx::value_info(
                contract::ENCODER_INPUT,
                &[1, (BARS * MAX_BAR_STEPS) as i64, VOCAB_SIZE as i64],
            ),
        )
        .message(12, onnx::value_info(contract::MU, &[1, LATENT as i64]))
        .message(12, onnx::value_info(contract::LOGVAR, &[1, LATENT as i64]));
    onnx::model(graph, 17, "test", metadata)
}

#[test]
fn an_encoder_of_another_model_is_refused() {
    let generator = Generator::from_bytes(&good_model(), "tiny.onnx").unwrap();
    // The default model's encoder has another latent size and bars than the tiny decoder.
    let err = generator
        .with_encoder(neume::DEFAULT_ENCODER, "other.encoder.onnx")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("other.encoder.onnx: this encoder belongs to another model"), "{err}");
    // Same shape, both files carry an id: the encoder with the decoder's id loads, one with
    // another id is refused for its id alone.
    let with_id = |role: &str, id: &str| {
        let mut md = good_metadata();
        md.insert(meta::ROLE.into(), role.into());
        md.insert(meta::MODEL_ID.into(), id.into());
        md
    };
    let decoder = tiny_model(&with_id("decoder", "aaaa"), "Gemm", VOCAB_SIZE, 0.5);
    let generator = Generator::from_bytes(&decoder, "tiny.onnx").unwrap();
    let mut generator = generator
        .with_encoder(&tiny_encoder(&with_id("encoder", "aaaa")), "same.encoder.onnx")
        .unwrap();
    let (mu, _) = generator.encode(&[Token::Note(60); 16]).unwrap();
    assert_eq!(mu.len(), LATENT);
    let generator = Generator::from_bytes(&decoder, "tiny.onnx").unwrap();
    let err = generator
        .with_encoder(&tiny_encoder(&with_id("encoder", "bbbb")), "other-id.encoder.onnx")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("other-id.encoder.onnx: this encoder belongs to another model"), "{err}");
}

/// The tiny model with one GRU node of `attributes` appended (its output unused): a file
/// the allow-list passes, whose attributes decide.
fn with_gru(attributes: &[Attribute<'_>]) -> Vec<u8> {
    let mut gru = onnx::node("GRU", "gru", &["x", "w", "r"], &["", "unused"], attributes);
    gru.string(7, "");
    let mut graph = ProtoWriter::new();
    graph.message(1, gru);
    let mut appended = ProtoWriter::new();
    appended.message(7, graph);
    [good_model(), appended.into_bytes()].concat()
}

#[test]
fn operator_attributes_external_data_and_opsets_outside_the_contract_are_refused() {
    let hidden = HIDDEN as i64;
    // What the exporter writes passes the attribute check (the file then fails on the GRU's
    // unconnected inputs only when run, which is not this test's concern).
    let ok = [Attribute::Int("hidden_size", hidden), Attribute::Int("linear_before_reset", 1)];
    assert!(contract::validate(&with_gru(&ok), "gru.onnx").is_ok());
    expect_invalid(
        &with_gru(&[Attribute::Int("hidden_size", hidden)]),
        "lbr.onnx",
        "linear_before_reset = 1",
    );
    expect_invalid(
        &with_gru(&[
            Attribute::Int("hidden_size", hidden + 1),
            Attribute::Int("linear_before_reset", 1),
        ]),
        "size.onnx",
        "attribute `hidden_size`",
    );
    expect_invalid(
        &with_gru(&[
            Attribute::Int("hidden_size", hidden),
            Attribute::Int("linear_before_reset", 1),
            Attribute::Float("clip", 3.0),
        ]),
        "clip.onnx",
        "attribute `clip`",
    );
    expect_invalid(
        &with_gru(&[
            Attribute::Int("hidden_size", hidden),
            Attribute::Int("linear_before_reset", 1),
            Attribute::Int("layout", 1),
        ]),
        "layout.onnx",
        "attribute `layout`",
    );
    let concat = |axis: i64| {
        let mut graph = ProtoWriter::new();
        graph.message(
            1,
            onnx::node("Concat", "cat", &["x", "x"], &["unused"], &[Attribute::Int("axis", axis)]),
        );
        let mut appended = ProtoWriter::new();
        appended.message(7, graph);
        [good_model(), appended.into_bytes()].concat()
    };
    assert!(contract::validate(&concat(1), "concat.onnx").is_ok());
    expect_invalid(&concat(1 << 40), "axis.onnx", "attribute `axis`");
    // An initializer whose data lives in another file (data_location = EXTERNAL).
    let mut tensor = onnx::float_tensor("elsewhere", &[1], &[0.0]);
    tensor.int(14, 1);
    let mut graph = ProtoWriter::new();
    graph.message(5, tensor);
    let mut appended = ProtoWriter::new();
    appended.message(7, graph);
    expect_invalid(
        &[good_model(), appended.into_bytes()].concat(),
        "external.onnx",
        "tensor `elsewhere` keeps its data in another file",
    );
    // Another opset than the tested one.
    let mut opset = ProtoWriter::new();
    opset.string(1, "").int(2, 9);
    let mut appended = ProtoWriter::new();
    appended.message(8, opset);
    expect_invalid(&[good_model(), appended.into_bytes()].concat(), "opset.onnx", "ONNX opset 9");
}

#[test]
fn a_non_finite_logit_at_any_step_is_a_model_error() {
    // The warm-up (z = 0) is finite; a latent point that drives the logits past f32's range
    // makes them infinite, which the sampler would silently read as the highest pitch.
    let mut generator = Generator::from_bytes(&good_model(), "tiny.onnx").unwrap();
    let options = neume::sampling::generate::GenerateOptions {
        bars: 1,
        latent: Some(vec![1e38; LATENT]),
        ..Default::default()
    };
    let err = neume::sampling::generate::generate(&mut generator, &options)
        .err()
        .expect("non-finite logits were sampled")
        .to_string();
    assert!(err.contains("tiny.onnx: the model computed non-finite logits"), "{err}");
    // A finite, ordinary point still plays.
    let options = neume::sampling::generate::GenerateOptions {
        bars: 1,
        latent: Some(vec![0.5; LATENT]),
        ..Default::default()
    };
    assert!(neume::sampling::generate::generate(&mut generator, &options).is_ok());
}

#[test]
fn a_missing_file_is_named() {
    let err = Generator::from_file(std::path::Path::new("/nonexistent/model.onnx"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.starts_with("/nonexistent/model.onnx: "), "{err}");
}

#[test]
fn the_default_model_loads_on_the_native_runtime() {
    let generator = neume::default_generator().unwrap();
    assert!(generator.info().latent_size >= 8);
    assert_eq!(generator.info().bars, 4);
    assert!(generator.has_encoder());
    // The embedded model is the public-domain one, and says so.
    assert_eq!(
        generator.info().metadata.get(meta::DATA_LICENCE).map(String::as_str),
        Some("public-domain")
    );
    // scripts/test.sh installs the native library; with it, the native backend is chosen.
    if std::env::var_os("NEUME_ORT_LIB").is_some() {
        assert!(
            matches!(generator.backend(), Backend::Native(_)),
            "backend: {}",
            generator.backend()
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "NEUME_ORT_LIB is not set under CI: the native runtime was not tried"
        );
    }
}
