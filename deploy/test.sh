#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
# Long property runs: TONLE_PROPERTY_CASES=100000 bash deploy/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
tonle_ensure_test_tools

swift build --build-tests
# Each fuzz target for a few seconds from its committed corpus, under AddressSanitizer (long runs:
# bash deploy/fuzz.sh TARGET SECONDS). TONLE_FUZZ_SECONDS=0 leaves this out.
fuzz_seconds="${TONLE_FUZZ_SECONDS:-5}"
if [ "$fuzz_seconds" != 0 ]; then bash deploy/fuzz.sh all "$fuzz_seconds"; fi
# Every test is a Swift Testing test; with XCTest disabled, the run ends with Swift Testing's summary.
swift test --skip-build --disable-xctest
