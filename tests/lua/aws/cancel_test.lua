-- A request cancelled while it waits for credentials is never called back,
-- and the fetch it was waiting for still serves the next request.
local t = require "lode.test"
local proc = require "lode.proc"
local json = require "lode.json"

local root = t.env("LODE_ROOT", "tests/run.sh sets it")
local lode_bin = t.env("LODE_BIN", "tests/run.sh sets it")
local here = root .. "/tests/lua/aws"
local token = "ecs-token-" .. math.random(1, 1e9)

local r = proc.run({ "/usr/bin/python3", here .. "/metadata_server.py", "CAN", "3600", token, "rotate", "120" })
assert(r.status == 0, r.stderr)
local base = "http://127.0.0.1:" .. r.stdout:match("%d+")

local run = proc.run({ "/usr/bin/env", "-i", "HOME=" .. t.tmpdir(), "PATH=/usr/bin:/bin",
  "AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=us-east-1", "AWS_ENDPOINT_URL=" .. base,
  "AWS_CONTAINER_CREDENTIALS_FULL_URI=" .. base .. "/ecs/slow", "AWS_CONTAINER_AUTHORIZATION_TOKEN=" .. token,
  "ASAN_OPTIONS=" .. (os.getenv("ASAN_OPTIONS") or ""), "LSAN_OPTIONS=" .. (os.getenv("LSAN_OPTIONS") or ""),
  "UBSAN_OPTIONS=" .. (os.getenv("UBSAN_OPTIONS") or ""),
  lode_bin, "run", here .. "/cancel_load.lua", "--param", "base=" .. base }, { timeout = 60000 })

t.test("the helper exits cleanly", function()
  t.eq(run.status, 0, run.stderr)
end)

local ok, out = pcall(json.decode, run.stdout)
assert(ok and type(out) == "table", "no JSON: " .. run.stdout .. run.stderr)

t.test("cancelled waits time out and are not called back", function()
  t.eq(out.lookup_timed_out, true)
  t.eq(out.put_timed_out, true)
  t.eq(out.after_cancel.s3_ok + out.after_cancel.s3_expired, 0, "the cancelled put sent nothing")
end)

t.test("the next request uses the fetch the cancelled one started", function()
  t.eq(out.put, true)
  t.eq(out.after_put.s3_ok, 1)
  -- one fetch for the abandoned lookup's own chain, one for the S3 client
  t.eq(out.after_put.ecs, 2)
end)
