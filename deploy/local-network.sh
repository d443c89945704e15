#!/usr/bin/env bash
# Starts or stops the validators of a local network made by `tonle genesis local`.
#   bash deploy/local-network.sh start DIR    start every DIR/nodes/*.json in the background
#   bash deploy/local-network.sh stop DIR     SIGTERM each, wait for a graceful stop
# TONLE_BIN: the folder holding tonle-node (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
command="${1:?usage: local-network.sh start|stop DIR}"
dir="${2:?usage: local-network.sh start|stop DIR}"

case "$command" in
start)
    bin="${TONLE_BIN:-$(swift build -c release --show-bin-path)}"
    mkdir -p "$dir/logs"
    : > "$dir/pids"
    for config in "$dir"/nodes/*.json; do
        name="$(basename "$config" .json)"
        nohup "$bin/tonle-node" start --config "$config" >> "$dir/logs/$name.log" 2>&1 &
        echo "$! $name" >> "$dir/pids"
        echo "  started $name (pid $!, log $dir/logs/$name.log)"
    done
    ;;
stop)
    [ -f "$dir/pids" ] || { echo "no network running in $dir"; exit 0; }
    while read -r pid name; do
        if kill -TERM "$pid" 2>/dev/null; then
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -0 "$pid" 2>/dev/null && { echo "  $name did not stop in 10 s; killing"; kill -KILL "$pid"; }
            echo "  stopped $name"
        fi
    done < "$dir/pids"
    rm -f "$dir/pids"
    ;;
*)
    echo "usage: local-network.sh start|stop DIR" >&2
    exit 64
    ;;
esac
