#!/usr/bin/env bash
# Runs a stated subset of the XCTest suite under ThreadSanitizer and then AddressSanitizer (debug
# builds, each in its own scratch folder .build-tsan / .build-asan; the whole package is built
# with the sanitizer, so the m2mc the CLI tests start is checked too), then prints one summary
# line per sanitizer. Usage: scripts/sanitize.sh [thread|address ...] [-- swift test options]
# Options after -- replace the subset: `-- --filter .` runs the whole suite (about 6 min under
# TSan, 4 min under ASan on 2 cores), `-- --filter GraphIRTests` one module.
# A sanitizer report fails the run (TSan/ASan halt on the first error).
#
# The subsets (README "Hardening checks"), chosen for what each sanitizer finds:
# - thread: code that runs on more than one thread: the thread pool and every kernel under the
#   disjoint-tile convention at 1, 2 and 3 threads (ExecutorTests, less the single central-difference
#   gradient check, 28 s of the module's 43 s, whose kernels the bit-identity test also runs at 2 and
#   3 threads), whole training steps across thread counts (M2MModelTests determinism), NUMA worker
#   groups and per-group weight copies (PlacementTests bit identity, every policy) and the
#   data generators' concurrentPerform (the tests that generate with 2 threads).
# - address: code that parses bytes or does pointer arithmetic on sizes from files and flags: the
#   readers (.npy, Python literal, .mat, safetensors, plan files, configs, IR text, NUMA topology
#   files), the data-set
#   writer, every hostile-input test (through the sanitized m2mc), PNG writing, and the kernels
#   (ExecutorTests, less the same gradient check).
set -uo pipefail
cd "$(dirname "$0")/.."
sanitizers=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sanitizers+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
extra=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(thread address)
slow_gradient_check='^ExecutorTests\.OpTableTests/testGradientsMatchCentralDifferences$'
thread_subset=(--filter '^ExecutorTests\.' --skip "$slow_gradient_check"
    --filter '^M2MModelTests\.DeterminismTests/'
    --filter '^M2MModelTests\.M2MModelTests/testTrainingIsBitIdenticalAcrossRunsThreadsAndResume$'
    --filter '^M2MModelTests\.PlacementTests/testBitIdenticalAcrossPoliciesNodeCountsAndThreads$'
    --filter '^M2MDataTests\.NavierStokesGeneratorTests/testSamplesIndependentOfThreadsAndBatch$'
    --filter '^M2MDataTests\.PoissonGeneratorTests/test(MultiScaleLaplacianOfUIsMinusF|CNOPoissonMatchesClosedForm)$')
address_subset=(--filter '^GraphIRTests\.' --filter '^PlannerTests\.TopologyTests/'
    --filter '^M2MDataTests\.(Npy|NpyHostile|PythonLiteral|MatFile|Dataset|DataSetWriteHostile)Tests/'
    --filter '^M2MModelTests\.(SafeTensors|SafeTensorsHostile|CompiledModelFile|PlanLoaderHostile|Config)Tests/'
    --filter '^M2MModelTests\.(HostileInput|ResultHostile|RunFolderHostile|MatDataHostile|CLI|PNGImage)Tests/'
    --filter '^ExecutorTests\.' --skip "$slow_gradient_check")
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
export ASAN_OPTIONS="detect_leaks=0 halt_on_error=1 ${ASAN_OPTIONS:-}"
summary=()
status=0
for s in "${sanitizers[@]}"; do
    scratch=.build-${s:0:1}san
    log=$scratch.log
    t0=$(date +%s)
    swift build --scratch-path "$scratch" --sanitize "$s" --build-tests 2>&1 | tail -n 2
    t1=$(date +%s)
    if [ ${#extra[@]} -gt 0 ]; then options=("${extra[@]}")
    elif [ "$s" = thread ]; then options=("${thread_subset[@]}")
    else options=("${address_subset[@]}"); fi
    swift test --scratch-path "$scratch" --sanitize "$s" --skip-build --disable-swift-testing \
        "${options[@]}" >"$log" 2>&1
    rc=$?
    t2=$(date +%s)
    # The largest "Executed N tests" line is the whole run's (suite lines can come after it).
    line=$(grep -E "^\s*Executed [0-9]+ tests?, with [0-9]+" "$log" | sed -E 's/^\s+//' | sort -k2,2n | tail -n 1)
    reports=$(grep -cE "^(WARNING: ThreadSanitizer|==[0-9]+==ERROR: AddressSanitizer|SUMMARY: (Thread|Address)Sanitizer)" "$log")
    [ "$rc" = 0 ] && [ "$reports" = 0 ] || { status=1; grep -E -A12 "ThreadSanitizer|AddressSanitizer" "$log" | head -n 40; }
    summary+=("$s sanitizer: ${line:-no XCTest summary (exit $rc)}; $reports report lines; build $((t1 - t0)) s, tests $((t2 - t1)) s; log $log")
done
printf '%s\n' "${summary[@]}"
exit "$status"
