#!/usr/bin/env bash
# Restart-to-caught-up: a validator is stopped while the other three commit BLOCKS blocks
# (default 1000; empty blocks back to back: consensus.empty_block_interval_ms=0, and short propose
# and precommit timeouts so the stopped validator's turns as proposer pass quickly), then restarted.
# Prints the time from its restart until it has every block the others had, from its own log.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
blocks="${1:-1000}"
dir="$(mktemp -d /tmp/tonle-catchup.XXXXXX)"
swift build -c release --product tonle >/dev/null
swift build -c release --product tonle-node >/dev/null
bin="$(swift build -c release --show-bin-path)"
"$bin/tonle" genesis local --template genesis/local.json --out "$dir" --p2p-port 27600 --rpc-port 27700 >/dev/null
trap 'bash deploy/local-network.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
export TONLE_CONSENSUS_EMPTY_BLOCK_INTERVAL_MS=0 TONLE_CONSENSUS_PROPOSE_TIMEOUT_MS=200 TONLE_CONSENSUS_PRECOMMIT_TIMEOUT_MS=100
TONLE_BIN="$bin" bash deploy/local-network.sh start "$dir" >/dev/null
height() { curl -fsS "http://127.0.0.1:$1/v1/status" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0; }
until [ "$(height 27703)" -ge 5 ]; do sleep 0.5; done
pid="$(awk '$2 == "wing" { print $1 }' "$dir/pids")"
kill -TERM "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
stopped="$(height 27700)"
echo "wing stopped at height ~$stopped; waiting for the other three to commit $blocks more blocks"
start=$(date +%s.%N)
until [ "$(height 27700)" -ge $((stopped + blocks)) ]; do sleep 0.5; done
echo "  they did in $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"
target="$(height 27700)"
restart=$(date +%s.%N)
nohup "$bin/tonle-node" start --config "$dir/nodes/wing.json" >> "$dir/logs/wing.log" 2>&1 &
sed -i "s/^$pid wing$/$! wing/" "$dir/pids"
until [ "$(height 27703)" -ge "$target" ]; do sleep 0.05; done
elapsed=$(python3 -c "print(round($(date +%s.%N) - $restart, 2))")
behind=$((target - stopped))
rss="$(awk '/VmRSS/ { print int($2 / 1024) }' /proc/$!/status)"
echo "restarted wing $behind blocks behind: caught up in $elapsed s (process start included); RSS $rss MiB"
sleep 1   # the node logs "caught up" at its next status tick
grep -E 'caught up' "$dir/logs/wing.log" | tail -1 || true
echo "{\"bench\":\"catchup\",\"blocks_behind\":$behind,\"seconds\":$elapsed,\"rss_mib\":$rss}"
