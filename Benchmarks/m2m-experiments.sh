#!/usr/bin/env bash
# The M2M experiment at one stated budget (issue: "Evidence"): trains the FNO, the
# dense mixture and M2M, plus the M2M ablations (controller off, scale 1 and 4, halo 2,
# global expert) and the UNO baseline on the multi-scale Poisson set, and FNO / dense /
# M2M / UNO on Navier-Stokes (one-step training), all with the same data, epochs and seed; then
# writes docs/RESULTS.md (test relative L2, train time, FLOPs per step, routed
# fractions, the command) and copies the routing-map PNGs to docs/results/.
# Usage: Benchmarks/m2m-experiments.sh   (env: EPOCHS, NTRAIN, OUT). ~40 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-10}
NTRAIN=${NTRAIN:-200}
NTEST=${NTEST:-40}
OUT=${OUT:-runs/m2m-experiments-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT/configs"
swift build -c release --product m2mc | grep -E "error|Compiling m2mc|Build" >&2
M2MC=.build/release/m2mc
$M2MC datagen mscale -o "$OUT/mscale" --n $((NTRAIN + NTEST)) --seed 0 >/dev/null
$M2MC datagen ns -o "$OUT/ns" --n $((NTRAIN + NTEST)) --t 20 --seed 0 >/dev/null

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
variant("uno-mscale", "uno-mscale64", {})
for kind, base in [("fno", "fno-ns64"), ("dense", "m2m-dense-ns64"), ("m2m", "m2m-ns64"), ("uno", "uno-ns64")]:
    variant(f"{kind}-ns", base, {"rollout_train": 1})
PY

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
    echo "$name done"
}
for name in fno-mscale dense-mscale m2m-mscale m2m-mscale-controller-off m2m-mscale-scale1 m2m-mscale-scale4 \
            m2m-mscale-halo2 m2m-mscale-global uno-mscale; do run $name mscale; done
for name in fno-ns dense-ns m2m-ns uno-ns; do run $name ns; done

python3 - "$OUT" "$EPOCHS" "$NTRAIN" "$NTEST" <<'PY'
import json, os, shutil, sys, platform
out, epochs, ntrain, ntest = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
os.makedirs("docs/results", exist_ok=True)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
rows = []
for data, names in [("mscale", ["fno-mscale", "dense-mscale", "m2m-mscale", "m2m-mscale-controller-off",
                                 "m2m-mscale-scale1", "m2m-mscale-scale4", "m2m-mscale-halo2", "m2m-mscale-global",
                                 "uno-mscale"]),
                    ("ns", ["fno-ns", "dense-ns", "m2m-ns", "uno-ns"])]:
    for name in names:
        e = json.load(open(f"{out}/{name}/eval.json.out"))
        b = json.load(open(f"{out}/{name}/bench.json"))
        metrics = [json.loads(l) for l in open(f"{out}/{name}/metrics.jsonl")]
        seconds = float(open(f"{out}/{name}/train-seconds").read())
        fractions = e.get("routed_fraction")
        rows.append((data, name, e["test_rel_l2"], seconds, b.get("flops_per_train_step_routed", b["flops_per_train_step"]),
                     b["train_ms_median"], fractions, metrics[-1].get("lambda"), metrics[-1].get("kl")))
        png = f"{out}/{name}/eval/sample0-step01.png"
        if os.path.exists(png): shutil.copy(png, f"docs/results/{name}.png")
import io
f = io.StringIO()
f.write(f"Produced by `Benchmarks/m2m-experiments.sh` (EPOCHS={epochs} NTRAIN={ntrain} NTEST={ntest}) on {cpu}, "
        f"2 threads, seed 0; data: `m2mc datagen mscale` / `ns` (64 x 64). Navier-Stokes runs train one step "
        "(rollout_train 1) and are evaluated over the 10-step rollout. Train time is wall time of `m2mc train` "
        "(evaluation each epoch included); the step time and GFLOP are `m2mc bench --train` of the same plan "
        "(one-step training on random data with the seeded initial weights, FLOPs counted on the rows routed in "
        "its last step).\n\n")
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
