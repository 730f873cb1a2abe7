"""PyTorch twin of neume-train's VAE, for the GPU side-by-side (issue: Train on the GPU).

Same network (encoder flat→2h→h→(mu, logvar); decoder z→h→2h→flat), same batch, same loss
(reconstruction cross-entropy + free-bits KL) and optimiser (Adam, lr 1e-3) as
trainer/src/model.rs and trainer/src/training.rs, on random one-hot windows of the same
shape. Prints one JSON line with steps/s and samples/s.

    python3 torch_baseline.py --steps 500 --batch 128 --device cuda
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

STEPS, VOCAB = 64, 38


class Vae(torch.nn.Module):
    def __init__(self, latent=32, hidden=512):
        super().__init__()
        flat = STEPS * VOCAB
        self.e1 = torch.nn.Linear(flat, 2 * hidden)
        self.e2 = torch.nn.Linear(2 * hidden, hidden)
        self.mu = torch.nn.Linear(hidden, latent)
        self.logvar = torch.nn.Linear(hidden, latent)
        self.d1 = torch.nn.Linear(latent, hidden)
        self.d2 = torch.nn.Linear(hidden, 2 * hidden)
        self.out = torch.nn.Linear(2 * hidden, flat)

    def loss(self, x, free_bits=0.1, beta=1.0):
        h = F.relu(self.e2(F.relu(self.e1(x))))
        mu, logvar = self.mu(h), self.logvar(h).clamp(-8, 8)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.out(F.relu(self.d2(F.relu(self.d1(z))))).view(-1, STEPS, VOCAB)
        recon = -(F.log_softmax(logits, 2) * x.view(-1, STEPS, VOCAB)).sum() / x.shape[0]
        kl_dims = 0.5 * (logvar.exp() + mu.pow(2) - logvar - 1).mean(0)
        return recon + beta * kl_dims.clamp_min(free_bits).sum()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    dev = torch.device(a.device)
    model = Vae().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5)
    tokens = torch.randint(0, VOCAB, (64, a.batch, STEPS), device=dev)
    batches = F.one_hot(tokens, VOCAB).float().view(64, a.batch, STEPS * VOCAB)
    for i in range(20):  # warm-up
        opt.zero_grad(); model.loss(batches[i % 64]).backward(); opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for i in range(a.steps):
        opt.zero_grad(); model.loss(batches[i % 64]).backward(); opt.step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    secs = time.perf_counter() - start
    print(json.dumps({
        "framework": f"torch {torch.__version__}", "device": str(dev), "batch": a.batch, "steps": a.steps,
        "steps_per_s": a.steps / secs, "samples_per_s": a.steps * a.batch / secs,
        "peak_mem_mib": torch.cuda.max_memory_allocated() / 2**20 if dev.type == "cuda" else None,
    }))


if __name__ == "__main__":
    main()
