#!/usr/bin/env bash
# What checking signatures costs capture, in one run of the release build: the same GitHub-signed 1 KiB requests
# (bench/signed.lua) to a path with no verification (the header is only seen: "unchecked"), with the right secret
# ("valid") and with a wrong one ("invalid", while a client opens ten invalid requests' details a second, each
# explained afresh). ROUNDS interleaved rounds of SECONDS; prints every run and the medians, and what explaining
# one detail takes.   bench/tools/signatures.sh [ROUNDS] [SECONDS]   (defaults 3 and 10)
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
seconds=${2:-10}
port=${PORT:-9450}
require "$BIN"
command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }

secret="bench-secret-0123456789"
body=$(python3 -c 'import json; print(json.dumps({"action": "opened", "issue": {"number": 1, "title": "x" * 940}}, separators=(",", ":")))')
signature=$(BODY=$body SECRET=$secret python3 -c 'import hashlib, hmac, os; print("sha256=" + hmac.new(os.environ["SECRET"].encode(), os.environ["BODY"].encode(), hashlib.sha256).hexdigest())')
for name in valid invalid; do
    key=$secret
    [[ $name == invalid ]] && key="not-the-secret"
    printf '[[endpoint]]\nname = "github"\npath = "/github"\nverify = { scheme = "github", secrets = ["%s"] }\n' "$key" >"$work/$name.toml"
done

load() {
    BODY=$body SIGNATURE=$signature KEY_SEED=$RANDOM taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"$1s" -s "$ROOT/bench/signed.lua" \
        "http://127.0.0.1:$port"
}

# Opens the detail of ten different requests a second until killed: each is explained when it is read.
explain_details() {
    local id=1
    while sleep 0.1; do
        curl -s -o /dev/null "http://127.0.0.1:$port/_/api/requests/$id"
        id=$((id + 97))
    done
}

# run NAME [--config FILE]: a fresh store, a warm-up, the measured run; prints NAME and req/s.
run() {
    local name=$1 explainer=
    shift
    rm -f "$work"/db*
    serve "$port" "$BIN" --listen "127.0.0.1:$port" --db "$work/db" "$@"
    load 1 >/dev/null
    if [[ $name == invalid ]]; then
        explain_details &
        explainer=$!
    fi
    echo "$name $(load "$seconds" | field rps)"
    [[ -n $explainer ]] && kill "$explainer" 2>/dev/null
    wait "$explainer" 2>/dev/null || true
    if [[ $name == invalid ]]; then
        # One explanation's cost: the detail of a request not yet explained, against one already explained.
        local fresh cached
        fresh=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/_/api/requests/5")
        cached=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$port/_/api/requests/5")
        echo "detail_fresh_ms $(python3 -c "print($fresh * 1000)")"
        echo "detail_cached_ms $(python3 -c "print($cached * 1000)")"
    fi
    stop
}

results=$work/results
for round in $(seq "$rounds"); do
    order=(off valid invalid)
    ((round % 2)) || order=(invalid valid off)
    for name in "${order[@]}"; do
        case $name in
            off) run off | tee -a "$results" ;;
            *) run "$name" --config "$work/$name.toml" | tee -a "$results" ;;
        esac
    done
done

PYTHONPATH="$ROOT/bench/tools" python3 - "$results" <<'PY'
import sys
from medians import load
runs, median = load(sys.argv[1])
for name in ("off", "valid", "invalid"):
    print(f"throughput, {name:8}: median {median[name]:>9,.0f} req/s   runs: " + ", ".join(f"{v:,.0f}" for v in runs[name]))
print(f"  valid / off:   {median['valid'] / median['off']:.3f}x (target at least 0.9x)")
print(f"  invalid / off: {median['invalid'] / median['off']:.3f}x (target at least 0.7x)")
print(f"one detail read: {median['detail_fresh_ms']:.2f} ms explained afresh, {median['detail_cached_ms']:.2f} ms once kept")
PY
