//! `cargo bench --bench generate`: how long the default model takes, per model run and per
//! complete 4-bar melody (model run + sampling), on the backend this process picks.

#[path = "support/stats.rs"]
mod stats;

use std::time::Instant;

use neume::generate::{generate, GenerateOptions};
use stats::{report, time_runs};

fn main() {
    let started = Instant::now();
    let mut generator = neume::default_generator().expect("the default model loads");
    println!("backend: {}; load + warm-up {:.1} ms", generator.backend(), started.elapsed().as_secs_f64() * 1e3);
    let z = vec![0.3f32; generator.info().latent_size];
    let runs = 2000;
    report("model run (batch 1)", "µs", time_runs(runs, 1e6, |_| {
        std::hint::black_box(generator.run(&z).expect("model runs"));
    }));
    report("4-bar melody (run + sample)", "µs", time_runs(runs, 1e6, |seed| {
        let options = GenerateOptions { seed, ..GenerateOptions::default() };
        std::hint::black_box(generate(&mut generator, &options).expect("generates"));
    }));
}
