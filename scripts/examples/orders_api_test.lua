-- orders_api.lua: a paginated JSON API pulled into S3, then loaded with COPY JSON 'auto'.
local t = require "lode.test"
local proc = require "lode.proc"
local stack = require "example_stack"
local dev = require "lode.dev"

t.test("orders_api.lua: every page lands in S3 and loads once", { timeout = 180000 }, function()
  local e = stack.up()
  local port = proc.free_port()
  local log = t.tmpdir() .. "/api.log"
  local pid = proc.daemon({ "node", stack.root .. "/tests/tools/fake_api.js", tostring(port), "250", "100" }, { log = log })
  local guard <close> = setmetatable({}, { __close = function() dev.stop_process(pid) end })
  -- readiness: curl retries the connection itself until the API listens
  local ready = proc.run({ "curl", "-s", "-o", "/dev/null", "--retry", "40", "--retry-connrefused", "--retry-delay", "0",
    "--retry-max-time", "20", ("http://127.0.0.1:%d/orders"):format(port) })
  t.eq(ready.status, 0, "the fake API did not start")
  local api = ("http://127.0.0.1:%d"):format(port)
  local r = stack.lode("run", stack.here .. "/orders_api.lua", "--param", "api=" .. api, "--param", "day=2024-02-01")
  t.eq(r.status, 0, r.stderr)
  local got = e.wh:query("SELECT count(*) AS n, min(id) AS lo, max(id) AS hi, count(DISTINCT customer) AS c FROM api_orders")[1]
  t.eq(got.n, 250)
  t.eq(got.lo, 1)
  t.eq(got.hi, 250)
  t.eq(got.c, 17)
  local one = e.wh:query("SELECT customer, amount::text AS amount, ordered_at::text AS at FROM api_orders WHERE id = 7")[1]
  t.eq(one.customer, "customer-7")
  t.eq(one.amount, "554.33")
  t.eq(one.at, "2024-02-08 10:07:00")
  -- the same day again: the pages are rewritten with the same bytes, the ledger skips them
  r = stack.lode("run", stack.here .. "/orders_api.lua", "--param", "api=" .. api, "--param", "day=2024-02-01")
  t.eq(r.status, 0, r.stderr)
  t.eq(e.wh:query("SELECT count(*) AS n FROM api_orders")[1].n, 250)
end)
