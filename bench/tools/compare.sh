#!/usr/bin/env bash
# Capture throughput of two hookscope builds side by side, with the bare baseline in the same run: ROUNDS rounds
# that each run the baseline, then the two builds in alternating order, every hookscope on a fresh database at its
# default settings (server pinned to SERVER_CPU, wrk to LOAD_CPU, 64 connections, the bench's 1 KiB captures with
# fresh random keys, a 1 s warm-up before each measured run). Prints every run and the medians.
#
#   bench/tools/compare.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] [SECONDS]     (defaults: 3 rounds of 10 s)
#
# Build the baseline first: cargo build --release --example baseline.
set -euo pipefail
source "$(dirname "$0")/common.sh"

before=${1:?usage: compare.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] [SECONDS]}
after=${2:?usage: compare.sh BEFORE_BINARY AFTER_BINARY [ROUNDS] [SECONDS]}
rounds=${3:-3}
seconds=${4:-10}
port=${PORT:-9400}
require "$before" "$after" "$EXAMPLES/baseline"

# measure NAME COMMAND...: serves COMMAND, warms it up, runs the load, prints NAME and its requests a second.
measure() {
    local name=$1
    shift
    serve "$port" "$@"
    full_load "$port" 1 >/dev/null
    local rps
    rps=$(full_load "$port" "$seconds" | field rps)
    stop
    echo "$name $rps"
}

hookscope() {
    rm -f "$work"/db*
    measure "$1" "$2" --listen "127.0.0.1:$port" --db "$work/db"
}

# The baseline answers every path, so its health check passes as hookscope's does.
results=$work/results
for round in $(seq "$rounds"); do
    measure baseline "$EXAMPLES/baseline" "127.0.0.1:$port" | tee -a "$results"
    if ((round % 2)); then
        hookscope before "$before" | tee -a "$results"
        hookscope after "$after" | tee -a "$results"
    else
        hookscope after "$after" | tee -a "$results"
        hookscope before "$before" | tee -a "$results"
    fi
done

PYTHONPATH="$ROOT/bench/tools" python3 - "$results" <<'PY'
import sys
from medians import load
runs, median = load(sys.argv[1])
for name in ("baseline", "before", "after"):
    figures = ", ".join(f"{value:,.0f}" for value in runs[name])
    print(f"{name:9} median {median[name]:>9,.0f} req/s   runs: {figures}")
print(f"after / before:   {median['after'] / median['before']:.3f}x")
print(f"before / baseline: {median['before'] / median['baseline']:.3f}x")
print(f"after / baseline:  {median['after'] / median['baseline']:.3f}x")
PY
