//! `neume`: generate melodies from the command line, no DAW needed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use neume::generate::{generate, parse_key, GenerateOptions, Scale};
use neume::midi::{self, TimeSignature, WriteOptions};
use neume::runtime::Generator;

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
    /// Length in bars (16ths grid, 4/4).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=16))]
    bars: u8,
    /// Random seed; the same seed and arguments give the same file. Random when omitted.
    #[arg(long)]
    seed: Option<u64>,
    /// Sampling temperature: lower is safer, higher is wilder; 0 always takes the likeliest
    /// step. Default: the temperature the model was tuned for.
    #[arg(long)]
    temperature: Option<f32>,
    /// Key tonic: C, C#, Db, D, … B.
    #[arg(long, default_value = "C", value_parser = parse_key_arg)]
    key: u8,
    /// Scale (mode) to lock notes to; without it the model's own line is moved to --key.
    #[arg(long, value_enum)]
    scale: Option<Scale>,
    /// Latent point as comma-separated numbers (zero-padded to the model's latent size).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    latent: Option<Vec<f32>>,
    /// Number of melodies; seeds count up from --seed.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Tempo written into the file, in BPM.
    #[arg(long, default_value_t = 120.0)]
    tempo: f64,
    /// Output: a .mid file, or a folder when --count is more than 1.
    #[arg(long)]
    out: PathBuf,
}

fn parse_key_arg(s: &str) -> Result<u8, String> {
    parse_key(s).ok_or_else(|| format!("`{s}` is not a key; use C, C#, Db, D, … B"))
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
    if let Some(state) = neume::runtime::backend_state() {
        for note in &state.notes {
            eprintln!("note: native ONNX Runtime not used: {note}");
        }
    }
    Ok(generator)
}

fn run_generate(args: GenerateArgs) -> Result<(), String> {
    if let Some(t) = args.temperature.filter(|t| !(0.0..=5.0).contains(t)) {
        return Err(format!("--temperature {t} is outside 0..=5"));
    }
    if !(20.0..=400.0).contains(&args.tempo) {
        return Err(format!("--tempo {} is outside 20..=400", args.tempo));
    }
    let mut generator = load(args.model.as_deref())?;
    let first_seed = args.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        (nanos % 1_000_000) as u64
    });
    let single =
        args.count == 1 && args.out.extension().is_some_and(|e| e.eq_ignore_ascii_case("mid"));
    if !single {
        std::fs::create_dir_all(&args.out).map_err(|e| format!("{}: {e}", args.out.display()))?;
    }
    for i in 0..u64::from(args.count) {
        let seed = first_seed + i;
        let options = GenerateOptions {
            bars: usize::from(args.bars),
            seed,
            temperature: args.temperature,
            key_root: args.key,
            scale: args.scale,
            latent: args.latent.clone(),
        };
        let melody = generate(&mut generator, &options).map_err(|e| e.to_string())?;
        let path =
            if single { args.out.clone() } else { args.out.join(format!("neume-{seed}.mid")) };
        let write = WriteOptions {
            tempo_bpm: args.tempo,
            time_signature: TimeSignature::COMMON,
            // Without a scale the melody keeps the model's frame: a major key's signature.
            key: neume::theory::key_signature(args.key, args.scale.unwrap_or(Scale::Major)),
            name: format!("Neume seed {seed}"),
            ..WriteOptions::default()
        };
        midi::write_file(&path, &melody, &write).map_err(|e| e.to_string())?;
        println!("{} ({} notes, seed {seed})", path.display(), melody.notes.len());
    }
    Ok(())
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Generate(args) => run_generate(args),
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
