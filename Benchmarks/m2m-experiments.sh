#!/usr/bin/env bash
# The M2M experiment at one stated budget (issue: "Evidence"): trains the FNO, the
# dense mixture and M2M, plus the M2M ablations (controller off, scale 1 and 4, halo 2,
# global expert) on the multi-scale Poisson set, and FNO / dense / M2M on
# Navier-Stokes (one-step training), all with the same data, epochs and seed; then
# writes docs/RESULTS.md (test relative L2, train time, FLOPs per step, routed
# fractions, the command) and copies the routing-map PNGs to docs/results/.
# The baselines of the same runtime (KNO; UNO and CNO where their configs exist) run on
# both data sets with the same budget.
# Usage: Benchmarks/m2m-experiments.sh   (env: EPOCHS, NTRAIN, NTEST, OUT; ONLY="name ..."
# reruns just those runs into an existing OUT, reusing its data, and rewrites the table
# from every run found there). ~20 min on a quiet 2-core machine without the CNO runs, which
# add about 15-20 min (estimated from cno-ns64's bench step times).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-10}
NTRAIN=${NTRAIN:-200}
NTEST=${NTEST:-40}
OUT=${OUT:-runs/m2m-experiments-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/configs"
swift build -c release --product m2mc | grep -E "error|Compiling m2mc|Build" >&2
M2MC=.build/release/m2mc
# The commit the binary was built from (runs record it; "-modified" when Sources differ from it).
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- Sources Package.swift 2>/dev/null || COMMIT="$COMMIT-modified"
[ -f "$OUT/mscale/meta.json" ] || $M2MC datagen mscale -o "$OUT/mscale" --n $((NTRAIN + NTEST)) --seed 0 >/dev/null
[ -f "$OUT/ns/meta.json" ] || $M2MC datagen ns -o "$OUT/ns" --n $((NTRAIN + NTEST)) --t 20 --seed 0 >/dev/null

# Variants: name, base config, JSON changes (applied by python3 to the base).
python3 - "$OUT/configs" <<'PY'
import json, sys
out = sys.argv[1]
def variant(name, base, change):
    c = json.load(open(f"configs/{base}.json"))
    c["name"] = name
    for key, value in change.items():
        target = c
        *path, last = key.split(".")
        for p in path: target = target[p]
        target[last] = value
    json.dump(c, open(f"{out}/{name}.json", "w"), indent=2)
variant("fno-mscale", "fno-mscale64", {})
variant("dense-mscale", "m2m-mscale64", {"m2m.dense": True})
variant("m2m-mscale", "m2m-mscale64", {})
variant("m2m-mscale-controller-off", "m2m-mscale64", {"m2m.controller": "off"})
variant("m2m-mscale-scale1", "m2m-mscale64", {"m2m.scale": 1})
variant("m2m-mscale-scale4", "m2m-mscale64", {"m2m.scale": 4, "m2m.expert_modes": [2, 4, 8]})
variant("m2m-mscale-halo2", "m2m-mscale64", {"m2m.halo": 2})
variant("m2m-mscale-global", "m2m-mscale64", {"m2m.global_expert": True})
for kind, base in [("fno", "fno-ns64"), ("dense", "m2m-dense-ns64"), ("m2m", "m2m-ns64")]:
    variant(f"{kind}-ns", base, {"rollout_train": 1})
# The baselines, where this checkout has their configs.
import os
for kind in ["kno", "uno", "cno"]:
    if os.path.exists(f"configs/{kind}-mscale64.json"):
        variant(f"{kind}-mscale", f"{kind}-mscale64", {})
    if os.path.exists(f"configs/{kind}-ns64.json"):
        variant(f"{kind}-ns", f"{kind}-ns64", {"rollout_train": 1})
PY
MSCALE_RUNS="fno-mscale dense-mscale m2m-mscale m2m-mscale-controller-off m2m-mscale-scale1 m2m-mscale-scale4
             m2m-mscale-halo2 m2m-mscale-global"
NS_RUNS="fno-ns dense-ns m2m-ns"
for kind in kno uno cno; do
    [ -f "$OUT/configs/$kind-mscale.json" ] && MSCALE_RUNS="$MSCALE_RUNS $kind-mscale"
    [ -f "$OUT/configs/$kind-ns.json" ] && NS_RUNS="$NS_RUNS $kind-ns"
done
selected() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

run() {  # name data
    local name=$1 data=$2
    $M2MC compile "$OUT/configs/$name.json" -o "$OUT/$name.m2m" >/dev/null
    local start=$(date +%s.%N)
    $M2MC train "$OUT/$name.m2m" --data "$OUT/$data" -o "$OUT/$name" --epochs "$EPOCHS" --ntrain "$NTRAIN" \
        --ntest "$NTEST" 2> "$OUT/$name.train.log" >/dev/null
    awk -v end="$(date +%s.%N)" -v start="$start" 'BEGIN { print end - start }' > "$OUT/$name/train-seconds"
    $M2MC eval "$OUT/$name.m2m" --weights "$OUT/$name/last.safetensors" --data "$OUT/$data" --ntest "$NTEST" \
        -o "$OUT/$name/eval" --json > "$OUT/$name/eval.json.out"
    $M2MC bench "$OUT/$name.m2m" --train --json --steps 5 --warmup 1 > "$OUT/$name/bench.json"
    echo "$COMMIT" > "$OUT/$name/commit"
    echo "$name done"
}
for name in $MSCALE_RUNS; do selected $name && run $name mscale; done
for name in $NS_RUNS; do selected $name && run $name ns; done

python3 - "$OUT" "$EPOCHS" "$NTRAIN" "$NTEST" "$MSCALE_RUNS" "$NS_RUNS" <<'PY'
import json, os, shutil, sys, platform
out, epochs, ntrain, ntest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
os.makedirs("docs/results", exist_ok=True)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = []
for data, names in [("mscale", sys.argv[5].split()), ("ns", sys.argv[6].split())]:
    for name in names:
        if not os.path.exists(f"{out}/{name}/bench.json"):
            print(f"{name}: no results in {out}, left out of the table", file=sys.stderr)
            continue
        e = json.load(open(f"{out}/{name}/eval.json.out"))
        b = json.load(open(f"{out}/{name}/bench.json"))
        metrics = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl")]
        seconds = float(open(f"{out}/{name}/train-seconds").read())
        fractions = e.get("routed_fraction")
        rows.append((data, name, e["test_rel_l2"], seconds, b.get("flops_per_train_step_routed", b["flops_per_train_step"]),
                     b.get("train_ms_mean", b["train_ms_median"]), fractions, metrics[-1].get("lambda"), metrics[-1].get("kl")))
        png = f"{out}/{name}/eval/sample0-step01.png"
        if os.path.exists(png): shutil.copy(png, f"docs/results/{name}.png")
import io
commits = {}
for _, name, *rest in rows:
    path = f"{out}/{name}/commit"
    commits.setdefault(open(path).read().strip() if os.path.exists(path) else "unknown", []).append(name)
f = io.StringIO()
if len(commits) > 1:
    f.write("Runs made with binaries of different commits (same data, budget and seed): "
            + "; ".join(f"`{c}`: {', '.join(names)}" for c, names in commits.items()) + ".\n\n")
else:
    f.write(f"All runs made with the binary of commit `{next(iter(commits))}`.\n\n")
f.write(f"Produced by `Benchmarks/m2m-experiments.sh` (EPOCHS={epochs} NTRAIN={ntrain} NTEST={ntest}) on {cpu}, "
        f"2 threads, seed 0; data: `m2mc datagen mscale` / `ns` (64 x 64). Navier-Stokes runs train one step "
        "(rollout_train 1) and are evaluated over the 10-step rollout. Train time is wall time of `m2mc train` "
        "(evaluation each epoch included); the step time and GFLOP are `m2mc bench --train` of the same plan "
        "(one-step training on random data with the seeded initial weights, FLOPs counted on the rows routed in "
        "each timed step, mean over the steps; step time: mean).\n\n")
f.write("| data | model | test rel. L2 | train s | train step ms | GFLOP/step | routed fraction (test) | final lambda | final KL |\n")
f.write("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
for data, name, l2, s, flops, ms, fr, lam, kl in rows:
    frac = "/".join(f"{x:.2f}" for x in fr) if fr else "-"
    f.write(f"| {data} | {name} | {l2:.4f} | {s:.0f} | {ms:.1f} | {flops/1e9:.2f} | {frac} | "
            f"{'-' if lam is None else f'{lam:.4f}'} | {'-' if kl is None else f'{kl:.4f}'} |\n")
f.write("\nRouting maps (truth | prediction | error | expert per patch) of the first test sample: "
        "`docs/results/NAME.png`.\n")
# The table goes between the markers; the text around it (the reading of the results) is kept.
begin, end = "<!-- results: begin -->\n", "<!-- results: end -->\n"
text = open("docs/RESULTS.md").read() if os.path.exists("docs/RESULTS.md") else ""
if begin in text and end in text:
    text = text[:text.index(begin) + len(begin)] + f.getvalue() + text[text.index(end):]
else:
    text = "# M2M against the FNO and the dense mixture, one budget\n\n" + begin + f.getvalue() + end + text
open("docs/RESULTS.md", "w").write(text)
print(open("docs/RESULTS.md").read())
PY
