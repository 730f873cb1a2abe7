//! `neume-train copies`: the copy index of a training folder (`neume::music::copies`), its
//! run span chosen on held-out tunes (at most `max_flagged` of their 4-bar windows flagged
//! against the training tunes), the share of the training tunes' own 4-bar windows it flags
//! (each is a copy: all should be), and the copy rate of a model's melodies beside theirs.

use std::collections::BTreeMap;
use std::path::Path;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::music::copies::CopyIndex;
use neume::sampling::generate::{generate, GenerateOptions};

use crate::data::Tune;

/// A shared run this long (in quarters of a bar: 6 bars) marks a held-out tune as a training
/// tune again.
const DUPLICATE_SPAN: u32 = 24;

/// The spans tried, in quarters of a bar: 2 to 4 bars.
const SPANS: std::ops::RangeInclusive<u32> = 8..=16;

/// What `neume-train copies` prints.
#[derive(Debug, serde::Serialize)]
pub struct Report {
    /// Training tunes indexed.
    pub tunes: usize,
    /// The run span chosen, in quarters of a bar.
    pub span_quarters: u32,
    /// Entries and bytes of the index written.
    pub entries: usize,
    pub bytes: usize,
    /// Share of the held-out tunes' 4-bar windows flagged, by span tried (quarters of a bar).
    pub held_out_flagged_by_span: BTreeMap<u32, f64>,
    /// Share of the training tunes' own 4-bar windows flagged at the chosen span: melodies
    /// made of a training tune's notes, each a copy.
    pub training_windows_flagged: f64,
    pub training_windows: usize,
    /// Held-out windows measured (those of held-out tunes that are not training tunes again).
    pub held_out_windows: usize,
    /// Held-out tunes that are a training tune again (a shared run of 32 notes), of all.
    pub held_out_duplicates: usize,
    pub held_out_tunes: usize,
    /// Share of a model's 4-bar melodies flagged at the chosen length (none without a model).
    pub generated_flagged: Option<f64>,
    pub generated: usize,
}

/// The name a tune is reported by: its collection (folder) and its file's stem.
pub fn tune_name(tune: &Tune) -> String {
    let collection = tune
        .path
        .parent()
        .and_then(|p| p.file_name())
        .map_or(String::new(), |s| s.to_string_lossy().into_owned());
    let stem = tune.path.file_stem().map_or(String::new(), |s| s.to_string_lossy().into_owned());
    format!("{collection}/{stem}")
}

/// Tunes as the copy index takes them: their name, melody and meter.
pub fn named_tunes(tunes: &[Tune]) -> Vec<(String, Melody, Meter)> {
    tunes.iter().map(|t| (tune_name(t), t.melody.clone(), t.meter)).collect()
}

/// Share of `melodies` flagged by `index`.
fn flagged(index: &CopyIndex, melodies: &[(Melody, Meter)]) -> f64 {
    let n = melodies.iter().filter(|(m, meter)| index.check(m, *meter).is_some()).count();
    n as f64 / melodies.len().max(1) as f64
}

/// Builds the index of `train`, its run span the shortest of 2 to 4 bars (in quarter bars) at
/// which at most `max_flagged` of `held_out`'s 4-bar windows are flagged; measures the
/// training tunes' own windows, and `count` melodies of `generator` when given; writes the
/// index to `out`.
pub fn run(
    train: &[Tune],
    held_out: &[Tune],
    max_flagged: f64,
    generator: Option<&mut Generator>,
    count: usize,
    out: &Path,
) -> Result<Report, String> {
    let named = named_tunes(train);
    // Held-out tunes that are a training tune again (the corpus holds some tunes in two
    // collections, or twice): they share a run of DUPLICATE_SPAN with one. Their windows are
    // copies in fact, not what the span is chosen on; they are counted apart.
    let whole = CopyIndex::build(&named, DUPLICATE_SPAN, "");
    let duplicates: Vec<usize> = held_out
        .iter()
        .enumerate()
        .filter(|(_, t)| whole.check(&t.melody, t.meter).is_some())
        .map(|(i, _)| i)
        .collect();
    let windows: Vec<(Melody, Meter)> = crate::data::reference_windows_in_meters(held_out, 4)
        .into_iter()
        .filter(|(_, tune, _)| duplicates.binary_search(tune).is_err())
        .map(|(m, _, meter)| (m, meter))
        .collect();
    let model_id = generator
        .as_ref()
        .and_then(|g| g.info().model_id().map(str::to_string))
        .unwrap_or_default();
    let mut by_span = BTreeMap::new();
    let mut chosen = None;
    for span in SPANS {
        let index = CopyIndex::build(&named, span, &model_id);
        let share = flagged(&index, &windows);
        by_span.insert(span, share);
        if share <= max_flagged {
            chosen = Some(index);
            break;
        }
    }
    let index =
        chosen.ok_or("no run span up to 4 bars keeps the held-out tunes under the limit")?;
    let own: Vec<(Melody, Meter)> = crate::data::reference_windows_in_meters(train, 4)
        .into_iter()
        .map(|(m, _, meter)| (m, meter))
        .collect();
    let (generated_flagged, generated) = match generator {
        Some(g) => {
            let meters = g.info().meters.clone();
            let mut melodies = Vec::with_capacity(count);
            for i in 0..count {
                let meter = meters[i % meters.len().max(1)];
                let options =
                    GenerateOptions { bars: 4, seed: 1 + i as u64, meter, ..Default::default() };
                melodies.push((generate(g, &options).map_err(|e| e.to_string())?, meter));
            }
            (Some(flagged(&index, &melodies)), melodies.len())
        }
        None => (None, 0),
    };
    let bytes = index.to_bytes();
    std::fs::write(out, &bytes).map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(Report {
        tunes: train.len(),
        span_quarters: index.span_quarters,
        entries: index.len(),
        bytes: bytes.len(),
        held_out_flagged_by_span: by_span,
        training_windows_flagged: flagged(&index, &own),
        training_windows: own.len(),
        held_out_windows: windows.len(),
        held_out_duplicates: duplicates.len(),
        held_out_tunes: held_out.len(),
        generated_flagged,
        generated,
    })
}
