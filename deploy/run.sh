#!/usr/bin/env bash
# The main job: build (release), generate keys, genesis and configurations for a local network,
# start 4 validators on 127.0.0.1, submit demo transfers and cross-border settlement entries (a
# tourist's KHQR payment through Alipay+, an outward payment through UnionPay, a remittance), show
# the day's net positions, and show heights advancing.
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
tonle_wait_linked "$node" "$dir/logs"
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
echo "== 4. cross-border settlement (docs/settlement.md)"
tonle() { "$bin/tonle" "$@"; }
day="$(date -u +%Y%m%d)-$$"
quoted="$(( $(date +%s) * 1000 - 60000 ))"   # the gateway's quote time: the same entry, byte for byte, when sent twice
echo "-- a Chinese tourist pays Kampot Pepper Farm's dynamic KHQR (56,325 riel) with an Alipay+ wallet"
qr="$(tonle khqr encode --account merchant.kampot@wing --name "Kampot Pepper Farm" --city Kampot --currency KHR --amount 56325 \
        --bill "INV-$day" --expires-in-minutes 10)"
tonle khqr decode "$qr" | sed 's/^/   /'
tonle settle inward --gateway alipay --reference "ALP-$day" --khqr "$qr" --foreign-currency CNY --rate 0.0017753 --rate-unit KHR \
    --quoted-at-ms "$quoted" --counterparty "alipay-wallet-****8812" --country CN --key "$dir/keys/alipay.key" --node "$node" --wait 30
echo "-- sokha@aba pays 100.00 CNY to a merchant in Shanghai through UnionPay (563.25 KHR per CNY; her bank signs too)"
tonle settle outward --gateway upi --reference "UPI-$day" --from sokha@aba --currency KHR --foreign 100.00 --foreign-currency CNY \
    --rate 563.25 --counterparty "SH Tea House" --country CN --key "$dir/keys/upi.key" --key "$dir/keys/aba.key" --node "$node" --wait 30
echo "-- a worker in Korea sends 200,000 KRW home to srey@wing, credited as USD at 0.00068 USD per KRW"
tonle settle remit --gateway upi --reference "WU-$day" --to srey@wing --currency USD --foreign 200000 --foreign-currency KRW --rate 0.00068 \
    --country KR --key "$dir/keys/upi.key" --node "$node" --wait 30
echo "-- the same Alipay+ entry again: answered with the original, nothing posted twice"
tonle settle inward --gateway alipay --reference "ALP-$day" --khqr "$qr" --foreign-currency CNY --rate 0.0017753 --rate-unit KHR \
    --quoted-at-ms "$quoted" --counterparty "alipay-wallet-****8812" --country CN --key "$dir/keys/alipay.key" --node "$node" --wait 30
echo
echo "-- the day's net positions"
tonle positions alipay --node "$node"
echo
tonle positions upi --node "$node"

echo
echo "== 5. heights advancing on every validator (same block hash and state root at the common height)"
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
  metrics:  curl http://127.0.0.1:$rpc/metrics      (Prometheus and Grafana: deploy/monitoring, docs/operations.md)
  explorer: http://127.0.0.1:$rpc/explorer/         (in a browser)
  statement: $bin/tonle statement srey@wing --date $(TZ=Asia/Phnom_Penh date +%F) --node http://127.0.0.1:$rpc   (ISO 20022 camt.053)
  settle:   $bin/tonle entries upi --csv --node http://127.0.0.1:$rpc     (docs/settlement.md, docs/cli.md)
  send:     $bin/tonle tx transfer --key $dir/keys/aba.key --from sokha@aba --to chenda@acleda --amount 1000 --currency KHR --node http://127.0.0.1:$rpc --wait 10
  logs:     $dir/logs/        data: $dir/data/        keys and configs: $dir/keys, $dir/nodes
  stop:     bash deploy/local-network.sh stop $dir
DONE
