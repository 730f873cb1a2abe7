//! `cargo xtask bundle neume --release [--target x86_64-pc-windows-gnu]`: builds the plugin with
//! nice-plug's bundler, then puts the native ONNX Runtime library (with its licence files) where
//! the plugin looks for it: inside the VST3 bundle, and in an `onnxruntime/` folder beside the
//! `.clap` file.
//!
//! Windows builds (cross-compiled with mingw-w64, see `scripts/windows.sh`) go to
//! `target/windows/` (bundles in `target/windows/bundled/`), so that they never overwrite the
//! Linux `Neume.clap` in `target/bundled/`. Windows users have no `cargo install`: beside the
//! bundles go `neume.exe` and the trainer, `neume-train.exe`, built for them here.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The ONNX Runtime version, defined once for the scripts and the bundler.
const ORT_VERSION: &str = include_str!("../../scripts/onnxruntime.version");

/// The platforms the bundler adds the runtime for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Platform {
    Linux,
    Windows,
}

impl Platform {
    /// The platform a `cargo build --target` triple names (none: this machine's, Linux).
    fn of_target(target: Option<&str>) -> Result<Platform, String> {
        match target {
            None => Ok(Platform::Linux),
            Some(t) if t.starts_with("x86_64-") && t.contains("linux") => Ok(Platform::Linux),
            Some("x86_64-pc-windows-gnu") => Ok(Platform::Windows),
            Some(t) => Err(format!(
                "bundling for {t} is not supported here (x86_64 Linux and x86_64-pc-windows-gnu are)"
            )),
        }
    }

    /// The files of the native runtime, as `scripts/fetch-onnxruntime.sh` leaves them.
    fn runtime_files(self) -> [String; 3] {
        let library = match self {
            Platform::Linux => format!("libonnxruntime.so.{}", ORT_VERSION.trim()),
            Platform::Windows => "onnxruntime.dll".into(),
        };
        [library, "LICENSE".into(), "ThirdPartyNotices.txt".into()]
    }

    /// Where the fetch script puts them, and its argument.
    fn runtime_source(self) -> (PathBuf, &'static str) {
        match self {
            Platform::Linux => (PathBuf::from("target/onnxruntime"), "linux"),
            Platform::Windows => (PathBuf::from("target/windows/onnxruntime"), "windows"),
        }
    }

    /// The VST3 bundle's folder for the plugin binary.
    fn vst3_binary_dir(self) -> &'static str {
        match self {
            Platform::Linux => "Neume.vst3/Contents/x86_64-linux",
            Platform::Windows => "Neume.vst3/Contents/x86_64-win",
        }
    }
}

/// The value of `--target` in `args`, if any.
fn target_arg(args: &[String]) -> Option<String> {
    args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--target=") {
        Some(t) => Some(t.to_string()),
        None if a == "--target" => args.get(i + 1).cloned(),
        None => None,
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let platform = match Platform::of_target(target_arg(&args).as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("cargo xtask: {e}");
            std::process::exit(1);
        }
    };
    if platform == Platform::Windows && std::env::var_os("CARGO_TARGET_DIR").is_none() {
        // Read by the bundler's `cargo metadata` and by its `cargo build`.
        std::env::set_var("CARGO_TARGET_DIR", "target/windows");
    }
    if let Err(e) = nice_plug_xtask::main_with_args("cargo xtask", args.clone()) {
        eprintln!("cargo xtask: {e:#}");
        std::process::exit(1);
    }
    if args.first().map(String::as_str) == Some("bundle") && args.iter().any(|a| a == "neume") {
        // The bundler has already changed to the workspace root.
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or("target".into(), PathBuf::from);
        if let Err(e) = add_runtime(&target, platform) {
            eprintln!("cargo xtask: {e}");
            std::process::exit(1);
        }
        if platform == Platform::Windows {
            if let Err(e) = add_trainer(&target, &args) {
                eprintln!("cargo xtask: {e}");
                std::process::exit(1);
            }
        }
    }
}

/// Builds `neume-train.exe` for Windows (the profile and target of `args`) and puts it beside
/// the bundles.
fn add_trainer(target: &Path, args: &[String]) -> Result<(), String> {
    let release = args.iter().any(|a| a == "--release");
    let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    build.args(["build", "--locked", "-p", "neume-train", "--target", "x86_64-pc-windows-gnu"]);
    if release {
        build.arg("--release");
    }
    let status = build.status().map_err(|e| format!("building neume-train: {e}"))?;
    if !status.success() {
        return Err(format!("building neume-train for Windows failed ({status})"));
    }
    let profile = if release { "release" } else { "debug" };
    let built = target.join("x86_64-pc-windows-gnu").join(profile).join("neume-train.exe");
    let dest = target.join("bundled").join("neume-train.exe");
    std::fs::copy(&built, &dest)
        .map_err(|e| format!("copying {} to {}: {e}", built.display(), dest.display()))?;
    eprintln!("Added the trainer as {}", dest.display());
    Ok(())
}

/// Copies the runtime into the bundles, and sets the command line beside them.
fn add_runtime(target: &Path, platform: Platform) -> Result<(), String> {
    let bundled = target.join("bundled");
    // The bundler also packs every binary target as a standalone app; the package's binary is
    // the `neume` command line, not a standalone plugin: on Linux it is dropped, on Windows it
    // is kept as `neume.exe` (Windows users have no `cargo install`).
    match platform {
        Platform::Linux => {
            let _ = std::fs::remove_file(bundled.join("Neume"));
        }
        Platform::Windows => {
            let _ = std::fs::rename(bundled.join("Neume.exe"), bundled.join("neume.exe"));
        }
    }
    let (source, fetch_arg) = platform.runtime_source();
    let files = platform.runtime_files();
    if !source.join(&files[0]).is_file() {
        let status = Command::new("bash")
            .args(["scripts/fetch-onnxruntime.sh", fetch_arg])
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
        bundled.join(platform.vst3_binary_dir()).join("onnxruntime"),
    ];
    for dest in &destinations {
        std::fs::create_dir_all(dest).map_err(|e| format!("creating {}: {e}", dest.display()))?;
        for file in &files {
            std::fs::copy(source.join(file), dest.join(file)).map_err(|e| {
                format!("copying {} to {}: {e}", source.join(file).display(), dest.display())
            })?;
        }
        eprintln!("Added the ONNX Runtime library to {}", dest.display());
    }
    Ok(())
}
