#!/usr/bin/env bash
# CPU per capture of each of hookscope's threads at full load (wrk, 64 connections, --keep 0 unless told
# otherwise) on a given store: user + system microseconds, from /proc's clock ticks over the measured run. Run it on
# an empty store and on a filled one (examples/fill_store) in turn to see which thread a large store costs more.
#
#   bench/tools/thread_cost.sh DB [SECONDS [HOOKSCOPE ARGUMENT...]]
#
# hookscope runs with the arguments given after SECONDS, or `--keep 0` without any: `--keep 100000` measures the
# default retention, on a fresh DB with LEAD=4 so that the store is past its 100,000 requests when measuring starts.
# Environment: BIN (the hookscope binary), SERVER_CPU [0], LOAD_CPU [1], PORT [9321], LEAD [1] seconds of load
# before the measured run.
set -euo pipefail
source "$(dirname "$0")/common.sh"
db=${1:?a database file}; seconds=${2:-8}
shift $(( $# < 2 ? $# : 2 ))
arguments=("$@")
(( ${#arguments[@]} )) || arguments=(--keep 0)
PORT=${PORT:-9321}
require "$BIN"
serve "$PORT" "$BIN" --listen "127.0.0.1:$PORT" --db "$db" "${arguments[@]}"
full_load "$PORT" "${LEAD:-1}" >/dev/null
# Per thread name: user and system ticks (fields 14 and 15 of /proc/PID/task/TID/stat).
snapshot() { for task in /proc/"$server"/task/*; do echo "$(cat "$task/comm") $(awk '{print $14, $15}' "$task/stat")"; done; }
snapshot >"$work/before"
full_load "$PORT" "$seconds" >"$work/wrk.txt"
snapshot >"$work/after"
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
echo "$db: $rps req/s; per capture, user + system:"
# A tick is 10 ms; per capture in µs = ticks * 10,000 / (req/s * seconds).
awk -v rps="$rps" -v secs="$seconds" '
    NR == FNR { user[$1] -= $2; sys[$1] -= $3; next }
    { user[$1] += $2; sys[$1] += $3 }
    END { for (name in user) if (user[name] + sys[name] > 5)
              printf "  %-18s %6.2f + %5.2f us\n", name, user[name] * 1e4 / (rps * secs), sys[name] * 1e4 / (rps * secs) }
' "$work/before" "$work/after"
