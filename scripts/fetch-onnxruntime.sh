#!/usr/bin/env bash
# Puts the native ONNX Runtime library (version: scripts/onnxruntime.version) and its licence
# into target/onnxruntime/, taken from PyPI's onnxruntime wheel. Neume works without it (pure-Rust
# fallback), but the native library is faster and the tests check both.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(tr -d '[:space:]' < scripts/onnxruntime.version)
dest=target/onnxruntime
lib="$dest/libonnxruntime.so.$version"
[ -f "$lib" ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "onnxruntime==$version" -d "$tmp"
python3 - "$tmp" "$dest" "$version" <<'PY'
import glob, sys, zipfile
tmp, dest, version = sys.argv[1], sys.argv[2], sys.argv[3]
wheel = glob.glob(f"{tmp}/onnxruntime-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name, out in [(f"onnxruntime/capi/libonnxruntime.so.{version}", f"libonnxruntime.so.{version}"),
                      ("onnxruntime/LICENSE", "LICENSE"),
                      ("onnxruntime/ThirdPartyNotices.txt", "ThirdPartyNotices.txt")]:
        with open(f"{dest}/{out}", "wb") as f:
            f.write(z.read(name))
PY
echo "ONNX Runtime installed in $dest"
