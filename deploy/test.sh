#!/usr/bin/env bash
# The test command: installs what is missing, builds everything, runs every test.
# Long property runs: TONLE_PROPERTY_CASES=100000 bash deploy/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies

swift build --build-tests
# Every test is a Swift Testing test; with XCTest disabled, the run ends with Swift Testing's summary.
swift test --skip-build --disable-xctest
