#!/usr/bin/env bash
# What a custom JSON Schema profile costs capture, in one run of the release build: the bench's 1 KiB
# channel_event bodies checked by the built-in channel_event profile, against the same bodies checked by a custom
# profile with an equivalent JSON Schema (detected by its environment member), ROUNDS interleaved rounds of SECONDS.
# Prints every run and the medians.   bench/tools/profiles.sh [ROUNDS] [SECONDS]   (defaults 3 and 10)
set -euo pipefail
source "$(dirname "$0")/common.sh"
rounds=${1:-3}
seconds=${2:-10}
port=${PORT:-9480}
require "$BIN"

cat >"$work/schema.toml" <<'TOML'
[[profile]]
name = "channel_schema"
detect = { pointer = "/environment", equals = "staging" }
event_pointer = "/event"
key_pointer = "/idempotency_key"
environment_pointer = "/environment"

[profile.schema]
"$schema" = "https://json-schema.org/draft/2020-12/schema"
type = "object"
required = ["event", "message", "idempotency_key", "environment", "data"]
additionalProperties = false

[profile.schema.properties.event]
type = "string"
pattern = "^[a-z_]+\\.[a-z_]+$"

[profile.schema.properties.message]
type = "string"

[profile.schema.properties.idempotency_key]
type = "string"
format = "uuid"
minLength = 1

[profile.schema.properties.environment]
enum = ["staging", "production"]

[profile.schema.properties.data]
type = "object"
required = ["id"]
TOML

results=$work/results
for round in $(seq "$rounds"); do
    if ((round % 2)); then
        throughput builtin | tee -a "$results"
        throughput schema --config "$work/schema.toml" | tee -a "$results"
    else
        throughput schema --config "$work/schema.toml" | tee -a "$results"
        throughput builtin | tee -a "$results"
    fi
done

PYTHONPATH="$ROOT/bench/tools" python3 - "$results" <<'PY'
import sys
from medians import load
runs, median = load(sys.argv[1])
for name in ("builtin", "schema"):
    print(f"throughput, {name:7}: median {median[name]:>9,.0f} req/s   runs: " + ", ".join(f"{v:,.0f}" for v in runs[name]))
print(f"  custom JSON Schema / built-in channel_event: {median['schema'] / median['builtin']:.3f}x (target at least 0.9x)")
PY
