//! Timing helpers shared by the benches (`#[path]`-included).

#![allow(dead_code)]

use std::time::Instant;

/// Runs `f` once per index in `0..runs` and returns each run's wall time in `unit_per_second`
/// units (1e6 for µs, 1e3 for ms).
pub fn time_runs(runs: u64, unit_per_second: f64, mut f: impl FnMut(u64)) -> Vec<f64> {
    (0..runs)
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed().as_secs_f64() * unit_per_second
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Prints the median, p99 and p99.9 of `values`.
pub fn report(name: &str, unit: &str, mut values: Vec<f64>) {
    values.sort_by(f64::total_cmp);
    println!(
        "{name:<44} median {:>8.2} {unit}   p99 {:>8.2} {unit}   p99.9 {:>8.2} {unit}   ({} runs)",
        percentile(&values, 0.5),
        percentile(&values, 0.99),
        percentile(&values, 0.999),
        values.len()
    );
}
