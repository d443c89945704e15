#!/usr/bin/env bash
# The network benchmark (docs/benchmarks.md): a fresh local 4-validator network on 127.0.0.1,
# then `tonle bench network` at offered 2,000 and 5,000 transfers/s (latency percentiles below and
# above saturation) and flat out (the most committed transfers/s). Each run ends with one JSON line.
#   bash deploy/bench.sh                       every run, defaults
#   bash deploy/bench.sh --transfers 20000     extra options go to every run
#   TONLE_BENCH_RATES="2000 5000 0"             the offered rates to run (0: flat out)
#   bash deploy/bench.sh --mix inward-qr       settlement: Alipay+ and UnionPay paying merchants' dynamic KHQRs
#   bash deploy/bench.sh --mix mixed           50% transfers, 40% inward QR, 10% outward QR
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
dir="$(mktemp -d /tmp/tonle-bench.XXXXXX)"
echo "== building (release)"
swift build -c release --product tonle >/dev/null
swift build -c release --product tonle-node >/dev/null
bin="$(swift build -c release --show-bin-path)"
"$bin/tonle" genesis local --template genesis/local.json --out "$dir" --p2p-port 28600 --rpc-port 28700 >/dev/null
trap 'bash deploy/local-network.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
echo "== four validators in $dir"
TONLE_BIN="$bin" bash deploy/local-network.sh start "$dir" >/dev/null
tonle_wait_linked http://127.0.0.1:28700 "$dir/logs"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
for rate in ${TONLE_BENCH_RATES:-2000 5000 0}; do
    echo
    echo "== tonle bench network --rate $rate $*"
    "$bin/tonle" bench network --network "$dir" --rate "$rate" "$@"
done
