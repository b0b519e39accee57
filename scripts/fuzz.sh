#!/usr/bin/env bash
# Fuzzes the file readers with libFuzzer: builds each Fuzz/ target with the fuzzer and
# address sanitizer (flags on the command line, scratch folder .build-fuzz), then runs each
# for SECONDS (default 60) from its seed corpus in Fuzz/Corpus/<target> and the inputs that once
# crashed or hung it in Fuzz/Regressions/<target>, so every run replays them (FUZZ_SEED: libFuzzer's
# -seed, 0 = random; CI fixes it so that a run explores the same inputs each time). Fails when a target
# crashes; the crashing input is kept as .build-fuzz/crashes/<target>/crash-*.
# Usage: scripts/fuzz.sh [seconds] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzGraphText FuzzPlan FuzzConfig FuzzNpy FuzzSafeTensors FuzzMat)
scratch=.build-fuzz
flags=(--scratch-path "$scratch" --sanitize fuzzer
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING)
# `--sanitize fuzzer` makes SwiftPM link libFuzzer's main; the -Xswiftc flag (which comes
# last, so it wins) adds ASan to the coverage instrumentation of every module.

start=$(date +%s)
for t in "${targets[@]}"; do
    swift build -c debug "${flags[@]}" --product "$t" 2>&1 | grep -v "Cannot export local symbol" | tail -n 3
done
bin=$(swift build -c debug "${flags[@]}" --show-bin-path)
echo "fuzz build: $(( $(date +%s) - start )) s"

# The plan seed is a freshly compiled tiny model (binary, so not committed).
plans=$scratch/seeds/FuzzPlan
if [[ " ${targets[*]} " == *" FuzzPlan "* ]]; then
    mkdir -p "$plans"
    swift build --product m2mc 2>&1 | tail -n 1
    "$(swift build --show-bin-path)/m2mc" compile configs/tiny-fno.json -o "$plans/tiny-fno.m2m" --fftw estimate >/dev/null
fi

failed=()
for t in "${targets[@]}"; do
    corpus=$scratch/corpus/$t           # grows across runs; the seeds stay read-only
    crashes=$scratch/crashes/$t
    mkdir -p "$corpus" "$crashes"
    seeds=(Fuzz/Corpus/$t)
    [ -d "Fuzz/Regressions/$t" ] && seeds+=("Fuzz/Regressions/$t")
    [ "$t" = FuzzPlan ] && seeds+=("$plans")
    log=$scratch/$t.log
    t0=$(date +%s)
    # ASan: no leak checks (Swift globals and caches), abort on error so libFuzzer reports it.
    if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
        "$bin/$t" "$corpus" "${seeds[@]}" -max_total_time="$seconds" -seed="${FUZZ_SEED:-0}" -timeout=20 -rss_limit_mb=4096 \
        -max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1 </dev/null; then
        echo "$t: ok, $(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$') runs in $(( $(date +%s) - t0 )) s"
    else
        echo "$t: FAILED ($(( $(date +%s) - t0 )) s); log $log, inputs in $crashes:"
        grep -E "ERROR|Fatal error|SUMMARY|Test unit written" "$log" | head -n 8 || true
        failed+=("$t")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then echo "fuzz: ${#failed[@]} target(s) crashed: ${failed[*]}"; exit 1; fi
echo "fuzz: ${#targets[@]} targets, ${seconds} s each, no crash"
