#!/usr/bin/env bash
# Runs m2mc bench and the PyTorch peer (../shared/peers) side by side, interleaved,
# in one job, and prints the ratios (peer time / m2mc time; > 1 means m2mc is faster).
# Usage: Benchmarks/run.sh [rounds] ; env: PEERS_PY (a python with torch), RES (64 or "64 128"),
# BASELINE (another m2mc binary, e.g. an older commit's, run in the same rounds: before/after),
# M2MC_ISA (forces the kernels' ISA for both binaries: baseline, avx2, avx512).
# Builds the plain release binary (`swift build -c release`, no CPU flag: what a SwiftPM user gets).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
PY=${PEERS_PY:-/tmp/peers-venv/bin/python}
PEERS=${PEERS_DIR:-../shared/peers}
TC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
OUT=${OUT:-runs/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
swift build -c release --product m2mc --scratch-path .build-release >/dev/null
BASELINE=${BASELINE:-}
for round in $(seq "$ROUNDS"); do
  for res in ${RES:-64}; do
    .build-release/release/m2mc bench "configs/fno-ns$res.json" --json --steps 30 > "$OUT/m2mc-res$res-$round.json"
    if [ -n "$BASELINE" ]; then
      "$BASELINE" bench "configs/fno-ns$res.json" --json --steps 30 > "$OUT/base-res$res-$round.json"
    fi
    LD_PRELOAD=$([ -f $TC ] && echo $TC) "$PY" "$PEERS/fno_torch.py" --width 32 --modes 12 --batch 20 --res "$res" \
        --steps 30 --threads 2 --json "$OUT/torch-tcmalloc-res$res-$round.json" > "$OUT/torch-res$res-$round.log" 2>&1
  done
done
python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def load(pattern):
    return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, pattern)))]
def pick(d, *names):
    for n in names:
        cur = d
        for part in n.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if isinstance(cur, (int, float)):
            return cur
    return None
for res in sorted({p.split("res")[1].split("-")[0] for p in glob.glob(os.path.join(out, "m2mc-res*.json"))}):
    ours, torch = load(f"m2mc-res{res}-*.json"), load(f"torch-tcmalloc-res{res}-*.json")
    base = load(f"base-res{res}-*.json")
    print(f"res {res}: {len(ours)} m2mc runs (kernel ISA {ours[0].get('kernel_isa', '?')}), "
          f"{len(torch)} torch (tcmalloc) runs" + (f", {len(base)} baseline runs" if base else "") + ", interleaved")
    for kind in ("train", "infer"):
        m = statistics.median(o[f"{kind}_ms_median"] for o in ours)
        t = [pick(d, f"{kind}_ms.median") for d in torch]
        t = [x for x in t if x is not None]
        if t:
            tm = statistics.median(t)
            print(f"  {kind}: m2mc {m:.1f} ms, torch eager {tm:.1f} ms, ratio torch/m2mc {tm / m:.2f}x"
                  f" (m2mc at {m / tm:.2f} of torch's time)")
            if base:
                bm = statistics.median(o[f"{kind}_ms_median"] for o in base)
                print(f"  {kind}: baseline {bm:.1f} ms, ratio torch/baseline {tm / bm:.2f}x, baseline/m2mc {bm / m:.2f}x")
        else:
            print(f"  {kind}: m2mc {m:.1f} ms (peer figure not found in its JSON)")
    rss = statistics.median(o["peak_rss_bytes"] for o in ours) / 2**20
    trss = [pick(d, "peak_rss_mb") for d in torch]
    trss = [x for x in trss if x is not None]
    print(f"  peak RSS: m2mc {rss:.0f} MB" + (f", torch {statistics.median(trss):.0f} MB, ratio {statistics.median(trss) / rss:.2f}x" if trss else ""))
    print(f"  allocations per step: {ours[0]['allocations_per_step']}, arena/lower bound: "
          f"{ours[0]['arena_bytes'] / ours[0]['arena_lower_bound_bytes']:.3f}")
PY
