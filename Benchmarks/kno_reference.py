#!/usr/bin/env python3
"""koopmanlab's KNO2d in PyTorch, loaded with m2mc's weights, against `m2mc infer`.

The model below is koopmanlab's `KNO2d` with its MLP autoencoder (koopmanlab/kno.py:
`encoder_mlp`, `decoder_mlp`, `Koopman_Operator2D`, `KNO2d`), restated module for
module with the same parameter shapes and the same forward pass, so that a
koopmanlab state dict loads into it unchanged. The script

  1. reads an m2mc KNO config (the `kno` object; defaults as in ARCHITECTURE.md) and
     a safetensors file written by `m2mc train` (weights and metadata),
  2. converts the weights to koopmanlab's layout (transposed linear weights, the
     Koopman matrix from m2mc's mode-major [mx*my, o, o, 2] to [o, o, mx, my] complex,
     w0 as a 1x1 Conv2d),
  3. runs koopmanlab's autoregressive rollout (`im[..., -1:]` appended as the newest
     frame) on the input array, in float32 and in float64,
  4. compares with the array `m2mc infer` wrote for the same input and weights.

Usage:
  kno_reference.py --config configs/kno-ns64.json --weights RUN/last.safetensors \
      --input x.npy --m2mc-output y.npy [--rollout R] [--json out.json]

Benchmarks/kno-parity.sh produces the inputs (datagen, a short training, infer) and
runs this script.
"""
import argparse
import json
import sys

import numpy as np

from reference_common import read_safetensors, rel_l2, time_steps
import torch
import torch.nn as nn


# --- koopmanlab's KNO2d (MLP autoencoder), module for module ---------------------

class encoder_mlp(nn.Module):
    def __init__(self, t_len, op_size):
        super().__init__()
        self.layer = nn.Linear(t_len, op_size)

    def forward(self, x):
        return self.layer(x)


class decoder_mlp(nn.Module):
    def __init__(self, t_len, op_size):
        super().__init__()
        self.layer = nn.Linear(op_size, t_len)

    def forward(self, x):
        return self.layer(x)


class Koopman_Operator2D(nn.Module):
    def __init__(self, op_size, modes_x, modes_y, dtype=torch.cfloat):
        super().__init__()
        self.op_size = op_size
        self.scale = 1 / (op_size * op_size)
        self.modes_x = modes_x
        self.modes_y = modes_y
        self.koopman_matrix = nn.Parameter(
            self.scale * torch.rand(op_size, op_size, modes_x, modes_y, dtype=dtype))

    def time_marching(self, input, weights):
        # (batch, t, x, y), (t, t+1, x, y) -> (batch, t+1, x, y)
        return torch.einsum("btxy,tfxy->bfxy", input, weights)

    def forward(self, x):
        x_ft = torch.fft.rfft2(x)
        out_ft = torch.zeros(x_ft.shape, dtype=x_ft.dtype, device=x.device)
        mx, my = self.modes_x, self.modes_y
        out_ft[:, :, :mx, :my] = self.time_marching(x_ft[:, :, :mx, :my], self.koopman_matrix)
        out_ft[:, :, -mx:, :my] = self.time_marching(x_ft[:, :, -mx:, :my], self.koopman_matrix)
        return torch.fft.irfft2(out_ft, s=(x.size(-2), x.size(-1)))


class KNO2d(nn.Module):
    def __init__(self, encoder, decoder, op_size, modes_x=10, modes_y=10, decompose=6, linear_type=True,
                 complex_dtype=torch.cfloat):
        super().__init__()
        self.op_size = op_size
        self.decompose = decompose
        self.enc = encoder
        self.dec = decoder
        self.koopman_layer = Koopman_Operator2D(op_size, modes_x, modes_y, dtype=complex_dtype)
        self.w0 = nn.Conv2d(op_size, op_size, 1)
        self.linear_type = linear_type

    def forward(self, x):
        x_reconstruct = self.dec(torch.tanh(self.enc(x)))
        x = torch.tanh(self.enc(x))
        x = x.permute(0, 3, 1, 2)
        x_w = x
        for _ in range(self.decompose):
            x1 = self.koopman_layer(x)
            x = x + x1 if self.linear_type else torch.tanh(x + x1)
        x = torch.tanh(self.w0(x_w) + x)
        x = x.permute(0, 2, 3, 1)
        return self.dec(x), x_reconstruct


# --- m2mc configs -----------------------------------------------------------------

def kno_settings(config_path):
    with open(config_path) as f:
        c = json.load(f)
    assert c.get("model") == "kno", f"{config_path}: not a kno config"
    k = {"op_size": 32, "modes": [16, 16], "decompose": 8, "linear_type": True, "reconstruction_weight": 0.1}
    k.update(c.get("kno", {}))
    steady = c.get("task", "time_stepping") == "steady"
    t_in = 1 if steady else c.get("t_in", 10)
    return c, k, t_in, steady


def build(k, t_in, w, dtype):
    """koopmanlab's KNO2d with m2mc's weights `w` (m2mc layouts: ARCHITECTURE.md)."""
    cdtype = torch.cdouble if dtype == torch.float64 else torch.cfloat
    mx, my = k["modes"]
    o = k["op_size"]
    model = KNO2d(encoder_mlp(t_in, o), decoder_mlp(t_in, o), o, modes_x=mx, modes_y=my,
                  decompose=k["decompose"], linear_type=k["linear_type"], complex_dtype=cdtype)
    if dtype == torch.float64:   # the real layers only: .to() would cast the complex matrix to real
        for m in (model.enc, model.dec, model.w0):
            m.double()
    kw = w["koopman.weight"].astype(np.float64).reshape(mx, my, o, o, 2)
    koopman = (kw[..., 0] + 1j * kw[..., 1]).transpose(2, 3, 0, 1)   # [in, out, mx, my]
    t = lambda a: torch.tensor(np.ascontiguousarray(a), dtype=dtype)
    with torch.no_grad():
        model.enc.layer.weight.copy_(t(w["encoder.weight"].T))
        model.enc.layer.bias.copy_(t(w["encoder.bias"]))
        model.koopman_layer.koopman_matrix.copy_(torch.tensor(koopman, dtype=cdtype))
        model.w0.weight.copy_(t(w["w0.weight"].T[:, :, None, None]))
        model.w0.bias.copy_(t(w["w0.bias"]))
        model.dec.layer.weight.copy_(t(w["decoder.weight"].T))
        model.dec.layer.bias.copy_(t(w["decoder.bias"]))
    return model


def rollout(model, x, steps, scale_in, scale_out, dtype):
    """koopmanlab's autoregressive loop on x[N, H, W, t_in] (already [.., 1] when steady),
    with m2mc's data scaling (inputs divided by the input scale, predictions multiplied
    by the target scale; one scale in time stepping)."""
    xx = torch.tensor(x / scale_in, dtype=dtype)
    preds = []
    with torch.no_grad():
        for _ in range(steps):
            im, _ = model(xx)
            p = im[..., -1:]
            preds.append(p)
            xx = torch.cat((xx[..., 1:], p), dim=-1)
    return (torch.cat(preds, dim=-1) * scale_out).double().numpy()


def bench(config, k, t_in, steps, warmup):
    """Times koopmanlab's KNO2d in eager PyTorch (float32, the threads set by --threads) at the
    config's batch and grid: one inference step, and one training step as m2mc's bench times
    it (rollout 1: relative L2 of the prediction + reconstruction_weight x relative L2 of the
    reconstruction, backward, Adam with L2 weight decay). Returns medians in ms."""
    h, w = config.get("grid", [64, 64])
    batch = config.get("batch", 20)
    opt = config.get("optimizer", {})
    o, (mx, my) = k["op_size"], k["modes"]
    model = KNO2d(encoder_mlp(t_in, o), decoder_mlp(t_in, o), o, modes_x=mx, modes_y=my,
                  decompose=k["decompose"], linear_type=k["linear_type"])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, h, w, t_in, generator=g)
    y = torch.randn(batch, h, w, 1, generator=g)
    adam = torch.optim.Adam(model.parameters(), lr=opt.get("lr", 1e-3), weight_decay=opt.get("weight_decay", 1e-4))

    def rel(p, t):
        d = (p - t).reshape(batch, -1).norm(dim=1) / t.reshape(batch, -1).norm(dim=1)
        return d.mean()

    def infer():
        with torch.no_grad():
            im, _ = model(x)
            return im[..., -1:]

    def train():
        adam.zero_grad(set_to_none=True)
        im, re = model(x)
        loss = rel(im[..., -1:], y) + k["reconstruction_weight"] * rel(re, x)
        loss.backward()
        adam.step()

    return time_steps(infer, train, steps, warmup)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--input", help="the array given to m2mc infer")
    ap.add_argument("--m2mc-output", help="the array m2mc infer wrote")
    ap.add_argument("--bench", action="store_true", help="only time koopmanlab's KNO2d in eager PyTorch")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rollout", type=int, default=1)
    ap.add_argument("--tolerance", type=float, default=1e-5,
                    help="largest accepted relative L2 error per rollout step against float64 torch")
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    config, k, t_in, steady = kno_settings(args.config)
    if args.bench:
        r = bench(config, k, t_in, args.steps, args.warmup)
        print(json.dumps({"config": args.config, "torch": torch.__version__, "threads": args.threads, **r}))
        return
    if not (args.weights and args.input and args.m2mc_output):
        ap.error("--weights, --input and --m2mc-output are required (or --bench)")
    weights, meta = read_safetensors(args.weights)
    scale_in = float(meta.get("data_scale.input", "1"))
    scale_out = float(meta.get("data_scale.target", "1"))
    x = np.load(args.input).astype(np.float64)
    ours = np.load(args.m2mc_output).astype(np.float64)
    if steady:
        x, ours = x[..., None], ours[..., None]
    steps = 1 if steady else args.rollout
    assert ours.shape == x.shape[:3] + (steps,), f"m2mc output {ours.shape}, expected {x.shape[:3] + (steps,)}"

    torch32 = rollout(build(k, t_in, weights, torch.float32), x.astype(np.float32), steps, scale_in, scale_out,
                      torch.float32)
    torch64 = rollout(build(k, t_in, weights, torch.float64), x, steps, scale_in, scale_out, torch.float64)
    rows = []
    for s in range(steps):
        rows.append({
            "step": s + 1,
            "m2mc_vs_torch64": rel_l2(ours[..., s], torch64[..., s]),
            "torch32_vs_torch64": rel_l2(torch32[..., s], torch64[..., s]),
            "m2mc_vs_torch32": rel_l2(ours[..., s], torch32[..., s]),
            "max_abs_m2mc_vs_torch64": float(np.abs(ours[..., s] - torch64[..., s]).max()),
            "max_abs_value": float(np.abs(torch64[..., s]).max()),
        })
    print(f"{config.get('name', args.config)}: {x.shape[0]} samples, {steps} rollout steps, "
          f"kno {k}, data scales {scale_in:g}/{scale_out:g}")
    print("step  rel.L2 m2mc/torch64  rel.L2 torch32/torch64  rel.L2 m2mc/torch32  max|m2mc-torch64|")
    for r in rows:
        print(f"{r['step']:4d}  {r['m2mc_vs_torch64']:19.3e}  {r['torch32_vs_torch64']:22.3e}  "
              f"{r['m2mc_vs_torch32']:19.3e}  {r['max_abs_m2mc_vs_torch64']:.3e} (of {r['max_abs_value']:.3e})")
    worst = max(r["m2mc_vs_torch64"] for r in rows)
    ok = worst <= args.tolerance
    print(f"{'PASS' if ok else 'FAIL'}: worst relative L2 against float64 torch {worst:.3e} "
          f"(tolerance {args.tolerance:g})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": args.config, "kno": k, "rows": rows, "pass": ok,
                       "torch": torch.__version__}, f, indent=2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
