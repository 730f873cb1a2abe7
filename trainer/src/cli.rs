//! The arguments of `neume-train`: one `Args` struct per command, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use neume_train::data::Selection;
use neume_train::model::{AttributeTie, ModelShape};
use neume_train::training::Kind;

#[derive(Parser)]
#[command(
    name = "neume-train",
    version,
    about = "Train, evaluate and export Neume melody generators"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Train a generator on a folder of MIDI files.
    Train(TrainArgs),
    /// Compare generated melodies with a reference folder (Yang & Lerch 2018 statistics).
    Eval(EvalArgs),
    /// Write the ONNX model of a training run.
    Export(ExportArgs),
    /// Time the VAE training step on a device (the twin of scripts/gpu/torch_baseline.py);
    /// prints one JSON line.
    Bench(BenchArgs),
    /// Check that the GPU computes what the CPU computes: the same VAE weights and inputs
    /// through the decoder, the loss, and one optimiser step. Prints one JSON line; fails when
    /// they disagree or when there is no GPU.
    Parity,
    /// How `neume continue` and `neume vary` do on the reference tunes: continuations of
    /// their first 2 bars against their real bars 3–4 (and the prior's melodies), variations'
    /// similarity to the clip by Amount; prints one JSON line.
    Clips(ClipsArgs),
    /// How melodies sit on chords: over the chords of the chorales' bars 1–4 (typed, named
    /// from the harmony track, and none), the naming of the harmony track's chords, and four
    /// common progressions with the classifier test; prints one JSON line.
    Chords(ChordsArgs),
    /// The copy index of a training folder, written beside a model (`name.copies`): its run
    /// length chosen so that at most 2 % of the held-out tunes' 4-bar windows are flagged;
    /// with --model, the copy rate of 500 of its melodies too. Prints one JSON line.
    Copies(CopiesArgs),
    /// How `neume infill` does on the reference tunes' 8-bar windows (each 2-bar span hidden
    /// in turn), against bars from the prior and the tune standing in for itself; prints
    /// one JSON line.
    Infill(ClipsArgs),
    /// How often the key finder (the plugin's Key "from input", a clip's key) names the key of
    /// the reference tunes' 4-bar windows, each moved to a random key (tunes without a key
    /// signature are left out); prints one JSON line.
    Key(KeyArgs),
    /// Simulated listeners with hidden tastes rate what Generate offers: the share of draws in
    /// each listener's top quartile after 0, 5, 10, 20 and 50 ratings, for Neume's preference
    /// model and for the steering before it, how alike 8 draws are, and how long an update
    /// takes; prints one JSON line per number of ratings.
    ListenerBench(ListenerBenchArgs),
    /// Fine-tunes a model on the melodies you liked in the plugin (its ratings file), so that
    /// its own draws lean your way; writes a new model file (and its encoder) to load in the
    /// plugin. Needs the training run the model was exported from.
    Tune(TuneArgs),
    /// What a ratings file (the plugin's `ratings.jsonl`) says about one model's listener: its
    /// likes, dislikes and the leanings it learned; prints one JSON line.
    Ratings(RatingsArgs),
}

/// Compare generated melodies with a reference folder (Yang & Lerch 2018 statistics).
#[derive(Args)]
pub struct EvalArgs {
    /// An .onnx file, a run folder, a folder of .mid files, or `markov`.
    #[arg(long)]
    pub model: String,
    /// Reference folder of .mid files (e.g. the test split).
    #[arg(long)]
    pub reference: PathBuf,
    /// Training folder (for the copy rate and the Markov baseline).
    #[arg(long)]
    pub train: PathBuf,
    /// Melodies to generate and compare.
    #[arg(long, default_value_t = 500)]
    pub count: usize,
    /// Bars per melody.
    #[arg(long, default_value_t = 4)]
    pub bars: usize,
    /// Sampling temperature (default: the one stored in the model).
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Collections (subfolders) to leave out of every folder, e.g. `essen`.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Only tunes in duple meter (2/4, 4/4, 2/2).
    #[arg(long)]
    pub duple_only: bool,
    /// Only these meters (`6/8`; repeat or separate with commas); generated melodies are
    /// made in them. Default: every meter of the reference, in its proportions.
    #[arg(long, value_delimiter = ',')]
    pub meter: Vec<String>,
    /// Also measure the form of 16-bar melodies (similarity by lag, near repeats) against
    /// the reference tunes' first 16 bars.
    #[arg(long)]
    pub form: bool,
    /// Also sweep the model's named knobs: Spearman ρ with their attributes, linearity,
    /// and what they move besides.
    #[arg(long)]
    pub knobs: bool,
    /// With `--knobs`: sweep over these chords (`C G Am F`, as `neume generate --chords`
    /// reads them), so the knob table says what the knobs do with chords on.
    #[arg(long, requires = "knobs")]
    pub chords: Option<String>,
    /// Also encode and decode the reference windows at temperature 0: how much of each
    /// comes back note for note (what a variation at Amount 0 rests on).
    #[arg(long)]
    pub reconstruction: bool,
    /// Also print the classifier's features whose means differ most between the model's
    /// melodies and the reference (what tells them apart).
    #[arg(long)]
    pub explain: bool,
}

/// Write the ONNX model of a training run.
#[derive(Args)]
pub struct ExportArgs {
    /// Run folder written by `train`.
    #[arg(long)]
    pub run: PathBuf,
    /// Output .onnx file.
    #[arg(long)]
    pub out: PathBuf,
    /// VAE: MIDI folder to measure the latent directions on (default: the run's training data).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The sampling temperature the model plays at (default: the one training chose on
    /// the validation set by the classifier alone). Choose it on `valid` with `eval`.
    #[arg(long)]
    pub temperature: Option<f32>,
    /// Figures measured on held-out data, `name=value;…`, kept in the model's metadata.
    #[arg(long)]
    pub figures: Option<String>,
    /// Export this epoch (kept by `train --save-epochs`, or the last checkpoint) instead of
    /// the one the classifier chose on `valid`: when another figure (the knobs) decides.
    #[arg(long)]
    pub epoch: Option<usize>,
    /// Bars spanned by a run of notes shared with a training tune that make a melody a copy:
    /// the copy index of the training tunes (`name.copies`, beside the model) is built with
    /// it, in quarters of a bar. 2.75 is the span chosen for the shipped models
    /// (`neume-train copies` chooses one on held-out tunes); 0 writes no index.
    #[arg(long, default_value_t = 2.75)]
    pub copy_span: f32,
}

/// Time the VAE training step on a device (the twin of scripts/gpu/torch_baseline.py);
/// prints one JSON line.
#[derive(Args)]
pub struct BenchArgs {
    /// `cpu` or `gpu`.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Windows per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Timed steps.
    #[arg(long, default_value_t = 500)]
    pub steps: usize,
    /// Untimed steps first.
    #[arg(long, default_value_t = 20)]
    pub warmup: usize,
    /// Also time forward, backward and the optimiser apart.
    #[arg(long)]
    pub profile: bool,
}

/// How `neume continue` and `neume vary` do on the reference tunes: continuations of
/// their first 2 bars against their real bars 3–4 (and the prior's melodies), variations'
/// similarity to the clip by Amount; prints one JSON line.
#[derive(Args)]
pub struct ClipsArgs {
    /// An .onnx file with its encoder beside it.
    #[arg(long)]
    pub model: PathBuf,
    #[command(flatten)]
    pub tunes: ReferenceTunes,
    /// Tunes continued and windows varied (each up to this many).
    #[arg(long, default_value_t = 200)]
    pub count: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// How often the key finder (the plugin's Key "from input", a clip's key) names the key of
/// the reference tunes' 4-bar windows, each moved to a random key (tunes without a key
/// signature are left out); prints one JSON line.
#[derive(Args)]
pub struct KeyArgs {
    #[command(flatten)]
    pub tunes: ReferenceTunes,
    /// Bars per window.
    #[arg(long, default_value_t = 4)]
    pub bars: usize,
    /// Seed of the transpositions.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Instead, print the major and minor key profiles of the folder's windows (how the
    /// finder's profiles were made, from `train`).
    #[arg(long)]
    pub learn: bool,
    /// Judge the key the model at this path hears (its decoder's likelihood of each move
    /// into its frame; `neume_train::bench::model_key`) instead of the shipped finder.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Instead, fit a linear key scorer to the folder's windows (logistic regression on
    /// their key signatures) and judge it on this folder's windows too.
    #[arg(long)]
    pub fit_check: Option<PathBuf>,
}

/// Simulated listeners with hidden tastes rate what Generate offers: the share of draws in
/// each listener's top quartile after 0, 5, 10, 20 and 50 ratings, for Neume's preference
/// model and for the steering before it, how alike 8 draws are, and how long an update
/// takes; prints one JSON line per number of ratings.
#[derive(Args)]
pub struct ListenerBenchArgs {
    /// The .onnx model.
    #[arg(long)]
    pub model: PathBuf,
    // The style listeners' tunes.
    #[command(flatten)]
    pub tunes: ReferenceTunes,
    /// Listeners (a third of each kind).
    #[arg(long, default_value_t = 60)]
    pub listeners: usize,
    /// Explore ↔ Exploit of the draws, 0 (Exploit) to 1 (Explore); the plugin's default
    /// when not given.
    #[arg(long)]
    pub explore: Option<f32>,
    /// Judge candidates by their latent points alone, unsung (as the plugin does for
    /// ratings written before the ratings file kept attributes); by default every
    /// candidate is sung and judged by its attributes too, as the plugin does.
    #[arg(long)]
    pub latent_only: bool,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also fine-tune this run's VAE (the one --model was exported from) on each
    /// listener's liked melodies at 10, 20 and 50 ratings, and score the tuned model's
    /// draws (slow: about a second a tuning).
    #[arg(long)]
    pub tune_run: Option<PathBuf>,
    /// The epoch of --tune-run that --model was exported from (its best when omitted).
    #[arg(long, requires = "tune_run")]
    pub tune_epoch: Option<usize>,
    /// Optimiser steps of each fine-tuning (60 and the learning rate 2e-3 were chosen
    /// over 30 and 5e-4 on `valid`).
    #[arg(long, default_value_t = 60, requires = "tune_run")]
    pub tune_steps: usize,
    /// Learning rate of each fine-tuning.
    #[arg(long, default_value_t = 2e-3, requires = "tune_run")]
    pub tune_lr: f64,
}

/// Fine-tunes a model on the melodies you liked in the plugin (its ratings file), so that
/// its own draws lean your way; writes a new model file (and its encoder) to load in the
/// plugin. Needs the training run the model was exported from.
#[derive(Args)]
pub struct TuneArgs {
    /// The ratings file (the plugin's `ratings.jsonl`; lines written before ratings kept
    /// notes are left out).
    #[arg(long)]
    pub ratings: PathBuf,
    /// The .onnx model the ratings were made with (its id selects the lines).
    #[arg(long)]
    pub model: PathBuf,
    /// The run folder --model was exported from.
    #[arg(long)]
    pub run: PathBuf,
    /// The epoch of --run that --model was exported from (its best when omitted).
    #[arg(long)]
    pub epoch: Option<usize>,
    /// Optimiser steps.
    #[arg(long, default_value_t = neume_train::training::tune::TuneSettings::default().steps)]
    pub steps: usize,
    /// Learning rate.
    #[arg(long, default_value_t = neume_train::training::tune::TuneSettings::default().lr)]
    pub lr: f64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The tuned model file to write (.onnx; its encoder goes beside it).
    #[arg(long)]
    pub out: PathBuf,
}

/// What a ratings file (the plugin's `ratings.jsonl`) says about one model's listener: its
/// likes, dislikes and the leanings it learned; prints one JSON line.
#[derive(Args)]
pub struct RatingsArgs {
    /// The ratings file.
    #[arg(long)]
    pub file: PathBuf,
    /// The .onnx model the ratings were made with (its id selects the lines).
    #[arg(long)]
    pub model: PathBuf,
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Generator family.
    #[arg(long, value_enum)]
    pub model: Kind,
    /// Folder of training .mid files (searched recursively).
    #[arg(long)]
    pub data: PathBuf,
    /// Folder of validation .mid files (model selection).
    #[arg(long)]
    pub valid: PathBuf,
    /// Bars per training window.
    #[arg(long, default_value_t = ModelShape::DEFAULT.bars as u8, value_parser = clap::value_parser!(u8).range(1..=16))]
    pub bars: u8,
    /// Epochs.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Windows per batch.
    #[arg(long, default_value_t = 128)]
    pub batch: usize,
    /// Learning rate (Adam).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Latent size.
    #[arg(long, default_value_t = ModelShape::DEFAULT.latent)]
    pub latent: usize,
    /// GRU state size of each decoder layer.
    #[arg(long, default_value_t = ModelShape::DEFAULT.hidden)]
    pub hidden: usize,
    /// Stacked GRU layers of the decoder.
    #[arg(long, default_value_t = ModelShape::DEFAULT.layers, value_parser = clap::builder::ValueParser::new(clap::builder::TypedValueParser::map(clap::value_parser!(u8).range(1..=8), usize::from)))]
    pub layers: usize,
    /// Nats of KL per latent dimension that cost nothing (free bits).
    #[arg(long, default_value_t = 0.25)]
    pub free_bits: f64,
    /// Share of previous tokens hidden from the decoder while training (token dropout).
    #[arg(long, default_value_t = 0.2)]
    pub token_dropout: f64,
    /// Of --latent, this many last dimensions are a detail code: the encoder's mean as it is
    /// (no noise, no KL), hidden from the decoder in half of the windows and zero in a draw
    /// from the prior, so that an encoded clip can come back note for note.
    #[arg(long, default_value_t = 0)]
    pub detail: usize,
    /// Collections (subfolders of --data and --valid) to leave out, e.g. `essen`
    /// (non-commercial licence); repeat or separate with commas.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Only tunes in duple meter (2/4, 4/4, 2/2), as model v2 was trained.
    #[arg(long)]
    pub duple_only: bool,
    /// Only tunes in these meters (`6/8`; repeat or separate with commas). Default: every
    /// meter Neume knows (2/4, 3/4, 4/4, 2/2, 6/8, 9/8; 12/8 tunes as 6/8, 6/4 and 3/2 as 3/4).
    #[arg(long, value_delimiter = ',')]
    pub meters: Vec<String>,
    /// Weight γ of the attribute regularisation that gives the first five latent dimensions
    /// their names (Density, Rhythm, Range, Contour, Leaps); 0 leaves the knobs unnamed.
    #[arg(long, default_value_t = 0.0)]
    pub attribute_weight: f64,
    /// How those dimensions are tied: `order` (their order within a batch follows the
    /// attribute's; Pati & Lerch 2020) or `value` (each regresses on its attribute's normal
    /// score in the window's meter, so a knob value means one quantile of the corpus).
    #[arg(long, value_enum, default_value_t = AttributeTie::Order)]
    pub attribute_tie: AttributeTie,
    /// Start from the weights of this model file (and its `.encoder.onnx` beside it), e.g.
    /// `models/neume-default.onnx`: the maximum-likelihood start of `--model gan`. The run's
    /// shape flags must match the model's.
    #[arg(long)]
    pub init: Option<PathBuf>,
    /// `--model gan`: weight of the adversarial (REINFORCE) term beside the VAE's loss.
    #[arg(long, default_value_t = 1.0)]
    pub adversarial_weight: f64,
    /// `--model gan`: the discriminator's learning rate (Adam).
    #[arg(long, default_value_t = 2e-4)]
    pub discriminator_lr: f64,
    /// `--model gan`: how REINFORCE credits each sampled step: `melody` (each step the
    /// melody's score) or `step` (each step the part of the score read at it and after it;
    /// an experiment that collapses within three epochs, docs/experiments/2026-12-07-gan.md).
    #[arg(long, value_enum, default_value_t = neume_train::training::adversarial::Credit::Melody)]
    pub credit: neume_train::training::adversarial::Credit,
    /// Cap on optimiser steps per epoch (0: whole epoch).
    #[arg(long, default_value_t = 0)]
    pub max_steps: usize,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 500)]
    pub checkpoint_every: usize,
    /// Melodies generated for validation each epoch.
    #[arg(long, default_value_t = 300)]
    pub valid_samples: usize,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write every epoch's model to `<out>/epochs/epoch-NNN.onnx`.
    #[arg(long)]
    pub save_epochs: bool,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Compute device: `cpu`, or `gpu` (Vulkan; needs a build with `--features gpu`, else
    /// falls back to the CPU with a message).
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Run folder: config, checkpoints, metrics.jsonl, model.onnx.
    #[arg(long)]
    pub out: PathBuf,
}

/// A reference folder of tunes, for the commands that measure against real tunes.
#[derive(clap::Args)]
pub struct ReferenceTunes {
    /// Folder of .mid files.
    #[arg(long)]
    pub reference: PathBuf,
    /// Collections (subfolders) to leave out, e.g. `essen`.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
}

impl ReferenceTunes {
    /// The folder's tunes, without the excluded collections.
    pub fn load(self) -> Result<neume_train::data::Corpus, String> {
        let selection = Selection { exclude: self.exclude, ..Selection::default() };
        neume_train::data::load_selection(&self.reference, &selection, false)
            .map_err(|e| format!("{}: {e}", self.reference.display()))
    }
}

/// `neume-train chords`.
#[derive(Args)]
pub struct ChordsArgs {
    /// An .onnx file (the default model when omitted).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The chorale folder: `chords.jsonl` and the split's folder of `.mid` files.
    #[arg(long)]
    pub chorales: PathBuf,
    /// Which split of the chorales (`valid` to choose, `test` to report).
    #[arg(long, default_value = "test")]
    pub split: String,
    /// The tunes whose 4/4 windows the classifier compares the progressions' melodies with.
    #[command(flatten)]
    pub tunes: ReferenceTunes,
    /// Seeds per chorale.
    #[arg(long, default_value_t = 10)]
    pub seeds: usize,
    /// Melodies over the common progressions, in all.
    #[arg(long, default_value_t = 400)]
    pub count: usize,
}

/// `neume-train copies`.
#[derive(Args)]
pub struct CopiesArgs {
    /// The training folder the model learned from.
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out tunes (the model never saw them), to choose the run length on.
    #[arg(long)]
    pub held_out: PathBuf,
    /// Collections (subfolders) to leave out of both, e.g. `essen`.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// The model the index belongs to (its id goes into the index; its melodies are checked).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The largest share of held-out windows that may be flagged.
    #[arg(long, default_value_t = 0.02)]
    pub max_flagged: f64,
    /// Melodies of the model to check.
    #[arg(long, default_value_t = 500)]
    pub count: usize,
    /// Where to write the index (`name.copies` beside `name.onnx`).
    #[arg(long)]
    pub out: PathBuf,
}
