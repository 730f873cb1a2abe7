"""PyTorch twin of `neume-train bench` (trainer/src/bench.rs), for the GPU side-by-side.

Same network as trainer/src/model.rs (encoder flat->2h->h->(mu, logvar); decoder
z->h->2h->flat, ReLU), same batch, same loss (reconstruction cross-entropy + free-bits KL,
beta 1), same optimiser (Adam, lr 1e-3, eps 1e-5 as burn's default), on 16 random one-hot
batches already on the device, cycled; the noise is drawn on the device each step. Prints
one JSON line with the fields `neume-train bench` prints.

    python3 torch_baseline.py --steps 500 --batch 128 [--profile] [--device cuda|cpu]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

STEPS, VOCAB, BATCHES = 64, 38, 16


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
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--profile", action="store_true", help="also time forward, backward and the optimiser apart")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = p.parse_args()
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"

    def wait():
        if cuda:
            torch.cuda.synchronize()

    model = Vae().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-5)
    tokens = torch.randint(0, VOCAB, (BATCHES, a.batch, STEPS), device=dev)
    batches = F.one_hot(tokens, VOCAB).float().view(BATCHES, a.batch, STEPS * VOCAB)

    def step(i):
        opt.zero_grad(set_to_none=True)
        model.loss(batches[i % BATCHES]).backward()
        opt.step()

    for i in range(a.warmup):
        step(i)
    wait()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for i in range(a.steps):
        step(i)
    wait()
    secs = time.perf_counter() - start

    phases = None
    if a.profile:
        fwd = bwd = upd = 0.0
        for i in range(a.steps):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            loss = model.loss(batches[i % BATCHES])
            wait()
            t1 = time.perf_counter()
            loss.backward()
            wait()
            t2 = time.perf_counter()
            opt.step()
            wait()
            t3 = time.perf_counter()
            fwd, bwd, upd = fwd + t1 - t0, bwd + t2 - t1, upd + t3 - t2
        n = a.steps / 1e3
        phases = {"forward_ms": fwd / n, "backward_ms": bwd / n, "optimizer_ms": upd / n}

    name = torch.cuda.get_device_name(dev) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    print(json.dumps({
        "framework": f"torch {torch.__version__}", "device": name, "batch": a.batch, "steps": a.steps,
        "steps_per_s": a.steps / secs, "samples_per_s": a.steps * a.batch / secs,
        "memory_mib": torch.cuda.max_memory_reserved(dev) / 2**20 if cuda else None,
        "phases": phases,
    }))


if __name__ == "__main__":
    main()
