#!/usr/bin/env bash
# Runs m2mc bench and the peers of ../shared/peers (PyTorch eager + tcmalloc, torch.compile
# + tcmalloc, JAX jit) side by side, interleaved, in one job, and prints the ratios
# (peer time / m2mc time; > 1 means m2mc is faster).
# Usage: Benchmarks/run.sh [rounds] ; env: PEERS_PY (a python with torch and jax), RES (64 or "64 128"),
# PEER_KINDS (default "eager compile jax"; a kind whose python module is missing is skipped),
# BASELINE (another m2mc binary, e.g. an older commit's, run in the same rounds: before/after),
# M2MC_ISA (forces the kernels' ISA for both binaries: baseline, avx2, avx512), THREADS (default 2:
# every process is pinned to CPUs 0..THREADS-1 with taskset, m2mc and torch get --threads THREADS,
# JAX/XLA uses the CPUs it is given).
# Builds the plain release binary (`swift build -c release`, no CPU flag: what a SwiftPM user gets).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-2}
PY=${PEERS_PY:-/tmp/peers-venv/bin/python}
PEERS=${PEERS_DIR:-../shared/peers}
TC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
OUT=${OUT:-runs/bench-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
swift build -c release --product m2mc >/dev/null
M2MC=.build/release/m2mc
KINDS=${PEER_KINDS:-eager compile jax}
THREADS=${THREADS:-2}
PIN=(taskset -c "0-$((THREADS - 1))")
BASELINE=${BASELINE:-}
for round in $(seq "$ROUNDS"); do
  for res in ${RES:-64}; do
    "${PIN[@]}" $M2MC bench "configs/fno-ns$res.json" --json --steps 30 --threads "$THREADS" > "$OUT/m2mc-res$res-$round.json"
    if [ -n "$BASELINE" ]; then
      "${PIN[@]}" "$BASELINE" bench "configs/fno-ns$res.json" --json --steps 30 --threads "$THREADS" > "$OUT/base-res$res-$round.json"
    fi
    for kind in $KINDS; do
      case $kind in
        eager) LD_PRELOAD=$([ -f $TC ] && echo $TC) "${PIN[@]}" "$PY" "$PEERS/fno_torch.py" --width 32 --modes 12 --batch 20 \
                 --res "$res" --steps 30 --threads "$THREADS" --json "$OUT/torch-tcmalloc-res$res-$round.json" \
                 > "$OUT/torch-res$res-$round.log" 2>&1 ;;
        compile) LD_PRELOAD=$([ -f $TC ] && echo $TC) "${PIN[@]}" "$PY" "$PEERS/fno_torch.py" --compile --width 32 --modes 12 \
                 --batch 20 --res "$res" --steps 30 --threads "$THREADS" --json "$OUT/compile-tcmalloc-res$res-$round.json" \
                 > "$OUT/compile-res$res-$round.log" 2>&1 || echo "torch.compile peer failed: see $OUT/compile-res$res-$round.log" >&2 ;;
        jax) if "$PY" -c "import jax" 2>/dev/null; then
               "${PIN[@]}" "$PY" "$PEERS/fno_jax.py" --width 32 --modes 12 --batch 20 --res "$res" --steps 30 \
                 --json "$OUT/jax-res$res-$round.json" > "$OUT/jax-res$res-$round.log" 2>&1 \
                 || echo "JAX peer failed: see $OUT/jax-res$res-$round.log" >&2
             else echo "JAX peer skipped: $PY has no jax" >&2; fi ;;
        *) echo "run.sh: unknown PEER_KINDS entry '$kind' (eager, compile, jax)" >&2; exit 2 ;;
      esac
    done
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
PEERS = [("torch eager+tcmalloc", "torch-tcmalloc"), ("torch.compile+tcmalloc", "compile-tcmalloc"), ("JAX jit", "jax")]
for res in sorted({p.split("res")[1].split("-")[0] for p in glob.glob(os.path.join(out, "m2mc-res*.json"))}):
    ours, base = load(f"m2mc-res{res}-*.json"), load(f"base-res{res}-*.json")
    peers = [(label, load(f"{prefix}-res{res}-*.json")) for label, prefix in PEERS]
    print(f"res {res}, {ours[0].get('threads', '?')} threads: {len(ours)} m2mc runs (kernel ISA {ours[0].get('kernel_isa', '?')}), "
          + ", ".join(f"{len(runs)} {label}" for label, runs in peers)
          + (f", {len(base)} baseline runs" if base else "") + ", interleaved")
    for kind in ("train", "infer"):
        m = statistics.median(o[f"{kind}_ms_median"] for o in ours)
        print(f"  {kind}: m2mc {m:.1f} ms")
        if base:
            bm = statistics.median(o[f"{kind}_ms_median"] for o in base)
            print(f"    baseline {bm:.1f} ms: baseline/m2mc {bm / m:.2f}x")
        for label, runs in peers:
            t = [x for x in (pick(d, f"{kind}_ms.median") for d in runs) if x is not None]
            if t:
                tm = statistics.median(t)
                print(f"    {label} {tm:.1f} ms: ratio peer/m2mc {tm / m:.2f}x (m2mc at {m / tm:.2f} of its time)")
    rss = statistics.median(o["peak_rss_bytes"] for o in ours) / 2**20
    print(f"  peak RSS: m2mc {rss:.0f} MB" + "".join(
        f", {label} {statistics.median(r):.0f} MB" for label, runs in peers
        for r in [[x for x in (pick(d, "peak_rss_mb") for d in runs) if x is not None]] if r))
    print(f"  allocations per step: {ours[0]['allocations_per_step']}, arena/lower bound: "
          f"{ours[0]['arena_bytes'] / ours[0]['arena_lower_bound_bytes']:.3f}")
PY
