#!/usr/bin/env bash
# The cost of memory limits: fno-ns128 at its default rollout_train (10) compiled without a limit
# and with `--memory-limit L` for each L in LIMITS, each plan benchmarked with
# `m2mc bench PLAN --train --json` (a .m2m keeps its own rollout), interleaved ROUNDS times in one
# job. Prints each limited plan's memory-limit line (as inspect does), then per plan the arena, the
# peak RSS and the median step time, and each limited plan's step time relative to the plain one.
# Usage: Benchmarks/memory-limit.sh [ROUNDS] ; env: LIMITS (default "1.5G"), M2MC (the binary;
# default .build/release/m2mc, from `swift build -c release --product m2mc`), CONFIG, STEPS,
# WARMUP, THREADS. Every plan uses --fftw measure and the FFTW spectral form, so that only the
# recomputation differs between them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
LIMITS=${LIMITS:-1.5G}
M2MC=${M2MC:-.build/release/m2mc}
CONFIG=${CONFIG:-configs/fno-ns128.json}
OUT=${OUT:-runs/memory-limit-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
flags=(--fftw measure --spectral-transform fftw)
plans=(plain)
"$M2MC" compile "$CONFIG" -o "$OUT/plain.m2m" "${flags[@]}"
for limit in $LIMITS; do
  "$M2MC" compile "$CONFIG" -o "$OUT/limit-$limit.m2m" "${flags[@]}" --memory-limit "$limit"   # prints inspect's memory-limit line
  plans+=("limit-$limit")
done
echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  for plan in "${plans[@]}"; do
    "$M2MC" bench "$OUT/$plan.m2m" --train --json --steps "${STEPS:-5}" --warmup "${WARMUP:-1}" \
        --threads "${THREADS:-2}" > "$OUT/$plan-run$round.json"
  done
done
echo "load average after the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$OUT" "${plans[@]}" <<'PY'
import glob, json, os, statistics, sys
out, plans = sys.argv[1], sys.argv[2:]
median = {}
for plan in plans:
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, f"{plan}-run*.json")))]
    ms = statistics.median(r["train_ms_median"] for r in runs)
    median[plan] = ms
    r = runs[0]
    print(f"{plan}: rollout {r['train_rollout']}, arena {r['arena_bytes'] / 1e9:.3f} GB "
          f"(bound {r['arena_lower_bound_bytes'] / 1e9:.3f} GB), persistent {r['persistent_bytes'] / 1e6:.1f} MB, "
          f"peak RSS {max(x['peak_rss_bytes'] for x in runs) / 1e9:.3f} GB, train step {ms:.0f} ms "
          f"(runs: {', '.join('%.0f' % x['train_ms_median'] for x in runs)}), "
          f"allocations per step {r['allocations_per_step']}, analytic GFLOP {r['flops_per_train_step'] / 1e9:.1f}")
for plan in plans[1:]:
    print(f"{plan} / plain step time: {median[plan] / median['plain']:.3f}")
PY
