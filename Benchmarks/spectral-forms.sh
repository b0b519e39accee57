#!/usr/bin/env bash
# FFTW form against the GEMM form of the truncated spectral transforms (and the
# planner's per-transform choice, auto), interleaved in one job, with the PyTorch
# eager peer (tcmalloc) in the same rounds when PEERS_PY has torch.
# Usage: Benchmarks/spectral-forms.sh [rounds] ; env: RES ("64" or "64 128"), PEERS_PY,
# M2MC (default: the plain release build, .build-release/release/m2mc), STEPS (30), WARMUP (5), THREADS (2).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
M2MC=${M2MC:-.build-release/release/m2mc}
PY=${PEERS_PY:-/tmp/peers-venv/bin/python}
PEERS=${PEERS_DIR:-../shared/peers}
TC=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
OUT=${OUT:-runs/spectral-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
for res in ${RES:-64}; do
  for form in fftw gemm auto; do   # one plan per form, compiled once: every round runs the same choice
    "$M2MC" compile "configs/fno-ns$res.json" -o "$OUT/ns$res-$form.m2m" --spectral-transform "$form" --json \
      > "$OUT/compile-ns$res-$form.json"
  done
done
for round in $(seq "$ROUNDS"); do
  for res in ${RES:-64}; do
    # The training plans above use the config's rollout; bench compiles rollout-1 (the peers' step) itself.
    for form in fftw gemm auto; do
      "$M2MC" bench "configs/fno-ns$res.json" --spectral-transform "$form" --json --steps "${STEPS:-30}" --threads "${THREADS:-2}" \
        --warmup "${WARMUP:-5}" > "$OUT/m2mc-ns$res-$form-$round.json"
    done
    if [ -x "$PY" ]; then
      LD_PRELOAD=$([ -f $TC ] && echo $TC) "$PY" "$PEERS/fno_torch.py" --width 32 --modes 12 --batch 20 --res "$res" \
        --steps "${STEPS:-30}" --threads 2 --json "$OUT/torch-ns$res-$round.json" > "$OUT/torch-ns$res-$round.log" 2>&1 || true
    fi
  done
done
python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
def med(files, key):
    vals = []
    for p in files:
        d = json.load(open(p))
        for part in key.split("."):
            d = d.get(part) if isinstance(d, dict) else None
        if isinstance(d, (int, float)): vals.append(d)
    return (statistics.median(vals), min(vals), max(vals)) if vals else None
for res in sorted({p.split("-ns")[1].split("-")[0] for p in glob.glob(os.path.join(out, "m2mc-ns*.json"))}, key=int):
    print(f"fno-ns{res}:")
    for form in ("fftw", "gemm", "auto"):
        c = json.load(open(os.path.join(out, f"compile-ns{res}-{form}.json")))
        forms = ", ".join(f"{x['transform'].split()[0]} {x['form']}" for x in c["spectral_forms"])
        print(f"  compiled {form}: {forms}")
    for p in sorted(glob.glob(os.path.join(out, f"m2mc-ns{res}-auto-*.json"))):
        d = json.load(open(p))
        print(f"  bench auto ({os.path.basename(p)}): " + ", ".join(
            f"{x['transform'].split()[0]} {x['form']} (fftw {x['fftw_us_per_sample']:.0f} us, gemm {x['gemm_us_per_sample']:.0f} us)"
            for x in d["spectral_forms"]))
    base = {}
    for kind in ("train", "infer"):
        for form in ("fftw", "gemm", "auto"):
            files = sorted(glob.glob(os.path.join(out, f"m2mc-ns{res}-{form}-*.json")))
            m, lo = med(files, f"{kind}_ms_median"), med(files, f"{kind}_ms_min")
            if form == "fftw": base[kind] = (m[0], lo[1])
            print(f"  {kind} {form}: median of {len(files)} run medians {m[0]:.1f} ms (runs {m[1]:.1f}-{m[2]:.1f}),"
                  f" fftw/{form} {base[kind][0] / m[0]:.2f}x; best step {lo[1]:.1f} ms, fftw/{form} {base[kind][1] / lo[1]:.2f}x")
        t = med(sorted(glob.glob(os.path.join(out, f"torch-ns{res}-*.json"))), f"{kind}_ms.median")
        if t: print(f"  {kind} torch eager: {t[0]:.1f} ms, torch/m2mc-fftw {t[0] / base[kind][0]:.2f}x")
PY
