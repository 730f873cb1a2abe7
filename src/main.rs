//! `neume`: generate melodies from the command line, no DAW needed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use neume::encoding::Melody;
use neume::encoding::Meter;
use neume::model::runtime::Generator;
use neume::music::chords::Progression;
use neume::music::copies::CopyIndex;
use neume::music::midi::{self, TimeSignature, WriteOptions};
use neume::sampling::generate::{generate, parse_key, Form, GenerateOptions, Scale};

#[derive(Parser)]
#[command(name = "neume", version, about = "Melodies invented by a neural network, as MIDI files")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate melodies and write them as .mid files.
    Generate(GenerateArgs),
    /// Variations of your own clip (a .mid file of 1–4 bars; longer: its first 4 bars),
    /// written in its key, register and meter.
    Vary(ClipArgs),
    /// Melodies that begin with your clip exactly and carry on from it.
    Continue(ClipArgs),
    /// Bars of a melody (up to 16 bars) sung anew in context; the other bars stay note for
    /// note. Writes the whole melody, the span new.
    Infill(InfillArgs),
    /// Check a model file and print its metadata.
    Info {
        /// Model file (.onnx); the embedded default model when omitted.
        #[arg(long)]
        model: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct GenerateArgs {
    /// Model file (.onnx); the embedded default model when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Length in bars (of --meter, on a 16ths grid).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=16))]
    bars: u8,
    /// Random seed; the same seed and arguments give the same file. Random when omitted.
    #[arg(long)]
    seed: Option<u64>,
    /// Sampling temperature: lower is safer, higher is wilder; 0 always takes the likeliest
    /// step. Default: the temperature the model was tuned for.
    #[arg(long)]
    temperature: Option<f32>,
    /// Key tonic: C, C#, Db, D, … B. Default: the key of --chords when given, else C.
    #[arg(long, value_parser = parse_key_arg)]
    key: Option<u8>,
    /// Scale (mode) to lock notes to; without it the model's own line is moved to --key.
    #[arg(long, value_enum)]
    scale: Option<Scale>,
    /// Latent point as comma-separated numbers (zero-padded to the model's latent size).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    latent: Option<Vec<f32>>,
    /// Time signature: 2/4, 3/4, 4/4, 2/2, 6/8 or 9/8 (those the model knows; see `neume info`).
    #[arg(long, default_value = "4/4", value_parser = Meter::parse)]
    meter: Meter,
    /// How the 4-bar phrases of a longer melody relate: `song` (they repeat, vary and answer)
    /// or `through` (every phrase new).
    #[arg(long, default_value = "song", value_parser = Form::parse)]
    form: Form,
    /// A knob's value in standard deviations, `name=value` (repeatable): density, rhythm,
    /// range, contour, leaps, latent6 … as the model names them (see `neume info`).
    #[arg(long = "knob", allow_hyphen_values = true)]
    knobs: Vec<String>,
    /// Number of melodies (1–10,000); seeds count up from --seed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_COUNT))]
    count: u32,
    /// Tempo written into the file, in BPM.
    #[arg(long, default_value_t = 120.0)]
    tempo: f64,
    #[command(flatten)]
    chords: ChordArgs,
    /// Re-draw a melody that copies a tune the model learned from (up to 8 tries, then the
    /// warning).
    #[arg(long)]
    no_copies: bool,
    /// Output: a .mid file, or a folder when --count is more than 1.
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
struct ClipArgs {
    /// The clip: a .mid file (its top line is taken when it has chords).
    #[arg(long)]
    clip: PathBuf,
    /// Model file (.onnx) with its encoder beside it; the embedded default model when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Vary: how far from the clip, 0 (the clip's own point) … 1 (unrelated).
    #[arg(long, default_value_t = 0.5)]
    amount: f32,
    /// Continue: length of each melody in bars, clip included (4–16).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=16))]
    bars: u8,
    /// Number of melodies (1–10,000); seeds count up from --seed.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=MAX_COUNT))]
    count: u32,
    #[command(flatten)]
    sing: SingArgs,
    /// Re-draw a melody that copies a tune the model learned from (up to 8 tries, then the
    /// warning).
    #[arg(long)]
    no_copies: bool,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// How a file's melody is sung anew (`vary`, `continue`, `infill`).
#[derive(clap::Args)]
struct SingArgs {
    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Sampling temperature (default: the model's).
    #[arg(long)]
    temperature: Option<f32>,
    /// The file's meter when it has none or another (2/4, 3/4, 4/4, 2/2, 6/8, 9/8).
    #[arg(long, value_parser = Meter::parse)]
    meter: Option<Meter>,
    /// A knob's value, `name=value` (repeatable), as for `generate`.
    #[arg(long = "knob", allow_hyphen_values = true)]
    knobs: Vec<String>,
    #[command(flatten)]
    chords: ChordArgs,
}

impl SingArgs {
    /// The options of one melody of seed `seed`, with the knobs' `shift` and the `chords`.
    fn clip_options(
        &self,
        seed: u64,
        shift: &Option<Vec<f32>>,
        chords: &Option<Progression>,
    ) -> neume::music::clip::ClipOptions {
        neume::music::clip::ClipOptions {
            seed,
            temperature: self.temperature,
            shift: shift.clone(),
            chords: chords.clone(),
        }
    }
}

#[derive(clap::Args)]
struct InfillArgs {
    /// The melody: a .mid file (its top line; up to 16 bars, a longer one is cut).
    #[arg(long)]
    clip: PathBuf,
    /// The bars to sing anew, 1-based and inclusive: `3-4`, or one bar: `3`.
    #[arg(long)]
    bars: String,
    /// Model file (.onnx) with its encoder beside it; the embedded default model when omitted.
    #[arg(long)]
    model: Option<PathBuf>,
    /// Number of melodies (1–10,000); seeds count up from --seed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=MAX_COUNT))]
    count: u32,
    #[command(flatten)]
    sing: SingArgs,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

/// Reads `--bars 3-4` (or `3`) for a melody of `bars` bars: 1-based, inclusive, inside it.
fn parse_span(text: &str, bars: usize) -> Result<(usize, usize), String> {
    let number = |s: &str| {
        s.trim().parse::<usize>().map_err(|_| format!("--bars {text}: `{s}` is not a bar number"))
    };
    let (first, last) = match text.split_once('-') {
        Some((a, b)) => (number(a)?, number(b)?),
        None => (number(text)?, number(text)?),
    };
    if first == 0 {
        return Err(format!("--bars {text}: bars count from 1"));
    }
    if first > last {
        return Err(format!("--bars {text}: the first bar comes after the last"));
    }
    if last > neume::music::clip::MAX_INFILL_BARS {
        return Err(format!(
            "--bars {text}: bar {last} is past bar {}, the last infill takes",
            neume::music::clip::MAX_INFILL_BARS
        ));
    }
    if last > bars {
        return Err(format!(
            "--bars {text}: the melody has {bars} bar{}",
            if bars == 1 { "" } else { "s" }
        ));
    }
    Ok((first, last))
}

/// `neume infill`.
fn run_infill(args: InfillArgs) -> Result<(), String> {
    if let Some(t) = args.sing.temperature.filter(|t| !(0.0..=5.0).contains(t)) {
        return Err(format!("--temperature {t} is outside 0..=5"));
    }
    let file = midi::read_file(&args.clip).map_err(|e| e.to_string())?;
    let meter = neume::music::clip::file_meter(&file, args.sing.meter, &args.clip)
        .map_err(|e| format!("{e}; say the meter with --meter"))?;
    let bar = meter.bar_steps();
    let file_bars = (file.melody.len_steps as usize).div_ceil(bar);
    let max = neume::music::clip::MAX_INFILL_BARS;
    if file_bars > max {
        eprintln!("{}: {file_bars} bars; its first {max} are taken", args.clip.display());
    }
    let bars = file_bars.clamp(1, max);
    let span = parse_span(&args.bars, bars)?;
    let melody = file.melody.window(0, (bars * bar) as u32);
    let chords = args.sing.chords.read(meter)?;
    let mut generator = load(args.model.as_deref())?;
    generator.info().check_meter(meter).map_err(|e| e.to_string())?;
    let shift = knob_shift(generator.info(), &args.sing.knobs)?;
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let (numerator, denominator) = meter.signature();
    for i in 0..u64::from(args.count) {
        let seed = args.sing.seed + i;
        let options = args.sing.clip_options(seed, &shift, &chords);
        let sung = neume::music::clip::infill(
            &mut generator,
            &melody,
            meter,
            span,
            &options,
            neume::music::clip::INFILL_CANDIDATES,
        )
        .map_err(|e| e.to_string())?;
        let path = args.out.join(format!("infill-{seed}.mid"));
        let write = WriteOptions {
            tempo_bpm: file.tempo_bpm,
            time_signature: TimeSignature { numerator, denominator },
            key: file.key,
            name: format!("Neume, bars {}-{} anew, seed {seed}", span.0, span.1),
            chords: chords.clone(),
            ..WriteOptions::default()
        };
        midi::write_file(&path, &sung, &write).map_err(|e| e.to_string())?;
        println!("{} (bars {}-{} of {bars} new, seed {seed})", path.display(), span.0, span.1);
    }
    Ok(())
}

/// The chords a melody is sung over (`generate`, `vary`, `continue`).
#[derive(clap::Args)]
struct ChordArgs {
    /// Chords to sing over: `Am F C G` (a chord a bar), `Am:2 F:2 C G` (a length in beats
    /// after a colon), `N` for no chord; roots with # or b (F#m7b5, Bbmaj7). The progression
    /// repeats when the melody is longer and is cut when shorter.
    #[arg(long, conflicts_with = "chords_from")]
    chords: Option<String>,
    /// Chords from a MIDI file: the notes of its track named `chords` or `harmony`, else
    /// every note, named a chord a beat.
    #[arg(long, value_name = "FILE")]
    chords_from: Option<PathBuf>,
}

impl ChordArgs {
    /// The progression given, laid out in `meter`; `None` without one.
    fn read(&self, meter: Meter) -> Result<Option<Progression>, String> {
        if let Some(text) = &self.chords {
            return Progression::parse(text, meter).map(Some).map_err(|e| format!("--chords: {e}"));
        }
        let Some(path) = &self.chords_from else { return Ok(None) };
        neume::music::chord_file::read_progression(path, meter).map(Some)
    }
}

/// Reads `--clip` in its meter (the file's time signature, or `--meter`).
fn read_clip(args: &ClipArgs) -> Result<(neume::music::clip::Clip, midi::MidiMelody), String> {
    let file = midi::read_file(&args.clip).map_err(|e| e.to_string())?;
    let meter = neume::music::clip::file_meter(&file, args.sing.meter, &args.clip)
        .map_err(|e| format!("{e}; say the meter with --meter"))?;
    let clip = neume::music::clip::Clip::new(&file.melody, meter)
        .map_err(|e| format!("{}: {e}", args.clip.display()))?;
    Ok((clip, file))
}

/// `neume vary` and `neume continue`.
fn run_clip(args: ClipArgs, continuing: bool) -> Result<(), String> {
    if !(0.0..=1.0).contains(&args.amount) {
        return Err(format!("--amount {} is outside 0..=1", args.amount));
    }
    if let Some(t) = args.sing.temperature.filter(|t| !(0.0..=5.0).contains(t)) {
        return Err(format!("--temperature {t} is outside 0..=5"));
    }
    let (clip, file) = read_clip(&args)?;
    let chords = args.sing.chords.read(clip.meter)?;
    if let Some(chords) = &chords {
        eprintln!(
            "chords: {} ({} bars of {}, repeating)",
            chords.to_text(),
            chords.bars(),
            clip.meter
        );
    }
    let mut generator = load(args.model.as_deref())?;
    let copies = copy_index(args.model.as_deref(), &generator);
    generator.info().check_meter(clip.meter).map_err(|e| e.to_string())?;
    let shift = knob_shift(generator.info(), &args.sing.knobs)?;
    eprintln!(
        "clip: {} bar(s) of {} in {} ({} notes){}",
        clip.bars,
        clip.meter,
        clip.key,
        clip.melody.notes.len(),
        if file.under_top_line > 0 {
            format!(
                "; the file has chords: its top line is the clip ({} notes under it left out)",
                file.under_top_line
            )
        } else {
            String::new()
        }
    );
    std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    let (numerator, denominator) = clip.meter.signature();
    let scale = clip.key.scale();
    for i in 0..u64::from(args.count) {
        let seed = args.sing.seed + i;
        let (melody, copy) = guarded(copies.as_deref(), clip.meter, args.no_copies, seed, |s| {
            let options = args.sing.clip_options(s, &shift, &chords);
            if continuing {
                neume::music::clip::continue_clip(
                    &mut generator,
                    &clip,
                    usize::from(args.bars),
                    &options,
                )
            } else {
                neume::music::clip::vary(&mut generator, &clip, args.amount, &options)
            }
            .map(|(melody, _)| melody)
            .map_err(|e| e.to_string())
        })?;
        let name = if continuing {
            format!("continuation-{seed}.mid")
        } else {
            format!("variation-{seed}.mid")
        };
        let path = args.out.join(name);
        let write = WriteOptions {
            tempo_bpm: file.tempo_bpm,
            time_signature: TimeSignature { numerator, denominator },
            key: neume::music::theory::key_signature(clip.key.tonic, scale),
            name: format!("Neume, seed {seed}, from {}", args.clip.display()),
            chords: chords.clone(),
            ..WriteOptions::default()
        };
        midi::write_file(&path, &melody, &write).map_err(|e| e.to_string())?;
        println!("{} ({} notes, seed {seed})", path.display(), melody.notes.len());
        if let Some(copy) = &copy {
            warn_copy(&path, copy);
        }
    }
    Ok(())
}

fn parse_key_arg(s: &str) -> Result<u8, String> {
    parse_key(s).ok_or_else(|| format!("`{s}` is not a key; use C, C#, Db, D, … B"))
}

/// The copy index of the model in use: the default model's, or `name.copies` beside a model
/// file; `None` (with a note) when it has none or it belongs to another model.
fn copy_index(model: Option<&Path>, generator: &Generator) -> Option<std::sync::Arc<CopyIndex>> {
    let index = match model {
        None => neume::default_copy_index(),
        Some(path) => {
            let file = neume::music::copies::index_path(path);
            if !file.is_file() {
                eprintln!(
                    "note: {} has no copy index ({}): copies are not checked",
                    path.display(),
                    file.display()
                );
                return None;
            }
            CopyIndex::read_file(&file).map(std::sync::Arc::new)
        }
    };
    match index {
        Ok(index) if index.guards(generator.info().model_id()) => Some(index),
        Ok(_) => {
            eprintln!("warning: the copy index beside the model is another model's: copies are not checked");
            None
        }
        Err(e) => {
            eprintln!("warning: {e}: copies are not checked");
            None
        }
    }
}

/// Sings with `sing(seed)`; under `--no-copies`, sings again with other seeds while the
/// melody copies a tune of `index` (see [`neume::music::copies::sing_avoiding_copies`]).
fn guarded(
    index: Option<&CopyIndex>,
    meter: Meter,
    no_copies: bool,
    seed: u64,
    sing: impl FnMut(u64) -> Result<Melody, String>,
) -> Result<(Melody, Option<neume::music::copies::Copy>), String> {
    neume::music::copies::sing_avoiding_copies(no_copies, seed, sing, |melody| {
        index.and_then(|i| i.check(melody, meter))
    })
}

/// The warning for a melody written to `path` that copies a training tune.
fn warn_copy(path: &Path, copy: &neume::music::copies::Copy) {
    eprintln!(
        "warning: {} copies {} (bars {}-{}): a run of notes of a tune the model learned from",
        path.display(),
        copy.tune,
        copy.bars.0,
        copy.bars.1
    );
}

fn load(model: Option<&Path>) -> Result<Generator, String> {
    let generator = match model {
        Some(path) => Generator::from_file(path),
        None => neume::default_generator(),
    }
    .map_err(|e| e.to_string())?;
    eprintln!(
        "model: {} ({}), backend: {}",
        generator.name(),
        generator.info().kind,
        generator.backend()
    );
    if let Some(state) = neume::model::runtime::backend_state() {
        for note in &state.notes {
            eprintln!("note: native ONNX Runtime not used: {note}");
        }
    }
    Ok(generator)
}

/// The most melodies one command writes (`--count`).
const MAX_COUNT: i64 = 10_000;

/// The largest |value| of a `--latent` coordinate or a `--knob`, in standard deviations of the
/// prior: the plugin's knobs reach ±3; beyond ±10 a point is nowhere the model was trained.
const MAX_LATENT: f32 = 10.0;

/// Checks a `--latent` point: every coordinate a number within ±[`MAX_LATENT`].
fn check_latent(latent: &[f32]) -> Result<(), String> {
    match latent.iter().find(|v| !(v.is_finite() && v.abs() <= MAX_LATENT)) {
        Some(v) if !v.is_finite() => Err(format!("--latent: `{v}` is not a finite number")),
        Some(v) => Err(format!(
            "--latent: `{v}` is outside -{MAX_LATENT}..={MAX_LATENT} (standard deviations of the \
             prior; the plugin's knobs reach ±3)"
        )),
        None => Ok(()),
    }
}

/// Creates the folder that `path` (a file) goes into, when it has one.
fn create_parent(path: &Path) -> Result<(), String> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => std::fs::create_dir_all(parent)
            .map_err(|e| format!("{}: cannot create the folder: {e}", parent.display())),
        None => Ok(()),
    }
}

/// Knob slots a command line can set (the plugin's eight).
const KNOBS: usize = 8;

/// The latent move of `--knob name=value` arguments; `None` when there are none.
fn knob_shift(
    info: &neume::model::model_file::ModelInfo,
    knobs: &[String],
) -> Result<Option<Vec<f32>>, String> {
    if knobs.is_empty() {
        return Ok(None);
    }
    let mut values = [0f32; KNOBS];
    for arg in knobs {
        let (name, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("--knob `{arg}` is not name=value (e.g. density=1.5)"))?;
        let value: f32 = value
            .trim()
            .parse()
            .ok()
            .filter(|v: &f32| v.is_finite() && v.abs() <= MAX_LATENT)
            .ok_or_else(|| {
                format!("--knob `{arg}`: the value is not a number in -{MAX_LATENT}..={MAX_LATENT}")
            })?;
        values[info.knob_index(name, KNOBS)?] = value;
    }
    Ok(Some(info.knob_shift(&values)))
}

fn run_generate(args: GenerateArgs) -> Result<(), String> {
    if let Some(t) = args.temperature.filter(|t| !(0.0..=5.0).contains(t)) {
        return Err(format!("--temperature {t} is outside 0..=5"));
    }
    if !(20.0..=400.0).contains(&args.tempo) {
        return Err(format!("--tempo {} is outside 20..=400", args.tempo));
    }
    if let Some(latent) = &args.latent {
        check_latent(latent)?;
    }
    let chords = args.chords.read(args.meter)?;
    // The key: as given, else the chords', else C; a key heard from the chords sets its mode.
    let chord_key = chords.as_ref().and_then(|c| c.key()).filter(|_| args.key.is_none());
    let key_root = args.key.or(chord_key.map(|k| k.tonic)).unwrap_or(0);
    let scale = args.scale.or(chord_key.map(|k| if k.minor { Scale::Minor } else { Scale::Major }));
    if let Some(chords) = &chords {
        eprintln!(
            "chords: {} ({} bar{} of {}, repeating){}",
            chords.to_text(),
            chords.bars(),
            if chords.bars() == 1 { "" } else { "s" },
            args.meter,
            chord_key.map_or(String::new(), |k| format!("; key {k}"))
        );
    }
    let mut generator = load(args.model.as_deref())?;
    let copies = copy_index(args.model.as_deref(), &generator);
    generator.info().check_meter(args.meter).map_err(|e| e.to_string())?;
    let shift = knob_shift(generator.info(), &args.knobs)?;
    let first_seed = args.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        (nanos % 1_000_000) as u64
    });
    let single =
        args.count == 1 && args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("mid"));
    if single {
        create_parent(&args.out)?;
    } else {
        std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    }
    for i in 0..u64::from(args.count) {
        let seed = first_seed + i;
        let options = GenerateOptions {
            bars: usize::from(args.bars),
            seed,
            temperature: args.temperature,
            key_root,
            scale,
            chords: chords.clone(),
            latent: args.latent.clone(),
            shift: shift.clone(),
            meter: args.meter,
            form: args.form,
            ..GenerateOptions::default()
        };
        let (melody, copy) = guarded(copies.as_deref(), args.meter, args.no_copies, seed, |s| {
            generate(&mut generator, &GenerateOptions { seed: s, ..options.clone() })
                .map_err(|e| e.to_string())
        })?;
        let path =
            if single { args.out.clone() } else { args.out.join(format!("neume-{seed}.mid")) };
        let write = WriteOptions {
            tempo_bpm: args.tempo,
            time_signature: TimeSignature {
                numerator: args.meter.signature().0,
                denominator: args.meter.signature().1,
            },
            // Without a scale the melody keeps the model's frame: a major key's signature.
            key: neume::music::theory::key_signature(key_root, scale.unwrap_or(Scale::Major)),
            chords: chords.clone(),
            name: format!("Neume seed {seed}"),
            ..WriteOptions::default()
        };
        midi::write_file(&path, &melody, &write).map_err(|e| e.to_string())?;
        println!("{} ({} notes, seed {seed})", path.display(), melody.notes.len());
        if let Some(copy) = &copy {
            warn_copy(&path, copy);
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Generate(args) => run_generate(args),
        Command::Vary(args) => run_clip(args, false),
        Command::Continue(args) => run_clip(args, true),
        Command::Infill(args) => run_infill(args),
        Command::Info { model } => load(model.as_deref()).map(|g| {
            for (key, value) in &g.info().metadata {
                println!("{key} = {value}");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
