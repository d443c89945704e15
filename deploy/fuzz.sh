#!/usr/bin/env bash
# Runs fuzz targets (Sources/TonleFuzzTargets) under libFuzzer with AddressSanitizer, from the
# committed corpus (docs/reliability.md).
#   bash deploy/fuzz.sh TARGET SECONDS    one target for SECONDS
#   bash deploy/fuzz.sh all SECONDS       every target, one after another, SECONDS each
#   bash deploy/fuzz.sh list              the targets
# TONLE_FUZZ_JOBS=N runs that many targets at once with `all` (default 1).
# New inputs go to a working corpus, .fuzz/TARGET (not committed); a failing input is written to
# .fuzz/artifacts/TARGET-crash-* (or -leak-, -timeout-, -oom-): add it to
# Tests/TonleFuzzTargetsTests/Corpus/TARGET/ with its fix, where every test run replays it.
# Prints one JSON line per target: executions, executions per second, corpus size, result.
set -euo pipefail
cd "$(dirname "$0")/.."
source deploy/lib.sh
tonle_ensure_dependencies

usage="usage: fuzz.sh TARGET|all|list [SECONDS]"
what="${1:?$usage}"
seconds="${2:-60}"
corpus=Tests/TonleFuzzTargetsTests/Corpus
bin=.build-fuzz/release/tonle-fuzz

if [ "$what" = list ]; then ls "$corpus"; exit 0; fi
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 64; }

# Dead stripping would drop the coverage counters the sanitizer adds: libFuzzer would see one edge.
echo "fuzz: building tonle-fuzz (release, -sanitize=fuzzer,address) in .build-fuzz"
if ! TONLE_FUZZ=1 swift build -c release --scratch-path .build-fuzz --product tonle-fuzz --sanitize fuzzer --sanitize address --disable-dead-strip > .build-fuzz.log 2>&1; then
    tail -40 .build-fuzz.log >&2
    exit 1
fi

# One target: libFuzzer for SECONDS, then its figures from the final stats.
run_one() {
    local target="$1" log=".fuzz/$1.log"
    [ -d "$corpus/$target" ] || { echo "fuzz: no target $target (bash deploy/fuzz.sh list)" >&2; return 64; }
    mkdir -p ".fuzz/$target" .fuzz/artifacts
    local status=0
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
        "$bin" "$target" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
        -artifact_prefix=".fuzz/artifacts/$target-" ".fuzz/$target" "$corpus/$target" > "$log" 2>&1 || status=$?
    local runs per_second units
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    per_second=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    units=$(find ".fuzz/$target" "$corpus/$target" -type f | wc -l)
    local result=clean
    [ "$status" -eq 0 ] || result="FAILED (exit $status; log $log; input in .fuzz/artifacts/)"
    echo "{\"fuzz\":\"$target\",\"seconds\":$seconds,\"executions\":${runs:-0},\"executions_per_s\":${per_second:-0},\"corpus\":$units,\"result\":\"$result\"}"
    if [ "$status" -ne 0 ]; then grep -E "ERROR|SUMMARY|Fatal|precondition|panicked|#0 " "$log" | head -20 >&2; fi
    return "$status"
}

if [ "$what" != all ]; then run_one "$what"; exit; fi

failed=0
targets=$(ls "$corpus")
jobs="${TONLE_FUZZ_JOBS:-1}"
if [ "$jobs" -le 1 ]; then
    for target in $targets; do run_one "$target" || failed=1; done
else
    # Several at once: each writes its line when done.
    pids=()
    for target in $targets; do
        while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
        run_one "$target" & pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
fi
exit "$failed"
