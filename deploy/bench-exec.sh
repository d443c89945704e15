#!/usr/bin/env bash
# Execution and commit throughput of one node on its SQLite store (docs/benchmarks.md).
# Usage: bash deploy/bench-exec.sh [--accounts N] [--blocks N] [--transfers N] [--database PATH] ...
# Default: 1,000,000 accounts, 100 blocks of 5,000 transfers (several minutes, ~1.5 GB of disk).
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
swift build -c release --product tonle >/dev/null
"$(swift build -c release --show-bin-path)/tonle" bench exec "$@"
