#!/usr/bin/env bash
# Routing that follows frequency content, shown: trains the 32 x 32 M2M of
# Tests/M2MModelTests/RoutingCorrelationTests.swift (2 x 2 patches, experts of 2/4/8 modes,
# `prior: frequency` with `prior_match: patch`) on 64 mscale samples, evaluates the last 32,
# and writes docs/results/m2m-mscale32-patchprior.png (truth | prediction | error | expert per
# patch) and its eval.json (routed fractions, per-patch experts). About 1 min on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product m2mc 2>&1 | tail -n 1
M2MC=.build/release/m2mc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$M2MC" datagen mscale -o "$work/data" --n 64 --res 32 --seed 11 >/dev/null
"$M2MC" compile Benchmarks/configs/m2m-mscale32-patchprior.json -o "$work/model.m2m" --fftw estimate >/dev/null
"$M2MC" train "$work/model.m2m" --data "$work/data" -o "$work/run" --epochs 8 --ntrain 32 --ntest 32 >/dev/null 2>&1
"$M2MC" eval "$work/model.m2m" --weights "$work/run/last.safetensors" --data "$work/data" --ntest 32 -o "$work/eval"
mkdir -p docs/results
cp "$work/eval/sample0-step01.png" docs/results/m2m-mscale32-patchprior.png
cp "$work/eval/eval.json" docs/results/m2m-mscale32-patchprior.json
echo "wrote docs/results/m2m-mscale32-patchprior.png and .json"
