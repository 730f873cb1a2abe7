//! `neume-train eval`: a model, a folder of MIDI files or a Markov baseline against a
//! reference folder, with both Markov baselines beside it.

use std::path::Path;

use neume::encoding::{Melody, Meter};
use neume::generate::{generate, GenerateOptions};
use neume::rng::Rng;
use neume::runtime::Generator;

use crate::classifier::ungrouped;
use crate::data;
use crate::markov::{NoteMarkov, TokenMarkov};
use crate::metrics::{self, Report, FEATURE_NAMES};

/// What `eval` compares.
pub struct EvalArgs<'a> {
    /// An `.onnx` file, a training run folder (its `model.onnx`), a folder of `.mid` files,
    /// `markov` (order 2 on grid tokens) or `markov-notes` (order 2 on note events).
    pub model: &'a str,
    /// Reference folder (the held-out split).
    pub reference: &'a Path,
    /// Training folder: copy-rate patterns and the Markov baseline.
    pub train: &'a Path,
    /// Melodies to compare.
    pub count: usize,
    /// Bars per melody.
    pub bars: usize,
    /// Sampling temperature for models (`None`: the model's own).
    pub temperature: Option<f32>,
    /// Seed.
    pub seed: u64,
    /// Which tunes of the reference, training and compared folders are used.
    pub selection: data::Selection,
    /// The meters generated melodies are made in, one per melody, cycled; empty: the
    /// reference windows' meters, in their proportions.
    pub meters: Vec<Meter>,
}

fn shuffled_take<T>(mut v: Vec<T>, n: usize, rng: &mut Rng) -> Vec<T> {
    rng.shuffle(&mut v);
    v.truncate(n);
    v
}

/// The baselines, fitted on the training folder.
struct Baselines {
    tokens: TokenMarkov,
    notes: NoteMarkov,
}

/// Names of the baselines, as `--model` takes them.
const BASELINES: [&str; 2] = ["markov", "markov-notes"];

/// Melodies from whatever `spec` names.
/// Melodies from whatever `spec` names, each with its group (its tune for real windows; its
/// own index for generated ones).
fn melodies_of(
    spec: &str,
    args: &EvalArgs<'_>,
    baselines: &Baselines,
    rng: &mut Rng,
) -> Result<Vec<(Melody, usize)>, String> {
    let meter = |i: usize| {
        args.meters.get(i % args.meters.len().max(1)).copied().unwrap_or(Meter::FourFour)
    };
    let len_steps = |i: usize| (args.bars * meter(i).bar_steps()) as u32;
    match spec {
        "markov" => {
            return Ok(ungrouped(
                &(0..args.count)
                    .map(|i| baselines.tokens.generate(len_steps(i), rng))
                    .collect::<Vec<_>>(),
            ))
        }
        "markov-notes" => {
            return Ok(ungrouped(
                &(0..args.count)
                    .map(|i| baselines.notes.generate(len_steps(i), rng))
                    .collect::<Vec<_>>(),
            ))
        }
        _ => {}
    }
    let path = Path::new(spec);
    let onnx = if path.is_dir() && path.join("model.onnx").is_file() {
        path.join("model.onnx")
    } else {
        path.to_path_buf()
    };
    if onnx.is_file() {
        let mut generator = Generator::from_file(&onnx).map_err(|e| e.to_string())?;
        eprintln!("{}: {} model on {}", onnx.display(), generator.info().kind, generator.backend());
        return (0..args.count)
            .map(|i| -> Result<(Melody, usize), String> {
                let options = GenerateOptions {
                    bars: args.bars,
                    seed: args.seed.wrapping_add(i as u64),
                    temperature: args.temperature,
                    meter: meter(i),
                    ..GenerateOptions::default()
                };
                Ok((generate(&mut generator, &options).map_err(|e| e.to_string())?, i))
            })
            .collect();
    }
    if path.is_dir() {
        let corpus = data::load_selection(path, &args.selection, true)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let windows = data::reference_windows(&corpus.tunes, args.bars);
        return Ok(shuffled_take(windows, args.count, rng));
    }
    Err(format!("{spec}: neither an .onnx file, a run folder, a folder of MIDI files, `markov` nor `markov-notes`"))
}

/// Runs the evaluation; returns the reports (the reference's own row, the subject, then the
/// Markov baselines).
pub fn evaluate(args: &EvalArgs<'_>) -> Result<Vec<Report>, String> {
    let mut rng = Rng::new(args.seed);
    let reference_corpus = data::load_selection(args.reference, &args.selection, true)
        .map_err(|e| format!("{}: {e}", args.reference.display()))?;
    let in_meters = shuffled_take(
        data::reference_windows_in_meters(&reference_corpus.tunes, args.bars),
        args.count,
        &mut rng,
    );
    let meters = if args.meters.is_empty() {
        in_meters.iter().map(|(_, _, m)| *m).collect()
    } else {
        args.meters.clone()
    };
    let args = &EvalArgs { meters, selection: args.selection.clone(), ..*args };
    let reference_grouped: Vec<(Melody, usize)> =
        in_meters.into_iter().map(|(m, i, _)| (m, i)).collect();
    let reference: Vec<Melody> = reference_grouped.iter().map(|(m, _)| m.clone()).collect();
    let training = data::load_selection(args.train, &args.selection, false)
        .map_err(|e| format!("{}: {e}", args.train.display()))?;
    let training_melodies: Vec<Melody> = training.tunes.iter().map(|t| t.melody.clone()).collect();
    let patterns = metrics::pattern_set(training_melodies.iter());
    let centred: Vec<Melody> = training_melodies
        .iter()
        .map(|m| {
            m.transposed(neume::encoding::centring_octave_shift(m.notes.iter().map(|n| n.pitch)))
        })
        .collect();
    let baselines = Baselines {
        tokens: TokenMarkov::fit(centred.iter()),
        notes: NoteMarkov::fit(centred.iter()),
    };
    eprintln!(
        "reference: {} windows from {}; training patterns from {} tunes",
        reference.len(),
        args.reference.display(),
        training_melodies.len()
    );
    // The reference's own interval shares, the row the others are read against.
    let mut reports = vec![Report {
        name: "reference (real tunes)".to_string(),
        melodies: reference.len(),
        overlap: vec![1.0; FEATURE_NAMES.len()],
        mean_overlap: 1.0,
        in_scale_rate: metrics::in_scale_rate(&reference),
        copy_rate: metrics::copy_rate(&reference, &patterns),
        classifier_accuracy: f64::NAN,
        classifier_spread: f64::NAN,
        intervals: crate::classifier::interval_rates(&reference),
    }];
    let specs =
        std::iter::once(args.model).chain(BASELINES.into_iter().filter(|b| *b != args.model));
    for spec in specs {
        let generated = melodies_of(spec, args, &baselines, &mut rng)?;
        reports.push(metrics::report(spec, &generated, &reference_grouped, &patterns));
    }
    Ok(reports)
}

/// Prints reports as a table.
pub fn print_table(reports: &[Report]) {
    let short = ["PC", "PCH", "PCTM", "PR", "PI", "NC", "IOI", "NLH", "NLTM"];
    debug_assert_eq!(short.len(), FEATURE_NAMES.len());
    print!("{:<40} {:>6}", "set", "mean");
    for s in short {
        print!(" {s:>5}");
    }
    println!(
        " {:>8} {:>6} {:>12} {:>5} {:>5} {:>5} {:>5}",
        "in-scale", "copy", "classifier", "step", "rep", "leap", "run"
    );
    for r in reports {
        print!("{:<40} {:>6.3}", truncate(&r.name, 40), r.mean_overlap);
        for v in &r.overlap {
            print!(" {v:>5.2}");
        }
        let classifier = if r.classifier_accuracy.is_nan() {
            "—".to_string()
        } else {
            format!("{:.3}±{:.3}", r.classifier_accuracy, r.classifier_spread)
        };
        let i = &r.intervals;
        println!(
            " {:>8.3} {:>6.3} {classifier:>12} {:>5.3} {:>5.3} {:>5.3} {:>5.3}",
            r.in_scale_rate, r.copy_rate, i.step, i.repeat, i.leap, i.run
        );
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!(
            "…{}",
            s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect::<String>()
        )
    }
}
