"""What the PyTorch reference scripts (kno_, uno_, cno_reference.py) share: reading m2mc's
safetensors, the relative L2 they report, and the timing loop of their --bench mode."""
import json
import struct
import time

import numpy as np


def read_safetensors(path):
    """(tensors by name as float32 arrays, metadata dict): the format is 8 bytes of header
    length, a JSON header, then the data."""
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        assert info["dtype"] == "F32", f"{name}: {info['dtype']}"
        a, b = info["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"]).copy()
    return tensors, meta


def rel_l2(a, b):
    return float(np.linalg.norm((a - b).ravel()) / np.linalg.norm(b.ravel()))


def rollout(model, x, steps, scale_in, scale_out, dtype):
    """The autoregressive loop on x[N, H, W, t_in] (prediction appended as the newest frame),
    with m2mc's data scaling (inputs divided by the input scale, predictions multiplied by
    the target scale). `model` maps [N, t_in, H, W] to the next frame [N, 1, H, W]."""
    import torch
    xx = torch.tensor(x / scale_in, dtype=dtype).permute(0, 3, 1, 2)
    preds = []
    with torch.no_grad():
        for _ in range(steps):
            p = model(xx)
            preds.append(p)
            xx = torch.cat((xx[:, 1:], p), dim=1)
    return (torch.cat(preds, dim=1) * scale_out).permute(0, 2, 3, 1).double().numpy()


def time_steps(infer, train, steps, warmup):
    """{"infer_ms_median", "train_ms_median"}: each function run `warmup` times, then timed
    `steps` times one by one."""
    out = {}
    for name, fn in (("infer", infer), ("train", train)):
        for _ in range(warmup):
            fn()
        ms = []
        for _ in range(steps):
            t0 = time.perf_counter()
            fn()
            ms.append(1000 * (time.perf_counter() - t0))
        out[name + "_ms_median"] = float(np.median(ms))
    return out
