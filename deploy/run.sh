#!/usr/bin/env bash
# The main job: build the tonle command (release), then a first demo — a signing key, a signed
# transfer with its canonical bytes and id, offline verification, and a tampered copy refused.
# (Later this grows into a local 4-validator network.)
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies

echo "== building tonle (release)"
swift build -c release --product tonle
tonle="$(swift build -c release --show-bin-path)/tonle"
work="${TONLE_DEMO_DIR:-$(mktemp -d /tmp/tonle-demo.XXXXXX)}"
mkdir -p "$work"

echo
echo "== 1. a signing key for sokha@aclb (key file mode 0600)"
"$tonle" keygen --out "$work/sokha.key" --force

echo
echo "== 2. a signed transfer: 12.50 USD from sokha@aclb to dara@wing"
"$tonle" tx transfer --key "$work/sokha.key" --chain tonle-local \
    --from sokha@aclb --to dara@wing --amount 12.50 --currency USD --reference "Lunch, Kampot" | tee "$work/transfer.txt"
hex="$(awk '$1 == "hex" { print $2 }' "$work/transfer.txt")"

echo
echo "== 3. verified offline from its canonical bytes"
"$tonle" tx inspect "$hex" | tail -n 1

echo
echo "== 4. one byte of the signature changed: refused"
last="${hex: -2}"
tampered="${hex:0:${#hex}-2}$([ "$last" = "00" ] && echo 01 || echo 00)"
if refusal="$("$tonle" tx inspect "$tampered" 2>&1 >/dev/null)"; then
    echo "tampered transaction was accepted: this is a bug" >&2
    exit 1
fi
echo "refused, as it must be: ${refusal#error: }"

echo
echo "Done. Key and transaction are in $work. Next: docs/encoding.md shows the bytes field by field."
