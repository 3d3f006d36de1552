# Shared by the scripts in bench/tools: sourced, not run. Sets ROOT, BIN, EXAMPLES, SERVER_CPU and LOAD_CPU, makes a
# temporary folder ($work) that goes on exit with the server, and starts servers pinned to SERVER_CPU.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${BIN:-$ROOT/target/release/hookscope}
EXAMPLES=$ROOT/target/release/examples
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}

work=$(mktemp -d)
server=
# How the server is stopped on exit: TERM, or KILL for a script that leaves the store as a crash does.
STOP_SIGNAL=TERM
cleanup() {
    [[ -n $server ]] && kill "-$STOP_SIGNAL" "$server" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# require FILE...: each must be an executable of the release build.
require() {
    local binary
    for binary in "$@"; do
        [[ -x $binary ]] || { echo "$binary is missing: build it with cargo build --release" >&2; exit 1; }
    done
}

# serve PORT COMMAND...: starts COMMAND pinned to SERVER_CPU and waits until /_/health answers on PORT. Sets
# $server. Refuses a port that already answers, where another server would pass the check.
serve() {
    local port=$1
    shift
    if curl -fs -o /dev/null "http://127.0.0.1:$port/_/health"; then
        echo "port $port already answers (set PORT)" >&2
        exit 1
    fi
    taskset -c "$SERVER_CPU" "$@" >"$work/server.log" 2>&1 &
    server=$!
    until curl -fs -o /dev/null "http://127.0.0.1:$port/_/health"; do
        kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
        sleep 0.05
    done
}

# full_load PORT SECONDS: wrk from LOAD_CPU, 64 connections, the bench's 1 KiB captures with fresh keys.
full_load() {
    command -v wrk >/dev/null || { echo "wrk is required" >&2; exit 1; }
    KEY_SEED=$RANDOM$RANDOM taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"$2s" -s "$ROOT/bench/post.lua" \
        "http://127.0.0.1:$1"
}

# stop: stops the server serve started.
stop() {
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=
}

# field NAME: reads one figure from wrk's WRKJSON line on stdin.
field() { sed -n "s/^WRKJSON .*\"$1\":\([0-9.]*\).*/\1/p"; }

# throughput NAME ARGS...: hookscope on $port with ARGS on a fresh store, a warm-up, then full_load for $seconds;
# prints NAME and req/s.
throughput() {
    local name=$1
    shift
    rm -f "$work"/db*
    serve "$port" "$BIN" --listen "127.0.0.1:$port" --db "$work/db" "$@"
    full_load "$port" 1 >/dev/null
    echo "$name $(full_load "$port" "$seconds" | field rps)"
    stop
}
