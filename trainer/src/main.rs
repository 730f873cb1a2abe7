//! `neume-train`: learn a melody generator from a folder of MIDI files, evaluate it with
//! music statistics, export the ONNX file Neume plays.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use neume::encoding::Meter;
use neume_train::bench::{self, BenchConfig};
use neume_train::data::Selection;
use neume_train::device;
use neume_train::eval;
use neume_train::model::AttributeTie;
use neume_train::model::ModelShape;
use neume_train::training::{self, Kind, TrainConfig};

#[derive(Parser)]
#[command(
    name = "neume-train",
    version,
    about = "Train, evaluate and export Neume melody generators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a generator on a folder of MIDI files.
    Train(TrainArgs),
    /// Compare generated melodies with a reference folder (Yang & Lerch 2018 statistics).
    Eval {
        /// An .onnx file, a run folder, a folder of .mid files, or `markov`.
        #[arg(long)]
        model: String,
        /// Reference folder of .mid files (e.g. the test split).
        #[arg(long)]
        reference: PathBuf,
        /// Training folder (for the copy rate and the Markov baseline).
        #[arg(long)]
        train: PathBuf,
        /// Melodies to generate and compare.
        #[arg(long, default_value_t = 500)]
        count: usize,
        /// Bars per melody.
        #[arg(long, default_value_t = 4)]
        bars: usize,
        /// Sampling temperature (default: the one stored in the model).
        #[arg(long)]
        temperature: Option<f32>,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also write the figures as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Collections (subfolders) to leave out of every folder, e.g. `essen`.
        #[arg(long, value_delimiter = ',')]
        exclude: Vec<String>,
        /// Only tunes in duple meter (2/4, 4/4, 2/2).
        #[arg(long)]
        duple_only: bool,
        /// Only these meters (`6/8`; repeat or separate with commas); generated melodies are
        /// made in them. Default: every meter of the reference, in its proportions.
        #[arg(long, value_delimiter = ',')]
        meter: Vec<String>,
        /// Also measure the form of 16-bar melodies (similarity by lag, near repeats) against
        /// the reference tunes' first 16 bars.
        #[arg(long)]
        form: bool,
        /// Also sweep the model's named knobs: Spearman ρ with their attributes, linearity,
        /// and what they move besides.
        #[arg(long)]
        knobs: bool,
        /// Also encode and decode the reference windows at temperature 0: how much of each
        /// comes back note for note (what a variation at Amount 0 rests on).
        #[arg(long)]
        reconstruction: bool,
    },
    /// Write the ONNX model of a training run.
    Export {
        /// Run folder written by `train`.
        #[arg(long)]
        run: PathBuf,
        /// Output .onnx file.
        #[arg(long)]
        out: PathBuf,
        /// VAE: MIDI folder to measure the latent directions on (default: the run's training data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// The sampling temperature the model plays at (default: the one training chose on
        /// the validation set by the classifier alone). Choose it on `valid` with `eval`.
        #[arg(long)]
        temperature: Option<f32>,
        /// Figures measured on held-out data, `name=value;…`, kept in the model's metadata.
        #[arg(long)]
        figures: Option<String>,
        /// Export this epoch (kept by `train --save-epochs`, or the last checkpoint) instead of
        /// the one the classifier chose on `valid`: when another figure (the knobs) decides.
        #[arg(long)]
        epoch: Option<usize>,
    },
    /// Time the VAE training step on a device (the twin of scripts/gpu/torch_baseline.py);
    /// prints one JSON line.
    Bench {
        /// `cpu` or `gpu`.
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Windows per batch.
        #[arg(long, default_value_t = 128)]
        batch: usize,
        /// Timed steps.
        #[arg(long, default_value_t = 500)]
        steps: usize,
        /// Untimed steps first.
        #[arg(long, default_value_t = 20)]
        warmup: usize,
        /// Also time forward, backward and the optimiser apart.
        #[arg(long)]
        profile: bool,
    },
    /// Check that the GPU computes what the CPU computes: the same VAE weights and inputs
    /// through the decoder, the loss, and one optimiser step. Prints one JSON line; fails when
    /// they disagree or when there is no GPU.
    Parity,
    /// How `neume continue` and `neume vary` do on the reference tunes: continuations of
    /// their first 2 bars against their real bars 3–4 (and the prior's melodies), variations'
    /// similarity to the clip by Amount; prints one JSON line.
    Clips {
        /// An .onnx file with its encoder beside it.
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        tunes: ReferenceTunes,
        /// Tunes continued and windows varied (each up to this many).
        #[arg(long, default_value_t = 200)]
        count: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// How often the key finder (the plugin's Key "from input", a clip's key) names the key of
    /// the reference tunes' 4-bar windows, each moved to a random key (tunes without a key
    /// signature are left out); prints one JSON line.
    Key {
        #[command(flatten)]
        tunes: ReferenceTunes,
        /// Bars per window.
        #[arg(long, default_value_t = 4)]
        bars: usize,
        /// Seed of the transpositions.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Instead, print the major and minor key profiles of the folder's windows (how the
        /// finder's profiles were made, from `train`).
        #[arg(long)]
        learn: bool,
        /// Judge the key the model at this path hears (its decoder's likelihood of each move
        /// into its frame; `neume_train::model_key`) instead of the shipped finder.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Instead, fit a linear key scorer to the folder's windows (logistic regression on
        /// their key signatures) and judge it on this folder's windows too.
        #[arg(long)]
        fit_check: Option<PathBuf>,
    },
    /// Simulated listeners with hidden tastes rate what Generate offers: the share of draws in
    /// each listener's top quartile after 0, 5, 10, 20 and 50 ratings, for Neume's preference
    /// model and for the steering before it, how alike 8 draws are, and how long an update
    /// takes; prints one JSON line per number of ratings.
    ListenerBench {
        /// The .onnx model.
        #[arg(long)]
        model: PathBuf,
        // The style listeners' tunes.
        #[command(flatten)]
        tunes: ReferenceTunes,
        /// Listeners (a third of each kind).
        #[arg(long, default_value_t = 60)]
        listeners: usize,
        /// Explore ↔ Exploit of the draws, 0 (Exploit) to 1 (Explore); the plugin's default
        /// when not given.
        #[arg(long)]
        explore: Option<f32>,
        /// Judge candidates by their latent points alone, unsung (as the plugin does for
        /// ratings written before the ratings file kept attributes); by default every
        /// candidate is sung and judged by its attributes too, as the plugin does.
        #[arg(long)]
        latent_only: bool,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also fine-tune this run's VAE (the one --model was exported from) on each
        /// listener's liked melodies at 10, 20 and 50 ratings, and score the tuned model's
        /// draws (slow: about a second a tuning).
        #[arg(long)]
        tune_run: Option<PathBuf>,
        /// The epoch of --tune-run that --model was exported from (its best when omitted).
        #[arg(long, requires = "tune_run")]
        tune_epoch: Option<usize>,
        /// Optimiser steps of each fine-tuning (60 and the learning rate 2e-3 were chosen
        /// over 30 and 5e-4 on `valid`).
        #[arg(long, default_value_t = 60, requires = "tune_run")]
        tune_steps: usize,
        /// Learning rate of each fine-tuning.
        #[arg(long, default_value_t = 2e-3, requires = "tune_run")]
        tune_lr: f64,
    },
    /// Fine-tunes a model on the melodies you liked in the plugin (its ratings file), so that
    /// its own draws lean your way; writes a new model file (and its encoder) to load in the
    /// plugin. Needs the training run the model was exported from.
    Tune {
        /// The ratings file (the plugin's `ratings.jsonl`; lines written before ratings kept
        /// notes are left out).
        #[arg(long)]
        ratings: PathBuf,
        /// The .onnx model the ratings were made with (its id selects the lines).
        #[arg(long)]
        model: PathBuf,
        /// The run folder --model was exported from.
        #[arg(long)]
        run: PathBuf,
        /// The epoch of --run that --model was exported from (its best when omitted).
        #[arg(long)]
        epoch: Option<usize>,
        /// Optimiser steps.
        #[arg(long, default_value_t = neume_train::tune::TuneSettings::default().steps)]
        steps: usize,
        /// Learning rate.
        #[arg(long, default_value_t = neume_train::tune::TuneSettings::default().lr)]
        lr: f64,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The tuned model file to write (.onnx; its encoder goes beside it).
        #[arg(long)]
        out: PathBuf,
    },
    /// What a ratings file (the plugin's `ratings.jsonl`) says about one model's listener: its
    /// likes, dislikes and the leanings it learned; prints one JSON line.
    Ratings {
        /// The ratings file.
        #[arg(long)]
        file: PathBuf,
        /// The .onnx model the ratings were made with (its id selects the lines).
        #[arg(long)]
        model: PathBuf,
    },
}

#[derive(clap::Args)]
struct TrainArgs {
    /// Generator family.
    #[arg(long, value_enum)]
    model: Kind,
    /// Folder of training .mid files (searched recursively).
    #[arg(long)]
    data: PathBuf,
    /// Folder of validation .mid files (model selection).
    #[arg(long)]
    valid: PathBuf,
    /// Bars per training window.
    #[arg(long, default_value_t = ModelShape::DEFAULT.bars as u8, value_parser = clap::value_parser!(u8).range(1..=16))]
    bars: u8,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// Learning rate (Adam).
    #[arg(long)]
    lr: Option<f64>,
    /// Latent size.
    #[arg(long, default_value_t = ModelShape::DEFAULT.latent)]
    latent: usize,
    /// GRU state size of each decoder layer.
    #[arg(long, default_value_t = ModelShape::DEFAULT.hidden)]
    hidden: usize,
    /// Stacked GRU layers of the decoder.
    #[arg(long, default_value_t = ModelShape::DEFAULT.layers, value_parser = clap::builder::ValueParser::new(clap::builder::TypedValueParser::map(clap::value_parser!(u8).range(1..=8), usize::from)))]
    layers: usize,
    /// Nats of KL per latent dimension that cost nothing (free bits).
    #[arg(long, default_value_t = 0.25)]
    free_bits: f64,
    /// Share of previous tokens hidden from the decoder while training (token dropout).
    #[arg(long, default_value_t = 0.2)]
    token_dropout: f64,
    /// Of --latent, this many last dimensions are a detail code: the encoder's mean as it is
    /// (no noise, no KL), hidden from the decoder in half of the windows and zero in a draw
    /// from the prior, so that an encoded clip can come back note for note.
    #[arg(long, default_value_t = 0)]
    detail: usize,
    /// Collections (subfolders of --data and --valid) to leave out, e.g. `essen`
    /// (non-commercial licence); repeat or separate with commas.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
    /// Only tunes in duple meter (2/4, 4/4, 2/2), as model v2 was trained.
    #[arg(long)]
    duple_only: bool,
    /// Only tunes in these meters (`6/8`; repeat or separate with commas). Default: every
    /// meter Neume knows (2/4, 3/4, 4/4, 2/2, 6/8, 9/8; 12/8 tunes as 6/8, 6/4 and 3/2 as 3/4).
    #[arg(long, value_delimiter = ',')]
    meters: Vec<String>,
    /// Weight γ of the attribute regularisation that gives the first five latent dimensions
    /// their names (Density, Rhythm, Range, Contour, Leaps); 0 leaves the knobs unnamed.
    #[arg(long, default_value_t = 0.0)]
    attribute_weight: f64,
    /// How those dimensions are tied: `order` (their order within a batch follows the
    /// attribute's; Pati & Lerch 2020) or `value` (each regresses on its attribute's normal
    /// score in the window's meter, so a knob value means one quantile of the corpus).
    #[arg(long, value_enum, default_value_t = AttributeTie::Order)]
    attribute_tie: AttributeTie,
    /// Cap on optimiser steps per epoch (0: whole epoch).
    #[arg(long, default_value_t = 0)]
    max_steps: usize,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 500)]
    checkpoint_every: usize,
    /// Melodies generated for validation each epoch.
    #[arg(long, default_value_t = 300)]
    valid_samples: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write every epoch's model to `<out>/epochs/epoch-NNN.onnx`.
    #[arg(long)]
    save_epochs: bool,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Compute device: `cpu`, or `gpu` (Vulkan; needs a build with `--features gpu`, else
    /// falls back to the CPU with a message).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Run folder: config, checkpoints, metrics.jsonl, model.onnx.
    #[arg(long)]
    out: PathBuf,
}

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

fn run() -> Result<(), String> {
    match Cli::parse().command {
        Command::Train(args) => {
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
                kl_warmup_steps: 1000,
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
            };
            ctrlc::set_handler(|| training::STOP.store(true, std::sync::atomic::Ordering::Relaxed))
                .map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
            training::train(config, &args.out, args.resume, &device.autodiff())
        }
        Command::Eval {
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
            reconstruction,
        } => {
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
                reconstruction,
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
            let form_report =
                if form { Some(eval::form_report(&model_file, &args)?) } else { None };
            if let Some(report) = &form_report {
                eval::print_form(report);
            }
            let knob_rows = if knobs { Some(eval::knob_report(&model_file, &args)?) } else { None };
            if let Some(rows) = &knob_rows {
                neume_train::knobs::print_table(rows);
            }
            let rebuilt = if reconstruction {
                Some(eval::reconstruction_report(&model_file, &args)?)
            } else {
                None
            };
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
        Command::Bench { device, batch, steps, warmup, profile } => {
            let device = device::select(&device)?;
            let config = BenchConfig {
                shape: ModelShape::DEFAULT,
                batch: batch.max(1),
                steps: steps.max(1),
                warmup,
                profile,
            };
            let report = bench::run(&config, &device)?;
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Clips { model, tunes, count, seed } => {
            let corpus = tunes.load()?;
            let mut generator =
                neume::runtime::Generator::from_file(&model).map_err(|e| e.to_string())?;
            let report = neume_train::clip_bench::run(&mut generator, &corpus.tunes, count, seed)?;
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Key { tunes, bars, seed, learn, fit_check, model } => {
            let exclude = tunes.exclude.clone();
            let corpus = tunes.load()?;
            if let Some(check) = fit_check {
                let weights = neume_train::key_bench::fit_weights(&corpus.tunes, bars, 400);
                let checked = ReferenceTunes { reference: check, exclude }.load()?;
                let report =
                    neume_train::key_bench::run_with(&checked.tunes, bars, seed, |m, _| {
                        weights.key(m)
                    });
                println!("{}", serde_json::to_string(&weights).map_err(|e| e.to_string())?);
                println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
                return Ok(());
            }
            if learn {
                let [major, minor] = neume_train::key_bench::learn_profiles(&corpus.tunes, bars);
                let row = |p: [f64; 12]| p.map(|v| format!("{v:.4}")).join(", ");
                println!("major: [{}]\nminor: [{}]", row(major), row(minor));
                return Ok(());
            }
            if let Some(model) = model {
                let mut generator =
                    neume::runtime::Generator::from_file(&model).map_err(|e| e.to_string())?;
                let mut failure = None;
                let report =
                    neume_train::key_bench::run_with(&corpus.tunes, bars, seed, |m, meter| {
                        neume_train::model_key::model_key(&mut generator, m, meter).unwrap_or_else(
                            |e| {
                                failure.get_or_insert(e.to_string());
                                None
                            },
                        )
                    });
                if let Some(e) = failure {
                    return Err(e);
                }
                println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
                return Ok(());
            }
            let report = neume_train::key_bench::run(&corpus.tunes, bars, seed);
            println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::ListenerBench {
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
        } => {
            let corpus = tunes.load()?;
            let mut generator =
                neume::runtime::Generator::from_file(&model).map_err(|e| e.to_string())?;
            let explore = explore.unwrap_or(neume::preference::DEFAULT_EXPLORE);
            let tuner = match &tune_run {
                Some(run) => {
                    let device = neume_train::device::cpu().autodiff();
                    let (vae, config) = neume_train::training::load_vae(run, tune_epoch, &device)?;
                    let metadata = generator.info().metadata.clone();
                    Some(neume_train::tune::Tuner::new(vae, config, metadata, device))
                }
                None => None,
            };
            let settings = neume_train::tune::TuneSettings { steps: tune_steps, lr: tune_lr };
            let rows = neume_train::listener_bench::run(
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
        Command::Tune { ratings, model, run, epoch, steps, lr, seed, out } => {
            let (generator, id, rated) = model_ratings(&model, &ratings)?;
            let info = generator.info();
            let device = neume_train::device::cpu().autodiff();
            let (vae, config) = neume_train::training::load_vae(&run, epoch, &device)?;
            let tuner = neume_train::tune::Tuner::new(vae, config, info.metadata.clone(), device);
            let (windows, left_out) =
                neume_train::tune::liked_windows(&rated.entries, tuner.bars(), &info.meters);
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
            let settings = neume_train::tune::TuneSettings { steps, lr };
            let tuned = tuner.tune(&windows, settings, &mut neume::rng::Rng::new(seed))?;
            let name = ratings.file_name().map_or(String::new(), |n| n.to_string_lossy().into());
            tuner.write(&tuned, &out, &format!("{} liked melodies ({name})", windows.len()))?;
            eprintln!(
                "wrote {} (load it in the plugin with Load model…; its ratings start afresh)",
                out.display()
            );
            Ok(())
        }
        Command::Ratings { file, model } => {
            let (generator, id, ratings) = model_ratings(&model, &file)?;
            let info = generator.info();
            let (likes, dislikes) = ratings.counts(info.latent_size);
            let (taste, sung) =
                neume::preference::Preference::of_ratings(&ratings.entries, info.latent_size);
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
        Command::Parity => {
            let device = device::open_gpu()
                .map_err(|why| format!("no GPU to compare with the CPU: {why}"))?;
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
        Command::Export { run, out, data, temperature, figures, epoch } => {
            if let Some(t) = temperature.filter(|t| !(0.05..=2.0).contains(t)) {
                return Err(format!("--temperature {t} is outside 0.05..=2"));
            }
            let mut extra = std::collections::BTreeMap::new();
            if let Some(t) = temperature {
                extra.insert(neume::model_file::meta::TEMPERATURE.to_string(), format!("{t}"));
            }
            if let Some(f) = figures {
                extra.insert(neume::model_file::meta::FIGURES.to_string(), f);
            }
            training::export_run(&run, epoch, &out, data.as_deref(), &extra, &device::cpu())?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
    }
}

/// The model at `model`, the key the plugin files its ratings under, and its ratings in
/// `file`.
fn model_ratings(
    model: &std::path::Path,
    file: &std::path::Path,
) -> Result<(neume::runtime::Generator, String, neume::ratings::Ratings), String> {
    let generator = neume::runtime::Generator::from_file(model).map_err(|e| e.to_string())?;
    let id = generator.info().ratings_key(&model.display().to_string());
    let ratings = neume::ratings::Ratings::load(file, &id).map_err(|e| e.to_string())?;
    Ok((generator, id, ratings))
}

/// Keeps freed tensor memory in the process. glibc's defaults hand every buffer of a few
/// megabytes back to the kernel when it is freed (mmap, then trim), so each training step paid
/// for fresh zeroed pages: page faults and page clearing took about 12% of a CPU step in
/// `perf`, and a step ran at 11–12 steps/s instead of 20–21 (`neume-train bench --device cpu`,
/// batch 128, 2 cores). 32 MiB is the largest threshold glibc accepts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tunables; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

/// A reference folder of tunes, for the commands that measure against real tunes.
#[derive(clap::Args)]
struct ReferenceTunes {
    /// Folder of .mid files.
    #[arg(long)]
    reference: PathBuf,
    /// Collections (subfolders) to leave out, e.g. `essen`.
    #[arg(long, value_delimiter = ',')]
    exclude: Vec<String>,
}

impl ReferenceTunes {
    /// The folder's tunes, without the excluded collections.
    fn load(self) -> Result<neume_train::data::Corpus, String> {
        let selection = Selection { exclude: self.exclude, ..Selection::default() };
        neume_train::data::load_selection(&self.reference, &selection, false)
            .map_err(|e| format!("{}: {e}", self.reference.display()))
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    if std::env::var_os(device::PROBE_ENV).is_some() {
        return device::probe_main();
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
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
