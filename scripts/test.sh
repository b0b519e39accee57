#!/usr/bin/env bash
# The test command: builds everything (debug) and runs the whole XCTest suite,
# then prints the totals as one closing line "N passed, N failed" (after a line counting
# skipped tests, if any skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test --skip-build --disable-swift-testing 2>&1 | tee "$log" || status=$?
# XCTest's closing line is "Executed N tests, with M failures ..." or, when a test skipped
# (XCTSkip), "Executed N tests, with S tests skipped and M failures ...".
summary=$(grep -E "^\s*Executed [0-9]+ tests?, with ([0-9]+ tests? skipped and )?[0-9]+ failures?" "$log" | tail -n 1 || true)
if [ -n "$summary" ]; then
    total=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
    failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failures?.*/\1/')
    skipped=0
    if echo "$summary" | grep -qE "[0-9]+ tests? skipped"; then
        skipped=$(echo "$summary" | sed -E 's/.*with ([0-9]+) tests? skipped.*/\1/')
    fi
    [ "$skipped" = 0 ] || echo "$skipped skipped (each prints its reason as 'Test skipped - ...' above)"
    echo "$((total - failed - skipped)) passed, $failed failed"
fi
exit "$status"
