-- Temporary credentials are refreshed before they expire, one refresh shared
-- by every waiting request. The fake S3 (tests/lua/aws/metadata_server.py)
-- answers 403 ExpiredToken to a request signed with an expired or unknown
-- key, and counts how often the container endpoint handed out credentials
-- (4-second credentials, whole seconds in Expiration so 3-4 s at issue;
-- lode's refresh windows set to 2 s / 1 s).
local t = require "lode.test"
local proc = require "lode.proc"
local json = require "lode.json"

local root = t.env("LODE_ROOT", "tests/run.sh sets it")
local lode_bin = t.env("LODE_BIN", "tests/run.sh sets it")
local here = root .. "/tests/lua/aws"
local token = "ecs-token-" .. math.random(1, 1e9)

local r = proc.run({ "/usr/bin/python3", here .. "/metadata_server.py", "ROT", "4", token, "rotate", "120" })
assert(r.status == 0, r.stderr)
local base = "http://127.0.0.1:" .. r.stdout:match("%d+")

local run = proc.run({ "/usr/bin/env", "-i", "HOME=" .. t.tmpdir(), "PATH=/usr/bin:/bin",
  "AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" .. base,
  "AWS_CONTAINER_CREDENTIALS_FULL_URI=" .. base .. "/ecs/creds", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" .. token,
  "ASAN_OPTIONS=" .. (os.getenv("ASAN_OPTIONS") or ""), "LSAN_OPTIONS=" .. (os.getenv("LSAN_OPTIONS") or ""),
  "UBSAN_OPTIONS=" .. (os.getenv("UBSAN_OPTIONS") or ""),
  lode_bin, "run", here .. "/refresh_load.lua", "--param", "base=" .. base }, { timeout = 60000 })
t.test("the load exits cleanly", function()
  t.eq(run.status, 0, run.stderr)
end)

local ok, out = pcall(json.decode, run.stdout)
assert(ok and type(out) == "table", "no JSON: " .. run.stdout .. run.stderr)

t.test("50 concurrent first requests share one credential fetch", function()
  t.eq(out.first, {}, "failed requests")
  t.eq(out.after_first.ecs, 1)
  t.eq(out.after_first.s3_ok, 50)
end)

t.test("50 concurrent requests inside the mandatory window share one refresh", function()
  t.eq(out.before_second.ecs, 1, "nothing refreshed while idle")
  t.eq(out.second, {}, "failed requests")
  t.eq(out.after_second.ecs, 2)
  t.eq(out.after_second.s3_expired, 0)
end)

t.test("a load longer than two credential lifetimes never sends an expired key", function()
  t.eq(out.load, {}, "failed requests")
  t.eq(out.after_load.s3_expired, 0)
  t.eq(out.after_load.s3_ok, 100 + 10 * out.rounds)
  -- 7 s of load with credentials that enter the advisory window 1-2 s after
  -- they are issued: one fetch every 1-2 s, never one per request
  local fetched = out.after_load.ecs - out.after_second.ecs
  t.ok(fetched >= 3 and fetched <= 8, "fetches during the load: " .. fetched)
end)
