//! `neume-train` as a user runs it: Ctrl-C in the middle of training leaves a checkpoint and a
//! usable model, `--resume` continues, and `eval` prints figures with the baselines beside them.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "support/trainer.rs"]
mod support;
use support::{fixtures, train_command, trainer};

#[test]
fn ctrl_c_leaves_a_usable_checkpoint_and_resume_continues() {
    let out = std::env::temp_dir().join(format!("neume-ctrlc-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let child = train_command(&out, "100000").stderr(Stdio::piped()).spawn().unwrap();
    // Wait for the first step checkpoint, then interrupt as a terminal's Ctrl-C would.
    let started = Instant::now();
    while !out.join("checkpoint/state.json").exists() {
        assert!(started.elapsed() < Duration::from_secs(300), "no checkpoint written");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("stopped: checkpoint saved"), "{stderr}");
    assert!(out.join("model.onnx").is_file());
    neume::model::runtime::Generator::from_file(&out.join("model.onnx")).unwrap();

    let resumed = train_command(&out, "1").arg("--resume").output().unwrap();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("resumed after epoch"), "{stderr}");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn eval_puts_the_baselines_beside_every_figure() {
    let out = trainer()
        .args(["eval", "--count", "20", "--explain", "--model"])
        .arg(fixtures("valid"))
        .arg("--reference")
        .arg(fixtures("train"))
        .arg("--train")
        .arg(fixtures("train"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(out.stdout).unwrap();
    // `--explain` first: 15 features by name, each with two means and their difference.
    let (explained, table) = printed.split_at(printed.find("\nset ").expect("the table") + 1);
    let lines: Vec<&str> = explained.lines().collect();
    assert!(lines[0].starts_with("features of"), "{explained}");
    assert_eq!(lines.len(), 16, "{explained}");
    for line in &lines[1..] {
        let numbers: Vec<f64> =
            line.split_whitespace().rev().take(3).map(|c| c.parse().unwrap()).collect();
        assert!(numbers[1..].iter().all(|m| (0.0..=1.0).contains(m)), "{line}");
    }
    let rows: Vec<&str> = table.lines().collect();
    assert_eq!(rows.len(), 5, "{table}");
    // The last column: each set's mean pitch range, in semitones.
    assert!(rows[0].trim_end().ends_with("range"), "{table}");
    for row in &rows[1..] {
        let range: f64 = row.split_whitespace().last().unwrap().parse().unwrap();
        assert!((1.0..=36.0).contains(&range), "{row}");
    }
    assert!(rows[0].contains("classifier") && rows[0].contains("step"), "{table}");
    assert!(rows[1].starts_with("reference (real tunes)"), "{table}");
    assert!(rows[3].starts_with("markov ") && rows[4].starts_with("markov-notes"), "{table}");
    for row in &rows[2..] {
        let cells: Vec<&str> = row.split_whitespace().collect();
        let mean: f64 = cells[1].parse().unwrap();
        assert!((0.0..=1.0).contains(&mean), "{row}");
        // The classifier column: accuracy ± spread over the folds.
        let (accuracy, spread) = cells.iter().find_map(|c| c.split_once('±')).unwrap();
        let (accuracy, spread): (f64, f64) = (accuracy.parse().unwrap(), spread.parse().unwrap());
        assert!((0.0..=1.0).contains(&accuracy) && spread >= 0.0, "{row}");
    }
}

#[test]
fn device_gpu_without_a_gpu_build_falls_back_to_the_cpu_with_a_message() {
    let out = std::env::temp_dir().join(format!("neume-gpu-fallback-{}", std::process::id()));
    std::fs::remove_dir_all(&out).ok();
    let output = train_command(&out, "1")
        .args(["--device", "gpu", "--max-steps", "2", "--save-epochs"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    if cfg!(not(feature = "gpu")) {
        assert!(stderr.contains("warning: no GPU: this build has no GPU support"), "{stderr}");
        assert!(stderr.contains("device: CPU (burn flex backend)"), "{stderr}");
    }
    assert!(out.join("model.onnx").is_file());
    // --save-epochs keeps every epoch's model; the epoch record says how fast it trained.
    neume::model::runtime::Generator::from_file(&out.join("epochs/epoch-001.onnx")).unwrap();
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let record: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert!(record["steps_per_s"].as_f64().unwrap() > 0.0, "{record}");
    assert!(record["train_seconds"].as_f64().unwrap() > 0.0, "{record}");
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn bench_times_the_training_step_and_its_phases() {
    let output = trainer()
        .args([
            "bench",
            "--device",
            "cpu",
            "--batch",
            "8",
            "--steps",
            "3",
            "--warmup",
            "1",
            "--profile",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["device"], "CPU (burn flex backend)");
    assert_eq!(report["steps"], 3);
    let steps_per_s = report["steps_per_s"].as_f64().unwrap();
    assert!(steps_per_s > 0.0 && steps_per_s.is_finite(), "{report}");
    assert!(
        (report["samples_per_s"].as_f64().unwrap() / steps_per_s - 8.0).abs() < 1e-9,
        "{report}"
    );
    for phase in ["forward_ms", "backward_ms", "optimizer_ms"] {
        assert!(report["phases"][phase].as_f64().unwrap() > 0.0, "{report}");
    }
}

#[test]
fn parity_without_a_gpu_says_so() {
    let output = trainer().arg("parity").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if cfg!(not(feature = "gpu")) {
        assert!(!output.status.success());
        assert!(
            stderr.contains("error: no GPU to compare with the CPU: this build has no GPU support"),
            "{stderr}"
        );
    }
}

#[test]
fn the_same_seed_repeats_a_run() {
    let run = |name: &str| -> serde_json::Value {
        let out = std::env::temp_dir().join(format!("neume-seed-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&out).ok();
        let output =
            train_command(&out, "1").args(["--max-steps", "4", "--seed", "9"]).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
        std::fs::remove_dir_all(&out).ok();
        let record: serde_json::Value =
            serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
        // Everything but the timings.
        serde_json::json!([record["train"], record["valid_overlap"], record["valid_temperature"]])
    };
    assert_eq!(run("a"), run("b"));
}

#[test]
fn the_key_bench_judges_the_shipped_finder_and_the_models_ear() {
    // The fixture tunes' key signatures are the truth (110 windows of tunes with one, each
    // moved to a random key). Either finder names about three in four (0.74, 0.75); the
    // model's ear with its move into the frame turned the wrong way names 0.58.
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/neume-default.onnx");
    let accuracy = |with_model: bool| {
        let mut cmd = trainer();
        cmd.arg("key").arg("--reference").arg(fixtures("train"));
        if with_model {
            cmd.arg("--model").arg(&model);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["windows"], 110, "{report}");
        report["accuracy"].as_f64().unwrap()
    };
    let (profiles, heard) = (accuracy(false), accuracy(true));
    assert!(profiles > 0.7 && heard > 0.7, "profiles {profiles}, the model's ear {heard}");
}

#[test]
fn eval_reconstruction_encodes_and_decodes_the_reference_windows() {
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/neume-default.onnx");
    let json = std::env::temp_dir().join(format!("neume-recon-{}.json", std::process::id()));
    let out = trainer()
        .args(["eval", "--count", "12", "--reconstruction", "--model"])
        .arg(&model)
        .arg("--reference")
        .arg(fixtures("valid"))
        .arg("--train")
        .arg(fixtures("train"))
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("reconstruction of "), "{table}");
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let r = &all["reconstruction"];
    let figure = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k} in {r}"));
    assert!(r["windows"].as_u64().unwrap() > 0, "{r}");
    // |common| / |union| ≤ |common| / |window|, and a window given back whole scores 1 in both.
    let (similarity, recall, exact) =
        (figure("note_similarity"), figure("note_recall"), figure("exact"));
    assert!(exact <= similarity && similarity <= recall && recall <= 1.0, "{r}");
    assert!(recall > 0.0, "no note of any window came back: {r}");
    std::fs::remove_file(&json).ok();
}

/// `neume-train ratings` reads the plugin's ratings file: this model's lines only (another
/// model's line and a broken one are not counted as ratings), and a listener who liked the
/// denser half of 30 melodies is said to like them dense.
#[test]
fn ratings_reads_the_plugins_file_and_names_what_was_liked() {
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/neume-default.onnx");
    let id = model_id(&model);
    let file = std::env::temp_dir().join(format!("neume-ratings-cli-{}.jsonl", std::process::id()));
    // A fixed pseudo-random sequence (a linear congruential generator) for points and
    // densities around the typical 6.2 onsets a bar.
    let mut state = 12345u64;
    let mut next = move || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut lines = String::new();
    let mut likes = 0;
    for seed in 0..30 {
        let latent: Vec<f64> = (0..32).map(|_| 2.0 * next()).collect();
        let density = 6.2 + 6.0 * next();
        let rating = if density > 6.2 { 1 } else { -1 };
        likes += usize::from(rating > 0);
        lines.push_str(&format!(
            "{{\"rating\":{rating},\"latent\":{latent:?},\"model\":\"id:{id}\",\"seed\":{seed},\"time\":0,\"attributes\":[{density},0.5,13.6,0.5,2.7]}}\n"
        ));
    }
    lines.push_str("{\"rating\":1,\"latent\":[0.0],\"model\":\"id:another\",\"seed\":0,\"time\":0}\nnot json\n");
    std::fs::write(&file, lines).unwrap();
    let out = trainer()
        .arg("ratings")
        .arg("--file")
        .arg(&file)
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(report["likes"], likes);
    assert_eq!(report["dislikes"], 30 - likes);
    assert_eq!(report["unreadable_lines"], 1);
    assert_eq!(report["judged_by_notes"], true);
    assert_eq!(report["you_like"], "dense", "{stdout}");
    std::fs::remove_file(&file).ok();
}

/// `neume-train tune` fine-tunes a run's model on the melodies liked in a ratings file (this
/// model's liked lines with notes; a dislike, another model's like and a line from before
/// ratings kept notes are left out): the tuned model loads, says what it was tuned on, and its
/// own draws come nearer the liked melodies than the model's did.
#[test]
fn tune_learns_the_liked_melodies() {
    let run = std::env::temp_dir().join(format!("neume-tune-cli-{}", std::process::id()));
    std::fs::remove_dir_all(&run).ok();
    let trained = train_command(&run, "1").output().unwrap();
    assert!(trained.status.success(), "{}", String::from_utf8_lossy(&trained.stderr));
    let model = run.join("model.onnx");
    let id = model_id(&model);
    // Three liked 4-bar melodies in 4/4: quarter notes stepping up and down a scale from
    // three tonics; a disliked one of whole notes.
    let liked: Vec<Vec<[u32; 3]>> = [60u32, 62, 65]
        .iter()
        .map(|&tonic| {
            let steps = [0, 2, 4, 5, 7, 9, 11, 12, 11, 9, 7, 5, 4, 2, 0, 2];
            steps.iter().enumerate().map(|(i, s)| [tonic + s, 4 * i as u32, 4]).collect()
        })
        .collect();
    let line = |rating: i8, model: &str, notes: &[[u32; 3]]| {
        format!(
            "{{\"rating\":{rating},\"latent\":[0.0],\"model\":\"{model}\",\"seed\":0,\"time\":0,\"melody\":{{\"meter\":\"4/4\",\"len_steps\":64,\"notes\":{notes:?}}}}}\n"
        )
    };
    let mut lines: String = liked.iter().map(|n| line(1, &format!("id:{id}"), n)).collect();
    lines.push_str(&line(
        -1,
        &format!("id:{id}"),
        &[[60, 0, 16], [67, 16, 16], [64, 32, 16], [60, 48, 16]],
    ));
    lines.push_str(&line(1, "id:another", &[[70, 0, 64]]));
    lines.push_str(&format!(
        "{{\"rating\":1,\"latent\":[0.0],\"model\":\"id:{id}\",\"seed\":0,\"time\":0}}\n"
    ));
    let ratings = run.join("ratings.jsonl");
    std::fs::write(&ratings, lines).unwrap();
    let tuned = run.join("tuned.onnx");
    let out = trainer()
        .args(["tune", "--ratings"])
        .arg(&ratings)
        .arg("--model")
        .arg(&model)
        .arg("--run")
        .arg(&run)
        .arg("--out")
        .arg(&tuned)
        // The test's model has had one short epoch: it moves in 200 steps what the shipped
        // model moves in the default 60 (0.03 → 0.34 here; 0.06 in 60).
        .args(["--steps", "200"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("4 liked melodies") && stderr.contains("3 windows of 4 bars"),
        "{stderr}"
    );
    assert!(stderr.contains("1 liked lines left out"), "{stderr}");
    let mut after = neume::model::runtime::Generator::from_file(&tuned).unwrap();
    assert!(
        after.info().metadata["neume.training_data"]
            .contains("fine-tuned on 3 liked melodies (ratings.jsonl)"),
        "{:?}",
        after.info().metadata
    );
    assert_ne!(after.info().model_id(), Some(id.as_str()));
    assert!(tuned.with_file_name("tuned.encoder.onnx").is_file());

    // Nearness, independent of key: a melody as the set of (onset, interval from its first
    // note); the share of common members among all (|A ∩ B| / |A ∪ B|), best over the liked.
    type Shape = std::collections::BTreeSet<(u32, i32)>;
    let shape = |notes: &[(u32, i32)]| -> Shape {
        notes.iter().map(|&(start, pitch)| (start, pitch - notes[0].1)).collect()
    };
    let liked: Vec<Shape> = liked
        .iter()
        .map(|n| shape(&n.iter().map(|&[p, s, _]| (s, p as i32)).collect::<Vec<_>>()))
        .collect();
    let nearness = |generator: &mut neume::model::runtime::Generator| -> f64 {
        let mut sum = 0.0;
        for seed in 0..20 {
            let options =
                neume::sampling::generate::GenerateOptions { bars: 4, seed, ..Default::default() };
            let melody = neume::sampling::generate::generate(generator, &options).unwrap();
            let notes: Vec<(u32, i32)> =
                melody.notes.iter().map(|n| (n.start_step, i32::from(n.pitch))).collect();
            if notes.is_empty() {
                continue;
            }
            let drawn = shape(&notes);
            sum += liked
                .iter()
                .map(|l| l.intersection(&drawn).count() as f64 / l.union(&drawn).count() as f64)
                .fold(0.0, f64::max);
        }
        sum / 20.0
    };
    let mut before = neume::model::runtime::Generator::from_file(&model).unwrap();
    let (near_before, near_after) = (nearness(&mut before), nearness(&mut after));
    eprintln!("nearness to the liked melodies: {near_before:.3} before, {near_after:.3} tuned");
    assert!(near_after > near_before + 0.1, "{near_before:.3} before, {near_after:.3} tuned");
    std::fs::remove_dir_all(&run).ok();
}

/// The id in a model file's metadata.
fn model_id(model: &std::path::Path) -> String {
    neume::model::runtime::Generator::from_file(model)
        .unwrap()
        .info()
        .model_id()
        .unwrap()
        .to_string()
}

/// The adversarial generator as a user trains it: a VAE first, then `train --model gan --init`
/// from its model file; `export` writes the model (kind `gan`) with the copy index of the
/// training tunes beside it, carrying the model's id, and the index flags a training tune.
#[test]
fn a_gan_trains_from_a_vae_and_exports_with_its_copy_index() {
    let root = std::env::temp_dir().join(format!("neume-gan-cli-{}", std::process::id()));
    std::fs::remove_dir_all(&root).ok();
    let vae = root.join("vae");
    let done = train_command(&vae, "1").output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let gan = root.join("gan");
    let done = trainer()
        .args(["train", "--model", "gan", "--init"])
        .arg(vae.join("model.onnx"))
        .args(["--hidden", "64", "--latent", "8", "--batch", "8", "--valid-samples", "10"])
        .args(["--epochs", "1", "--max-steps", "4", "--out"])
        .arg(&gan)
        .arg("--data")
        .arg(fixtures("train"))
        .arg("--valid")
        .arg(fixtures("valid"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&done.stderr);
    assert!(done.status.success(), "{stderr}");
    assert!(stderr.contains("starting from the weights of"), "{stderr}");
    let model = root.join("shipped.onnx");
    let done =
        trainer().args(["export", "--run"]).arg(&gan).arg("--out").arg(&model).output().unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let generator = neume::model::runtime::Generator::from_file(&model).unwrap();
    assert_eq!(generator.info().kind, "gan");
    let index = neume::music::copies::CopyIndex::read_file(&root.join("shipped.copies")).unwrap();
    assert_eq!(index.model_id, model_id(&model));
    // The longest training fixture (a copy is a run of notes over 2.75 bars).
    let (tune, file) = std::fs::read_dir(fixtures("train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mid"))
        .map(|p| (p.clone(), neume::music::midi::read_file(&p).unwrap()))
        .max_by_key(|(_, f)| f.melody.notes.len())
        .expect("a training fixture");
    let meter = neume::encoding::Meter::for_signature(
        file.time_signature.numerator,
        file.time_signature.denominator,
    )
    .map_or(neume::encoding::Meter::FourFour, |m| m.0);
    assert!(
        index.check(&file.melody, meter).is_some(),
        "{}: a training tune is not flagged as a copy",
        tune.display()
    );
    std::fs::remove_dir_all(&root).ok();
}

/// `neume-train copies` chooses the shortest span that flags few enough held-out windows and
/// flags the training tunes' own windows: each is a copy of its tune by construction.
#[test]
fn copies_chooses_its_span_on_held_out_tunes_and_flags_the_training_windows() {
    let root = std::env::temp_dir().join(format!("neume-copies-cmd-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let index = root.join("fixtures.copies");
    let done = trainer()
        .arg("copies")
        .arg("--data")
        .arg(fixtures("train"))
        .arg("--held-out")
        .arg(fixtures("valid"))
        .arg("--out")
        .arg(&index)
        .output()
        .unwrap();
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let report: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    let span = report["span_quarters"].as_u64().unwrap();
    let tried = report["held_out_flagged_by_span"].as_object().unwrap();
    // The spans tried run from 2 bars up to the one chosen, the first at or under 2 %.
    assert_eq!(tried.keys().map(|k| k.parse::<u64>().unwrap()).max(), Some(span), "{report}");
    assert!(tried[&span.to_string()].as_f64().unwrap() <= 0.02, "{report}");
    assert!(tried.iter().all(|(k, v)| k == &span.to_string() || v.as_f64().unwrap() > 0.02));
    assert!(report["training_windows"].as_u64().unwrap() > 100, "{report}");
    assert!(report["training_windows_flagged"].as_f64().unwrap() > 0.95, "{report}");
    let read = neume::music::copies::CopyIndex::read_file(&index).unwrap();
    assert_eq!(u64::from(read.span_quarters), span);
    std::fs::remove_dir_all(&root).ok();
}
