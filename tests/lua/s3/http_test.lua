-- lode.http against a loopback Python server (tests/lua/s3/echo_server.py).
local t = require "lode.test"
local lode = require "lode"
local http = require "lode.http"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local r = proc.run({ "python3", root .. "/tests/lua/s3/echo_server.py", "60" })
assert(r.status == 0, r.stderr)
local base = "http://127.0.0.1:" .. r.stdout:match("%d+")

t.test("GET returns status, headers and a decoded JSON body", function()
  local res = http.get(base .. "/echo?x=1", { headers = { ["X-Test"] = "yes" } })
  t.eq(res.status, 200)
  t.eq(res.headers["content-type"], "application/json")
  t.eq(res.json.method, "GET")
  t.eq(res.json.path, "/echo?x=1")
  t.eq(res.json.headers["x-test"], "yes")
end)

t.test("POST a JSON body and PUT a string body", function()
  local res = http.post(base .. "/echo", { name = "lode", n = 3, list = { 1, 2 }, null = lode.null })
  t.eq(res.json.method, "POST")
  t.eq(res.json.headers["content-type"], "application/json")
  local sent = res.json.body
  t.contains(sent, '"name":"lode"')
  t.contains(sent, '"list":[1,2]')
  t.contains(sent, '"null":null')
  res = http.put(base .. "/echo", "plain body")
  t.eq(res.json.method, "PUT")
  t.eq(res.json.body, "plain body")
end)

t.test("HTTP error statuses are returned, not raised", function()
  t.eq(http.get(base .. "/status/404").status, 404)
  t.eq(http.get(base .. "/status/503").status, 503)
end)

t.test("a large response streams to a file", function()
  local dir = t.tmpdir()
  local res = http.get(base .. "/bytes/5000000", { file = dir .. "/out.bin" })
  t.eq(res.status, 200)
  t.eq(res.bytes, 5000000)
  local f = assert(io.open(dir .. "/out.bin", "rb"))
  local data = f:read("a")
  f:close()
  t.eq(#data, 5000000)
  t.eq(data:sub(1, 3), "\0\1\2")
end)

t.test("many requests run concurrently on the loop", function()
  local fns = {}
  for i = 1, 20 do
    fns[i] = function() return http.get(base .. "/echo?i=" .. i).json.path end
  end
  local res = lode.all(fns)
  for i = 1, 20 do t.eq(res[i], "/echo?i=" .. i) end
end)

t.test("in-memory bodies are bounded by max_body", function()
  local err = t.raises(function() http.get(base .. "/bytes/100000", { max_body = 1000 }) end)
  t.eq(err.code, "transport")
end)

t.test("a refused connection raises a retryable structured error", function()
  local err = t.raises(function() http.get("http://127.0.0.1:1/") end)
  t.eq(err.op, "http.request")
  t.eq(err.retryable, true)
end)

t.test("a stalled response times out with a clear error", function()
  local err = t.raises(function() http.get(base .. "/stall", { timeout = 500 }) end)
  t.eq(err.code, "timeout")
end)

t.test("cancelling a task stops its transfer", function()
  local h = lode.spawn(function() return http.get(base .. "/stall") end)
  lode.sleep(50)
  h:cancel()
  t.eq(h:status(), "cancelled")
  -- the loop is still healthy
  t.eq(http.get(base .. "/echo").status, 200)
end)

t.test("stop the server", function()
  t.eq(http.get(base .. "/quit").status, 200)
end)
