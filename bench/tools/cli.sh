#!/usr/bin/env bash
# The command-line clients' figures, in one run of the release build:
#   1. `hookscope send` as a load generator against the bare baseline server, against `hey` (Debian's package),
#      same requests count, concurrency and body, ROUNDS interleaved rounds: requests per second;
#   2. `hookscope export` of 10,000 and of 100,000 stored records (fill_store): records per second, and the
#      server's peak RSS growth during each (it must not grow with the count);
#   3. `hookscope wait`: from the 2xx of the matching capture to wait's exit, 50 times: p50 and p99.
#   bench/tools/cli.sh [ROUNDS]   (default 3). Needs the release build, the baseline and fill_store examples, hey.
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
port=${PORT:-9490}
target_port=$((port + 1))
require "$BIN" "$EXAMPLES/baseline" "$EXAMPLES/fill_store"
command -v hey >/dev/null || { echo "hey is required (apt-get install hey)" >&2; exit 1; }
results=$work/results

# 1. send against hey, to the baseline (on SERVER_CPU; the generators on LOAD_CPU).
taskset -c "$SERVER_CPU" "$EXAMPLES/baseline" "127.0.0.1:$target_port" >/dev/null 2>&1 &
baseline=$!
trap 'kill "$baseline" 2>/dev/null || true; cleanup' EXIT
until curl -fs -o /dev/null "http://127.0.0.1:$target_port/"; do sleep 0.05; done
requests=20000
concurrency=32
body=$work/body.json
python3 -c 'import json; print(json.dumps({"event": "invoices.created", "message": "m", "idempotency_key": "5f1c6f0e-7f7e-4a8e-9d55-1f5e0c4b8a11", "environment": "staging", "data": {"id": 1, "note": "x" * 900}}))' >"$body"
send_rps() {
    local started ended
    started=$(date +%s.%N)
    taskset -c "$LOAD_CPU" "$BIN" send "http://127.0.0.1:$target_port/hook" --body "$body" --header 'Content-Type: application/json' \
        --count "$requests" --concurrency "$concurrency" --json >/dev/null
    ended=$(date +%s.%N)
    python3 -c "print($requests / ($ended - $started))"
}
hey_rps() {
    taskset -c "$LOAD_CPU" hey -n "$requests" -c "$concurrency" -m POST -T application/json -D "$body" \
        "http://127.0.0.1:$target_port/hook" | sed -n 's/^ *Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p'
}
for round in $(seq "$rounds"); do
    if ((round % 2)); then
        echo "hey $(hey_rps)" | tee -a "$results"
        echo "send $(send_rps)" | tee -a "$results"
    else
        echo "send $(send_rps)" | tee -a "$results"
        echo "hey $(hey_rps)" | tee -a "$results"
    fi
done
kill "$baseline" 2>/dev/null || true

# 2. export of 10,000 and 100,000 records.
export_run() {
    local rows=$1
    rm -f "$work"/db*
    "$EXAMPLES/fill_store" "$work/db" "$rows" >/dev/null 2>&1
    serve "$port" "$BIN" --listen "127.0.0.1:$port" --db "$work/db" --keep 0
    local before after started ended
    before=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
    started=$(date +%s.%N)
    "$BIN" export --url "http://127.0.0.1:$port" --format ndjson -o "$work/export.ndjson"
    ended=$(date +%s.%N)
    after=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
    local lines
    lines=$(wc -l <"$work/export.ndjson")
    echo "export_${rows}_rps $(python3 -c "print($lines / ($ended - $started))")" | tee -a "$results"
    echo "export_${rows}_rss_growth_kib $((after - before))" | tee -a "$results"
    stop
}
export_run 10000
export_run 100000

# 3. wait's exit after the matching capture's 2xx.
rm -f "$work"/db*
serve "$port" "$BIN" --listen "127.0.0.1:$port" --db "$work/db"
for n in $(seq 50); do
    "$BIN" wait --url "http://127.0.0.1:$port" --path "/wait/$n" --timeout 10s >/dev/null &
    waiter=$!
    sleep 0.2
    posted=$(python3 - "$port" "$n" <<'PY'
import http.client, sys, time
connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
connection.request("POST", f"/wait/{sys.argv[2]}", body="{}", headers={"Content-Type": "application/json"})
connection.getresponse().read()
print(time.time())
PY
)
    wait "$waiter"
    exited=$(date +%s.%N)
    echo "wait_ms $(python3 -c "print(($exited - $posted) * 1000)")" >>"$results"
done
stop

PYTHONPATH="$ROOT/bench/tools" python3 - "$results" <<'PY'
import sys
from medians import load
runs, median = load(sys.argv[1])
for name in ("hey", "send"):
    print(f"load generator, {name:4}: median {median[name]:>9,.0f} req/s   runs: " + ", ".join(f"{v:,.0f}" for v in runs[name]))
print(f"  send / hey: {median['send'] / median['hey']:.3f}x (target at least 1.0x)")
for rows in (10000, 100000):
    print(f"export of {rows:,} records: {median[f'export_{rows}_rps']:,.0f} records/s, server peak RSS grew {median[f'export_{rows}_rss_growth_kib'] / 1024:.1f} MiB")
waits = sorted(runs["wait_ms"])
p = lambda share: waits[max(0, int(len(waits) * share + 0.999) - 1)]
print(f"wait's exit after the 2xx, {len(waits)} runs: p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms (target p99 under 50 ms)")
PY
