#!/usr/bin/env bash
# Puts the native ONNX Runtime 1.31.1 library (and its licence) into target/onnxruntime/,
# taken from PyPI's onnxruntime wheel. Neume works without it (pure-Rust fallback), but
# the native library is faster and the tests check both.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=target/onnxruntime
lib="$dest/libonnxruntime.so.1.31.1"
[ -f "$lib" ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "onnxruntime==1.31.1" -d "$tmp"
python3 - "$tmp" "$dest" <<'PY'
import glob, sys, zipfile
tmp, dest = sys.argv[1], sys.argv[2]
wheel = glob.glob(f"{tmp}/onnxruntime-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name, out in [("onnxruntime/capi/libonnxruntime.so.1.31.1", "libonnxruntime.so.1.31.1"),
                      ("onnxruntime/LICENSE", "LICENSE"),
                      ("onnxruntime/ThirdPartyNotices.txt", "ThirdPartyNotices.txt")]:
        with open(f"{dest}/{out}", "wb") as f:
            f.write(z.read(name))
PY
echo "ONNX Runtime installed in $dest"
