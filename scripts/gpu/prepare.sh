#!/usr/bin/env bash
# Prepares everything the GPU device run needs, here (x86_64, with Rust and network), into
# .device/ (ignored by git; name it in the device tool's `carry`):
#   .device/neume-train.xz   the trainer built with `--features gpu` (Vulkan), compressed
#   .device/melodies.tar.xz  the corpus splits (not committed: parts are non-commercial)
#   .device/gl/*.deb         Vulkan/GL loader packages, in case the device has none
# Then, with the device tool: run `bash scripts/gpu/device-run.sh` with carry [".device"].
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .device/gl /tmp/amd64/partial
cargo build --release -p neume-train --features gpu --target-dir target/gpu
xz -T2 -6 -c target/gpu/release/neume-train > .device/neume-train.xz
tar -C ../shared/data -cJf .device/melodies.tar.xz melodies/train melodies/valid melodies/test
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update >/dev/null
(cd .device/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .device/*
