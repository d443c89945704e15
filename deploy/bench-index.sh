#!/usr/bin/env bash
# The SQL reporting sink's benchmark (docs/benchmarks.md, "SQL reporting sink"): a fresh local
# 4-validator network loaded by `tonle bench network` (default: 50,000 transfers of the mixed
# workload, flat out), then `tonle index` from block 1 to the tip into a fresh PostgreSQL (Debian's,
# in a temporary directory, default settings: every block's transaction is synced), timed.
#   bash deploy/bench-index.sh                       defaults
#   bash deploy/bench-index.sh --transfers 200000    extra options go to tonle bench network
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
dir="$(mktemp -d /tmp/tonle-bench-index.XXXXXX)"
chmod 755 "$dir"  # the postgres user must reach its directory inside
pgdir="$dir/postgres"
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

echo "== building (release)"
swift build -c release --product tonle >/dev/null
swift build -c release --product tonle-node >/dev/null
bin="$(swift build -c release --show-bin-path)"
"$bin/tonle" genesis local --template genesis/local.json --out "$dir/net" --p2p-port 28600 --rpc-port 28700 >/dev/null
cleanup() {
    bash deploy/local-network.sh stop "$dir/net" >/dev/null 2>&1 || true
    as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "== PostgreSQL in $pgdir (port 28800)"
mkdir -p "$pgdir"
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pgdir"
as_postgres "$pgbin/initdb" -D "$pgdir/data" -U tonle -A trust -E UTF8 >/dev/null
as_postgres "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -o "-p 28800 -k $pgdir -c listen_addresses=127.0.0.1" -w start >/dev/null
"$pgbin/createdb" -h 127.0.0.1 -p 28800 -U tonle reports

echo "== four validators in $dir/net, loaded by tonle bench network --mix mixed $*"
TONLE_BIN="$bin" bash deploy/local-network.sh start "$dir/net" >/dev/null
tonle_wait_linked http://127.0.0.1:28700 "$dir/net/logs"
"$bin/tonle" bench network --network "$dir/net" --rate 0 --mix mixed --transfers 50000 "$@" | tail -1
tip="$(curl -fsS http://127.0.0.1:28700/v1/status | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"] - 1)')"

echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)"
echo "== tonle index --until-height $tip (from block 1)"
"$bin/tonle" index --postgres "postgres://tonle@127.0.0.1:28800/reports?sslmode=disable" --genesis "$dir/net/genesis.json" \
    --node http://127.0.0.1:28700 --until-height "$tip" --json 2>/dev/null | python3 -c '
import json, sys
r = json.loads(sys.stdin.read())
r["transactions_per_second"] = round(r["transactions"] / r["seconds"])
r["blocks_per_second"] = round(r["blocks"] / r["seconds"], 1)
print(json.dumps(r, sort_keys=True))'
"$pgbin/psql" -h 127.0.0.1 -p 28800 -U tonle -d reports -X -A -t -c \
    "SELECT 'database size: ' || pg_size_pretty(pg_database_size('reports')) || ', postings: ' || (SELECT count(*) FROM tonle.postings)"
