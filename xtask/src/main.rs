//! `cargo xtask bundle neume --release`: builds the plugin with nice-plug's bundler, then puts
//! the native ONNX Runtime library (with its licence files) where the plugin looks for it:
//! inside the VST3 bundle, and in an `onnxruntime/` folder beside the `.clap` file.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ONNX Runtime version, defined once for the scripts and the bundler.
const ORT_VERSION: &str = include_str!("../../scripts/onnxruntime.version");

/// Files of the native runtime, as `scripts/fetch-onnxruntime.sh` leaves them.
fn runtime_files() -> [String; 3] {
    [
        format!("libonnxruntime.so.{}", ORT_VERSION.trim()),
        "LICENSE".into(),
        "ThirdPartyNotices.txt".into(),
    ]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = nice_plug_xtask::main_with_args("cargo xtask", args.clone()) {
        eprintln!("cargo xtask: {e:#}");
        std::process::exit(1);
    }
    if args.first().map(String::as_str) == Some("bundle") && args.iter().any(|a| a == "neume") {
        if let Err(e) = add_runtime(Path::new("target")) {
            eprintln!("cargo xtask: {e}");
            std::process::exit(1);
        }
    }
}

/// Copies the runtime into the bundles (the bundler has already changed to the workspace root).
fn add_runtime(target: &Path) -> Result<(), String> {
    let bundled = target.join("bundled");
    // The bundler also packs every binary target as a standalone app; the package's binary is
    // the `neume` command line, not a standalone plugin, so it does not belong here.
    let _ = std::fs::remove_file(bundled.join("Neume"));
    let source = target.join("onnxruntime");
    if !source.join(&runtime_files()[0]).is_file() {
        let status = Command::new("bash")
            .arg("scripts/fetch-onnxruntime.sh")
            .status()
            .map_err(|e| format!("running scripts/fetch-onnxruntime.sh: {e}"))?;
        if !status.success() {
            eprintln!(
                "cargo xtask: warning: could not fetch the ONNX Runtime library ({status}); the bundles will run on the built-in pure-Rust backend"
            );
            return Ok(());
        }
    }
    let destinations: Vec<PathBuf> = vec![
        bundled.join("onnxruntime"),
        bundled.join("Neume.vst3/Contents/x86_64-linux/onnxruntime"),
    ];
    for dest in &destinations {
        std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
        for file in runtime_files() {
            std::fs::copy(source.join(&file), dest.join(&file)).map_err(|e| {
                format!("copying {} to {}: {e}", source.join(&file).display(), dest.display())
            })?;
        }
        eprintln!("Added the ONNX Runtime library to {}", dest.display());
    }
    Ok(())
}
