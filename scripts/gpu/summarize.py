"""Reads what scripts/gpu/device-run.sh wrote into a folder and states the figures the GPU
issue asks for: parity, burn's steps/s as a ratio of PyTorch's (and where the time goes),
the trainer's steps/s and samples/s, GPU memory, and the time to reach mean overlap >= 0.90
on the test split. Writes summary.json and summary.txt beside them and prints the text.

    python3 scripts/gpu/summarize.py OUT_DIR
"""
import csv
import json
import pathlib
import sys

BAR = 0.90


def read_json(path):
    try:
        text = path.read_text().strip()
        return json.loads(text.splitlines()[-1]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def read_jsonl(path):
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except (OSError, ValueError):
        return []


def peak_gpu_memory_mib(path):
    """Largest `memory.used` nvidia-smi sampled, in MiB (None without samples)."""
    try:
        rows = list(csv.reader(path.read_text().splitlines()))
    except OSError:
        return None
    used = []
    for row in rows[1:]:
        try:
            used.append(float(row[2].strip().split()[0]))
        except (IndexError, ValueError):
            pass
    return max(used) if used else None


def main(out):
    out = pathlib.Path(out)
    s = {"bar": BAR}
    s["parity"] = read_json(out / "parity.json")
    burn, torch = read_json(out / "burn.json"), read_json(out / "torch.json")
    s["burn_bench"], s["torch_bench"] = burn, torch
    if burn and torch:
        s["burn_over_torch_steps_per_s"] = burn["steps_per_s"] / torch["steps_per_s"]
    epochs = read_jsonl(out / "metrics.jsonl")
    tests = {int(pathlib.Path(t["model"]).name.split("-")[1].split(".")[0]): t for t in read_jsonl(out / "test.jsonl")}
    s["epochs"] = [
        {
            "epoch": e["epoch"],
            "seconds": e["seconds"],
            "steps_per_s": e.get("steps_per_s"),
            "samples_per_s": e.get("samples_per_s"),
            "valid_mean_overlap": e["valid_mean_overlap"],
            "valid_temperature": e.get("valid_temperature"),
            "test_mean_overlap": tests.get(e["epoch"], {}).get("mean_overlap"),
            "device_memory_mib": e.get("device_memory_mib"),
        }
        for e in epochs
    ]
    reached = [e for e in s["epochs"] if (e["test_mean_overlap"] or 0) >= BAR]
    s["time_to_bar_s"] = reached[0]["seconds"] if reached else None
    s["epoch_at_bar"] = reached[0]["epoch"] if reached else None
    s["peak_gpu_memory_mib"] = peak_gpu_memory_mib(out / "nvidia-smi.csv")
    (out / "summary.json").write_text(json.dumps(s, indent=2))

    lines = []
    p = s["parity"]
    if p:
        lines.append(f"parity ({p['device']}): decoder max |diff| {p['decoder_max_abs_diff']:.2e} (logits up to {p['decoder_max_abs']:.2f}), "
                     f"recon {p['recon'][0]:.5f} vs {p['recon'][1]:.5f}, kl {p['kl'][0]:.5f} vs {p['kl'][1]:.5f}, "
                     f"after one step {p['after_step_max_abs_diff']:.2e}, grads {p['params_with_grads']}")
    for b in (burn, torch):
        if b:
            phases = b.get("phases") or {}
            split = ", ".join(f"{k[:-3]} {v:.3f} ms" for k, v in phases.items())
            mem = f", {b['memory_mib']:.0f} MiB" if b.get("memory_mib") else ""
            lines.append(f"{b['framework']} on {b['device']}: {b['steps_per_s']:.1f} steps/s, {b['samples_per_s']:.0f} windows/s (batch {b['batch']}){mem}; {split}")
    if "burn_over_torch_steps_per_s" in s:
        lines.append(f"burn / PyTorch steps per second: {s['burn_over_torch_steps_per_s']:.2f}x")
    for e in s["epochs"]:
        test = f"{e['test_mean_overlap']:.3f}" if e["test_mean_overlap"] is not None else "-"
        rate = f"{e['steps_per_s']:.1f} steps/s, {e['samples_per_s']:.0f} windows/s" if e["steps_per_s"] else ""
        lines.append(f"epoch {e['epoch']}: {e['seconds']:.0f} s, {rate}, valid {e['valid_mean_overlap']:.3f} "
                     f"(T {e['valid_temperature'] or 0:.1f}), test {test}")
    if s["time_to_bar_s"] is not None:
        lines.append(f"mean overlap >= {BAR} on test after epoch {s['epoch_at_bar']}: {s['time_to_bar_s']:.0f} s of training (validation included)")
    elif epochs:
        lines.append(f"mean overlap >= {BAR} on test: not reached in {len(epochs)} epochs")
    if s["peak_gpu_memory_mib"] is not None:
        lines.append(f"peak GPU memory (nvidia-smi, whole run): {s['peak_gpu_memory_mib']:.0f} MiB")
    text = "\n".join(lines)
    (out / "summary.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main(sys.argv[1])
