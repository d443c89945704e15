#!/usr/bin/env bash
# The long simulator sweep (docs/simulator.md): 20,000 seeds across 4, 7 and 10 validators, each
# with f Byzantine twins and every fault. Exits non-zero if any seed finds a violation.
# Usage: bash deploy/sim-sweep.sh [SCALE]   (SCALE multiplies the seed counts; default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
swift build -c release --product tonle-sim >/dev/null
sim="$(swift build -c release --show-bin-path)/tonle-sim"
scale="${1:-1}"
status=0
"$sim" --seeds $((10000 * scale)) --first-seed 1 --validators 4 --twins 1 --faults all || status=1
"$sim" --seeds $((6000 * scale)) --first-seed 1 --validators 7 --twins 2 --faults all || status=1
"$sim" --seeds $((4000 * scale)) --first-seed 1 --validators 10 --twins 3 --faults all || status=1
exit $status
