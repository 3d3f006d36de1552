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
source "$(dirname "$0")/common.sh"
which=${1:?hookscope or reference}; seconds=${2:-8}
CLIENTS=${CLIENTS:-1000}; RATE=${RATE:-1000}; PORT=${PORT:-9320}
(( seconds >= 6 )) || { echo "SECONDS must be 6 or more, for the CPU figures" >&2; exit 2; }
require "$BIN" "$EXAMPLES/sse_probe" "$EXAMPLES/stream_floor"
case $which in
    hookscope) serve "$PORT" "$BIN" --listen "127.0.0.1:$PORT" --db "$work/db.sqlite" ;;
    reference) serve "$PORT" "$EXAMPLES/stream_floor" "127.0.0.1:$PORT" ;;
    *) echo "hookscope or reference, not $which" >&2; exit 2 ;;
esac
taskset -c "$LOAD_CPU" "$EXAMPLES/sse_probe" --addr "127.0.0.1:$PORT" --clients "$CLIENTS" --rate "$RATE" \
    --posters 32 --seconds "$seconds" >"$work/probe.txt" 2>"$work/probe.err" &
probe=$!
# CPU of both processes over two seconds in the middle of the run (clock ticks of 10 ms, so per cent).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
sleep $(( seconds / 2 ))
s0=$(ticks "$server"); p0=$(ticks "$probe"); sleep 2; s1=$(ticks "$server"); p1=$(ticks "$probe")
wait "$probe" || { cat "$work/probe.err" >&2; exit 1; }
echo "$which: server CPU $(( (s1 - s0) / 2 )) %, probe CPU $(( (p1 - p0) / 2 )) %"
grep -v '^SSEJSON' "$work/probe.txt"
