//! Making melodies does not grow the process: every run's outputs are released (`ort`
//! 2.0.0-rc.14 leaked about 50 KB per 4-bar melody with ONNX Runtime and 30 KB with tract, so
//! the plugin grew with every knob move). Linux only (it reads the resident set size).
#![cfg(target_os = "linux")]

use neume::sampling::generate::{generate, GenerateOptions};

/// Resident set size in KiB (`VmRSS` of /proc/self/status).
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line =
        status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn four_hundred_melodies_leave_the_process_its_size() {
    let mut generator = neume::default_generator().unwrap();
    let make = |generator: &mut neume::model::runtime::Generator, seed: u64| {
        let options = GenerateOptions { seed, ..GenerateOptions::default() };
        generate(generator, &options).unwrap();
    };
    // Warm up: the runtime's arenas and the allocator's pools reach their size.
    for seed in 0..100 {
        make(&mut generator, seed);
    }
    let before = resident_kib();
    for seed in 100..500 {
        make(&mut generator, seed);
    }
    let grown = resident_kib().saturating_sub(before);
    // The leak was 12–20 MiB over these 400 melodies; allow a little allocator noise.
    assert!(
        grown < 4 * 1024,
        "400 melodies grew the process by {grown} KiB ({}): a run's outputs are not released",
        generator.backend()
    );
}
