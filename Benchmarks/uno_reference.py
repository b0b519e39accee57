#!/usr/bin/env python3
"""neuraloperator's UNO in PyTorch, loaded with m2mc's weights, against `m2mc infer`.

The model is neuraloperator's own `UNO` (pip package `neuraloperator`, its modules
imported without the package's __init__, which pulls in training and data extras),
built from an m2mc UNO config as ARCHITECTURE.md maps the keys: `positional_embedding`
"grid", `fno_skip`, `horizontal_skip` and `channel_mlp_skip` "linear", no domain
padding, no norm, `out_channels` 1. Two changes, both stated in ARCHITECTURE.md:

  * GELU: neuraloperator's channel MLPs use the exact (erf) GELU; m2mc's GELU is the
    tanh form, so every ChannelMLP's non-linearity is set to F.gelu(approximate="tanh").
  * The spectral convolution of a layer that changes the grid: neuraloperator 2.0.0
    builds the kept modes into a spectrum of the *input* size and lets
    `irfftn(s=output_size)` trim or zero-pad it at the end of the row axis, so a
    downsampling layer drops its negative row frequencies and an upsampling one moves
    them to high positive frequencies. m2mc evaluates each kept mode at its own
    frequency on the output grid. `SpectralConv.forward` is replaced by that
    frequency-preserving form (identical to neuraloperator's when the grid stays);
    `--as-released` runs the unpatched forward too and reports how far it is.

The script
  1. reads an m2mc UNO config (the `uno` object; defaults as in ARCHITECTURE.md) and a
     safetensors file written by `m2mc train` (weights and metadata),
  2. converts the weights to neuraloperator's layout (Conv1d weights [out, in, 1]; the
     spectral weight from m2mc's mode-major [2 m1 m2, in, out, 2] to [in, out, n_h, m2]
     complex, rows in frequency order -m1..m1-1, times (H W)/(H2 W2): m2mc's inverse
     transform scales by 1/(H2 W2) at the output grid, neuraloperator's forward-normalized
     transform by 1/(H W) at the input grid; the lifting's two grid rows swapped),
  3. runs the autoregressive rollout on the input array in float32 and float64,
  4. compares with the array `m2mc infer` wrote for the same input and weights.

Usage:
  uno_reference.py --config configs/uno-ns64.json --weights RUN/last.safetensors \
      --input x.npy --m2mc-output y.npy [--rollout R] [--json out.json] [--as-released]
  uno_reference.py --config configs/uno-ns64.json --bench [--threads T]
  uno_reference.py --config configs/tiny-uno.json --self-check   # the weight conversion alone

Benchmarks/uno-parity.sh produces the inputs (datagen, a short training, infer) and
runs this script.
"""
import argparse
import contextlib
import importlib.util
import io
import json
import os
import sys
import types
import warnings

import numpy as np

from reference_common import read_safetensors, rel_l2, rollout, time_steps
import torch
import torch.nn.functional as F


def import_neuraloperator():
    """neuraloperator's UNO, ChannelMLP and SpectralConv without running neuralop/__init__.py
    (which imports wandb, h5py and the data sets)."""
    spec = importlib.util.find_spec("neuralop")
    if spec is None:
        sys.exit("neuraloperator is not installed: pip install neuraloperator tensorly tensorly-torch opt-einsum")
    root = os.path.dirname(spec.origin)
    for name in ("neuralop", "neuralop.models"):
        if name not in sys.modules:
            module = types.ModuleType(name)
            module.__path__ = [os.path.join(root, *name.split(".")[1:])]
            sys.modules[name] = module
    from neuralop.models.uno import UNO
    from neuralop.layers.channel_mlp import ChannelMLP
    from neuralop.layers.spectral_convolution import SpectralConv
    version = "unknown"
    try:
        from importlib.metadata import version as package_version
        version = package_version("neuraloperator")
    except Exception:
        pass
    return UNO, ChannelMLP, SpectralConv, version


UNO, ChannelMLP, SpectralConv, NEURALOP_VERSION = import_neuraloperator()
RELEASED_FORWARD = SpectralConv.forward


def gelu_tanh(x):
    return F.gelu(x, approximate="tanh")


def frequency_preserving_forward(self, x, output_shape=None):
    """SpectralConv.forward for real 2-D data with each kept mode evaluated at its own
    frequency on the output grid (fft_norm "forward" as neuraloperator)."""
    batch, _, h, w = x.shape
    if output_shape is None:
        factors = self.resolution_scaling_factor or [1, 1]
        output_shape = (round(h * factors[0]), round(w * factors[1]))
    h2, w2 = output_shape
    weight = self.weight.to_tensor() if hasattr(self.weight, "to_tensor") else self.weight
    n_h, m2 = weight.shape[-2:]
    m1 = n_h // 2
    spectrum = torch.fft.rfftn(x, norm="forward", dim=(-2, -1))
    kept = torch.cat([spectrum[:, :, h - m1:, :m2], spectrum[:, :, :m1, :m2]], dim=2)   # rows -m1..m1-1
    mixed = torch.einsum("bixy,ioxy->boxy", kept, weight.to(kept.dtype))
    out = torch.zeros(batch, self.out_channels, h2, w2 // 2 + 1, dtype=mixed.dtype)
    out[:, :, :m1, :m2] = mixed[:, :, m1:]
    out[:, :, h2 - m1:, :m2] = mixed[:, :, :m1]
    y = torch.fft.irfftn(out, s=(h2, w2), dim=(-2, -1), norm="forward")
    return y + self.bias if self.bias is not None else y


# --- m2mc configs -----------------------------------------------------------------

def py_round(v):
    return int(round(v))   # Python's round: half to even, as neuraloperator and m2mc


def uno_settings(config_path):
    with open(config_path) as f:
        c = json.load(f)
    assert c.get("model") == "uno", f"{config_path}: not a uno config"
    u = {"hidden_channels": 16, "lifting_channels": 128, "projection_channels": 128,
         "out_channels": [16, 32, 32, 32, 16], "n_modes": [[24, 24]] * 5,
         "scalings": [[1, 1], [0.5, 0.5], [1, 1], [1, 1], [2, 2]], "horizontal_skips_map": None,
         "channel_mlp_expansion": 0.5}
    u.update(c.get("uno", {}))
    layers = len(u["out_channels"])
    if u["horizontal_skips_map"] is None:
        u["horizontal_skips_map"] = {str(layers - i - 1): i for i in range(layers // 2)}
    steady = c.get("task", "time_stepping") == "steady"
    t_in = 1 if steady else c.get("t_in", 10)
    return c, u, t_in, steady


def grids(u, grid):
    """Each layer's input grid, then the output (the last layer returns to the input grid)."""
    result = [list(grid)]
    layers = len(u["out_channels"])
    for i in range(layers):
        g = result[-1]
        result.append(list(grid) if i == layers - 1 else [py_round(g[0] * u["scalings"][i][0]),
                                                          py_round(g[1] * u["scalings"][i][1])])
    return result


def make_model(u, t_in):
    with contextlib.redirect_stdout(io.StringIO()):   # UNO prints its skip settings
        model = UNO(t_in, 1, u["hidden_channels"], lifting_channels=u["lifting_channels"],
                    projection_channels=u["projection_channels"], positional_embedding="grid",
                    n_layers=len(u["out_channels"]), uno_out_channels=u["out_channels"], uno_n_modes=u["n_modes"],
                    uno_scalings=u["scalings"], horizontal_skips_map={int(b): a for b, a in u["horizontal_skips_map"].items()},
                    channel_mlp_expansion=u["channel_mlp_expansion"], non_linearity=gelu_tanh,
                    fno_skip="linear", horizontal_skip="linear", channel_mlp_skip="linear")
    for m in model.modules():
        if isinstance(m, ChannelMLP):
            m.non_linearity = gelu_tanh
    return model


def build(u, t_in, grid, w, dtype):
    """neuraloperator's UNO with m2mc's weights `w` (m2mc layouts: ARCHITECTURE.md)."""
    model = make_model(u, t_in)
    cdtype = torch.cdouble if dtype == torch.float64 else torch.cfloat
    g = grids(u, grid)

    def conv(module, name, bias=None):   # m2mc [in, out] -> Conv1d [out, in, 1]
        module.weight.copy_(torch.tensor(np.ascontiguousarray(w[name].T[:, :, None]), dtype=dtype))
        if bias is not None:
            module.bias.copy_(torch.tensor(w[bias], dtype=dtype))

    with torch.no_grad(), warnings.catch_warnings():
        # .to() casts the complex spectral weights to real (with a warning); they are replaced below.
        warnings.simplefilter("ignore")
        model.to(dtype)
        lift = w["lifting.hidden.weight"]
        order = list(range(t_in)) + [t_in + 1, t_in]   # m2mc: x = w/W then y = h/H; neuraloperator: h first
        model.lifting.fcs[0].weight.copy_(torch.tensor(np.ascontiguousarray(lift[order].T[:, :, None]), dtype=dtype))
        model.lifting.fcs[0].bias.copy_(torch.tensor(w["lifting.hidden.bias"], dtype=dtype))
        conv(model.lifting.fcs[1], "lifting.out.weight", "lifting.out.bias")
        for i, block in enumerate(model.fno_blocks):
            p = f"blocks.{i}."
            spectral = block.convs[0]
            (h, wd), (h2, w2) = g[i], g[i + 1]
            n_h = u["n_modes"][i][0]
            m1, m2 = n_h // 2, u["n_modes"][i][1] // 2 + 1
            s = w[p + "spectral.weight"].astype(np.float64)
            cin, cout = s.shape[1], s.shape[2]
            s = (s[..., 0] + 1j * s[..., 1]).reshape(2, m1, m2, cin, cout)
            s = np.concatenate([s[1], s[0]], axis=0)             # rows in frequency order -m1..m1-1
            s = s.transpose(2, 3, 0, 1) * (h * wd) / (h2 * w2)   # [in, out, n_h, m2], neuraloperator's normalization
            tensor = next(spectral.weight.parameters())
            assert tuple(tensor.shape) == s.shape, f"{p}spectral.weight: {tuple(tensor.shape)} vs {s.shape}"
            tensor.data = torch.tensor(s, dtype=cdtype)
            spectral.bias.copy_(torch.tensor(w[p + "spectral.bias"][:, None, None], dtype=dtype))
            conv(block.fno_skips[0].conv, p + "fno_skip.weight")
            conv(block.channel_mlp[0].fcs[0], p + "channel_mlp.hidden.weight", p + "channel_mlp.hidden.bias")
            conv(block.channel_mlp[0].fcs[1], p + "channel_mlp.out.weight", p + "channel_mlp.out.bias")
            conv(block.channel_mlp_skips[0].conv, p + "channel_mlp_skip.weight")
        for a, skip in model.horizontal_skips.items():
            conv(skip.conv, f"horizontal_skips.{a}.weight")
        conv(model.projection.fcs[0], "projection.hidden.weight", "projection.hidden.bias")
        conv(model.projection.fcs[1], "projection.out.weight", "projection.out.bias")
    return model


def bench(config, u, t_in, steps, warmup):
    """Times neuraloperator's UNO in eager PyTorch (float32, frequency-preserving spectral
    convolution) at the config's batch and grid: one inference step, and one training step
    as m2mc's bench times it (rollout 1, relative L2, backward, Adam with L2 weight decay).
    Returns medians in ms."""
    h, w = config.get("grid", [64, 64])
    batch = config.get("batch", 20)
    opt = config.get("optimizer", {})
    model = make_model(u, t_in)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, t_in, h, w, generator=gen)
    y = torch.randn(batch, 1, h, w, generator=gen)
    adam = torch.optim.Adam(model.parameters(), lr=opt.get("lr", 1e-3), weight_decay=opt.get("weight_decay", 1e-4))

    def infer():
        with torch.no_grad():
            return model(x)

    def train():
        adam.zero_grad(set_to_none=True)
        p = model(x)
        loss = ((p - y).reshape(batch, -1).norm(dim=1) / y.reshape(batch, -1).norm(dim=1)).mean()
        loss.backward()
        adam.step()

    return time_steps(infer, train, steps, warmup)


def runtime_semantics(u, t_in, grid, w, x):
    """The runtime's UNO step restated in NumPy float64, channels last (m2mc's layouts and
    normalization: irfft2 on the output grid scaled by 1/(H2 W2), bicubic matrices per
    axis, skip convolutions before the resample as neuraloperator orders them)."""
    def gelu(v):
        return 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))

    def lin(v, name, bias=None):
        y = v @ w[name].astype(np.float64)
        return y + w[bias] if bias else y

    def bicubic(n, m):
        a, A = -0.75, np.zeros((m, n))
        scale = (n - 1) / (m - 1) if m > 1 else 0
        for i in range(m):
            src = scale * i
            f = min(int(np.floor(src)), n - 1)
            t = min(max(src - f, 0), 1)
            taps = [((a * d - 5 * a) * d + 8 * a) * d - 4 * a if k in (0, 3) else ((a + 2) * d - (a + 3)) * d * d + 1
                    for k, d in enumerate([t + 1, t, 1 - t, 2 - t])]
            for k, weight in enumerate(taps):
                A[i, min(max(f - 1 + k, 0), n - 1)] += weight
        return A

    def resample(v, g):
        if list(v.shape[1:3]) == list(g):
            return v
        return np.einsum("ah,bw,nhwc->nabc", bicubic(v.shape[1], g[0]), bicubic(v.shape[2], g[1]), v)

    def spectral(v, name, m1, m2, g):
        n, h, _, c = v.shape
        X = np.fft.rfft2(v, axes=(1, 2))
        kept = X[:, list(range(m1)) + list(range(h - m1, h))][:, :, :m2]
        s_ = w[name].astype(np.float64)
        Y = np.einsum("nrkc,rkco->nrko", kept, (s_[..., 0] + 1j * s_[..., 1]).reshape(2 * m1, m2, c, -1))
        out = np.zeros((n, g[0], g[1] // 2 + 1, Y.shape[-1]), complex)
        out[:, :m1, :m2], out[:, g[0] - m1:, :m2] = Y[:, :m1], Y[:, m1:]
        return np.fft.irfft2(out, s=tuple(g), axes=(1, 2))

    n, h, wd = x.shape[0], grid[0], grid[1]
    yy, xx = np.meshgrid(np.arange(h) / h, np.arange(wd) / wd, indexing="ij")
    coords = [np.broadcast_to(c[None, ..., None], (n, h, wd, 1)) for c in (xx, yy)]
    v = lin(gelu(lin(np.concatenate([x] + coords, -1), "lifting.hidden.weight", "lifting.hidden.bias")),
            "lifting.out.weight", "lifting.out.bias")
    g, skips, saved = grids(u, grid), {int(b): a for b, a in u["horizontal_skips_map"].items()}, {}
    for i in range(len(u["out_channels"])):
        if i in skips:
            v = np.concatenate([v, resample(saved[skips[i]], g[i])], -1)
        p, (n_h, n_w) = f"blocks.{i}.", u["n_modes"][i]
        mixed = spectral(v, p + "spectral.weight", n_h // 2, n_w // 2 + 1, g[i + 1])
        block = mixed + resample(lin(v, p + "fno_skip.weight", p + "spectral.bias"), g[i + 1])
        hidden = gelu(lin(block, p + "channel_mlp.hidden.weight", p + "channel_mlp.hidden.bias"))
        v = lin(hidden, p + "channel_mlp.out.weight", p + "channel_mlp.out.bias") \
            + resample(lin(v, p + "channel_mlp_skip.weight"), g[i + 1])
        if i in skips.values():
            saved[i] = lin(v, f"horizontal_skips.{i}.weight")
    return lin(gelu(lin(v, "projection.hidden.weight", "projection.hidden.bias")), "projection.out.weight",
               "projection.out.bias")[..., 0]


def self_check(config, u, t_in):
    """Random weights in m2mc's layouts, converted: the NumPy restatement of the runtime against
    neuraloperator's UNO (patched) in float64 (a check of the conversion, no m2mc needed)."""
    grid = config.get("grid", [64, 64])
    rng = np.random.default_rng(0)
    shapes = {name: tuple(p.shape) for name, p in make_model(u, t_in).named_parameters()}
    layers, skips = len(u["out_channels"]), {int(b): a for b, a in u["horizontal_skips_map"].items()}
    cin = [(u["hidden_channels"] if i == 0 else u["out_channels"][i - 1]) + (u["out_channels"][skips[i]] if i in skips else 0)
           for i in range(layers)]
    w = {}

    def put(name, *shape):
        w[name] = rng.uniform(-0.5, 0.5, shape).astype(np.float32)

    put("lifting.hidden.weight", t_in + 2, u["lifting_channels"]); put("lifting.hidden.bias", u["lifting_channels"])
    put("lifting.out.weight", u["lifting_channels"], u["hidden_channels"]); put("lifting.out.bias", u["hidden_channels"])
    for i in range(layers):
        co, p = u["out_channels"][i], f"blocks.{i}."
        ch = round(co * u["channel_mlp_expansion"])
        put(p + "spectral.weight", 2 * (u["n_modes"][i][0] // 2) * (u["n_modes"][i][1] // 2 + 1), cin[i], co, 2)
        put(p + "spectral.bias", co); put(p + "fno_skip.weight", cin[i], co); put(p + "channel_mlp_skip.weight", cin[i], co)
        put(p + "channel_mlp.hidden.weight", co, ch); put(p + "channel_mlp.hidden.bias", ch)
        put(p + "channel_mlp.out.weight", ch, co); put(p + "channel_mlp.out.bias", co)
    for a in set(skips.values()):
        put(f"horizontal_skips.{a}.weight", u["out_channels"][a], u["out_channels"][a])
    put("projection.hidden.weight", u["out_channels"][-1], u["projection_channels"])
    put("projection.hidden.bias", u["projection_channels"])
    put("projection.out.weight", u["projection_channels"], 1); put("projection.out.bias", 1)
    assert len(shapes) == len(w), f"{len(w)} m2mc tensors for {len(shapes)} neuraloperator parameters"
    x = rng.standard_normal((2, grid[0], grid[1], t_in))
    ours = runtime_semantics(u, t_in, grid, w, x)
    with torch.no_grad():
        theirs = build(u, t_in, grid, w, torch.float64)(torch.tensor(x).permute(0, 3, 1, 2))[:, 0].numpy()
        SpectralConv.forward = RELEASED_FORWARD
        released = build(u, t_in, grid, w, torch.float64)(torch.tensor(x).permute(0, 3, 1, 2))[:, 0].numpy()
        SpectralConv.forward = frequency_preserving_forward
    error = rel_l2(theirs, ours)
    print(f"self-check {config.get('name')}: NumPy runtime semantics vs neuraloperator (patched), float64: {error:.3e}; "
          f"neuraloperator as released vs patched: {rel_l2(released, theirs):.3e}")
    return error < 1e-12


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights")
    ap.add_argument("--input", help="the array given to m2mc infer")
    ap.add_argument("--m2mc-output", help="the array m2mc infer wrote")
    ap.add_argument("--bench", action="store_true", help="only time neuraloperator's UNO in eager PyTorch")
    ap.add_argument("--self-check", action="store_true",
                    help="only check the weight conversion on random weights against a NumPy restatement of the runtime")
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rollout", type=int, default=1)
    ap.add_argument("--as-released", action="store_true",
                    help="also run neuraloperator's unpatched SpectralConv.forward and report its distance")
    ap.add_argument("--tolerance", type=float, default=1e-5,
                    help="largest accepted relative L2 error per rollout step against float64 torch")
    ap.add_argument("--json")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    config, u, t_in, steady = uno_settings(args.config)
    grid = config.get("grid", [64, 64])
    SpectralConv.forward = frequency_preserving_forward
    if args.self_check:
        sys.exit(0 if self_check(config, u, t_in) else 1)
    if args.bench:
        r = bench(config, u, t_in, args.steps, args.warmup)
        print(json.dumps({"config": args.config, "torch": torch.__version__, "neuraloperator": NEURALOP_VERSION,
                          "threads": args.threads, **r}))
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

    torch32 = rollout(build(u, t_in, grid, weights, torch.float32), x.astype(np.float32), steps, scale_in, scale_out,
                      torch.float32)
    torch64 = rollout(build(u, t_in, grid, weights, torch.float64), x, steps, scale_in, scale_out, torch.float64)
    released = None
    if args.as_released:
        SpectralConv.forward = RELEASED_FORWARD
        released = rollout(build(u, t_in, grid, weights, torch.float64), x, steps, scale_in, scale_out, torch.float64)
        SpectralConv.forward = frequency_preserving_forward
    rows = []
    for s in range(steps):
        row = {
            "step": s + 1,
            "m2mc_vs_torch64": rel_l2(ours[..., s], torch64[..., s]),
            "torch32_vs_torch64": rel_l2(torch32[..., s], torch64[..., s]),
            "m2mc_vs_torch32": rel_l2(ours[..., s], torch32[..., s]),
            "max_abs_m2mc_vs_torch64": float(np.abs(ours[..., s] - torch64[..., s]).max()),
            "max_abs_value": float(np.abs(torch64[..., s]).max()),
        }
        if released is not None:
            row["released_vs_torch64"] = rel_l2(released[..., s], torch64[..., s])
        rows.append(row)
    print(f"{config.get('name', args.config)}: {x.shape[0]} samples, {steps} rollout steps, grids {grids(u, grid)}, "
          f"data scales {scale_in:g}/{scale_out:g}, neuraloperator {NEURALOP_VERSION}")
    print("step  rel.L2 m2mc/torch64  rel.L2 torch32/torch64  rel.L2 m2mc/torch32  max|m2mc-torch64|")
    for r in rows:
        print(f"{r['step']:4d}  {r['m2mc_vs_torch64']:19.3e}  {r['torch32_vs_torch64']:22.3e}  "
              f"{r['m2mc_vs_torch32']:19.3e}  {r['max_abs_m2mc_vs_torch64']:.3e} (of {r['max_abs_value']:.3e})")
    if released is not None:
        print("neuraloperator's unpatched SpectralConv (as released) vs the frequency-preserving one, float64: "
              + ", ".join(f"step {r['step']} {r['released_vs_torch64']:.3e}" for r in rows))
    worst = max(r["m2mc_vs_torch64"] for r in rows)
    ok = worst <= args.tolerance
    print(f"{'PASS' if ok else 'FAIL'}: worst relative L2 against float64 torch {worst:.3e} "
          f"(tolerance {args.tolerance:g})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"config": args.config, "uno": u, "rows": rows, "pass": ok, "torch": torch.__version__,
                       "neuraloperator": NEURALOP_VERSION}, f, indent=2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
