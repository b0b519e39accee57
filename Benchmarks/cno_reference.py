#!/usr/bin/env python3
"""The authors' CNO2d in PyTorch, loaded with m2mc's weights, against `m2mc infer`.

The model below restates camlab-ethz/ConvolutionalNeuralOperator's `CNO2d`
(CNO2d_simplified/CNO2d.py: `CNOBlock`, `LiftProjectBlock`, `ResidualBlock`, `ResNet`,
`CNO2d`) module for module, without batch norm (m2mc's CNO has none: ARCHITECTURE.md),
with the activation as m2mc builds it: the CNO's anti-aliased leaky ReLU, upsampled to
twice the larger grid, `nn.LeakyReLU()`, downsampled, each resampling a periodic
windowed-sinc (Kaiser) filter written here from its definition (numpy, float64) rather
than `F.interpolate(mode="bicubic", antialias=True)` of the simplified version. The script

  1. reads an m2mc CNO config (the `cno` object; defaults as in ARCHITECTURE.md) and a
     safetensors file written by `m2mc train` (weights and metadata),
  2. converts the weights to PyTorch's layout (`[k, k, Ci, Co]` -> `Conv2d`'s `[Co, Ci, k, k]`),
  3. runs the autoregressive rollout (the prediction appended as the newest frame) on the
     input array, in float32 and in float64,
  4. compares with the array `m2mc infer` wrote for the same input and weights.

Usage:
  cno_reference.py --config configs/cno-ns64.json --weights RUN/last.safetensors \
      --input x.npy --m2mc-output y.npy [--rollout R] [--json out.json]
  cno_reference.py --config configs/cno-ns64.json --bench [--threads T]

Benchmarks/cno-parity.sh produces the inputs (datagen, a short training, infer) and runs
this script.
"""
import argparse
import json
import math
import sys

import numpy as np

from reference_common import read_safetensors, rel_l2, rollout, time_steps
import torch
import torch.nn as nn

SLOPE = 0.01                      # nn.LeakyReLU() default, as CNO2d
CUTOFF_DEN, HALF_WIDTH_MULT, FILTER_SIZE = 2.0001, 0.8, 6   # the CNO's filter defaults


# --- the windowed-sinc resampling matrices ------------------------------------------

def kaiser_beta(taps, width, rate):
    """scipy.signal.kaiser_beta(scipy.signal.kaiser_atten(taps, width / (rate / 2)))."""
    a = 2.285 * (taps - 1) * math.pi * (width / (rate / 2)) + 7.95
    if a > 50:
        return 0.1102 * (a - 8.7)
    if a > 21:
        return 0.5842 * (a - 21) ** 0.4 + 0.07886 * (a - 21)
    return 0.0


def sinc_matrix(n, m):
    """[m, n]: n periodic samples (at a / n on the unit period) to m (at i / m), through the
    low-pass h(t) = 2 fc sinc(2 fc t) kaiser(t / L), fc = min(n, m) / 2.0001,
    L = filter_size / (2 min(n, m)), summed over periodic images; rows normalized to 1."""
    low, high = min(n, m), max(n, m)
    fc = low / CUTOFF_DEN
    half_width = HALF_WIDTH_MULT * low - fc
    taps = FILTER_SIZE * round(high / low)
    support = FILTER_SIZE / (2 * low)
    beta = kaiser_beta(taps, 2 * half_width, high)
    d = np.arange(m)[:, None] / m - np.arange(n)[None, :] / n
    a = np.zeros((m, n))
    for k in range(-int(math.ceil(support)) - 2, int(math.ceil(support)) + 3):
        t = d - k
        r = t / support
        inside = np.abs(r) <= 1
        window = np.where(inside, np.i0(beta * np.sqrt(np.clip(1 - r * r, 0, None))) / np.i0(beta), 0.0)
        a += 2 * fc * np.sinc(2 * fc * t) * window
    return a / a.sum(axis=1, keepdims=True)


class Resample(nn.Module):
    """x[N, C, H, W] -> [N, C, h, w]: A_H x A_W^T per sample and channel."""

    def __init__(self, size_in, size_out, dtype):
        super().__init__()
        self.register_buffer("ah", torch.tensor(sinc_matrix(size_in[0], size_out[0]), dtype=dtype))
        self.register_buffer("aw", torch.tensor(sinc_matrix(size_in[1], size_out[1]), dtype=dtype))

    def forward(self, x):
        return torch.einsum("ih,nchw,jw->ncij", self.ah, x, self.aw)


class CNO_LReLu(nn.Module):
    """Up to twice the larger grid, leaky ReLU, down to the output grid."""

    def __init__(self, in_size, out_size, dtype):
        super().__init__()
        fine = (2 * max(in_size[0], out_size[0]), 2 * max(in_size[1], out_size[1]))
        self.up = Resample(in_size, fine, dtype)
        self.down = Resample(fine, out_size, dtype)
        self.act = nn.LeakyReLU(SLOPE)

    def forward(self, x):
        return self.down(self.act(self.up(x)))


# --- CNO2d, module for module (no batch norm) ----------------------------------------

def conv(ci, co, k, periodic):
    return nn.Conv2d(ci, co, kernel_size=k, padding=(k - 1) // 2, padding_mode="circular" if periodic else "zeros")


class CNOBlock(nn.Module):
    def __init__(self, ci, co, in_size, out_size, k, periodic, dtype):
        super().__init__()
        self.convolution = conv(ci, co, k, periodic)
        self.act = CNO_LReLu(in_size, out_size, dtype)

    def forward(self, x):
        return self.act(self.convolution(x))


class LiftProjectBlock(nn.Module):
    def __init__(self, ci, co, size, latent, k, periodic, dtype):
        super().__init__()
        self.inter_CNOBlock = CNOBlock(ci, latent, size, size, k, periodic, dtype)
        self.convolution = conv(latent, co, k, periodic)

    def forward(self, x):
        return self.convolution(self.inter_CNOBlock(x))


class ResidualBlock(nn.Module):
    def __init__(self, c, size, k, periodic, dtype):
        super().__init__()
        self.convolution1 = conv(c, c, k, periodic)
        self.convolution2 = conv(c, c, k, periodic)
        self.act = CNO_LReLu(size, size, dtype)

    def forward(self, x):
        return x + self.convolution2(self.act(self.convolution1(x)))


class CNO2d(nn.Module):
    def __init__(self, in_dim, out_dim, size, N_layers, N_res, N_res_neck, channel_multiplier, latent, k, periodic,
                 dtype=torch.float32):
        super().__init__()
        L = N_layers
        self.N_layers = L
        feats = [channel_multiplier // 2] + [2 ** i * channel_multiplier for i in range(L)]
        dec_in = feats[1:][::-1]
        dec_out = feats[:-1][::-1]
        for i in range(1, L):
            dec_in[i] *= 2
        sizes = [(size[0] // 2 ** i, size[1] // 2 ** i) for i in range(L + 1)]
        dsizes = sizes[::-1]
        blk = lambda ci, co, a, b: CNOBlock(ci, co, a, b, k, periodic, dtype)
        self.lift = LiftProjectBlock(in_dim, feats[0], size, latent, k, periodic, dtype)
        self.project = LiftProjectBlock(feats[0] + dec_out[-1], out_dim, size, latent, k, periodic, dtype)
        self.encoder = nn.ModuleList([blk(feats[i], feats[i + 1], sizes[i], sizes[i + 1]) for i in range(L)])
        self.ED_expansion = nn.ModuleList([blk(feats[i], feats[i], sizes[i], dsizes[L - i]) for i in range(L + 1)])
        self.decoder = nn.ModuleList([blk(dec_in[i], dec_out[i], dsizes[i], dsizes[i + 1]) for i in range(L)])
        self.res_nets = nn.ModuleList([nn.Sequential(*[ResidualBlock(feats[l], sizes[l], k, periodic, dtype)
                                                       for _ in range(N_res)]) for l in range(L)])
        self.res_net_neck = nn.Sequential(*[ResidualBlock(feats[L], sizes[L], k, periodic, dtype)
                                            for _ in range(N_res_neck)])

    def forward(self, x):
        x = self.lift(x)
        skip = []
        for i in range(self.N_layers):
            skip.append(self.res_nets[i](x))
            x = self.encoder[i](x)
        x = self.res_net_neck(x)
        for i in range(self.N_layers):
            if i == 0:
                x = self.ED_expansion[self.N_layers - i](x)
            else:
                x = torch.cat((x, self.ED_expansion[self.N_layers - i](skip[-i])), 1)
            x = self.decoder[i](x)
        x = torch.cat((x, self.ED_expansion[0](skip[0])), 1)
        return self.project(x)


# --- m2mc configs -----------------------------------------------------------------

def cno_settings(config_path):
    with open(config_path) as f:
        c = json.load(f)
    assert c.get("model") == "cno", f"{config_path}: not a cno config"
    k = {"n_layers": 3, "n_res": 4, "n_res_neck": 4, "channel_multiplier": 16, "latent_dim": 64, "kernel": 3,
         "periodic_padding": False}
    k.update(c.get("cno", {}))
    steady = c.get("task", "time_stepping") == "steady"
    t_in = 1 if steady else c.get("t_in", 10)
    return c, k, t_in, steady


def make(c, k, t_in, dtype):
    return CNO2d(t_in, 1, tuple(c.get("grid", [64, 64])), k["n_layers"], k["n_res"], k["n_res_neck"],
                 k["channel_multiplier"], k["latent_dim"], k["kernel"], k["periodic_padding"], dtype).to(dtype)


def m2mc_names(model):
    """PyTorch module path -> m2mc parameter name (ARCHITECTURE.md, CNO weight layout)."""
    names = {"lift.inter_CNOBlock.convolution": "lift.block", "lift.convolution": "lift.conv",
             "project.inter_CNOBlock.convolution": "project.block", "project.convolution": "project.conv"}
    L = model.N_layers
    for l in range(L):
        names[f"encoder.{l}.convolution"] = f"encoder.{l}"
        names[f"decoder.{l}.convolution"] = f"decoder.{l}"
        for j in range(len(model.res_nets[l])):
            for c in (1, 2):
                names[f"res_nets.{l}.{j}.convolution{c}"] = f"res.{l}.{j}.conv{c}"
    for l in range(L + 1):
        names[f"ED_expansion.{l}.convolution"] = f"expansion.{l}"
    for j in range(len(model.res_net_neck)):
        for c in (1, 2):
            names[f"res_net_neck.{j}.convolution{c}"] = f"neck.{j}.conv{c}"
    return names


def build(c, k, t_in, w, dtype):
    model = make(c, k, t_in, dtype)
    modules = dict(model.named_modules())
    used = set()
    with torch.no_grad():
        for path, name in m2mc_names(model).items():
            m = modules[path]
            m.weight.copy_(torch.tensor(np.ascontiguousarray(w[name + ".weight"].transpose(3, 2, 0, 1)), dtype=dtype))
            m.bias.copy_(torch.tensor(w[name + ".bias"], dtype=dtype))
            used |= {name + ".weight", name + ".bias"}
    missing = {n for n in w if not n.startswith("adam.")} - used
    assert not missing, f"weights not loaded: {sorted(missing)}"
    return model


def bench(c, k, t_in, steps, warmup):
    """Eager PyTorch float32 at the config's batch and grid: one inference step, and one
    training step as m2mc's bench times it (rollout 1, relative L2, backward, Adam with L2
    weight decay). Medians in ms."""
    h, w = c.get("grid", [64, 64])
    batch = c.get("batch", 20)
    opt = c.get("optimizer", {})
    model = make(c, k, t_in, torch.float32)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, t_in, h, w, generator=g)
    y = torch.randn(batch, 1, h, w, generator=g)
    adam = torch.optim.Adam(model.parameters(), lr=opt.get("lr", 1e-3), weight_decay=opt.get("weight_decay", 1e-4))

    def rel(p, t):
        return ((p - t).reshape(batch, -1).norm(dim=1) / t.reshape(batch, -1).norm(dim=1)).mean()

    def infer():
        with torch.no_grad():
            return model(x)

    def train():
        adam.zero_grad(set_to_none=True)
        rel(model(x), y).backward()
        adam.step()

    return time_steps(infer, train, steps, warmup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--input", help="the array given to m2mc infer")
    ap.add_argument("--m2mc-output", help="the array m2mc infer wrote")
    ap.add_argument("--rollout", type=int, default=1)
    ap.add_argument("--json")
    ap.add_argument("--bench", action="store_true", help="only time the CNO2d in eager PyTorch")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    c, k, t_in, steady = cno_settings(args.config)
    if args.bench:
        result = {"config": args.config, "threads": torch.get_num_threads(), **bench(c, k, t_in, args.steps, args.warmup)}
        print(json.dumps(result))
        return 0
    w, meta = read_safetensors(args.weights)
    scale_in = float(meta.get("data_scale.input", 1))
    scale_out = float(meta.get("data_scale.target", 1))
    x = np.load(args.input).astype(np.float64)
    if steady and x.ndim == 3:
        x = x[..., None]
    ours = np.load(args.m2mc_output).astype(np.float64)
    if ours.ndim == 3:
        ours = ours[..., None]
    result = {"config": args.config, "rollout": args.rollout}
    for name, dtype in (("float32", torch.float32), ("float64", torch.float64)):
        model = build(c, k, t_in, w, dtype)
        ref = rollout(model, x, args.rollout, scale_in, scale_out, dtype)
        result[f"rel_l2_vs_torch_{name}"] = rel_l2(ours.reshape(ref.shape), ref)
        result[f"max_abs_vs_torch_{name}"] = float(np.abs(ours.reshape(ref.shape) - ref).max())
        if name == "float64":
            ref64 = ref
        else:
            ref32 = ref
    result["rel_l2_torch_float32_vs_float64"] = rel_l2(ref32, ref64)
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    # Float32 rounding: m2mc within 10x torch float32's own distance from float64 (and 1e-4).
    ok = result["rel_l2_vs_torch_float64"] <= max(1e-4, 10 * result["rel_l2_torch_float32_vs_float64"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
