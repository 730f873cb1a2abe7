#!/usr/bin/env bash
# Runs on the GPU device machine (no Rust, no network), from the repository root, with
# .device/ carried (see prepare.sh). Everything it measures goes to $OUT:
#   gpu.log (trainer output), metrics.jsonl, model.onnx, torch.json, nvidia-smi.csv, summary.txt
# Usage: bash scripts/gpu/device-run.sh [EPOCHS] [BATCH]
set -uo pipefail
epochs=${1:-8}
batch=${2:-128}
out=${OUT:-/tmp/out}
mkdir -p "$out" /tmp/neume
for f in .device/gl/*.deb; do dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
xz -dc .device/neume-train.xz > /tmp/neume/neume-train && chmod +x /tmp/neume/neume-train
tar -C /tmp/neume -xJf .device/melodies.tar.xz
D=/tmp/neume/melodies
nvidia-smi --query-gpu=timestamp,name,memory.used,utilization.gpu --format=csv -l 5 > "$out/nvidia-smi.csv" 2>&1 &
smi=$!

{
  echo "== PyTorch twin, same network and batch"
  python3 scripts/gpu/torch_baseline.py --steps 500 --batch "$batch" | tee "$out/torch.json"
  echo "== neume-train on the GPU ($epochs epochs, batch $batch)"
  start=$(date +%s)
  timeout 420 /tmp/neume/neume-train train --device gpu --model vae --batch "$batch" \
      --data $D/train --valid $D/valid --epochs "$epochs" --out /tmp/neume/run
  echo "train exit $? after $(( $(date +%s) - start )) s"
  cp /tmp/neume/run/metrics.jsonl /tmp/neume/run/model.onnx "$out/" 2>/dev/null
  echo "== test split"
  /tmp/neume/neume-train eval --model /tmp/neume/run --reference $D/test --train $D/train
} 2>&1 | tee "$out/gpu.log"
kill $smi 2>/dev/null
grep -E "steps_per_s|train exit|^/tmp/neume/run|device:" "$out/gpu.log" > "$out/summary.txt"
cat "$out/summary.txt"
