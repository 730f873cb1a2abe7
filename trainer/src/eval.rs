//! `neume-train eval`: a model, a folder of MIDI files or a Markov baseline against a
//! reference folder, with both Markov baselines beside it.

pub mod classifier;
pub mod form;
pub mod knobs;
pub mod markov;
pub mod metrics;
pub mod reconstruction;

use std::path::Path;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::rng::Rng;
use neume::sampling::generate::{generate, Form, GenerateOptions};

use crate::data;
use crate::eval::form::{profile_distance, FormProfile, FORM_BARS};
use crate::eval::knobs::KnobRow;
use crate::eval::markov::{NoteMarkov, TokenMarkov};
use crate::eval::metrics::{Report, FEATURE_NAMES};

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
    /// Also measure the form of 16-bar melodies against the reference tunes' first 16 bars.
    pub form: bool,
    /// Also sweep the model's named knobs (see [`crate::eval::knobs`]).
    pub knobs: bool,
    /// The chords the knob sweep sings over (`None`: none).
    pub chords: Option<&'a str>,
    /// Also encode and decode the reference windows (see [`crate::eval::reconstruction`]).
    pub reconstruction: bool,
    /// Also print the features that tell the model's melodies from the reference.
    pub explain: bool,
}

/// Bars of the windows the quality figures are measured on: melodies longer than this are
/// cut into windows of it (the model's phrase), so 8 and 16 bars are measured as 4 are.
pub const QUALITY_WINDOW_BARS: usize = 4;

/// The windows of `QUALITY_WINDOW_BARS` bars of a melody of `bars` bars in `meter` (the
/// melody itself when it is not longer).
fn quality_windows(melody: &Melody, meter: Meter, bars: usize) -> Vec<Melody> {
    if bars <= QUALITY_WINDOW_BARS {
        return vec![melody.clone()];
    }
    let len = (QUALITY_WINDOW_BARS * meter.bar_steps()) as u32;
    (0..bars / QUALITY_WINDOW_BARS).map(|w| melody.window(w as u32 * len, len)).collect()
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
    // A melody longer than a window counts as its windows: as many as the reference has.
    let windows_per_melody = (args.bars / QUALITY_WINDOW_BARS).max(1);
    let windowed = |make: &mut dyn FnMut(usize) -> Melody| -> Vec<(Melody, usize)> {
        let mut out = Vec::new();
        for i in 0..args.count.div_ceil(windows_per_melody) {
            let melody = make(i);
            out.extend(quality_windows(&melody, meter(i), args.bars).into_iter().map(|w| (w, i)));
        }
        out.truncate(args.count);
        out
    };
    match spec {
        "markov" => return Ok(windowed(&mut |i| baselines.tokens.generate(len_steps(i), rng))),
        "markov-notes" => {
            return Ok(windowed(&mut |i| baselines.notes.generate(len_steps(i), rng)))
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
        let mut out = Vec::new();
        for i in 0..args.count.div_ceil(windows_per_melody) {
            let options = GenerateOptions {
                bars: args.bars,
                seed: args.seed.wrapping_add(i as u64),
                temperature: args.temperature,
                meter: meter(i),
                ..GenerateOptions::default()
            };
            let melody = generate(&mut generator, &options).map_err(|e| e.to_string())?;
            // The windows of one melody stay one group for the classifier.
            out.extend(quality_windows(&melody, meter(i), args.bars).into_iter().map(|w| (w, i)));
        }
        out.truncate(args.count);
        return Ok(out);
    }
    if path.is_dir() {
        let corpus = data::load_selection(path, &args.selection, true)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let windows = data::reference_windows(&corpus.tunes, args.bars.min(QUALITY_WINDOW_BARS));
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
        data::reference_windows_in_meters(
            &reference_corpus.tunes,
            args.bars.min(QUALITY_WINDOW_BARS),
        ),
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
        intervals: crate::eval::classifier::interval_rates(&reference),
        diversity: metrics::diversity(&reference, 1),
    }];
    let specs =
        std::iter::once(args.model).chain(BASELINES.into_iter().filter(|b| *b != args.model));
    for spec in specs {
        let generated = melodies_of(spec, args, &baselines, &mut rng)?;
        if args.explain && spec == args.model {
            print_differences(spec, &generated, &reference);
        }
        reports.push(metrics::report(spec, &generated, &reference_grouped, &patterns));
    }
    Ok(reports)
}

/// Prints the classifier's features that differ most between `generated` and `reference`.
fn print_differences(name: &str, generated: &[(Melody, usize)], reference: &[Melody]) {
    let generated: Vec<Melody> = generated.iter().map(|(m, _)| m.clone()).collect();
    println!("features of {name} that differ most from the reference (mean, reference's mean, difference / sd):");
    for (f, mine, real, d) in
        crate::eval::classifier::largest_differences(&generated, reference, 15)
    {
        println!(
            "  {:<44} {mine:>8.4} {real:>8.4} {d:>+6.2}",
            crate::eval::classifier::feature_name(f)
        );
    }
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
        " {:>8} {:>6} {:>12} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>5} {:>8} {:>5}",
        "in-scale",
        "copy",
        "classifier",
        "step",
        "rep",
        "leap",
        "run",
        "|int|",
        "notes",
        "sim",
        "distinct",
        "range"
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
            " {:>8.3} {:>6.3} {classifier:>12} {:>5.3} {:>5.3} {:>5.3} {:>5.3} {:>5.2} {:>5.1} {:>5.3} {:>8.3} {:>5.2}",
            r.in_scale_rate,
            r.copy_rate,
            i.step,
            i.repeat,
            i.leap,
            i.run,
            i.mean_interval,
            i.notes,
            r.diversity.similarity,
            r.diversity.distinct,
            i.range
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

/// The form figures of a model's 16-bar melodies in song form and through-composed, and of
/// the reference tunes' first 16 bars.
#[derive(Clone, Debug, serde::Serialize)]
pub struct FormReport {
    /// The reference tunes (those of 16 bars or more).
    pub reference: FormProfile,
    /// The model's melodies in song form.
    pub song: FormProfile,
    /// The model's melodies through-composed.
    pub through: FormProfile,
    /// Mean |difference| of the song form's similarity by lag from the reference's.
    pub song_distance: f64,
}

/// Measures the form of `count` 16-bar melodies of the model at `path`, in the meters of the
/// reference tunes, against those tunes' first 16 bars.
pub fn form_report(path: &Path, args: &EvalArgs<'_>) -> Result<FormReport, String> {
    let corpus = data::load_selection(args.reference, &args.selection, false)
        .map_err(|e| format!("{}: {e}", args.reference.display()))?;
    let tunes: Vec<(Melody, Meter)> = corpus
        .tunes
        .iter()
        .filter(|t| t.melody.len_steps as usize >= FORM_BARS * t.meter.bar_steps())
        .map(|t| (t.melody.clone(), t.meter))
        .collect();
    if tunes.is_empty() {
        return Err(format!("{}: no tune of 16 bars or more", args.reference.display()));
    }
    let mut generator = Generator::from_file(path).map_err(|e| e.to_string())?;
    let mut made = |form: Form| -> Result<Vec<(Melody, Meter)>, String> {
        (0..args.count)
            .map(|i| {
                let meter = tunes[i % tunes.len()].1;
                let meter =
                    if generator.info().meters.contains(&meter) { meter } else { Meter::FourFour };
                let options = GenerateOptions {
                    bars: FORM_BARS,
                    seed: args.seed.wrapping_add(i as u64),
                    temperature: args.temperature,
                    meter,
                    form,
                    ..GenerateOptions::default()
                };
                Ok((generate(&mut generator, &options).map_err(|e| e.to_string())?, meter))
            })
            .collect()
    };
    let song = crate::eval::form::profile(&made(Form::Song)?);
    let through = crate::eval::form::profile(&made(Form::Through)?);
    let reference = crate::eval::form::profile(&tunes);
    Ok(FormReport { song_distance: profile_distance(&song, &reference), reference, song, through })
}

/// Prints a form report.
pub fn print_form(report: &FormReport) {
    println!("similarity by lag (bars 1–16), and the share of bars 5–16 that nearly repeat the bar 4 or 8 before");
    print!("{:<22} {:>5}", "set", "n");
    for lag in 1..FORM_BARS {
        print!(" {lag:>4}");
    }
    println!(" {:>7}", "repeat");
    for (name, p) in [
        ("reference (real)", &report.reference),
        ("song form", &report.song),
        ("through-composed", &report.through),
    ] {
        print!("{name:<22} {:>5}", p.melodies);
        for v in &p.by_lag {
            print!(" {v:>4.2}");
        }
        println!(" {:>7.3}", p.near_repeat_rate);
    }
    println!("song form: mean |difference| from the reference by lag {:.3}", report.song_distance);
}

/// Sweeps the named knobs of the model at `path` (4 bars, 60 base points, in 4/4 or the first
/// meter of `--meter`) and reads them against the attributes' correlations in the reference
/// windows (of that meter, when one is given).
pub fn knob_report(path: &Path, args: &EvalArgs<'_>) -> Result<Vec<KnobRow>, String> {
    let corpus = data::load_selection(args.reference, &args.selection, false)
        .map_err(|e| format!("{}: {e}", args.reference.display()))?;
    let meter = args.meters.first().copied();
    let windows: Vec<(Melody, Meter)> = data::reference_windows_in_meters(&corpus.tunes, 4)
        .into_iter()
        .filter(|(_, _, m)| meter.is_none_or(|meter| *m == meter))
        .map(|(m, _, meter)| (m, meter))
        .collect();
    let real = crate::eval::knobs::real_correlations(&windows);
    let mut generator = Generator::from_file(path).map_err(|e| e.to_string())?;
    if generator.info().knob_attributes.is_empty() {
        return Err(format!("{}: the model has no named knobs", path.display()));
    }
    let meter = meter.unwrap_or(Meter::FourFour);
    let chords = args
        .chords
        .map(|text| neume::music::chords::Progression::parse(text, meter))
        .transpose()
        .map_err(|e| format!("--chords: {e}"))?;
    crate::eval::knobs::sweep(&mut generator, meter, 60, args.seed, &real, chords.as_ref())
}

/// Encodes and decodes up to `count` reference windows (4 bars, in their meters) with the
/// model at `path`, which needs its encoder.
pub fn reconstruction_report(
    path: &Path,
    args: &EvalArgs<'_>,
) -> Result<crate::eval::reconstruction::Reconstruction, String> {
    let corpus = data::load_selection(args.reference, &args.selection, false)
        .map_err(|e| format!("{}: {e}", args.reference.display()))?;
    let mut generator = Generator::from_file(path).map_err(|e| e.to_string())?;
    let known = generator.info().meters.clone();
    let windows: Vec<(Melody, Meter)> = data::reference_windows_in_meters(&corpus.tunes, 4)
        .into_iter()
        .filter(|(_, _, meter)| known.contains(meter))
        .map(|(m, _, meter)| (m, meter))
        .take(args.count)
        .collect();
    crate::eval::reconstruction::measure(&mut generator, &windows)
}
