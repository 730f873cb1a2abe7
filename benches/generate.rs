//! `cargo bench --bench generate`: how long the default model takes, per decoder step, per
//! complete 4-bar melody (64 steps + sampling), per 4- and 16-bar melody in 9/8 (the longest
//! bars) and per encoder run, on the backend this
//! process picks (`NEUME_ORT_LIB=/nonexistent` forces tract).

#[path = "support/stats.rs"]
mod stats;

use std::time::Instant;

use neume::sampling::generate::{generate, GenerateOptions};
use stats::{report, time_runs};

fn main() {
    let started = Instant::now();
    // NEUME_BENCH_MODEL: another model file to time instead of the default.
    let mut generator = match std::env::var_os("NEUME_BENCH_MODEL") {
        Some(path) => neume::model::runtime::Generator::from_file(std::path::Path::new(&path))
            .expect("the model loads"),
        None => neume::default_generator().expect("the default model loads"),
    };
    println!(
        "backend: {}; load + warm-up {:.1} ms",
        generator.backend(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let x = vec![0.0f32; generator.info().step_input()];
    let mut state = generator.start();
    let runs = 2000;
    report(
        "decoder step (batch 1)",
        "µs",
        time_runs(runs * 10, 1e6, |_| {
            std::hint::black_box(generator.step(&x, &mut state).expect("model runs"));
        }),
    );
    report(
        "4-bar melody (64 steps + sampling)",
        "µs",
        time_runs(runs, 1e6, |seed| {
            let options = GenerateOptions { seed, ..GenerateOptions::default() };
            std::hint::black_box(generate(&mut generator, &options).expect("generates"));
        }),
    );
    // The longest bars: 4 bars of 9/8 are 72 steps, 16 bars 288 (song form).
    for bars in [4usize, 16] {
        report(
            &format!("{bars}-bar melody in 9/8 ({} steps + sampling)", bars * 18),
            "µs",
            time_runs(runs / bars as u64, 1e6, |seed| {
                let options = GenerateOptions {
                    seed,
                    bars,
                    meter: neume::encoding::Meter::NineEight,
                    ..GenerateOptions::default()
                };
                std::hint::black_box(generate(&mut generator, &options).expect("generates"));
            }),
        );
    }
    let window = vec![neume::encoding::Token::Hold; generator.info().steps()];
    report(
        "encoder run (4-bar window)",
        "µs",
        time_runs(runs, 1e6, |_| {
            std::hint::black_box(generator.encode(&window).expect("encoder runs"));
        }),
    );
}
