#!/usr/bin/env bash
# The main job, end to end on a fresh machine: installs the Debian libraries,
# builds m2mc (release), generates a small multi-scale Poisson set, trains the
# M2M model (patches, frequency router, top-1 sparse FNO experts, PI-controlled
# routing losses) and the FNO baseline beside it, evaluates both, prints the
# comparison and the routed fractions, and writes the routing-map PNGs.
# About 4 minutes on 2 cores, build included.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ldconfig -p | grep -q libfftw3f_threads || ! ldconfig -p | grep -q libopenblas \
   || ! ldconfig -p | grep -q libnuma || ! ldconfig -p | grep -q libhdf5_serial || [ ! -f /usr/include/png.h ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libfftw3-dev libopenblas-dev libnuma-dev libhdf5-dev libpng-dev >/dev/null
fi
swift build -c release --product m2mc
M2MC=.build/release/m2mc
OUT=${OUT:-runs/main-job-$(date +%Y%m%d-%H%M%S)}
EPOCHS=${EPOCHS:-12}
NTRAIN=${NTRAIN:-280}
mkdir -p "$OUT"
$M2MC datagen mscale -o "$OUT/data" --n ${N:-300} --seed 0
for model in m2m-mscale64 fno-mscale64; do
    echo "== $model"
    $M2MC compile configs/$model.json -o "$OUT/$model.m2m"
    start=$(date +%s)
    $M2MC train "$OUT/$model.m2m" --data "$OUT/data" -o "$OUT/$model" --epochs "$EPOCHS" --ntrain "$NTRAIN" --ntest 20
    echo "$(( $(date +%s) - start ))" > "$OUT/$model/train-seconds"
    $M2MC eval "$OUT/$model.m2m" --weights "$OUT/$model/last.safetensors" --data "$OUT/data" --ntest 20 \
        -o "$OUT/$model/eval" | tee "$OUT/$model/eval.txt"
done
echo
echo "== comparison (multi-scale Poisson, $NTRAIN training samples, $EPOCHS epochs, 20 test samples)"
for model in m2m-mscale64 fno-mscale64; do
    l2=$(grep -o 'test rel. L2 [0-9.]*' "$OUT/$model/eval.txt" | awk '{print $4}')
    printf '%-14s test rel. L2 %s, trained in %s s\n' "$model" "$l2" "$(cat "$OUT/$model/train-seconds")"
done
grep 'routed fraction' "$OUT/m2m-mscale64/eval.txt" | sed 's/^/m2m-mscale64   /'
echo "routing map (truth | prediction | error | expert per patch): $OUT/m2m-mscale64/eval/sample0-step01.png"
echo "(m2m-mscale64 is the paper's setting: patch-local experts without a global path; docs/RESULTS.md"
echo " compares it with the global expert, scale 1, halo and controller-off ablations at one budget)"
