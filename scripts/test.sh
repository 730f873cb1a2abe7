#!/usr/bin/env bash
# Runs Neume's whole test suite. Installs what the tests need first (once):
# the ONNX Runtime library (from PyPI's onnxruntime wheel) into target/onnxruntime/,
# and the Python `onnx` checker and `mido` MIDI reader used as independent tools.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/fetch-onnxruntime.sh

if ! python3 -c "import onnx, mido" 2>/dev/null; then
    python3 -m pip install --quiet --disable-pip-version-check "onnx==1.23.2" "mido==1.3.3"
fi

export NEUME_ORT_LIB="$PWD/target/onnxruntime/libonnxruntime.so.$(tr -d '[:space:]' < scripts/onnxruntime.version)"
# `cargo test` never builds the plugin's cdylib (target/debug/libneume.so), which the host
# tests load: build every target first (same features as the tests, so nothing builds twice).
cargo build --workspace --all-targets --locked
cargo test --workspace --locked "$@"
# The docs check: links resolve, commands name what exists, the README's two commands are
# the ones CI runs (its generate command run through the debug build).
python3 scripts/check-docs.py --neume target/debug/neume
# The Windows build under Wine (scripts/windows.sh; skipped with a message outside CI when the
# Rust target, mingw-w64 or Wine are missing).
bash scripts/windows.sh test
# The macOS targets, compiled (scripts/macos.sh; no macOS SDK here to link or run them).
bash scripts/macos.sh check
