"""PyTorch twin of `neume-train bench` (trainer/src/bench/step.rs), for the GPU side-by-side.

Same network as trainer/src/model.rs (model v3): an MLP encoder over the one-hot window padded
to 4 bars of 18 steps (flat -> 2h -> h -> (mu, logvar), log-variance clipped to +-8) and a
2-layer GRU decoder written gate by gate as burn's is (reset, update, candidate; the reset gate
applied after the recurrent product, ONNX's linear_before_reset = 1), its first layer fed the
step features (previous token, start flag, step in an 18-step bar, bar of 4, meter of 6: 67
columns) plus a bias-free projection of z, then a linear read-out to 38 logits. Same batch, same
loss (teacher-forced reconstruction cross-entropy + free-bits KL, beta 1, + the attribute term
of the named knobs: gamma 5, delta 10, on five latent dimensions), same optimiser (Adam, lr 1e-3,
eps 1e-5 as burn's default), on 16 random 4/4 batches already on the device, cycled; the noise
is drawn on the device each step. Prints one JSON line with the fields `neume-train bench`
prints.

    python3 torch_baseline.py --steps 500 --batch 128 [--profile] [--device cuda|cpu]
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

VOCAB, BARS, MAX_BAR_STEPS, METERS, BATCHES = 38, 4, 18, 6, 16
STEPS = BARS * 16  # the bench's windows are 4/4
FEATURES = VOCAB + 1 + MAX_BAR_STEPS + BARS + METERS
ATTRIBUTES, GAMMA, DELTA = 5, 5.0, 10.0
FOUR_FOUR = 2  # the meter column of 4/4


class GruLayer(torch.nn.Module):
    def __init__(self, inputs, hidden):
        super().__init__()
        self.input = torch.nn.Linear(inputs, 3 * hidden)
        self.recurrent = torch.nn.Linear(hidden, 3 * hidden)

    def cell(self, gx, h):
        gh = self.recurrent(h)
        xr, xu, xn = gx.chunk(3, 1)
        hr, hu, hn = gh.chunk(3, 1)
        r, u = torch.sigmoid(xr + hr), torch.sigmoid(xu + hu)
        n = torch.tanh(xn + r * hn)
        return n + u * (h - n)


class Vae(torch.nn.Module):
    def __init__(self, latent=32, hidden=128, layers=2):
        super().__init__()
        flat = BARS * MAX_BAR_STEPS * VOCAB
        self.e1 = torch.nn.Linear(flat, 2 * hidden)
        self.e2 = torch.nn.Linear(2 * hidden, hidden)
        self.mu = torch.nn.Linear(hidden, latent)
        self.logvar = torch.nn.Linear(hidden, latent)
        self.latent = torch.nn.Linear(latent, 3 * hidden, bias=False)
        self.layers = torch.nn.ModuleList(
            GruLayer(FEATURES if i == 0 else hidden, hidden) for i in range(layers))
        self.out = torch.nn.Linear(hidden, VOCAB)
        self.hidden = hidden

    def decode(self, features, z):
        # features: [steps, batch, FEATURES]
        inputs = list(features.unbind(0))
        from_z = self.latent(z)
        for i, layer in enumerate(self.layers):
            h = torch.zeros(z.shape[0], self.hidden, device=z.device)
            states = []
            for x in inputs:
                gx = layer.input(x)
                if i == 0:
                    gx = gx + from_z
                h = layer.cell(gx, h)
                states.append(h)
            inputs = states
        return self.out(torch.stack(inputs, 1))  # [batch, steps, vocab]

    def loss(self, x, features, signs, free_bits=0.1, beta=1.0):
        h = F.relu(self.e2(F.relu(self.e1(x))))
        mu, logvar = self.mu(h), self.logvar(h).clamp(-8, 8)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        logits = self.decode(features, z)
        target = x.view(x.shape[0], -1, VOCAB)[:, :STEPS]
        recon = -(F.log_softmax(logits, 2) * target).sum() / x.shape[0]
        kl_dims = 0.5 * (logvar.exp() + mu.pow(2) - logvar - 1).mean(0)
        attributes = 0.0
        for k in range(ATTRIBUTES):
            zk = z[:, k:k + 1]
            attributes = attributes + (torch.tanh(DELTA * (zk - zk.T)) - signs[k]).abs().mean()
        return recon + beta * kl_dims.clamp_min(free_bits).sum() + GAMMA * attributes


def batch_inputs(tokens):
    """One-hot windows padded to 4 bars of 18 steps, and the teacher-forced step features."""
    batch = tokens.shape[0]
    x = torch.zeros(batch, BARS * MAX_BAR_STEPS, VOCAB, device=tokens.device)
    x[:, :STEPS] = F.one_hot(tokens, VOCAB).float()
    f = torch.zeros(STEPS, batch, FEATURES, device=tokens.device)
    for step in range(STEPS):
        if step == 0:
            f[step, :, VOCAB] = 1.0
        else:
            f[step][torch.arange(batch), tokens[:, step - 1]] = 1.0
        f[step, :, VOCAB + 1 + step % 16] = 1.0
        f[step, :, VOCAB + 1 + MAX_BAR_STEPS + (step // 16) % BARS] = 1.0
        f[step, :, VOCAB + 1 + MAX_BAR_STEPS + BARS + FOUR_FOUR] = 1.0
    # Random windows have random attributes: the sign matrices of five random values.
    values = torch.rand(ATTRIBUTES, batch, device=tokens.device)
    signs = torch.sign(values[:, :, None] - values[:, None, :])
    return x.view(batch, -1), f, signs


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
    batches = [batch_inputs(tokens[i]) for i in range(BATCHES)]

    def step(i):
        opt.zero_grad(set_to_none=True)
        model.loss(*batches[i % BATCHES]).backward()
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
            loss = model.loss(*batches[i % BATCHES])
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
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({
        "framework": f"torch {torch.__version__}", "device": name, "batch": a.batch, "steps": a.steps,
        "steps_per_s": a.steps / secs, "samples_per_s": a.steps * a.batch / secs,
        "memory_mib": torch.cuda.max_memory_reserved(dev) / 2**20 if cuda else None,
        "phases": phases, "parameters": params,
    }))


if __name__ == "__main__":
    main()
