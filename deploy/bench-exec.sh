#!/usr/bin/env bash
# Execution and commit throughput of one node on its store (docs/benchmarks.md).
# Usage: bash deploy/bench-exec.sh [--accounts N] [--blocks N] [--transfers N] [--database PATH] ...
#        bash deploy/bench-exec.sh --scale [DIR]
# Default: 1,000,000 accounts imported, 100 blocks of 5,000 transfers (a minute, ~1 GB of disk).
# --scale: 1M, 10M and 30M accounts, 60 blocks each, one after another (about 10 minutes and
# 8 GB of disk at the peak, in DIR, default /tmp; each database is removed after its run); the
# JSON line of each run is collected in DIR/bench-exec-scale.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
swift build -c release --product tonle >/dev/null
tonle="$(swift build -c release --show-bin-path)/tonle"
if [ "${1:-}" != "--scale" ]; then
    exec "$tonle" bench exec "$@"
fi
dir="${2:-/tmp}"
out="$dir/bench-exec-scale.jsonl"
: > "$out"
for accounts in 1000000 10000000 30000000; do
    database="$(mktemp -d "$dir/tonle-scale.XXXXXX")"
    echo "== $accounts accounts"
    "$tonle" bench exec --accounts "$accounts" --blocks 60 --transfers 5000 --database "$database/ledger.rocksdb" | tee "$database/out"
    tail -1 "$database/out" >> "$out"
    rm -rf "$database"
done
echo "results: $out"
