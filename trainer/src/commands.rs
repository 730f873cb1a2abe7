//! The commands of `neume-train`, one function each (`main.rs` dispatches to them): they
//! read their arguments (`cli.rs`), call the library and print what it reports.

use neume::encoding::Meter;
use neume_train::bench::step::{self, BenchConfig};
use neume_train::data::Selection;
use neume_train::device;
use neume_train::eval;
use neume_train::model::ModelShape;
use neume_train::training::{self, TrainConfig};

use crate::cli::*;

/// The command line that started this run, for the model's provenance: paths are written
/// relative to the working folder, and an absolute path outside it keeps only its last two
/// parts, so no model file carries the folders of the machine it was trained on.
fn portable_command() -> String {
    let cwd = std::env::current_dir().ok();
    std::iter::once("neume-train".to_string())
        .chain(std::env::args().skip(1).map(|arg| portable_arg(&arg, cwd.as_deref())))
        .collect::<Vec<_>>()
        .join(" ")
}

fn portable_arg(arg: &str, cwd: Option<&std::path::Path>) -> String {
    let path = std::path::Path::new(arg);
    if !path.is_absolute() {
        return arg.to_string();
    }
    if let Some(relative) = cwd.and_then(|c| path.strip_prefix(c).ok()) {
        return relative.display().to_string();
    }
    let tail: Vec<_> = path.components().rev().take(2).collect();
    let tail: std::path::PathBuf = tail.into_iter().rev().collect();
    format!("…/{}", tail.display())
}

/// The model at `model`, the key the plugin files its ratings under, and its ratings in
/// `file`.
fn model_ratings(
    model: &std::path::Path,
    file: &std::path::Path,
) -> Result<(neume::model::runtime::Generator, String, neume::taste::ratings::Ratings), String> {
    let generator =
        neume::model::runtime::Generator::from_file(model).map_err(|e| e.to_string())?;
    let id = generator.info().ratings_key(&model.display().to_string());
    let ratings = neume::taste::ratings::Ratings::load(file, &id).map_err(|e| e.to_string())?;
    Ok((generator, id, ratings))
}

/// `neume-train train`.
pub fn train(args: TrainArgs) -> Result<(), String> {
    Selection { meters: args.meters.clone(), ..Selection::default() }.check()?;
    let device = device::select(&args.device)?;
    let config = TrainConfig {
        kind: args.model,
        data: args.data,
        valid: args.valid,
        shape: ModelShape {
            bars: usize::from(args.bars),
            latent: args.latent,
            hidden: args.hidden,
            layers: args.layers,
        },
        epochs: args.epochs,
        batch: args.batch.max(2),
        lr: args.lr.unwrap_or(2e-3),
        max_steps_per_epoch: args.max_steps,
        checkpoint_every: args.checkpoint_every,
        valid_samples: args.valid_samples.max(2),
        seed: args.seed,
        free_bits: args.free_bits,
        // A run that starts from a trained model starts at the full KL weight.
        kl_warmup_steps: if args.init.is_some() { 1 } else { 1000 },
        token_dropout: args.token_dropout,
        detail: args.detail,
        selection: Selection {
            exclude: args.exclude,
            duple_only: args.duple_only,
            meters: args.meters,
        },
        attribute_weight: args.attribute_weight,
        attribute_tie: args.attribute_tie,
        command: portable_command(),
        save_epochs: args.save_epochs,
        init: args.init,
        adversarial_weight: args.adversarial_weight,
        discriminator_lr: args.discriminator_lr,
        credit: args.credit,
    };
    ctrlc::set_handler(|| training::STOP.store(true, std::sync::atomic::Ordering::Relaxed))
        .map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    training::train(config, &args.out, args.resume, &device.autodiff())
}

/// `neume-train eval`.
pub fn evaluate(args: EvalArgs) -> Result<(), String> {
    let EvalArgs {
        model,
        reference,
        train,
        count,
        bars,
        temperature,
        seed,
        json,
        exclude,
        duple_only,
        meter,
        form,
        knobs,
        chords,
        reconstruction,
        explain,
    } = args;
    let selection = Selection { exclude, duple_only, meters: meter.clone() };
    let meters = meter.iter().map(|m| Meter::parse(m)).collect::<Result<Vec<_>, _>>()?;
    let args = eval::EvalArgs {
        model: &model,
        reference: &reference,
        train: &train,
        count,
        bars,
        temperature,
        seed,
        selection,
        meters,
        form,
        knobs,
        chords: chords.as_deref(),
        reconstruction,
        explain,
    };
    let reports = eval::evaluate(&args)?;
    eval::print_table(&reports);
    let model_file = {
        let path = std::path::Path::new(&model);
        if path.is_dir() {
            path.join("model.onnx")
        } else {
            path.to_path_buf()
        }
    };
    let form_report = if form { Some(eval::form_report(&model_file, &args)?) } else { None };
    if let Some(report) = &form_report {
        eval::print_form(report);
    }
    let knob_rows = if knobs { Some(eval::knob_report(&model_file, &args)?) } else { None };
    if let Some(rows) = &knob_rows {
        neume_train::eval::knobs::print_table(rows);
    }
    let rebuilt =
        if reconstruction { Some(eval::reconstruction_report(&model_file, &args)?) } else { None };
    if let Some(r) = &rebuilt {
        println!(
            "reconstruction of {} windows at temperature 0: note similarity {:.3}, notes given back {:.3}, windows given back whole {:.3}",
            r.windows, r.note_similarity, r.note_recall, r.exact
        );
    }
    if let Some(path) = json {
        let all = serde_json::json!({
            "reports": reports,
            "form": form_report,
            "knobs": knob_rows,
            "reconstruction": rebuilt,
        });
        let text = serde_json::to_string_pretty(&all).map_err(|e| e.to_string())?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// `neume-train bench`.
pub fn bench(args: BenchArgs) -> Result<(), String> {
    let BenchArgs { device, batch, steps, warmup, profile } = args;
    let device = device::select(&device)?;
    let config = BenchConfig {
        shape: ModelShape::DEFAULT,
        batch: batch.max(1),
        steps: steps.max(1),
        warmup,
        profile,
    };
    let report = step::run(&config, &device)?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

/// `neume-train clips`.
pub fn clips(args: ClipsArgs) -> Result<(), String> {
    clip_bench(args, neume_train::bench::clips::run)
}

/// `neume-train infill`.
pub fn infill(args: ClipsArgs) -> Result<(), String> {
    clip_bench(args, neume_train::bench::infill::run)
}

/// A bench of a model on reference tunes (`clips`, `infill`): its report as one JSON line.
fn clip_bench<R: serde::Serialize>(
    args: ClipsArgs,
    run: fn(
        &mut neume::model::runtime::Generator,
        &[neume_train::data::Tune],
        usize,
        u64,
    ) -> Result<R, String>,
) -> Result<(), String> {
    let ClipsArgs { model, tunes, count, seed } = args;
    let corpus = tunes.load()?;
    let mut generator =
        neume::model::runtime::Generator::from_file(&model).map_err(|e| e.to_string())?;
    let report = run(&mut generator, &corpus.tunes, count, seed)?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

/// `neume-train chords`.
pub fn chords(args: ChordsArgs) -> Result<(), String> {
    let ChordsArgs { model, chorales, split, tunes, seeds, count } = args;
    let corpus = tunes.load()?;
    let mut generator = match model {
        Some(path) => neume::model::runtime::Generator::from_file(&path),
        None => neume::default_generator(),
    }
    .map_err(|e| e.to_string())?;
    let report = neume_train::bench::chords::run(
        &mut generator,
        &chorales,
        &split,
        &corpus.tunes,
        seeds,
        count,
    )?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

/// `neume-train key`.
pub fn key(args: KeyArgs) -> Result<(), String> {
    let KeyArgs { tunes, bars, seed, learn, fit_check, model } = args;
    let exclude = tunes.exclude.clone();
    let corpus = tunes.load()?;
    if let Some(check) = fit_check {
        let weights = neume_train::bench::key::fit_weights(&corpus.tunes, bars, 400);
        let checked = ReferenceTunes { reference: check, exclude }.load()?;
        let report =
            neume_train::bench::key::run_with(&checked.tunes, bars, seed, |m, _| weights.key(m));
        println!("{}", serde_json::to_string(&weights).map_err(|e| e.to_string())?);
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
        return Ok(());
    }
    if learn {
        let [major, minor] = neume_train::bench::key::learn_profiles(&corpus.tunes, bars);
        let row = |p: [f64; 12]| p.map(|v| format!("{v:.4}")).join(", ");
        println!("major: [{}]\nminor: [{}]", row(major), row(minor));
        return Ok(());
    }
    if let Some(model) = model {
        let mut generator =
            neume::model::runtime::Generator::from_file(&model).map_err(|e| e.to_string())?;
        let mut failure = None;
        let report = neume_train::bench::key::run_with(&corpus.tunes, bars, seed, |m, meter| {
            neume_train::bench::model_key::model_key(&mut generator, m, meter).unwrap_or_else(|e| {
                failure.get_or_insert(e.to_string());
                None
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
        return Ok(());
    }
    let report = neume_train::bench::key::run(&corpus.tunes, bars, seed);
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

/// `neume-train listener-bench`.
pub fn listener_bench(args: ListenerBenchArgs) -> Result<(), String> {
    let ListenerBenchArgs {
        model,
        tunes,
        listeners,
        explore,
        latent_only,
        seed,
        tune_run,
        tune_epoch,
        tune_steps,
        tune_lr,
    } = args;
    let corpus = tunes.load()?;
    let mut generator =
        neume::model::runtime::Generator::from_file(&model).map_err(|e| e.to_string())?;
    let explore = explore.unwrap_or(neume::taste::preference::DEFAULT_EXPLORE);
    let tuner = match &tune_run {
        Some(run) => {
            let device = neume_train::device::cpu().autodiff();
            let (vae, config) = neume_train::training::load_vae(run, tune_epoch, &device)?;
            let metadata = generator.info().metadata.clone();
            Some(neume_train::training::tune::Tuner::new(vae, config, metadata, device))
        }
        None => None,
    };
    let settings = neume_train::training::tune::TuneSettings { steps: tune_steps, lr: tune_lr };
    let rows = neume_train::bench::listener::run(
        &mut generator,
        &corpus.tunes,
        listeners,
        explore,
        !latent_only,
        seed,
        tuner.as_ref().map(|t| (t, settings)),
    )?;
    for row in rows {
        println!("{}", serde_json::to_string(&row).map_err(|e| e.to_string())?);
    }
    Ok(())
}

/// `neume-train tune`.
pub fn tune(args: TuneArgs) -> Result<(), String> {
    let TuneArgs { ratings, model, run, epoch, steps, lr, seed, out } = args;
    let (generator, id, rated) = model_ratings(&model, &ratings)?;
    let info = generator.info();
    let device = neume_train::device::cpu().autodiff();
    let (vae, config) = neume_train::training::load_vae(&run, epoch, &device)?;
    let tuner = neume_train::training::tune::Tuner::new(vae, config, info.metadata.clone(), device);
    let (windows, left_out) =
        neume_train::training::tune::liked_windows(&rated.entries, tuner.bars(), &info.meters);
    let liked = rated.entries.iter().filter(|r| r.rating > 0).count();
    eprintln!(
        "{}: {liked} liked melodies of {id}, {} windows of {} bars to learn from{}",
        ratings.display(),
        windows.len(),
        tuner.bars(),
        if left_out > 0 {
            format!(
                "; {left_out} liked lines left out (no notes: written before ratings \
                 kept them; shorter than {} bars; or a meter the model does not know)",
                tuner.bars()
            )
        } else {
            String::new()
        }
    );
    if windows.is_empty() {
        return Err(format!(
            "{}: no liked melody of this model to fine-tune on",
            ratings.display()
        ));
    }
    let settings = neume_train::training::tune::TuneSettings { steps, lr };
    let tuned = tuner.tune(&windows, settings, &mut neume::rng::Rng::new(seed))?;
    let name = ratings.file_name().map_or(String::new(), |n| n.to_string_lossy().into());
    tuner.write(&tuned, &out, &format!("{} liked melodies ({name})", windows.len()))?;
    eprintln!(
        "wrote {} (load it in the plugin with Load model…; its ratings start afresh)",
        out.display()
    );
    Ok(())
}

/// `neume-train ratings`.
pub fn ratings(args: RatingsArgs) -> Result<(), String> {
    let RatingsArgs { file, model } = args;
    let (generator, id, ratings) = model_ratings(&model, &file)?;
    let info = generator.info();
    let (likes, dislikes) = ratings.counts(info.latent_size);
    let (taste, sung) =
        neume::taste::preference::Preference::of_ratings(&ratings.entries, info.latent_size);
    let knobs: Vec<_> = info.knob_attributes.iter().map(|&(a, d, _)| (a, d)).collect();
    let report = serde_json::json!({
        "file": file.display().to_string(),
        "model": id,
        "likes": likes,
        "dislikes": dislikes,
        "unreadable_lines": ratings.unreadable_lines,
        "judged_by_notes": sung,
        "leanings": taste.leanings(&knobs).iter().map(|(a, z)| (a.name(), *z)).collect::<std::collections::BTreeMap<_, _>>(),
        "you_like": taste.words(&knobs),
    });
    println!("{report}");
    Ok(())
}

/// `neume-train parity`.
pub fn parity() -> Result<(), String> {
    let device =
        device::open_gpu().map_err(|why| format!("no GPU to compare with the CPU: {why}"))?;
    eprintln!("device: {}", device::describe(&device));
    let parity = device::parity(&device, &ModelShape::DEFAULT, 64, 7);
    println!("{}", serde_json::to_string(&parity).map_err(|e| e.to_string())?);
    if parity.agrees() {
        eprintln!("parity: {} agrees with the CPU", parity.device);
        Ok(())
    } else {
        Err(format!("parity: {} disagrees with the CPU (figures above)", parity.device))
    }
}

/// `neume-train export`.
pub fn export(args: ExportArgs) -> Result<(), String> {
    let ExportArgs { run, out, data, temperature, figures, epoch, copy_span } = args;
    if let Some(t) = temperature.filter(|t| !(0.05..=2.0).contains(t)) {
        return Err(format!("--temperature {t} is outside 0.05..=2"));
    }
    let mut extra = std::collections::BTreeMap::new();
    if let Some(t) = temperature {
        extra.insert(neume::model::model_file::meta::TEMPERATURE.to_string(), format!("{t}"));
    }
    if let Some(f) = figures {
        extra.insert(neume::model::model_file::meta::FIGURES.to_string(), f);
    }
    let tunes = training::export_run(&run, epoch, &out, data.as_deref(), &extra, &device::cpu())?;
    eprintln!("wrote {}", out.display());
    if copy_span > 0.0 {
        let quarters = (copy_span * 4.0).round();
        if !(1.0..=64.0).contains(&quarters) {
            return Err(format!(
                "--copy-span {copy_span}: give 0.25 to 16 bars, or 0 for no index"
            ));
        }
        write_copy_index(&tunes, &out, quarters as u32)?;
    }
    Ok(())
}

/// The copy index of the training `tunes` the model at `model` was exported with, beside it
/// (`name.copies`), carrying the model's id: a user's own model guards the user's material.
fn write_copy_index(
    tunes: &[neume_train::data::Tune],
    model: &std::path::Path,
    span_quarters: u32,
) -> Result<(), String> {
    let named = neume_train::bench::copies::named_tunes(tunes);
    let bytes = std::fs::read(model).map_err(|e| format!("{}: {e}", model.display()))?;
    let summary = neume::model::onnx::summarize(&bytes)
        .map_err(|e| format!("{}: {}", model.display(), e.0))?;
    let id = summary.metadata.get(neume::model::model_file::meta::MODEL_ID).cloned();
    let index =
        neume::music::copies::CopyIndex::build(&named, span_quarters, &id.unwrap_or_default());
    let path = neume::music::copies::index_path(model);
    std::fs::write(&path, index.to_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("wrote {} (the copy index of {} training tunes)", path.display(), named.len());
    Ok(())
}

/// `neume-train copies`.
pub fn copies(args: CopiesArgs) -> Result<(), String> {
    let CopiesArgs { data, held_out, exclude, model, max_flagged, count, out } = args;
    let selection = Selection { exclude, ..Selection::default() };
    let load = |dir: &std::path::Path| {
        neume_train::data::load_selection(dir, &selection, false)
            .map_err(|e| format!("{}: {e}", dir.display()))
    };
    let (train, held) = (load(&data)?, load(&held_out)?);
    let mut generator = match &model {
        Some(path) => {
            Some(neume::model::runtime::Generator::from_file(path).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let report = neume_train::bench::copies::run(
        &train.tunes,
        &held.tunes,
        max_flagged,
        generator.as_mut(),
        count,
        &out,
    )?;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::portable_arg;
    use std::path::Path;

    #[test]
    fn the_command_in_a_model_holds_no_absolute_path() {
        let cwd = Path::new("/home/me/neume");
        assert_eq!(portable_arg("/home/me/neume/runs/v3", Some(cwd)), "runs/v3");
        assert_eq!(portable_arg("/srv/data/melodies/train", Some(cwd)), "…/melodies/train");
        assert_eq!(portable_arg("../shared/train", Some(cwd)), "../shared/train");
        assert_eq!(portable_arg("--epochs", Some(cwd)), "--epochs");
    }
}
