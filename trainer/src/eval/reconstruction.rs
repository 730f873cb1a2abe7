//! Whether a model gives a melody back: each reference window encoded (its posterior mean)
//! and decoded at temperature 0, compared note by note. This is what a variation at Amount 0
//! rests on.

use std::collections::BTreeSet;

use neume::encoding::{Melody, Meter};
use neume::model::runtime::Generator;
use neume::sampling::generate::{generate, Form, GenerateOptions};

/// Reconstruction figures over a set of windows.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Reconstruction {
    /// Windows encoded and decoded.
    pub windows: usize,
    /// Mean note-level similarity of each window and its reconstruction: |common| / |union| of
    /// their notes, notes equal when onset, pitch and duration all agree.
    pub note_similarity: f64,
    /// Mean share of each window's notes given back exactly.
    pub note_recall: f64,
    /// Share of windows given back whole (every note, nothing more).
    pub exact: f64,
}

/// A melody's notes as (onset, pitch, length).
pub fn note_set(melody: &Melody) -> BTreeSet<(u32, u8, u32)> {
    melody.notes.iter().map(|n| (n.start_step, n.pitch, n.len_steps)).collect()
}

/// Note-level similarity of two melodies: |common| / |union| of their notes, notes equal when
/// onset, pitch and length all agree (1 for two empty ones).
pub fn similarity(a: &Melody, b: &Melody) -> f64 {
    let (a, b) = (note_set(a), note_set(b));
    let union = a.union(&b).count();
    if union == 0 {
        1.0
    } else {
        a.intersection(&b).count() as f64 / union as f64
    }
}

/// Encodes and decodes each of `windows` (4 bars in the model's frame, with their meters).
pub fn measure(
    generator: &mut Generator,
    windows: &[(Melody, Meter)],
) -> Result<Reconstruction, String> {
    let (mut similarity, mut recall, mut exact) = (0.0, 0.0, 0usize);
    for (window, meter) in windows {
        let tokens = window.to_tokens(0);
        // The window as the model can hold it (pitches folded into its range).
        let want = note_set(&Melody::from_tokens(&tokens));
        let encoded = generator.encode_with_detail(&tokens).map_err(|e| e.to_string())?;
        let options = GenerateOptions {
            bars: 4,
            temperature: Some(0.0),
            latent: Some(encoded.mu),
            detail: Some(encoded.detail),
            meter: *meter,
            form: Form::Through,
            ..GenerateOptions::default()
        };
        let got = note_set(&generate(generator, &options).map_err(|e| e.to_string())?);
        let common = want.intersection(&got).count() as f64;
        let union = want.union(&got).count().max(1) as f64;
        similarity += common / union;
        recall += common / want.len().max(1) as f64;
        exact += usize::from(want == got);
    }
    let n = windows.len().max(1) as f64;
    Ok(Reconstruction {
        windows: windows.len(),
        note_similarity: similarity / n,
        note_recall: recall / n,
        exact: exact as f64 / n,
    })
}
