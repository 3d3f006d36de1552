#!/usr/bin/env bash
# The live-stream latency scenario on its own, against hookscope or the reference (examples/stream_floor.rs):
# 1,000 clients on GET /_/events while 32 posters send 1,000 captures a second. Prints the probe's figures and how
# busy the server and the probe were. Quicker than bench/run.sh for comparing builds; alternate runs, since one
# run on a shared machine says little.
#
#   bench/tools/stream_latency.sh hookscope|reference [SECONDS]
#
# Environment: BIN (the hookscope binary), CLIENTS [1000], RATE [1000], SERVER_CPU [0], LOAD_CPU [1], PORT [9320].
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
which=${1:?hookscope or reference}; seconds=${2:-8}
BIN=${BIN:-$ROOT/target/release/hookscope}
EXAMPLES=$ROOT/target/release/examples
CLIENTS=${CLIENTS:-1000}; RATE=${RATE:-1000}; SERVER_CPU=${SERVER_CPU:-0}; LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-9320}
for binary in "$BIN" "$EXAMPLES/sse_probe" "$EXAMPLES/stream_floor"; do
    [[ -x $binary ]] || { echo "$binary is missing: cargo build --release --bin hookscope --example sse_probe --example stream_floor" >&2; exit 1; }
done
work=$(mktemp -d)
server=
cleanup() { [[ -n $server ]] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
if curl -fs -o /dev/null "http://127.0.0.1:$PORT/_/health"; then echo "port $PORT already answers (set PORT)" >&2; exit 1; fi
case $which in
    hookscope) taskset -c "$SERVER_CPU" "$BIN" --listen "127.0.0.1:$PORT" --db "$work/db.sqlite" >"$work/server.log" 2>&1 & ;;
    reference) taskset -c "$SERVER_CPU" "$EXAMPLES/stream_floor" "127.0.0.1:$PORT" >"$work/server.log" 2>&1 & ;;
    *) echo "hookscope or reference, not $which" >&2; exit 2 ;;
esac
server=$!
until curl -fs -o /dev/null "http://127.0.0.1:$PORT/_/health"; do
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.05
done
taskset -c "$LOAD_CPU" "$EXAMPLES/sse_probe" --addr "127.0.0.1:$PORT" --clients "$CLIENTS" --rate "$RATE" \
    --posters 32 --seconds "$seconds" >"$work/probe.txt" 2>"$work/probe.err" &
probe=$!
# CPU of both processes over two seconds in the middle of the run (clock ticks of 10 ms, so per cent).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
(( seconds >= 6 )) || { echo "SECONDS must be 6 or more, for the CPU figures" >&2; exit 2; }
sleep $(( seconds / 2 ))
s0=$(ticks "$server"); p0=$(ticks "$probe"); sleep 2; s1=$(ticks "$server"); p1=$(ticks "$probe")
wait "$probe" || { cat "$work/probe.err" >&2; exit 1; }
echo "$which: server CPU $(( (s1 - s0) / 2 )) %, probe CPU $(( (p1 - p0) / 2 )) %"
grep -v '^SSEJSON' "$work/probe.txt"
