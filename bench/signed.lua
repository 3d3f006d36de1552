-- wrk script for bench/tools/signatures.sh: POST one 1 KiB JSON body, signed once as GitHub signs (the signature
-- header comes from SIGNATURE), with a fresh Idempotency-Key header per request (not signed, so every request stays
-- a first sighting while the body and its signature stay the same).
--
-- Environment: BODY (the body), SIGNATURE (the X-Hub-Signature-256 value), KEY_SEED (the key prefix's seed).

local body = os.getenv("BODY")
local signature = os.getenv("SIGNATURE")
math.randomseed(tonumber(os.getenv("KEY_SEED") or "") or os.time())
local prefix = math.random(0, 0x7fffffff)
local counter = 0

request = function()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-GitHub-Event"] = "issues",
    ["X-Hub-Signature-256"] = signature,
    ["Idempotency-Key"] = string.format("%08x-%08x-%08x", prefix, math.random(0, 0x7fffffff), counter),
  }
  return wrk.format("POST", "/github", headers, body)
end

done = function(summary, latency, requests)
  io.write(string.format('WRKJSON {"rps":%.1f,"p99_us":%d,"errors":%d}\n',
    summary.requests / (summary.duration / 1000000), latency:percentile(99),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout))
end
