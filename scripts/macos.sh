#!/usr/bin/env bash
# Neume for macOS, checked on Linux. There is no macOS SDK here, so nothing is linked or run:
# `cargo check` compiles the plugin and the `neume` CLI for both Mac targets, which covers the
# code that differs there (drag-out through the OS, `libonnxruntime.dylib` in the bundle's
# `Contents/MacOS` or `Contents/Frameworks`).
#
#   scripts/macos.sh setup    installs the Rust targets and clang (tract's build script
#                             assembles its kernels with the C compiler, which must understand
#                             Apple's `-arch`); `.ci/run` calls it
#   scripts/macos.sh check    checks both targets; `scripts/test.sh` calls it. Without the
#                             tools it skips with a message, except under CI, where that is a
#                             failure.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=(aarch64-apple-darwin x86_64-apple-darwin)

# What the check needs that is not installed, one item a line.
missing() {
    command -v clang >/dev/null || echo "clang (Debian package clang)"
    local installed
    installed=$(rustup target list --installed 2>/dev/null || true)
    for target in "${TARGETS[@]}"; do
        grep -qx "$target" <<<"$installed" || echo "the Rust target $target"
    done
}

setup() {
    rustup target add "${TARGETS[@]}"
    if ! command -v clang >/dev/null; then
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends clang
    fi
}

check() {
    local absent
    absent=$(missing | paste -sd, -)
    if [ -n "$absent" ]; then
        if [ -n "${CI:-}" ]; then
            echo "macOS check: missing $absent (bash scripts/macos.sh setup installs them)" >&2
            exit 1
        fi
        echo "macOS check skipped: missing $absent (bash scripts/macos.sh setup installs them)"
        return 0
    fi
    for target in "${TARGETS[@]}"; do
        CC_aarch64_apple_darwin=clang CC_x86_64_apple_darwin=clang \
            cargo check --locked --target "$target" -p neume --lib --bins
    done
    echo "macOS check: the plugin and the CLI compile for ${TARGETS[*]}"
}

case "${1:-}" in
    setup) setup ;;
    check) check ;;
    *)
        echo "usage: $0 setup|check" >&2
        exit 2
        ;;
esac
