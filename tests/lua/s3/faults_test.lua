-- Faults between lode and s3rver, injected by a loopback proxy
-- (tests/lua/s3/fault_proxy.py): 503s, connections reset mid-body, stalls,
-- and failing parts of a multipart upload. Each scenario runs a child
-- `lode run` whose AWS_ENDPOINT_URL points at its own proxy.
local t = require "lode.test"
local s3 = require "lode.s3"
local proc = require "lode.proc"

local endpoint = t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local upstream = endpoint:match(":(%d+)$")
local bucket = "lode-faults-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)

local function proxy(mode, count, dir, match, arg)
  local log = dir .. "/proxy.log"
  local r = proc.run({ "python3", root .. "/tests/lua/s3/fault_proxy.py", upstream, mode, tostring(count), log, "60",
                       match or "", "1", arg or "" })
  assert(r.status == 0, r.stderr)
  return "http://127.0.0.1:" .. r.stdout:match("%d+"), log
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Run `body` (Lua source using `s3` and `B`) in a child lode through the proxy.
local function child(dir, url, body, timeout)
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write("local s3 = require 'lode.s3'\nlocal B = '" .. B .. "'\n", body)
  f:close()
  return proc.run({ lode_bin, "run", script }, { env = { AWS_ENDPOINT_URL = url }, timeout = timeout or 60000 })
end

t.test("503 SlowDown answers are retried until the operation succeeds", function()
  local dir = t.tmpdir()
  local url, log = proxy("503", 3, dir)
  local r = child(dir, url, [[
    s3.configure{ backoff_base = 10 }
    s3.put(B .. "slow/a.txt", "after 503s")
    io.write(s3.get(B .. "slow/a.txt"))
  ]])
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "after 503s")
  local _, n = read(log):gsub("fault 503", "")
  t.eq(n, 3)
end)

t.test("a 503 beyond the retry budget raises a retryable structured error", function()
  local dir = t.tmpdir()
  local url = proxy("503", -1, dir)
  local r = child(dir, url, [[
    s3.configure{ backoff_base = 5, max_attempts = 3 }
    local ok, e = pcall(s3.get, B .. "x")
    io.write(e.code, " ", e.status, " ", tostring(e.retryable), " ", e.request_id, " ", e.key)
  ]])
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "SlowDown 503 true FAULT3 " .. B .. "x")
end)

t.test("connections reset mid-body are retried; the download is identical", function()
  local dir = t.tmpdir()
  local data = {}
  for i = 1, 200000 do data[i] = ("%07d\n"):format(i) end
  data = table.concat(data)
  s3.put(B .. "reset/data.txt", data)
  local url, log = proxy("reset", 2, dir)
  local r = child(dir, url, [[
    s3.configure{ backoff_base = 10 }
    s3.download(B .. "reset/data.txt", "]] .. dir .. [[/out.txt")
    io.write(#s3.get(B .. "reset/data.txt"))
  ]])
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, tostring(#data))
  t.eq(read(dir .. "/out.txt"), data)
  local _, n = read(log):gsub("fault reset", "")
  t.eq(n, 2)
end)

t.test("a stalled transfer times out with a clear error", function()
  local dir = t.tmpdir()
  s3.put(B .. "stall/data.bin", ("x"):rep(100000))
  local url = proxy("stall", -1, dir)
  local r = child(dir, url, [[
    s3.configure{ low_speed_time = 1, max_attempts = 2, backoff_base = 10 }
    local ok, e = pcall(s3.get, B .. "stall/data.bin")
    io.write(tostring(ok), " ", e.code, " ", tostring(e.retryable), " ", e.message)
  ]])
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "^false timeout true ")
  t.ok(not r.timed_out)
end)

t.test("a server trickling 1 byte/s fails the request at its deadline, a timeout, without further attempts", function()
  local dir = t.tmpdir()
  s3.put(B .. "trickle/data.bin", ("t"):rep(5000))
  local url, log = proxy("trickle", -1, dir, "/trickle/")
  -- the low-speed window (1 byte/s passes it) never fires; the deadline does
  local r = child(dir, url, [[
    s3.configure{ deadline = 1500, min_rate = 1000000, max_attempts = 3, backoff_base = 10 }
    local ok, e = pcall(s3.get, B .. "trickle/data.bin")
    io.write(tostring(ok), " ", e.code, " ", tostring(e.retryable), " ", e.message)
  ]], 30000)
  t.ok(not r.timed_out, "the child ended by itself")
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "^false timeout true ")
  t.match(r.stdout, "deadline of 1505 ms")
  local _, n = read(log):gsub("fault trickle", "")
  t.eq(n, 1, "no attempt after the deadline")
end)

t.test("a stalled server is given up at the deadline, inside a longer stall window", function()
  local dir = t.tmpdir()
  s3.put(B .. "stall2/data.bin", ("x"):rep(100000))
  local url, log = proxy("stall", -1, dir, "/stall2/")
  local r = child(dir, url, [[
    s3.configure{ low_speed_time = 30, deadline = 1500, min_rate = 1000000, max_attempts = 5, backoff_base = 10 }
    local ok, e = pcall(s3.get, B .. "stall2/data.bin")
    io.write(tostring(ok), " ", e.code, " ", tostring(e.retryable), " ", e.message)
  ]], 30000)
  t.ok(not r.timed_out, "the child ended by itself")
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "^false timeout true ")
  t.match(r.stdout, "deadline")
  local _, n = read(log):gsub("fault stall", "")
  t.eq(n, 1)
end)

t.test("s3.configure reports the deadline settings", function()
  local c = s3.configure{}
  t.eq({ c.deadline, c.min_rate, c.low_speed_time }, { 60000, 131072, 30 })
end)

t.test("a server that ignores Range: s3.get, s3.open reads and s3.download still get exactly the bytes asked for", function()
  local dir = t.tmpdir()
  local data = {}
  for i = 1, 60000 do data[i] = ("%07d\n"):format(i) end
  data = table.concat(data)
  s3.put(B .. "norange/data.txt", data)
  local url, log = proxy("norange", -1, dir, "GET /" .. bucket .. "/norange/")
  local r = child(dir, url, [[
    local u = B .. "norange/data.txt"
    local out = {}
    out[1] = s3.get(u, { range = { 8, 23 } })
    out[2] = s3.get(u, { range = "bytes=479992-" })
    local rd <close> = s3.open(u)
    out[3] = rd:read(80000, 16)
    s3.download(u, "]] .. dir .. [[/out.txt", { part_size = 100000, concurrency = 2 })
    io.write(table.concat(out, "|"))
  ]])
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, data:sub(9, 24) .. "|" .. data:sub(479993) .. "|" .. data:sub(80001, 80016))
  t.eq(read(dir .. "/out.txt"), data)
  t.match(read(log), "-> 200 fault norange")
end)

t.test("a short 206 body is retried; past the attempts it is a retryable transport error", function()
  local dir = t.tmpdir()
  s3.put(B .. "short/data.bin", ("0123456789"):rep(1000))
  local url = proxy("short206", -1, dir, "GET /" .. bucket .. "/short/")
  local r = child(dir, url, [[
    s3.configure{ max_attempts = 2, backoff_base = 5 }
    local ok, e = pcall(s3.get, B .. "short/data.bin", { range = { 0, 999 } })
    io.write(tostring(ok), " ", e.code, " ", tostring(e.retryable), " ", e.message)
  ]])
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "false transport true short body: 500 of the 1000 bytes asked for")
end)

t.test("a ranged s3.get pinned by if_match fails with ObjectChanged when the object was replaced", function()
  local dir = t.tmpdir()
  s3.put(B .. "v/a.txt", ("a"):rep(1000))
  s3.put(B .. "v/b.txt", ("b"):rep(1000))
  local etag = s3.head(B .. "v/a.txt").etag
  local script = [[
    local ok, e = pcall(s3.get, B .. "v/a.txt", { range = { 0, 99 }, if_match = %q })
    io.write(tostring(ok), " ", e.code, " ", tostring(e.retryable), " ", tostring(e.status), " ", e.key, "\n", e.message)
  ]]
  for _, mode in ipairs({ "swap", "swap_blind" }) do
    local url = proxy(mode, 0, dir, "/" .. bucket .. "/v/a.txt", "/" .. bucket .. "/v/b.txt")
    local r = child(dir, url, script:format(etag))
    t.eq(r.status, 0, r.stderr)
    t.match(r.stdout, ("^false ObjectChanged true %d %s\n"):format(mode == "swap" and 412 or 206,
                                                                   (B .. "v/a.txt"):gsub("%p", "%%%0")), mode)
    t.match(r.stdout, "changed during the load", mode)
  end
end)

t.test("a multipart upload whose parts keep failing is aborted, leaving nothing", { timeout = 90000 }, function()
  local dir = t.tmpdir()
  assert(proc.run({ "sh", "-c", "head -c 12582912 /dev/urandom > " .. dir .. "/f.bin" }).status == 0)
  local url, log = proxy("part500", -1, dir)
  local r = child(dir, url, [[
    s3.configure{ backoff_base = 5, max_attempts = 2 }
    local ok, e = pcall(s3.upload, "]] .. dir .. [[/f.bin", B .. "mp/f.bin", { part_size = 5242880 })
    io.write(tostring(ok), " ", e.code, " ", e.status)
  ]])
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "false InternalError 500")
  local l = read(log)
  t.contains(l, "POST /" .. bucket .. "/mp/f.bin?uploads= -> 200")
  local id = l:match("uploadId=(%x+)")
  t.ok(id, "parts were attempted")
  -- AbortMultipartUpload was sent for that upload. (s3rver implements neither
  -- AbortMultipartUpload, answering 405, nor ListMultipartUploads, so the
  -- server-side emptiness cannot be observed here.)
  t.contains(l, "DELETE /" .. bucket .. "/mp/f.bin?uploadId=" .. id .. " -> ", "the upload was aborted")
  t.ok(not l:find("POST /" .. bucket .. "/mp/f.bin?uploadId=", 1, true), "never completed")
  t.eq(s3.exists(B .. "mp/f.bin"), false)
end)
