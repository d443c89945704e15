# Shared by the deploy scripts: make sure this Debian machine can build Tonle.
# Installs the C libraries when missing (as root, or through sudo) and finds Swift.

# What the tests use beyond the build: Debian's Prometheus and promtool, which the monitoring test
# (Tests/TonleNodeTests/MonitoringTests.swift) runs against deploy/monitoring; xmllint
# (libxml2-utils), which validates camt.053 statements against the ISO 20022 schema
# (StatementTests.swift); chromium with chromium-driver and Selenium from PyPI, which drive the
# explorer in a headless browser (ExplorerTests.swift); PostgreSQL, whose initdb and pg_ctl the SQL
# sink's test (IndexerLiveTests.swift) runs in a temporary directory on a free port. Without
# recommends: no node exporter, no desktop. On a machine booted with systemd the prometheus and
# postgresql packages also start services of their own; the tests use neither.
tonle_ensure_test_tools() {
    local missing=() sudo=""
    command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
    command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    # PostgreSQL for the SQL reporting sink's test (it runs its own server in a temporary directory).
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    if [ "${#missing[@]}" -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "tonle: installing ${missing[*]} for the tests"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    if ! python3 -c 'import selenium' >/dev/null 2>&1; then
        echo "tonle: installing the Python package selenium for the explorer test"
        python3 -m pip install -q selenium 2>/dev/null || python3 -m pip install -q --break-system-packages selenium
    fi
}

tonle_ensure_dependencies() {
    local packages=(libsodium-dev libssl-dev libsqlite3-dev librocksdb-dev pkg-config python3 curl openssl) missing=() sudo=""
    for package in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "tonle: installing ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    # The Python gateway client (docs/examples/gateway_client.py) signs with `cryptography`.
    if ! python3 -c 'import cryptography.hazmat.primitives.asymmetric.ed25519' >/dev/null 2>&1; then
        echo "tonle: installing the Python package cryptography"
        python3 -m pip install -q cryptography 2>/dev/null || python3 -m pip install -q --break-system-packages cryptography \
            || { [ "$(id -u)" -eq 0 ] || sudo="sudo"; DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-cryptography >/dev/null; }
    fi
    # The API contract test (EdgeTests.schemathesis) runs schemathesis against docs/openapi.json;
    # its config and hooks are written for this version.
    local schemathesis_version=4.32.5
    if ! python3 -c "import schemathesis, sys; sys.exit(schemathesis.__version__ != '$schemathesis_version')" >/dev/null 2>&1; then
        echo "tonle: installing the Python package schemathesis $schemathesis_version"
        python3 -m pip install -q "schemathesis==$schemathesis_version" 2>/dev/null \
            || python3 -m pip install -q --break-system-packages "schemathesis==$schemathesis_version"
    fi
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    command -v swift >/dev/null 2>&1 || {
        echo "tonle: swift is not on PATH; install Swift 6.2 or later (https://www.swift.org/install/linux/)" >&2
        return 1
    }
}

# Waits up to a minute until the node at URL (e.g. http://127.0.0.1:26700) links to its three
# peers; else says where the logs are (LOGS) and fails.
tonle_wait_linked() {
    local url="$1" logs="$2" peers=0
    for _ in $(seq 1 120); do
        peers="$(curl -fsS "$url/v1/status" 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["peers"]))' 2>/dev/null || echo 0)"
        [ "$peers" = "3" ] && return 0
        sleep 0.5
    done
    echo "the validators did not link; see $logs" >&2
    return 1
}
