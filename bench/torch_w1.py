#!/usr/bin/env python3
"""torch_w1.py - workload W1 in PyTorch on the CPU, the reference for
bench_diffusion (which runs this script and parses its one JSON line).

The same network as genbo's diffusion/net.c: u = [x; phi(log t); e_y],
h0 = W_in u + b, depth residual blocks h += W2 silu(W1 silu(h) + b1) + b2,
eps = W_out silu(h) + b_out; eps-prediction loss, Adam; sampling with
Euler-Maruyama and classifier-free guidance batched as one pass of 2n rows,
then, as genbo's sampler does, one more guided pass for the Tweedie
estimate x0hat at t0 (K steps = K + 1 passes on both sides).
With --autocast the forward passes run under torch.autocast("cpu",
dtype=torch.bfloat16): the one-line mixed precision a PyTorch user would
try (oneDNN bf16 matmuls on AMX/AVX512-BF16, fp32 weights and optimiser).
"""
import contextlib
import argparse
import json
import math
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--sample-steps", type=int, default=100)
    ap.add_argument("--samples", type=int, default=4096)
    ap.add_argument("--autocast", action="store_true")
    a = ap.parse_args()
    import torch
    import torch.nn as nn

    torch.set_num_threads(a.threads)

    def amp():
        if a.autocast:
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return contextlib.nullcontext()
    torch.manual_seed(0)
    D, W, L, ET, EY, B = 64, 512, 4, 64, 64, 1024
    T0, T = 1e-3, 10.0

    def embed(s, E, fmin, fmax):
        k = torch.arange(E // 2, dtype=torch.float32)
        f = fmin * (fmax / fmin) ** (k / (E // 2 - 1))
        arg = s[:, None] * f[None, :]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = nn.Linear(D + ET + EY, W)
            self.null = nn.Parameter(torch.randn(EY) * 0.5)
            self.w1 = nn.ModuleList([nn.Linear(W, W) for _ in range(L)])
            self.w2 = nn.ModuleList([nn.Linear(W, W) for _ in range(L)])
            self.out = nn.Linear(W, D)
            self.act = nn.SiLU()

        def forward(self, x, logt, y, null):
            ey = embed(y, EY, 0.05, 6.0)
            ey = torch.where(null[:, None], self.null[None, :].expand_as(ey), ey)
            h = self.inp(torch.cat([x, embed(logt, ET, 0.05, 12.0), ey], dim=1))
            for l1, l2 in zip(self.w1, self.w2):
                h = h + l2(self.act(l1(self.act(h))))
            return self.out(self.act(h))

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n = 16384
    X = torch.randn(n, D)
    Y = X[:, 0] + 0.5 * X[:, 1]

    def train_step():
        idx = torch.randint(0, n, (B,))
        t = torch.exp(math.log(T0) + torch.rand(B) * (math.log(T) - math.log(T0)))
        alpha = torch.exp(-0.5 * t)[:, None]
        sigma = torch.sqrt(-torch.expm1(-t))[:, None]
        eps = torch.randn(B, D)
        xt = alpha * X[idx] + sigma * eps
        null = torch.rand(B) < 0.1
        with amp():
            out = net(xt, torch.log(t), Y[idx], null)
        loss = ((out.float() - eps) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()

    for _ in range(2):  # warm-up, as in the C bench
        train_step()
    t0 = time.perf_counter()
    for _ in range(a.train_steps):
        train_step()
    tt = time.perf_counter() - t0

    # sampling: EM on the backward SDE, CFG w = 1, chunks of 1024 designs (2048 rows)
    K, w, chunk = a.sample_steps, 1.0, 1024
    t0 = time.perf_counter()
    with torch.no_grad():
        for s0 in range(0, a.samples, chunk):
            nc = min(chunk, a.samples - s0)
            x = torch.randn(nc, D)
            y = torch.full((2 * nc,), 1.0)
            null = torch.cat([torch.zeros(nc, dtype=torch.bool), torch.ones(nc, dtype=torch.bool)])
            for k in range(K):
                t = T * (T0 / T) ** (k / K)
                tn = T * (T0 / T) ** ((k + 1) / K)
                sigma = math.sqrt(-math.expm1(-t))
                with amp():
                    out = net(torch.cat([x, x]), torch.full((2 * nc,), math.log(t)), y, null)
                out = out.float()
                eps = (1 + w) * out[:nc] - w * out[nc:]
                s = -eps / sigma
                h = t - tn
                x = x + h * (0.5 * x + s) + math.sqrt(h) * torch.randn(nc, D)
            # genbo's sampler returns the Tweedie estimate x0hat at t0, one
            # more guided pass of 2n rows: the same work on both sides
            sigma0 = math.sqrt(-math.expm1(-T0))
            with amp():
                out = net(torch.cat([x, x]), torch.full((2 * nc,), math.log(T0)), y, null)
            out = out.float()
            eps = (1 + w) * out[:nc] - w * out[nc:]
            x = (x - sigma0 * eps) / math.exp(-0.5 * T0)
    ts = time.perf_counter() - t0
    cfg = torch.__config__.show()
    blas = "unknown"
    for line in cfg.splitlines():
        if "BLAS_INFO" in line or "Built with" in line and "BLAS" in line:
            blas = line.strip().replace('"', "'")
            break
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "autocast": bool(a.autocast),
        "blas": blas,
        "train_samples_per_s": a.train_steps * B / tt,
        "sample_steps_per_s": a.samples * K / ts,
    }))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
