//! `neume-train chords`: how well melodies sit on the chords a producer gives, measured
//! against real four-part chorales (`../shared/data/chorales/`):
//!
//! - over the chords of each chorale's bars 1–4 (`chords.jsonl`), 4-bar melodies in the
//!   chords' key and the chorale's meter, `seeds` seeds each: the share of on-beat notes that
//!   are chord tones and CTnCTR (chord tones plus non-chord tones followed by a step, over
//!   all notes), with the chords typed (named), named from the harmony track alone (as
//!   `--chords-from` names them), and without chords; the real sopranos beside them;
//! - chord naming: each beat of the harmony track (alto, tenor, bass) named by Neume against
//!   the label named from all four voices;
//! - four common progressions in C: the on-beat share, and the classifier two-sample test of
//!   those melodies against the reference tunes' 4/4 windows, with and without the chords.
//!
//! The expectations are the chorales' own labels (`chords.jsonl`), not Neume's naming.

use std::collections::BTreeMap;
use std::path::Path;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::music::chords::{Chord, ChordSpan, Progression};
use neume::music::midi;
use neume::sampling::generate::{generate, GenerateOptions, Scale};

use crate::data::{self, Tune};
use crate::eval::classifier;

/// The four progressions producers use most, one chord a bar, in C.
pub const COMMON_PROGRESSIONS: [&str; 4] = ["C G Am F", "Am F C G", "F G Em Am", "C Am Dm G"];

/// One chorale's labels: its meter and chords, `(start, length, name)` in 16ths.
#[derive(serde::Deserialize)]
struct Labels {
    id: String,
    split: String,
    meter: String,
    chords: Vec<(u32, u32, String)>,
}

/// How a set of melodies sits on its chords.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Fit {
    /// Melodies measured.
    pub melodies: usize,
    /// Notes starting on a beat whose chord is known.
    pub on_beat_notes: usize,
    /// Of those, the share that are chord tones.
    pub on_beat_chord_tones: f64,
    /// (chord tones + non-chord tones followed by a step of 1–2 semitones) / notes under a
    /// chord.
    pub ctnctr: f64,
    /// Share of all notes under a chord that are chord tones.
    pub chord_tones: f64,
}

/// Adds up how `melody` sits on `chords` (steps from the melody's start).
#[derive(Default)]
struct FitSum {
    melodies: usize,
    on_beat: usize,
    on_beat_tones: usize,
    notes: usize,
    tones: usize,
    resolved: usize,
}

impl FitSum {
    fn add(&mut self, melody: &Melody, chords: &Progression, meter: Meter) {
        self.melodies += 1;
        let beat = meter.beat_steps() as u32;
        let notes = &melody.notes;
        for (i, note) in notes.iter().enumerate() {
            let Some(chord) = chords.at(note.start_step) else { continue };
            let tone = chord.contains(note.pitch % 12);
            self.notes += 1;
            if tone {
                self.tones += 1;
            } else if notes
                .get(i + 1)
                .is_some_and(|n| (1..=2).contains(&n.pitch.abs_diff(note.pitch)))
            {
                self.resolved += 1;
            }
            if note.start_step % beat == 0 {
                self.on_beat += 1;
                if tone {
                    self.on_beat_tones += 1;
                }
            }
        }
    }

    fn fit(&self) -> Fit {
        let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        Fit {
            melodies: self.melodies,
            on_beat_notes: self.on_beat,
            on_beat_chord_tones: share(self.on_beat_tones, self.on_beat),
            ctnctr: share(self.tones + self.resolved, self.notes),
            chord_tones: share(self.tones, self.notes),
        }
    }
}

/// What `neume-train chords` prints.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Chorales measured (of the split, with 4 bars).
    pub chorales: usize,
    /// Seeds per chorale.
    pub seeds: usize,
    /// The real sopranos of bars 1–4 on their chords.
    pub real: Fit,
    /// Generated over the labelled chords (typed, as `--chords`).
    pub over_labels: Fit,
    /// Generated over the chords Neume names from the harmony track (`--chords-from`),
    /// measured against the labels.
    pub over_named_harmony: Fit,
    /// Generated without chords, measured against the labels.
    pub without_chords: Fit,
    /// Beats of the harmony track Neume names as the label does (root and quality), of the
    /// labelled beats (`N` labels left out).
    pub naming_accuracy: f64,
    /// Beats of the harmony track whose root Neume names as the label does.
    pub naming_root_accuracy: f64,
    pub naming_beats: usize,
    /// Over each common progression: the fit.
    pub progressions: BTreeMap<String, Fit>,
    /// Classifier two-sample accuracy of the progressions' melodies against the reference's
    /// 4/4 windows (0.5: indistinguishable), and of as many melodies without chords.
    pub progressions_classifier: f64,
    pub progressions_classifier_spread: f64,
    pub without_chords_classifier: f64,
    pub without_chords_classifier_spread: f64,
}

/// The labelled progression of a chorale's first `bars` bars.
fn labelled(labels: &Labels, meter: Meter, bars: u32) -> Result<Progression, String> {
    let end = bars * meter.bar_steps() as u32;
    let mut spans = Vec::new();
    for (start, len, name) in &labels.chords {
        if *start >= end {
            break;
        }
        let chord = if name == "N" {
            None
        } else {
            Some(Chord::parse(name).map_err(|e| format!("{}: {e}", labels.id))?)
        };
        spans.push(ChordSpan { start_step: *start, len_steps: (*len).min(end - start), chord });
    }
    Ok(Progression { spans, len_steps: end, meter })
}

/// Runs the measures: `chorales` is the chorale folder (with `chords.jsonl` and the split's
/// subfolder), `reference` the tunes whose 4/4 windows the classifier compares with.
pub fn run(
    generator: &mut Generator,
    chorales: &Path,
    split: &str,
    reference: &[Tune],
    seeds: usize,
    count: usize,
) -> Result<Report, String> {
    let labels_path = chorales.join("chords.jsonl");
    let text = std::fs::read_to_string(&labels_path)
        .map_err(|e| format!("{}: {e}", labels_path.display()))?;
    let (mut real, mut over_labels, mut over_named, mut without) =
        (FitSum::default(), FitSum::default(), FitSum::default(), FitSum::default());
    let (mut named_beats, mut named_same, mut named_root) = (0usize, 0usize, 0usize);
    let mut chorales_used = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let labels: Labels =
            serde_json::from_str(line).map_err(|e| format!("{}: {e}", labels_path.display()))?;
        if labels.split != split {
            continue;
        }
        // A chorale in a meter Neume writes as two bars of another (3/2) is left out.
        let Ok(meter) = Meter::parse(&labels.meter) else { continue };
        let path = chorales.join(split).join(format!("{}.mid", labels.id));
        let file = midi::read_file(&path).map_err(|e| e.to_string())?;
        let bar = meter.bar_steps() as u32;
        if file.melody.len_steps < 4 * bar {
            continue;
        }
        chorales_used += 1;
        let chords = labelled(&labels, meter, 4)?;
        real.add(&file.melody.window(0, 4 * bar), &chords, meter);
        // Naming: every beat of the whole chorale.
        let whole_bars = file.melody.len_steps.div_ceil(bar).min(16);
        let named_all = Progression::from_notes(&file.harmony, meter, whole_bars);
        let all_labels = labelled(&labels, meter, whole_bars)?;
        let beat = meter.beat_steps() as u32;
        for b in 0..whole_bars * bar / beat {
            if let Some(label) = all_labels.at(b * beat) {
                named_beats += 1;
                let named = named_all.at(b * beat);
                if named.is_some_and(|n| n.root == label.root && n.quality == label.quality) {
                    named_same += 1;
                }
                if named.is_some_and(|n| n.root == label.root) {
                    named_root += 1;
                }
            }
        }
        let named = Progression::from_notes(&file.harmony, meter, 4);
        let key = chords.key();
        for seed in 0..seeds as u64 {
            let options = |progression: Option<Progression>| GenerateOptions {
                bars: 4,
                seed: seed + 1,
                key_root: key.map_or(0, |k| k.tonic),
                scale: key.map(|k| if k.minor { Scale::Minor } else { Scale::Major }),
                meter,
                chords: progression,
                ..GenerateOptions::default()
            };
            let sing = |g: &mut Generator, p| generate(g, &options(p)).map_err(|e| e.to_string());
            over_labels.add(&sing(generator, Some(chords.clone()))?, &chords, meter);
            over_named.add(&sing(generator, Some(named.clone()))?, &chords, meter);
            without.add(&sing(generator, None)?, &chords, meter);
        }
    }
    // The common progressions, and the classifier against the reference's 4/4 windows.
    let mut progressions = BTreeMap::new();
    let (mut with_chords, mut plain) = (Vec::new(), Vec::new());
    let per = count.div_ceil(COMMON_PROGRESSIONS.len());
    for text in COMMON_PROGRESSIONS {
        let chords = Progression::parse(text, Meter::FourFour)?;
        let mut sum = FitSum::default();
        for seed in 0..per as u64 {
            let options = |progression: Option<Progression>| GenerateOptions {
                bars: 4,
                seed: 1000 + seed,
                scale: Some(Scale::Major),
                chords: progression,
                ..GenerateOptions::default()
            };
            let melody =
                generate(generator, &options(Some(chords.clone()))).map_err(|e| e.to_string())?;
            sum.add(&melody, &chords, Meter::FourFour);
            with_chords.push(melody);
            plain.push(generate(generator, &options(None)).map_err(|e| e.to_string())?);
        }
        progressions.insert(text.to_string(), sum.fit());
    }
    let windows: Vec<(Melody, usize)> = data::reference_windows_in_meters(reference, 4)
        .into_iter()
        .filter(|(_, _, m)| *m == Meter::FourFour)
        .map(|(m, i, _)| (m, i))
        .collect();
    let with_test = classifier::two_sample(&classifier::ungrouped(&with_chords), &windows, 5, 1);
    let plain_test = classifier::two_sample(&classifier::ungrouped(&plain), &windows, 5, 1);
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    Ok(Report {
        chorales: chorales_used,
        seeds,
        real: real.fit(),
        over_labels: over_labels.fit(),
        over_named_harmony: over_named.fit(),
        without_chords: without.fit(),
        naming_accuracy: share(named_same, named_beats),
        naming_root_accuracy: share(named_root, named_beats),
        naming_beats: named_beats,
        progressions,
        progressions_classifier: with_test.accuracy,
        progressions_classifier_spread: with_test.spread,
        without_chords_classifier: plain_test.accuracy,
        without_chords_classifier_spread: plain_test.spread,
    })
}
