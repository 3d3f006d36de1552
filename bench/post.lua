-- wrk script for bench/run.sh: POST a 1 KiB channel_event envelope with a fresh idempotency key per request.
--
-- Environment (all optional):
--   BENCH_PATH  capture path                        (default /hooks/bench)
--   RATE        per-connection requests per second; when set, each connection is paced with delay()
--               (64 connections x 78 req/s ~ 5k req/s offered). Unset: as fast as the server answers.
--   BODY_SIZE   exact body size in bytes            (default 1024)
--   KEY_SEED    seeds the idempotency-key prefix    (default: time based)
--
-- At the end it prints one line `WRKJSON {...}` that run.sh parses: requests/s, latency percentiles (microseconds)
-- and error counts.

local path = os.getenv("BENCH_PATH") or "/hooks/bench"
local rate = tonumber(os.getenv("RATE") or "")
local body_size = tonumber(os.getenv("BODY_SIZE") or "1024")

-- A per-run prefix so keys stay fresh across runs against the same database (the 1M-row scenario); run.sh passes
-- a different KEY_SEED to every run.
math.randomseed(tonumber(os.getenv("KEY_SEED") or "") or (os.time() + math.floor(os.clock() * 1000000)))
local prefix = math.random(0, 0x7fffffff)
local counter = 0

local head = '{"event":"invoices.created","message":"Invoice created successfully.","idempotency_key":"'
local padding = string.rep("x", body_size)
local headers = { ["Content-Type"] = "application/json" }

request = function()
  counter = counter + 1
  -- A random version-4 UUID, as providers send them: random keys land anywhere in the key index, which costs
  -- more than sequential ones. The low bits carry the run prefix and counter, so keys never repeat.
  local key = string.format("%08x-%04x-4%03x-%04x-%06x%06x", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), prefix % 0x1000000, counter % 0x1000000)
  local start = head .. key .. '","environment":"staging","data":{"id":' .. counter .. ',"note":"'
  local fill = body_size - #start - 3
  if fill < 0 then fill = 0 end
  local body = start .. string.sub(padding, 1, fill) .. '"}}'
  return wrk.format("POST", path, headers, body)
end

if rate and rate > 0 then
  local interval = 1000 / rate
  -- Uniformly spread around the mean interval, so connections do not fire in lockstep.
  delay = function()
    return interval * (0.5 + math.random())
  end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1000000
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d,' ..
    '"mean_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,"err_timeout":%d}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9), latency.max,
    latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
