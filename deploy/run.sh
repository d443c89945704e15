#!/usr/bin/env bash
# The main job: build (release), generate keys, genesis and configurations for a local network,
# start 4 validators on 127.0.0.1, submit demo transfers, and show heights advancing.
# The network keeps running afterwards; the script prints how to stop it and where things are.
#   TONLE_LOCAL_DIR   where the network lives (default: .tonle-local in the repository)
#   TONLE_P2P_PORT    first peer port (default 26600); TONLE_RPC_PORT first RPC port (default 26700)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies

dir="${TONLE_LOCAL_DIR:-$PWD/.tonle-local}"
p2p="${TONLE_P2P_PORT:-26600}"
rpc="${TONLE_RPC_PORT:-26700}"

echo "== building tonle and tonle-node (release; the first build takes several minutes)"
swift build -c release --product tonle
swift build -c release --product tonle-node
bin="$(swift build -c release --show-bin-path)"

if [ -f "$dir/pids" ]; then
    echo "== stopping the network left running in $dir"
    bash deploy/local-network.sh stop "$dir" || true
fi

echo
echo "== 1. keys, genesis and one configuration per validator (template: genesis/local.json)"
"$bin/tonle" genesis local --template genesis/local.json --out "$dir" --p2p-port "$p2p" --rpc-port "$rpc" --force

echo
echo "== 2. four validators on 127.0.0.1 (logs in $dir/logs)"
TONLE_BIN="$bin" bash deploy/local-network.sh start "$dir"

node="http://127.0.0.1:$rpc"
for _ in $(seq 1 120); do
    peers="$(curl -fsS "$node/v1/status" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["peers"]))' 2>/dev/null || echo 0)"
    [ "$peers" = "3" ] && break
    sleep 0.5
done
[ "$peers" = "3" ] || { echo "the validators did not connect; see $dir/logs" >&2; exit 1; }
echo "all four validators are linked"

echo
echo "== 3. demo transfers, each submitted to a different validator and waited for"
transfer() {   # key from to amount currency node reference
    "$bin/tonle" tx transfer --key "$dir/keys/$1.key" --chain tonle-local --from "$2" --to "$3" --amount "$4" --currency "$5" \
        --reference "$7" --node "http://127.0.0.1:$6" --wait 30
}
transfer aba sokha@aba chenda@acleda 25000 KHR "$rpc" "Rent share"
transfer acleda chenda@acleda srey@wing 12.50 USD "$((rpc + 1))" "Lunch, Kampot"
transfer wing srey@wing market@wing 8000 KHR "$((rpc + 2))" "Fish, Psar Kandal"
transfer aba dara@aba vibol@acleda 150.00 USD "$((rpc + 3))" "School fees"

echo
echo "== 4. heights advancing on every validator (same block hash and state root at the common height)"
for round in 1 2 3; do
    line=""
    for i in 0 1 2 3; do
        h="$(curl -fsS "http://127.0.0.1:$((rpc + i))/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])')"
        line="$line  node$i=$h"
    done
    echo "  heights:$line"
    sleep 1
done
common=1000000000
for i in 0 1 2 3; do
    h="$(curl -fsS "http://127.0.0.1:$((rpc + i))/v1/status" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])')"
    [ "$h" -lt "$common" ] && common="$h"
done
for i in 0 1 2 3; do
    curl -fsS "http://127.0.0.1:$((rpc + i))/v1/blocks/$common" | python3 -c "import json,sys; b=json.load(sys.stdin); print('  node$i block', b['height'], b['hash'][:16], 'root', b['state_root'][:16])"
done

cat <<DONE

The network is running.
  status:   curl http://127.0.0.1:$rpc/v1/status        (validators on RPC ports $rpc-$((rpc + 3)))
  metrics:  curl http://127.0.0.1:$rpc/metrics
  send:     $bin/tonle tx transfer --key $dir/keys/aba.key --from sokha@aba --to chenda@acleda --amount 1000 --currency KHR --node http://127.0.0.1:$rpc --wait 10
  logs:     $dir/logs/        data: $dir/data/        keys and configs: $dir/keys, $dir/nodes
  stop:     bash deploy/local-network.sh stop $dir
DONE
