#!/usr/bin/env bash
# What forwarding costs, in one run of the release build, with the bare baseline (examples/baseline.rs) as the
# target app:
#   1. capture throughput with every request mirrored to the target (--forward-to) against no forwarding, ROUNDS
#      interleaved rounds of SECONDS (the target runs unpinned, sharing the two cores with hookscope and wrk);
#   2. proxy mode's added latency: p50 at one connection through a proxying endpoint, against the target called
#      directly, same rounds.
# Prints every run and the medians.   bench/tools/forward.sh [ROUNDS] [SECONDS]   (defaults 3 and 10)
# Build the baseline first: cargo build --release --example baseline.
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
seconds=${2:-10}
port=${PORT:-9460}
target_port=$((port + 1))
require "$BIN" "$EXAMPLES/baseline"
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }

"$EXAMPLES/baseline" "127.0.0.1:$target_port" >"$work/target.log" 2>&1 &
target=$!
trap 'kill "$target" 2>/dev/null || true; cleanup' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$target_port/"; do sleep 0.05; done

printf '[[endpoint]]\nname = "proxy"\npath = "/proxy"\nforward = { url = "http://127.0.0.1:%s/", mode = "proxy" }\n' \
    "$target_port" >"$work/proxy.toml"


# p50 NAME URL: one connection for SECONDS; prints NAME and p50 in µs.
p50() {
    echo "$1 $(KEY_SEED=$RANDOM BENCH_PATH=$3 taskset -c "$LOAD_CPU" wrk -t1 -c1 -d"${seconds}s" --latency \
        -s "$ROOT/bench/post.lua" "$2" | field p50_us)"
}

latency() {
    rm -f "$work"/db*
    serve "$port" "$BIN" --listen "127.0.0.1:$port" --db "$work/db" --config "$work/proxy.toml"
    p50 proxied "http://127.0.0.1:$port" /proxy >/dev/null
    if (($1 % 2)); then
        p50 direct "http://127.0.0.1:$target_port" /
        p50 proxied "http://127.0.0.1:$port" /proxy
    else
        p50 proxied "http://127.0.0.1:$port" /proxy
        p50 direct "http://127.0.0.1:$target_port" /
    fi
    stop
}

results=$work/results
for round in $(seq "$rounds"); do
    if ((round % 2)); then
        throughput none | tee -a "$results"
        throughput mirror --forward-to "http://127.0.0.1:$target_port/" | tee -a "$results"
    else
        throughput mirror --forward-to "http://127.0.0.1:$target_port/" | tee -a "$results"
        throughput none | tee -a "$results"
    fi
    latency "$round" | tee -a "$results"
done

PYTHONPATH="$ROOT/bench/tools" python3 - "$results" <<'PY'
import statistics, sys
from medians import load
runs, median = load(sys.argv[1])
for name in ("none", "mirror"):
    print(f"throughput, {name:6}: median {median[name]:>9,.0f} req/s   runs: " + ", ".join(f"{v:,.0f}" for v in runs[name]))
print(f"  mirror / none: {median['mirror'] / median['none']:.3f}x (target at least 0.5x)")
for name in ("direct", "proxied"):
    print(f"p50 at one connection, {name:7}: median {median[name]:.0f} µs   runs: " + ", ".join(f"{v:.0f}" for v in runs[name]))
added = [p - d for p, d in zip(runs["proxied"], runs["direct"])]
print(f"  proxy adds: median {statistics.median(added) / 1000:.3f} ms (target under 0.5 ms)   runs: " + ", ".join(f"{a / 1000:.3f}" for a in added))
PY
