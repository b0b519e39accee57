#!/usr/bin/env python3
"""The M2M model (../shared/spec/M2M.md) in PyTorch, a CPU timing peer for `m2mc bench` on the
M2M configs, written in the style of ../shared/peers/fno_torch.py (whose data it uses).

Model (sections 2-6 of M2M.md, time stepping, halo 0, local expert coordinates, no global
expert): the 10-frame input is cut into scale x scale patches; a router (log band energies of
the newest frame's patch spectrum, patch mean and standard deviation -> MLP -> softmax) gives
each patch a distribution p over the experts; top-1 dispatch in patch order under per-expert
capacities; each expert (an FNO2d with its own modes and width) runs only on the patches routed
to it, its output scaled by the gate p; the patches are merged. Loss = relative L2 +
lambda * (KL(mean p || uniform) + gamma * mean entropy). `--dense`: every expert on every
patch, weighted by p (the dense mixture, m2m-dense-ns64).

The routed counts decide the step's cost, and two implementations with different initial
weights route differently. `--capacities n0,n1,...` sets each expert's capacity (M2M.md
section 5: a patch whose first choice is full is rerouted to its best expert with room); when
the capacities add up to the batch's patch count every patch is placed and the routed counts
equal the capacities, so the step costs what m2mc's step costs at those counts
(Benchmarks/run.sh passes m2mc's mean routed counts of the same run).

Train step = forward + loss + backward + Adam (lr 1e-3, weight decay 1e-4 added to the
gradient, as the configs' decoupled_weight_decay false).

    python Benchmarks/m2m_torch.py --config configs/m2m-ns64.json --steps 30 --json out.json
"""

import argparse
import json
import math
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(HERE, "..", "..", "shared", "peers")))
import common  # noqa: E402  (../shared/peers/common.py: data, timing statistics, JSON)
from fno_torch import SpectralConv2d  # noqa: E402  (the peers' spectral convolution, the same layer)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


class FNO2d(nn.Module):
    """M2M.md section 2: lift, `layers` Fourier layers (GELU but after the last), projection
    width -> hidden -> 1. Input (n, P, Q, c_in) with the coordinates already appended."""

    def __init__(self, c_in, width, modes1, modes2, layers, hidden):
        super().__init__()
        self.layers = layers
        self.lift = nn.Linear(c_in, width)
        self.spectral = nn.ModuleList([SpectralConv2d(width, width, modes1, modes2) for _ in range(layers)])
        self.pointwise = nn.ModuleList([nn.Conv2d(width, width, 1) for _ in range(layers)])
        self.proj1 = nn.Linear(width, hidden)
        self.proj2 = nn.Linear(hidden, 1)

    def forward(self, x):
        x = self.lift(x).permute(0, 3, 1, 2)
        for i in range(self.layers):
            x = self.spectral[i](x) + self.pointwise[i](x)
            if i < self.layers - 1:
                x = F.gelu(x, approximate="tanh")
        return self.proj2(F.gelu(self.proj1(x.permute(0, 2, 3, 1)), approximate="tanh"))


def band_masks(p, q, bands):
    """[bands, P, Q] booleans: M2M.md section 4's bands of the signed radius, DC excluded."""
    ky = np.fft.fftfreq(p, d=1.0 / p)[:, None]
    kx = np.fft.fftfreq(q, d=1.0 / q)[None, :]
    rho = np.sqrt((2 * ky / p) ** 2 + (2 * kx / q) ** 2)
    edges = [0.0] + [1.0 / 2 ** (bands - 1 - i) for i in range(bands - 1)] + [math.inf]
    masks = [(rho >= edges[b]) & (rho < edges[b + 1]) & (rho > 0) for b in range(bands)]
    return torch.tensor(np.stack(masks), dtype=torch.float32)


class M2M(nn.Module):
    def __init__(self, cfg, grid):
        super().__init__()
        m = cfg["m2m"]
        self.scale, self.bands, self.temperature = m["scale"], m["bands"], m.get("temperature", 1.0)
        self.gamma = m.get("gamma", 0.1)
        self.dense = m.get("dense", False)
        assert m.get("halo", 0) == 0 and not m.get("global_expert", False) and m.get("k", 1) == 1, \
            "this peer covers halo 0, no global expert, top-1"
        self.p, self.q = grid[0] // self.scale, grid[1] // self.scale
        self.t_in = cfg["t_in"]
        c_in = self.t_in + 2
        self.experts = nn.ModuleList([
            FNO2d(c_in, width, min(modes, self.p // 2), min(modes, self.q // 2), cfg["layers"], cfg["projection_hidden"])
            for modes, width in zip(m["expert_modes"], m["expert_widths"])])
        hidden = m.get("router_hidden", 32)
        self.router1 = nn.Linear(self.bands + 2, hidden)
        self.router2 = nn.Linear(hidden, len(self.experts))
        self.register_buffer("masks", band_masks(self.p, self.q, self.bands))
        gy, gx = torch.meshgrid(torch.arange(self.p) / self.p, torch.arange(self.q) / self.q, indexing="ij")
        self.register_buffer("coords", torch.stack((gy, gx), dim=-1).float())
        self.capacities = None

    def patches(self, a):
        """(N, H, W, C) -> (N s s, P, Q, C) in sample, patch-row, patch-column order."""
        n, _, _, c = a.shape
        s = self.scale
        return a.reshape(n, s, self.p, s, self.q, c).permute(0, 1, 3, 2, 4, 5).reshape(n * s * s, self.p, self.q, c)

    def merge(self, y, n):
        s = self.scale
        return y.reshape(n, s, s, self.p, self.q, 1).permute(0, 1, 3, 2, 4, 5).reshape(n, s * self.p, s * self.q, 1)

    def route(self, patches):
        newest = patches[..., self.t_in - 1]
        energy = torch.fft.fft2(newest).abs().square() / float(self.p * self.q) ** 2
        bands = torch.einsum("npq,bpq->nb", energy, self.masks)
        mean = newest.mean(dim=(1, 2))
        std = torch.sqrt(newest.var(dim=(1, 2), unbiased=False) + 1e-12)
        features = torch.cat((torch.log(bands + 1e-6), mean[:, None], std[:, None]), dim=1)
        logits = self.router2(F.gelu(self.router1(features), approximate="tanh"))
        return torch.softmax(logits / self.temperature, dim=1)

    def assign(self, p):
        """Top-1 in patch order under the capacities (M2M.md section 5): expert index per patch,
        -1 for a dropped one. Ranking ties go to the lower expert index (a stable sort)."""
        count = p.shape[0]
        caps = self.capacities or [count] * p.shape[1]
        room = list(caps)
        order = torch.sort(-p.detach(), dim=1, stable=True).indices.tolist()
        choice = []
        for ranked in order:
            pick = next((e for e in ranked if room[e] > 0), -1)
            if pick >= 0:
                room[pick] -= 1
            choice.append(pick)
        return torch.tensor(choice)

    def forward(self, a):
        n = a.shape[0]
        x = self.patches(a)
        p = self.route(x)
        inputs = torch.cat((x, self.coords.expand(x.shape[0], -1, -1, -1)), dim=-1)
        out = torch.zeros(x.shape[0], self.p, self.q, 1)
        if self.dense:
            for e, expert in enumerate(self.experts):
                out = out + p[:, e, None, None, None] * expert(inputs)
            self.routed = [x.shape[0]] * len(self.experts)
        else:
            choice = self.assign(p)
            self.routed = []
            for e, expert in enumerate(self.experts):
                rows = torch.nonzero(choice == e).flatten()
                self.routed.append(len(rows))
                if len(rows):
                    gate = p[rows, e]
                    out = out.index_add(0, rows, gate[:, None, None, None] * expert(inputs[rows]))
        return self.merge(out, n), p

    def router_loss(self, p):
        mean = p.mean(dim=0)
        kl = (mean * torch.log(mean * p.shape[1])).sum()
        entropy = -(p * torch.log(p)).sum(dim=1).mean()
        return kl + self.gamma * entropy


def rel_l2(pred, target):
    b = pred.shape[0]
    return ((pred - target).reshape(b, -1).norm(dim=1) / target.reshape(b, -1).norm(dim=1)).mean()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="an m2mc M2M config (configs/m2m-ns64.json)")
    ap.add_argument("--capacities", default=None, help="per-expert capacities n0,n1,... (default: every patch)")
    ap.add_argument("--infer-capacities", default=None, help="the same for inference (default: --capacities)")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lambda", dest="lam", type=float, default=0.005, help="routing-loss weight (Kp/2)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    cfg = json.load(open(args.config))
    if cfg.get("model") != "m2m" or cfg.get("task", "time_stepping") != "time_stepping":
        ap.error(f"--config {args.config}: not a time-stepping M2M config")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    grid, batch = cfg["grid"], cfg["batch"]
    xs, ys = common.load_ns_batch(grid[0], batch, seed=args.seed)
    x, y = torch.from_numpy(xs), torch.from_numpy(ys)

    model = M2M(cfg, grid)
    patches = batch * model.scale ** 2
    def capacities(flag, text):
        if not text:
            return None
        try:
            caps = [int(c) for c in text.split(",")]
        except ValueError:
            caps = []
        if len(caps) != len(model.experts) or min(caps) < 0:
            ap.error(f"{flag}: {len(model.experts)} comma-separated counts >= 0 expected, got '{text}'")
        return caps
    train_caps = capacities("--capacities", args.capacities)
    infer_caps = capacities("--infer-capacities", args.infer_capacities) or train_caps
    model.capacities = train_caps
    opt_cfg = cfg.get("optimizer", {})
    opt = torch.optim.Adam(model.parameters(), lr=opt_cfg.get("lr", 1e-3),
                           weight_decay=opt_cfg.get("weight_decay", 0.0))
    params = sum(p.numel() * (2 if p.is_complex() else 1) for p in model.parameters())
    routed = []

    def train_step():
        opt.zero_grad(set_to_none=True)
        pred, p = model(x)
        loss = rel_l2(pred, y) + args.lam * model.router_loss(p)
        loss.backward()
        opt.step()
        routed.append(model.routed)
        return loss

    first_loss = float(train_step().detach())
    for _ in range(args.warmup - 1):
        train_step()
    routed.clear()
    train_ms = []
    for _ in range(args.steps):
        t = time.perf_counter()
        loss = train_step()
        train_ms.append((time.perf_counter() - t) * 1e3)
    train_routed = np.mean(np.array(routed), axis=0).tolist()

    model.eval()
    model.capacities = infer_caps
    infer_ms = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            model(x)
        for _ in range(args.steps):
            t = time.perf_counter()
            out, _ = model(x)
            infer_ms.append((time.perf_counter() - t) * 1e3)
    assert out.shape == (batch, grid[0], grid[1], 1)

    result = {
        "framework": "torch-eager", "model": cfg["name"], "dense": model.dense,
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
        "threads": torch.get_num_threads(), "res": grid[0], "batch": batch,
        "width": cfg["m2m"]["expert_widths"], "modes": cfg["m2m"]["expert_modes"],
        "steps": args.steps, "warmup": args.warmup, "params": params, "patches": patches,
        "capacities": train_caps, "infer_capacities": infer_caps, "train_routed_mean": train_routed, "infer_routed": model.routed,
        "train_ms": common.summarize_ms(train_ms), "infer_ms": common.summarize_ms(infer_ms),
        "loss_first": first_loss, "loss_last": float(loss.detach()),
    }
    return common.finish(result, args.json)


if __name__ == "__main__":
    main()
