#!/usr/bin/env bash
# Neume for Windows, built on Linux with mingw-w64 and run with Wine. Windows builds live in
# target/windows/ (as `cargo xtask bundle neume --release --target x86_64-pc-windows-gnu` puts them).
#
#   scripts/windows.sh setup          installs the Rust target, Debian's mingw-w64 linker and
#                                     Wine, and the Windows ONNX Runtime DLL
#                                     (target/windows/onnxruntime/); `.ci/run` calls it
#   scripts/windows.sh test           builds Neume's tests for Windows and runs them under Wine:
#                                     the library, the runtime, the CLI, the MIDI files, the
#                                     plugin in the project's CLAP host (notes to the sample, no
#                                     stuck notes, state, thru, offline render), the worker and
#                                     the transport property test; the editor in a Win32 window
#                                     on an Xvfb display (screenshot from the X server); then
#                                     `cli debug`.
#                                     `scripts/test.sh` calls it. Without the tools it skips with
#                                     a message, except under CI, where that is a failure.
#   scripts/windows.sh cli [release]  checks that `neume.exe generate` writes the Linux build's
#                                     bytes, on ONNX Runtime's DLL (found by neume.exe itself)
#                                     and on the pure-Rust fallback (default profile: debug)
#
# Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng Rust's std imports. For
# runs under Wine only, a stand-in that forwards to RtlGenRandom is built into
# target/wine-support/ and found through WINEPATH. It is never bundled or shipped: Windows 10
# and later have the real one.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
SUPPORT=target/wine-support
WINDOWS_TARGET_DIR=target/windows

# Debian packages the Windows run needs that are not installed, one name a line.
missing_packages() {
    command -v x86_64-w64-mingw32-gcc >/dev/null || echo gcc-mingw-w64-x86-64
    command -v wine >/dev/null || printf 'wine\nwine64\n'
}

setup() {
    rustup target add "$TARGET"
    local missing
    missing=$(missing_packages)
    if [ -n "$missing" ]; then
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -q
        # shellcheck disable=SC2086 # one package a word
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
    fi
    prepare
}

# Whether everything the Windows run needs is here; names what is missing.
ready() {
    local missing
    missing=$(missing_packages | tr '\n' ' ')
    rustup target list --installed 2>/dev/null | grep -qx "$TARGET" || missing+="the Rust target $TARGET"
    if [ -n "$missing" ]; then
        echo "missing: $missing (bash scripts/windows.sh setup installs them)"
        return 1
    fi
}

# What every run takes from here: both platforms' runtime libraries, the stand-in, Wine's
# settings.
prepare() {
    bash scripts/fetch-onnxruntime.sh
    bash scripts/fetch-onnxruntime.sh windows
    stand_in
    wine_env
}

# The test-only bcryptprimitives.dll stand-in (see above).
stand_in() {
    [ -f "$SUPPORT/bcryptprimitives.dll" ] && return 0
    mkdir -p "$SUPPORT"
    cat > "$SUPPORT/bcryptprimitives.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG n = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, n)) return FALSE;
        data += n;
        length -= n;
    }
    return TRUE;
}
C
    x86_64-w64-mingw32-gcc -O2 -shared -o "$SUPPORT/bcryptprimitives.dll" \
        "$SUPPORT/bcryptprimitives.c" -ladvapi32
}

# Wine's settings for every run: quiet, no display needed, the stand-in on the DLL path.
wine_env() {
    export WINEDEBUG=-all
    export DISPLAY=
    WINEPATH=$(winepath -w "$PWD/$SUPPORT" 2>/dev/null)
    export WINEPATH
}

test_windows() {
    if ! ready; then
        if [ -n "${CI:-}" ]; then
            echo "Windows tests: cannot run under CI" >&2
            exit 1
        fi
        echo "Windows tests skipped"
        return 0
    fi
    prepare
    # The cdylib the host tests load (target/windows/<target>/debug/neume.dll) and the tests.
    CARGO_TARGET_DIR=$WINDOWS_TARGET_DIR cargo build --locked --target "$TARGET" \
        -p neume --all-targets
    # Linux-only tests stay out: editor_gui (X11, XDND) and ardour (a Linux DAW).
    NEUME_ORT_LIB=$(winepath -w "$PWD/$WINDOWS_TARGET_DIR/onnxruntime/onnxruntime.dll" 2>/dev/null) \
        CARGO_TARGET_DIR=$WINDOWS_TARGET_DIR cargo test --locked --target "$TARGET" \
        -p neume --lib --test runtime --test cli --test midi_files --test plugin_host \
        --test plugin_worker --test plugin_properties
    editor
    cli debug prebuilt
}

# The editor of the Windows build: tests/editor_windows.rs opens it in a Win32 window under
# Wine on an Xvfb display, and tests/editor_wine.rs (Linux) takes the screenshot from the X
# server (NEUME_SCREENSHOT names the PNG).
editor() {
    local exe
    exe=$(ls -t "$WINDOWS_TARGET_DIR/$TARGET"/debug/deps/editor_windows-*.exe | head -1)
    NEUME_WINDOWS_EDITOR_TEST="$exe" \
        NEUME_ORT_LIB=$(winepath -w "$PWD/$WINDOWS_TARGET_DIR/onnxruntime/onnxruntime.dll" 2>/dev/null) \
        cargo test --locked --test editor_wine -- --ignored
}

cli() {
    local profile=${1:-debug}
    local flag=()
    [ "$profile" = release ] && flag=(--release)
    # `test` has just built both (scripts/test.sh the Linux workspace, `test` the Windows
    # package): building `--bin neume` alone would unify other features and rebuild.
    if [ "${2:-}" != prebuilt ]; then
        cargo build "${flag[@]}" --locked --bin neume
        CARGO_TARGET_DIR=$WINDOWS_TARGET_DIR cargo build "${flag[@]}" --locked --bin neume \
            --target "$TARGET"
    fi
    local exe=$WINDOWS_TARGET_DIR/$TARGET/$profile/neume.exe
    local out=target/windows-check
    rm -rf "$out" && mkdir -p "$out"
    local linux_lib
    linux_lib="$PWD/target/onnxruntime/libonnxruntime.so.$(tr -d '[:space:]' < scripts/onnxruntime.version)"
    local failed=0
    for seed in 1 3; do
        NEUME_ORT_LIB="$linux_lib" "target/$profile/neume" generate --seed "$seed" --bars 8 \
            --out "$out/linux-$seed.mid" >/dev/null 2>&1
        for backend in native tract; do
            # native: no NEUME_ORT_LIB, so neume.exe must find the DLL itself (it looks beside
            # itself and up to two folders above, each also in onnxruntime/: here
            # target/windows/onnxruntime/); tract: a DLL that is not there.
            local env=(env -u NEUME_ORT_LIB)
            [ "$backend" = tract ] && env=(env 'NEUME_ORT_LIB=C:\nonexistent\onnxruntime.dll')
            "${env[@]}" wine "$exe" generate --seed "$seed" --bars 8 \
                --out "$(winepath -w "$PWD/$out/windows-$backend-$seed.mid" 2>/dev/null)" \
                > "$out/windows-$backend-$seed.log" 2>&1 || true
            local expect="backend: ONNX Runtime"
            [ "$backend" = tract ] && expect="backend: tract"
            if ! grep -q "$expect" "$out/windows-$backend-$seed.log"; then
                echo "seed $seed, $backend: neume.exe did not run on $backend (see $out/windows-$backend-$seed.log)"
                failed=1
            elif cmp -s "$out/linux-$seed.mid" "$out/windows-$backend-$seed.mid"; then
                echo "seed $seed, $backend: neume.exe ($profile) wrote the Linux build's bytes"
            else
                echo "seed $seed, $backend: DIFFERENT from the Linux build (see $out/windows-$backend-$seed.log)"
                failed=1
            fi
        done
    done
    return $failed
}

case "${1:-}" in
    setup) setup ;;
    test) test_windows ;;
    editor) prepare && editor ;;
    cli) prepare && cli "${2:-debug}" ;;
    stand-in) stand_in ;;
    *) echo "usage: $0 setup|test|editor|cli [debug|release]|stand-in" >&2; exit 2 ;;
esac
