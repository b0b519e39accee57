#!/usr/bin/env bash
# Runs the XCTest suite under ThreadSanitizer and then AddressSanitizer (debug builds, each in
# its own scratch folder .build-tsan / .build-asan), then prints one summary line per sanitizer.
# Usage: scripts/sanitize.sh [thread|address ...] [-- swift test options, e.g. --filter GraphIRTests]
# A sanitizer report fails the run (TSan/ASan halt on the first error).
set -uo pipefail
cd "$(dirname "$0")/.."
sanitizers=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sanitizers+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
extra=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(thread address)
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
    swift test --scratch-path "$scratch" --sanitize "$s" --skip-build --disable-swift-testing \
        ${extra[@]+"${extra[@]}"} >"$log" 2>&1
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
