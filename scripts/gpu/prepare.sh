#!/usr/bin/env bash
# Prepares, here (x86_64, with Rust and network), everything the GPU device run needs, in
# .device/ (ignored by git; name it in the device tool's `carry`, 64 MiB at most):
#   .device/neume-train.xz   the trainer built with `--features gpu` (Vulkan), compressed
#   .device/gpu-tests.xz     trainer/tests/gpu.rs built the same way
#   .device/melodies.tar.xz  the corpus splits (not committed: parts are non-commercial)
#   .device/gl/*.deb         Debian's Vulkan/GL loader packages, for a machine that has none
# Then, with the device tool: `bash scripts/gpu/device-run.sh` with carry [".device"].
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device/gl
cargo build --release --locked -p neume-train --features gpu --target-dir target/gpu
xz -T2 -6 -c target/gpu/release/neume-train > .device/neume-train.xz
tests=$(cargo test --release --locked -p neume-train --features gpu --target-dir target/gpu --test gpu --no-run \
    --message-format=json | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "gpu" and m.get("executable"):
        print(m["executable"])')
xz -T2 -6 -c "$tests" > .device/gpu-tests.xz
tar -C ../shared/data -cJf .device/melodies.tar.xz melodies/train melodies/valid melodies/test
lists=$(mktemp -d)
o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
mkdir -p "$lists/partial"
apt-get $o update > /dev/null
(cd .device/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .device/*; du -sh .device
total=$(du -sm .device | cut -f1)
[ "$total" -lt 64 ] || { echo "error: .device is $total MiB; the device tool carries 64 MiB at most" >&2; exit 1; }
