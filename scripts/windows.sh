#!/usr/bin/env bash
# Neume for Windows, built on Linux with mingw-w64 and run with Wine. Windows builds live in
# target/windows/ (as `cargo xtask bundle neume --release --target x86_64-pc-windows-gnu` puts them).
#
#   scripts/windows.sh setup   the Rust target, Debian's mingw-w64 linker and Wine, the
#                              Windows ONNX Runtime DLL (target/windows/onnxruntime/)
#   scripts/windows.sh cli     builds neume.exe (release) and checks under Wine that
#                              `neume.exe generate` writes the same bytes as the Linux build,
#                              on ONNX Runtime's DLL and on the pure-Rust fallback
#
# Wine 8 (Debian 12) lacks bcryptprimitives.dll, whose ProcessPrng Rust's std imports. For
# runs under Wine only, a stand-in that forwards to RtlGenRandom is built into
# target/wine-support/ and found through WINEPATH. It is never bundled or shipped: Windows 10
# and later have the real one.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
SUPPORT=target/wine-support

setup() {
    rustup target add "$TARGET"
    local missing=()
    command -v x86_64-w64-mingw32-gcc >/dev/null || missing+=(gcc-mingw-w64-x86-64)
    command -v wine >/dev/null || missing+=(wine wine64)
    if [ ${#missing[@]} -gt 0 ]; then
        local sudo=""
        [ "$(id -u)" -ne 0 ] && sudo="sudo"
        $sudo apt-get update -q
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    bash scripts/fetch-onnxruntime.sh windows
    stand_in
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

cli() {
    stand_in
    bash scripts/fetch-onnxruntime.sh windows
    cargo build --release --locked --bin neume
    CARGO_TARGET_DIR=target/windows cargo build --release --locked --bin neume --target "$TARGET"
    local exe=target/windows/$TARGET/release/neume.exe
    local out=target/windows-check
    rm -rf "$out" && mkdir -p "$out"
    local winepath
    winepath=$(winepath -w "$PWD/$SUPPORT" 2>/dev/null)
    local linux_lib
    linux_lib="$PWD/target/onnxruntime/libonnxruntime.so.$(tr -d '[:space:]' < scripts/onnxruntime.version)"
    local failed=0
    for seed in 1 3; do
        NEUME_ORT_LIB="$linux_lib" target/release/neume generate --seed "$seed" --bars 8 \
            --out "$out/linux-$seed.mid" >/dev/null 2>&1
        for backend in native tract; do
            # native: no NEUME_ORT_LIB, so neume.exe must find the DLL itself (it looks beside
            # itself and up to two folders above, each also in onnxruntime/: here
            # target/windows/onnxruntime/); tract: a DLL that is not there.
            local env=(env -u NEUME_ORT_LIB)
            [ "$backend" = tract ] && env=(env 'NEUME_ORT_LIB=C:\nonexistent\onnxruntime.dll')
            "${env[@]}" WINEDEBUG=-all WINEPATH="$winepath" wine "$exe" generate --seed "$seed" --bars 8 \
                --out "$(winepath -w "$PWD/$out/windows-$backend-$seed.mid")" \
                > "$out/windows-$backend-$seed.log" 2>&1 || true
            local expect="backend: ONNX Runtime"
            [ "$backend" = tract ] && expect="backend: tract"
            if ! grep -q "$expect" "$out/windows-$backend-$seed.log"; then
                echo "seed $seed, $backend: neume.exe did not run on $backend (see $out/windows-$backend-$seed.log)"
                failed=1
            elif cmp -s "$out/linux-$seed.mid" "$out/windows-$backend-$seed.mid"; then
                echo "seed $seed, $backend: neume.exe wrote the Linux build's bytes"
            else
                echo "seed $seed, $backend: DIFFERENT (see $out/windows-$backend-$seed.log)"
                failed=1
            fi
        done
    done
    return $failed
}

case "${1:-}" in
    setup) setup ;;
    cli) cli ;;
    stand-in) stand_in ;;
    *) echo "usage: $0 setup|cli|stand-in" >&2; exit 2 ;;
esac
