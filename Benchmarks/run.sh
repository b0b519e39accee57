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
# M2M (default "m2m-ns64 m2m-dense-ns64"; "" skips): M2M configs run against Benchmarks/m2m_torch.py
# (PyTorch eager + tcmalloc, the same model), which gets m2mc's mean routed counts of the same
# round as its per-expert capacities, so that both steps route as many patches to each expert.
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
  for config in ${M2M-m2m-ns64 m2m-dense-ns64}; do
    "${PIN[@]}" $M2MC bench "configs/$config.json" --json --steps 30 --threads "$THREADS" > "$OUT/m2mc-$config-$round.json"
    # m2mc's routed fractions -> counts that add up to the patches (largest remainders first).
    caps=$(python3 - "$OUT/m2mc-$config-$round.json" "configs/$config.json" <<'PY'
import json, math, sys
bench, cfg = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
patches = cfg["batch"] * cfg["m2m"]["scale"] ** 2
def counts(fractions):
    raw = [f * patches for f in fractions]
    n = [math.floor(r) for r in raw]
    for e in sorted(range(len(raw)), key=lambda e: n[e] - raw[e])[:patches - sum(n)]:
        n[e] += 1
    return ",".join(map(str, n))
if not cfg["m2m"].get("dense", False):
    print(f"--capacities {counts(bench['routed_fraction'])} --infer-capacities {counts(bench['infer_routed_fraction'])}")
PY
)
    LD_PRELOAD=$([ -f $TC ] && echo $TC) "${PIN[@]}" "$PY" Benchmarks/m2m_torch.py --config "configs/$config.json" $caps \
      --steps 30 --threads "$THREADS" --json "$OUT/torchm2m-$config-$round.json" > "$OUT/torchm2m-$config-$round.log" 2>&1 \
      || echo "M2M PyTorch peer failed: see $OUT/torchm2m-$config-$round.log" >&2
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
configs = sorted({os.path.basename(p)[5:].rsplit("-", 1)[0] for p in glob.glob(os.path.join(out, "m2mc-m2m*.json"))})
for config in configs:
    ours, peer = load(f"m2mc-{config}-*.json"), load(f"torchm2m-{config}-*.json")
    print(f"{config}, {ours[0].get('threads', '?')} threads: {len(ours)} m2mc runs, {len(peer)} PyTorch eager+tcmalloc "
          f"runs (Benchmarks/m2m_torch.py), interleaved")
    for kind in ("train", "infer"):
        m = statistics.median(o[f"{kind}_ms_median"] for o in ours)
        line = f"  {kind}: m2mc {m:.1f} ms"
        if peer:
            tm = statistics.median(d[f"{kind}_ms"]["median"] for d in peer)
            line += f"; torch eager+tcmalloc {tm:.1f} ms: ratio peer/m2mc {tm / m:.2f}x (m2mc at {m / tm:.2f} of its time)"
        print(line)
    if "routed_fraction" in ours[0]:
        print("  routed counts per round (m2mc fractions of the patches -> the peer's capacities = its routed counts): "
              + "; ".join(f"train {[round(f, 3) for f in o['routed_fraction']]} -> {d.get('train_routed_mean')}, "
                          f"infer {[round(f, 3) for f in o['infer_routed_fraction']]} -> {d.get('infer_routed')}"
                          for o, d in zip(ours, peer)))
    print(f"  parameters: m2mc {ours[0]['parameters']}" + (f", peer {peer[0]['params']}" if peer else "")
          + f"; peak RSS: m2mc {statistics.median(o['peak_rss_bytes'] for o in ours) / 2**20:.0f} MB"
          + (f", peer {statistics.median(d['peak_rss_mb'] for d in peer):.0f} MB" if peer else ""))
PY
