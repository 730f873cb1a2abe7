//! `cargo bench --bench generate`: how long the default model takes, per model run and per
//! complete 4-bar melody (model run + sampling), on the backend this process picks.

use std::time::Instant;

use neume::generate::{generate, GenerateOptions};

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn report(name: &str, mut micros: Vec<f64>) {
    micros.sort_by(f64::total_cmp);
    println!(
        "{name:<28} median {:>8.1} µs   p99 {:>8.1} µs   ({} runs)",
        percentile(&micros, 0.5),
        percentile(&micros, 0.99),
        micros.len()
    );
}

fn main() {
    let started = Instant::now();
    let mut generator = neume::default_generator().expect("the default model loads");
    println!("backend: {}; load + warm-up {:.1} ms", generator.backend(), started.elapsed().as_secs_f64() * 1e3);
    let z = vec![0.3f32; generator.info().latent_size];
    let runs = 2000;
    let model: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(generator.run(&z).expect("model runs"));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    report("model run (batch 1)", model);
    let melody: Vec<f64> = (0..runs as u64)
        .map(|seed| {
            let t = Instant::now();
            let options = GenerateOptions { seed, ..GenerateOptions::default() };
            std::hint::black_box(generate(&mut generator, &options).expect("generates"));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    report("4-bar melody (run + sample)", melody);
}
