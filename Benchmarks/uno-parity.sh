#!/usr/bin/env bash
# UNO parity: m2mc's UNO against neuraloperator's UNO in PyTorch (Benchmarks/uno_reference.py),
# loaded with the same trained weights, on uno-ns64 (rollout 5) and uno-mscale64.
# Usage: Benchmarks/uno-parity.sh ; env: M2MC (default .build-release/release/m2mc),
# PY (a python with torch, numpy and neuraloperator, default python3), OUT (default
# /tmp/uno-parity), EPOCHS (1).
set -euo pipefail
cd "$(dirname "$0")/.."
M2MC=${M2MC:-.build-release/release/m2mc}
PY=${PY:-python3}
OUT=${OUT:-/tmp/uno-parity}
EPOCHS=${EPOCHS:-1}
mkdir -p "$OUT"
status=0
for kind in ns mscale; do
    if [ $kind = ns ]; then config=configs/uno-ns64.json; rollout=5; else config=configs/uno-mscale64.json; rollout=1; fi
    dir="$OUT/$kind"
    rm -rf "$dir/run"
    [ -f "$dir/data/meta.json" ] || "$M2MC" datagen $kind -o "$dir/data" --n 24 $([ $kind = ns ] && echo "--t 20")
    "$M2MC" compile $config -o "$dir/uno.m2m" --fftw estimate
    # A short training, so the weights are not the initialization (and, for mscale, the data scales are set).
    "$M2MC" train "$dir/uno.m2m" --data "$dir/data" -o "$dir/run" --epochs $EPOCHS --ntrain 20 --ntest 4 > "$dir/train.log"
    # The held-out samples' inputs: ns frames 0..9, mscale the forcing f.
    "$PY" - "$dir" $kind <<'PYEOF'
import sys, numpy as np
d, kind = sys.argv[1], sys.argv[2]
x = np.load(f"{d}/data/u.npy")[20:24, ..., :10] if kind == "ns" else np.load(f"{d}/data/f.npy")[20:24]
np.save(f"{d}/x.npy", x.astype(np.float32))
PYEOF
    "$M2MC" infer "$dir/uno.m2m" --weights "$dir/run/last.safetensors" --input "$dir/x.npy" -o "$dir/y.npy" --rollout $rollout
    "$PY" Benchmarks/uno_reference.py --config $config --weights "$dir/run/last.safetensors" --input "$dir/x.npy" \
        --m2mc-output "$dir/y.npy" --rollout $rollout --as-released --json "$dir/parity.json" || status=1
done
exit $status
