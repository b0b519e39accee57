#!/usr/bin/env bash
# The main job, end to end on a fresh machine: installs the Debian libraries,
# builds m2mc (release), generates a small Navier-Stokes set, compiles
# configs/fno-ns64.json, trains briefly with a progress bar, evaluates, and
# prints the test relative L2. About 3 minutes on 2 cores, build included.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ldconfig -p | grep -q libfftw3f_threads || ! ldconfig -p | grep -q libopenblas \
   || ! ldconfig -p | grep -q libnuma || ! ldconfig -p | grep -q libhdf5_serial; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libfftw3-dev libopenblas-dev libnuma-dev libhdf5-dev libpng-dev >/dev/null
fi
swift build -c release --product m2mc --scratch-path .build-release -Xswiftc -target-cpu -Xswiftc native
M2MC=.build-release/release/m2mc
OUT=${OUT:-runs/main-job-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
$M2MC datagen ns -o "$OUT/data" --n ${N:-260} --t 20 --seed 0
$M2MC compile configs/fno-ns64.json -o "$OUT/fno-ns64.m2m"
$M2MC train "$OUT/fno-ns64.m2m" --data "$OUT/data" -o "$OUT/run" --epochs ${EPOCHS:-12} --ntrain ${NTRAIN:-240} --ntest 20
$M2MC eval "$OUT/fno-ns64.m2m" --weights "$OUT/run/last.safetensors" --data "$OUT/data" --ntest 20 -o "$OUT/eval"
