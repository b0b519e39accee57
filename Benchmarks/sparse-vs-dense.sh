#!/usr/bin/env bash
# Issue 11's cost criterion: the sparse M2M training step (m2m-ns64: top-1, three experts)
# against the dense mixture (m2m-dense-ns64: every expert on every patch), `m2mc bench
# --train --json` of both interleaved in one job. Training moves the routing from step to
# step, so bench counts each timed step's FLOPs at that step's own routed counts; the
# FLOP ratio is dense/sparse of the mean FLOPs per step, the time ratio dense/sparse of
# the mean step time. The criterion holds when time ratio >= 0.9 x FLOP ratio.
# Usage: Benchmarks/sparse-vs-dense.sh [rounds]   (env: STEPS, WARMUP, THREADS, OUT)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
OUT=${OUT:-runs/sparse-vs-dense-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
swift build -c release --product m2mc >/dev/null
for round in $(seq "$ROUNDS"); do
  for config in m2m-ns64 m2m-dense-ns64; do
    .build/release/m2mc bench "configs/$config.json" --train --json --steps "${STEPS:-15}" \
        --warmup "${WARMUP:-3}" --threads "${THREADS:-2}" > "$OUT/$config-$round.json"
  done
done
python3 - "$OUT" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = []
for r in range(1, rounds + 1):
    s = json.load(open(os.path.join(out, f"m2m-ns64-{r}.json")))
    d = json.load(open(os.path.join(out, f"m2m-dense-ns64-{r}.json")))
    flop_ratio = d["flops_per_train_step_routed"] / s["flops_per_train_step_routed"]
    time_ratio = d["train_ms_mean"] / s["train_ms_mean"]
    rows.append((flop_ratio, time_ratio))
    print(f"round {r}: sparse {s['train_ms_mean']:.1f} ms ({s['flops_per_train_step_routed'] / 1e9:.2f} GFLOP, "
          f"{s['train_routed_gflops_per_s']:.1f} GFLOP/s, routed fractions "
          f"{', '.join(f'{x:.3f}' for x in s['routed_fraction'])}, {s['allocations_per_step']} allocations/step), "
          f"dense {d['train_ms_mean']:.1f} ms ({d['flops_per_train_step_routed'] / 1e9:.2f} GFLOP, "
          f"{d['train_routed_gflops_per_s']:.1f} GFLOP/s); FLOP ratio {flop_ratio:.2f}, time ratio {time_ratio:.2f} "
          f"= {100 * time_ratio / flop_ratio:.0f}% of it")
f, t = statistics.median(x for x, _ in rows), statistics.median(y for _, y in rows)
print(f"median over rounds: FLOP ratio {f:.2f}, time ratio {t:.2f} = {100 * t / f:.0f}% of the FLOP ratio "
      f"({'meets' if t >= 0.9 * f else 'misses'} the >= 90% criterion)")
PY
