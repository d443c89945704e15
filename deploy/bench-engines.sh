#!/usr/bin/env bash
# Storage engines on the store's write pattern (docs/storage.md, "Choosing the engine"): SQLite,
# LMDB and RocksDB from Debian, each loading ACCOUNTS accounts and then committing BLOCKS blocks of
# TRANSFERS transfers' worth of keyed writes (and, second, the same changes as one appended row per
# block). A C program (deploy/engine-bench/engine_bench.c): it measures the engines, not Tonle.
#   bash deploy/bench-engines.sh [ACCOUNTS [BLOCKS [TRANSFERS]]]     defaults 1000000 200 5000
set -euo pipefail
cd "$(dirname "$0")/.."
accounts="${1:-1000000}" blocks="${2:-200}" transfers="${3:-5000}"
missing=()
for package in gcc libsqlite3-dev liblmdb-dev librocksdb-dev; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
work="$(mktemp -d /tmp/tonle-engines.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cc -O2 -Wall -o "$work/engine_bench" deploy/engine-bench/engine_bench.c -lsqlite3 -llmdb -lrocksdb
echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); sqlite $(dpkg-query -W -f='${Version}' libsqlite3-dev), lmdb $(dpkg-query -W -f='${Version}' liblmdb-dev), rocksdb $(dpkg-query -W -f='${Version}' librocksdb-dev)"
for pattern in keyed log; do
    for engine in sqlite lmdb rocksdb; do
        PATTERN="$pattern" "$work/engine_bench" "$engine" "$work/$engine" "$accounts" "$blocks" "$transfers"
        rm -rf "${work:?}/$engine"
    done
done
