#!/usr/bin/env bash
# The GPU measurement, in one run on the device machine (no Rust, no network), from the
# repository root with .device/ carried (see prepare.sh). Leaves in $OUT summary.txt and
# results.tar.gz (repacked after every stage, so a run cut short still returns what it has;
# the device tool returns 8 files at most), which holds:
#   gpu-tests.log      trainer/tests/gpu.rs: GPU against CPU, same weights; train and bench on the GPU
#   parity.json        the GPU against the CPU, same weights (`neume-train parity`)
#   burn.json          `neume-train bench` on the GPU: the training step alone, with phases
#   torch.json         the PyTorch twin, same network, batch and step
#   train.log          `neume-train train --device gpu` on the full train split
#   metrics.jsonl      its epoch records (seconds, steps/s, valid overlap, device memory)
#   test.jsonl         every epoch's model scored on the test split (after training, untimed)
#   nvidia-smi.csv     memory and utilisation, sampled every second
#   summary.json/.txt  the figures the issue asks for (scripts/gpu/summarize.py)
# Usage: bash scripts/gpu/device-run.sh [EPOCHS=30] [BATCH=128] [TRAIN_SECONDS=240] (training stops at
# whichever comes first, cleanly: SIGINT saves a checkpoint and keeps the best model)
# Environment: OUT, PYTHON (python3), NEUME_WORK (/tmp/neume), BENCH_STEPS (300), TRAIN_ARGS
# (extra `train` arguments). A rehearsal on a machine without a GPU falls back to the CPU:
#   OUT=/tmp/rehearsal BENCH_STEPS=5 TRAIN_ARGS="--max-steps 30 --valid-samples 50" \
#       bash scripts/gpu/device-run.sh 2 128 300
set -uo pipefail
epochs=${1:-30}
batch=${2:-128}
train_seconds=${3:-240}
final=${OUT:-/tmp/neume-out}
python=${PYTHON:-python3}
work=${NEUME_WORK:-/tmp/neume}
out=$work/out
rm -rf "$out"
mkdir -p "$final" "$out"
started=$(date +%s)
say() { echo "== [$(( $(date +%s) - started )) s] $*"; }
pack() { tar -C "$out" -czf "$final/results.tar.gz" . && { [ ! -f "$out/summary.txt" ] || cp "$out/summary.txt" "$final/"; }; }

# Vulkan: the loader, if the machine has none (GPU.md), and NVIDIA's driver manifest.
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    say "installing the Vulkan loader from .device/gl"
    for f in .device/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
if [ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ]; then
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi

export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}  # quiets wgpu's window-system probe

trainer=$work/neume-train
xz -dc .device/neume-train.xz > "$trainer" && chmod +x "$trainer"
xz -dc .device/gpu-tests.xz > "$work/gpu-tests" && chmod +x "$work/gpu-tests"
[ -d "$work/melodies" ] || tar -C "$work" -xJf .device/melodies.tar.xz
D=$work/melodies
if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=timestamp,name,memory.used,memory.total,utilization.gpu --format=csv -l 1 > "$out/nvidia-smi.csv" 2>&1 &
    smi=$!
fi

say "tests: trainer/tests/gpu.rs"
NEUME_TRAIN_BIN=$trainer NEUME_FIXTURES=tests/fixtures "$work/gpu-tests" --test-threads 1 --nocapture > "$out/gpu-tests.log" 2>&1
echo "gpu tests exit $?"; grep -E "^test |test result" "$out/gpu-tests.log"

pack
say "parity: the GPU against the CPU, same weights"
"$trainer" parity > "$out/parity.json"
echo "parity exit $?"; cat "$out/parity.json"

pack
say "bench: burn on the GPU, then the PyTorch twin (batch $batch)"
"$trainer" bench --device gpu --batch "$batch" --steps "${BENCH_STEPS:-300}" --profile > "$out/burn.json"
cat "$out/burn.json"
"$python" scripts/gpu/torch_baseline.py --batch "$batch" --steps "${BENCH_STEPS:-300}" --profile > "$out/torch.json"
cat "$out/torch.json"

pack
say "train: $epochs epochs at most, $train_seconds s at most"
rm -rf "$work/run"
timeout -s INT "$train_seconds" "$trainer" train --device gpu --model vae --batch "$batch" --epochs "$epochs" \
    --data "$D/train" --valid "$D/valid" --save-epochs --out "$work/run" ${TRAIN_ARGS:-} > "$out/train.log" 2>&1
echo "train exit $?"
grep -v "^epoch .*\[" "$out/train.log" | tail -n 30
cp "$work/run/metrics.jsonl" "$out/" 2>/dev/null
[ -f "$work/run/model.onnx" ] && xz -c "$work/run/model.onnx" > "$out/model.onnx.xz"

pack
say "test: every epoch's model on the test split"
ls "$work"/run/epochs/epoch-*.onnx 2>/dev/null | xargs -r -P "$(nproc)" -I{} sh -c \
    '"$0" eval --model "$1" --reference "$2/test" --train "$2/train" --json "$1.test.json" > /dev/null 2>&1' "$trainer" {} "$D"
for f in "$work"/run/epochs/epoch-*.onnx.test.json; do
    [ -f "$f" ] && "$python" -c 'import json,sys; r=json.load(open(sys.argv[1]))[0]; print(json.dumps({"model": r["name"], "mean_overlap": r["mean_overlap"], "in_scale_rate": r["in_scale_rate"], "copy_rate": r["copy_rate"]}))' "$f"
done > "$out/test.jsonl"
cat "$out/test.jsonl"

[ -n "${smi:-}" ] && kill "$smi" 2>/dev/null
pack
say "summary"
"$python" scripts/gpu/summarize.py "$out"
pack
