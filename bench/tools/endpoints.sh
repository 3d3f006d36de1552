#!/usr/bin/env bash
# What endpoints cost capture, in one run of the release build:
#   1. throughput with 100 endpoints configured (a file of 100 patterns, none matching the bench's path, so every
#      capture tries them all) against none, ROUNDS interleaved rounds of SECONDS;
#   2. p99 of the bench's load while 1,000 other requests wait out a 5 s delay (1,000 wrk connections on a path whose
#      endpoint answers 200@5000ms) against the same load alone.
# Prints every run and the medians.   bench/tools/endpoints.sh [ROUNDS] [SECONDS]   (defaults 3 and 10)
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
seconds=${2:-10}
port=${PORT:-9440}
require "$BIN"
ulimit -n 65536 2>/dev/null || true

config=$work/endpoints.toml
for n in $(seq 100); do
    printf '[[endpoint]]\nname = "e%d"\npath = "/e%d/**"\nrespond = [{ status = 200 }]\n\n' "$n" "$n" >>"$config"
done


# latency NAME WAITERS: the bench's load for SECONDS while WAITERS connections wait on the delayed path; prints p99 (µs).
latency() {
    local name=$1 waiters=$2
    rm -f "$work"/db*
    serve "$port" "$BIN" --listen "127.0.0.1:$port" --db "$work/db" --respond '/slow/**=200@5000ms'
    full_load "$port" 1 >/dev/null
    local slow=
    if ((waiters > 0)); then
        taskset -c "$LOAD_CPU" wrk -t1 -c"$waiters" -d"$((seconds + 6))s" --timeout 10s "http://127.0.0.1:$port/slow/x" >/dev/null 2>&1 &
        slow=$!
        sleep 2
    fi
    echo "$name $(KEY_SEED=$RANDOM taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"${seconds}s" --latency -s "$ROOT/bench/post.lua" \
        "http://127.0.0.1:$port" | field p99_us)"
    [[ -n $slow ]] && kill "$slow" 2>/dev/null
    wait "$slow" 2>/dev/null || true
    stop
}

results=$work/results
for round in $(seq "$rounds"); do
    if ((round % 2)); then
        throughput none | tee -a "$results"
        throughput hundred --config "$config" | tee -a "$results"
        latency alone 0 | tee -a "$results"
        latency waiting 1000 | tee -a "$results"
    else
        throughput hundred --config "$config" | tee -a "$results"
        throughput none | tee -a "$results"
        latency waiting 1000 | tee -a "$results"
        latency alone 0 | tee -a "$results"
    fi
done

PYTHONPATH="$ROOT/bench/tools" python3 - "$results" <<'PY'
import sys
from medians import load
runs, median = load(sys.argv[1])
for name in ("none", "hundred"):
    print(f"throughput, {name:8} endpoints: median {median[name]:>9,.0f} req/s   runs: " + ", ".join(f"{v:,.0f}" for v in runs[name]))
print(f"  100 endpoints / none: {median['hundred'] / median['none']:.3f}x (target at least 0.95x)")
for name in ("alone", "waiting"):
    print(f"p99, {name:7}: median {median[name] / 1000:.2f} ms   runs: " + ", ".join(f"{v / 1000:.2f}" for v in runs[name]))
print(f"  with 1,000 waiting / alone: {median['waiting'] / median['alone']:.3f}x (target at most 1.2x)")
PY
