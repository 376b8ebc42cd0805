-- The standard retry mode of lode.aws against a loopback server that fails
-- a given number of times (tests/lua/aws/flaky_server.py counts the
-- attempts it receives). retry_base_ms = 0 makes every backoff zero, so
-- nothing here waits on the wall clock.
local t = require "lode.test"
local lode = require "lode"
local aws = require "lode.aws"
local http = require "lode.http"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local r = proc.run({ "python3", root .. "/tests/lua/aws/flaky_server.py", "120" })
assert(r.status == 0, r.stderr)
local base = "http://127.0.0.1:" .. r.stdout:match("%d+")
local seq = 0

-- A fresh path that fails `n` times with `kind`.
local function scenario(n, kind)
  seq = seq + 1
  return ("/%d-%d/%d/%s/"):format(seq, math.random(1, 1e9), n, kind)
end
local function count(path) return http.get(base .. "/count" .. path).json.count end
local function client(service, path, opts)
  local o = { endpoint_url = base .. path, region = "us-east-1", retry_base_ms = 0 }
  for k, v in pairs(opts or {}) do o[k] = v end
  return aws.client(service, o)
end

t.test("two 503s, then success: three attempts, RetryAttempts = 2 (JSON protocol)", function()
  local p = scenario(2, "503")
  local res = client("glue", p):call("GetDatabases", {})
  t.eq(res.ok, true)
  t.eq(res.target, "AWSGlue.GetDatabases")
  t.eq(res.ResponseMetadata.RetryAttempts, 2)
  t.eq(count(p), 3)
end)

t.test("503 on every attempt: gives up after 3 attempts (the default) with a retryable structured error", function()
  local p = scenario(99, "503")
  local e = t.raises(function() client("glue", p):call("GetDatabases") end)
  t.eq(e.op, "glue.GetDatabases")
  t.eq(e.status, 503)
  t.eq(e.retryable, true)
  t.eq(e.attempts, 3)
  t.eq(e.request_id, "req-503")
  t.eq(count(p), 3)
end)

t.test("ThrottlingException (JSON) and Throttling (Query XML) are retried", function()
  local p = scenario(2, "json-throttle")
  t.eq(client("athena", p):call("ListWorkGroups").seen, 3)
  t.eq(count(p), 3)
  p = scenario(1, "query-throttle")
  local res = client("sts", p):call("GetCallerIdentity")
  t.eq(res.Ok, "yes")
  t.eq(res.ResponseMetadata.RequestId, "q-ok")
  t.eq(count(p), 2)
end)

t.test("a throttling error on every attempt carries the service's code and message", function()
  local p = scenario(99, "query-throttle")
  local e = t.raises(function() client("sts", p):call("GetCallerIdentity") end)
  t.eq(e.code, "Throttling")
  t.eq(e.message, "Rate exceeded")
  t.eq(e.request_id, "q-1")
  t.eq(e.status, 400)
  t.eq(e.retryable, true)
  t.eq(count(p), 3)
end)

t.test("a validation error is not retried", function()
  local p = scenario(99, "json-validation")
  local e = t.raises(function() client("glue", p):call("GetTables", { DatabaseName = "x" }) end)
  t.eq(e.code, "ValidationException")
  t.eq(e.message, "bad input")
  t.eq(e.retryable, false)
  t.eq(e.attempts, 1)
  t.eq(count(p), 1)
end)

t.test("a connection closed mid-answer is retried as a transport error", function()
  local p = scenario(2, "reset")
  t.eq(client("glue", p):call("GetDatabases").seen, 3)
  t.eq(count(p), 3)
  p = scenario(99, "reset")
  local e = t.raises(function() client("glue", p):call("GetDatabases") end)
  t.eq(e.code, "transport")
  t.eq(e.retryable, true)
  t.eq(count(p), 3)
end)

t.test("max_attempts raises the attempt count; 500s are transient too", function()
  local p = scenario(4, "500")
  t.eq(client("glue", p, { max_attempts = 5 }):call("GetDatabases").seen, 5)
  t.eq(count(p), 5)
  p = scenario(99, "500")
  local e = t.raises(function() client("glue", p, { max_attempts = 1 }):call("GetDatabases") end)
  t.eq(e.attempts, 1)
  t.eq(count(p), 1)
end)

t.test("the retry quota (500 tokens, 5 per retry, 1 back per success) stops retries once spent", function()
  -- attempts 1-200 fail (100 calls, each retried once: 500 tokens spent), 201 fails
  -- without a retry, 202-206 succeed (+5 tokens), 207-208 fail (one retry: -5), 209 fails alone
  local p = ("/%d-q/%s/pattern/"):format(math.random(1, 1e9), ("f"):rep(201) .. ("s"):rep(5) .. "fff")
  local c = client("glue", p, { max_attempts = 2 })
  for _ = 1, 100 do
    t.eq(t.raises(function() c:call("GetDatabases") end).attempts, 2)
  end
  t.eq(count(p), 200)
  t.eq(t.raises(function() c:call("GetDatabases") end).attempts, 1)
  for i = 202, 206 do t.eq(c:call("GetDatabases").seen, i) end
  t.eq(t.raises(function() c:call("GetDatabases") end).attempts, 2)
  t.eq(t.raises(function() c:call("GetDatabases") end).attempts, 1)
  t.eq(count(p), 209)
end)

t.test("a call in flight is cancelled with its task (lode.timeout), nothing resumes later", function()
  local p = scenario(99, "stall")
  local e = t.raises(function()
    lode.timeout(300, function() return client("glue", p):call("GetDatabases") end)
  end)
  t.eq(e.code, "timeout")
  -- the loop keeps serving other calls
  local q = scenario(0, "503")
  t.eq(client("glue", q):call("GetDatabases").seen, 1)
end)

t.test("the attempt timeout (timeout option) ends a stalled attempt and retries it", function()
  local p = scenario(99, "stall")
  local e = t.raises(function() client("glue", p, { timeout = 200, max_attempts = 2 }):call("GetDatabases") end)
  t.eq(e.code, "timeout")
  t.eq(e.retryable, true)
  t.eq(e.attempts, 2)
  t.eq(count(p), 2)
end)
