//! Audio analysis for the tests that render Neume's Preview voice.

/// The frequency of a periodic stretch of audio at `rate` samples a second, from its first and
/// last rising zero crossings, each placed between its two samples by linear interpolation;
/// 0 when it has fewer than three (silence, or too short to tell).
pub fn frequency(samples: &[f32], rate: f64) -> f64 {
    let crossings: Vec<f64> = samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, w)| i as f64 + f64::from(w[0] / (w[0] - w[1])))
        .collect();
    if crossings.len() < 3 {
        return 0.0;
    }
    let (first, last) = (crossings[0], crossings[crossings.len() - 1]);
    (crossings.len() - 1) as f64 / ((last - first) / rate)
}
