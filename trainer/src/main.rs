//! `neume-train`: learn a melody generator from a folder of MIDI files, evaluate it with
//! music statistics, export the ONNX file Neume plays.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;

use cli::{Cli, Command};

use neume_train::device;

/// One function per command (`commands.rs`).
fn run() -> Result<(), String> {
    match Cli::parse().command {
        Command::Train(args) => commands::train(args),
        Command::Eval(args) => commands::evaluate(args),
        Command::Bench(args) => commands::bench(args),
        Command::Clips(args) => commands::clips(args),
        Command::Chords(args) => commands::chords(args),
        Command::Copies(args) => commands::copies(args),
        Command::Infill(args) => commands::infill(args),
        Command::Key(args) => commands::key(args),
        Command::ListenerBench(args) => commands::listener_bench(args),
        Command::Tune(args) => commands::tune(args),
        Command::Ratings(args) => commands::ratings(args),
        Command::Parity => commands::parity(),
        Command::Export(args) => commands::export(args),
    }
}

/// Keeps freed tensor memory in the process. glibc's defaults hand every buffer of a few
/// megabytes back to the kernel when it is freed (mmap, then trim), so each training step paid
/// for fresh zeroed pages (the cost, measured by `neume-train bench --device cpu`, is in
/// docs/training.md). 32 MiB is the largest threshold glibc accepts.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only changes allocator tunables; it is called before any other thread
    // exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    if std::env::var_os(device::PROBE_ENV).is_some() {
        return device::probe_main();
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
