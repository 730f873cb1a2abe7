#!/usr/bin/env bash
# Puts the native ONNX Runtime library (version: scripts/onnxruntime.version) and its licence
# where the tests and the bundler take it from, out of PyPI's onnxruntime wheel. Neume works
# without it (pure-Rust fallback), but the native library is faster and the tests check both.
#
#   scripts/fetch-onnxruntime.sh           Linux x86_64: target/onnxruntime/libonnxruntime.so.<version>
#   scripts/fetch-onnxruntime.sh windows   Windows x86_64: target/windows/onnxruntime/onnxruntime.dll
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(tr -d '[:space:]' < scripts/onnxruntime.version)
case "${1:-linux}" in
    linux)
        dest=target/onnxruntime
        lib="libonnxruntime.so.$version"
        pip_platform=()
        ;;
    windows)
        dest=target/windows/onnxruntime
        lib="onnxruntime.dll"
        # Any CPython's wheel carries the same DLL; 3.11 is one PyPI has for every version.
        pip_platform=(--platform win_amd64 --python-version 3.11)
        ;;
    *)
        echo "usage: $0 [linux|windows]" >&2
        exit 2
        ;;
esac
# `version` records which release is there (the DLL's name carries none).
[ -f "$dest/$lib" ] && [ "$(cat "$dest/version" 2>/dev/null)" = "$version" ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    "${pip_platform[@]}" "onnxruntime==$version" -d "$tmp"
python3 - "$tmp" "$dest" "$lib" <<'PY'
import glob, sys, zipfile
tmp, dest, lib = sys.argv[1], sys.argv[2], sys.argv[3]
wheel = glob.glob(f"{tmp}/onnxruntime-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    for name, out in [(f"onnxruntime/capi/{lib}", lib),
                      ("onnxruntime/LICENSE", "LICENSE"),
                      ("onnxruntime/ThirdPartyNotices.txt", "ThirdPartyNotices.txt")]:
        with open(f"{dest}/{out}", "wb") as f:
            f.write(z.read(name))
PY
echo "$version" > "$dest/version"
echo "ONNX Runtime $version installed in $dest"
