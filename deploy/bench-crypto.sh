#!/usr/bin/env bash
# Ed25519 and SHA-256 rates through TonleCrypto beside the C libraries called directly.
# Usage: bash deploy/bench-crypto.sh [--seconds S] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies
swift build -c release --product tonle >/dev/null
"$(swift build -c release --show-bin-path)/tonle" bench crypto "$@"
