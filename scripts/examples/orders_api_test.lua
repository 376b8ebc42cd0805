-- orders_api.lua: a paginated JSON API loaded incrementally through the
-- source module sources/orders_api.lua. The oracle is the API itself: its
-- /admin/all (every order as it now is) and /admin/stats (the requests and
-- items it served).
local t = require "lode.test"
local proc = require "lode.proc"
local http = require "lode.http"
local lode = require "lode"
local stack = require "example_stack"
local dev = require "lode.dev"

-- the table as the API's JSON spells it: amounts with two decimals
local function table_rows(wh)
  local res = wh:query([[SELECT id, customer, amount::text AS amount, ordered_at::text AS ordered_at,
    updated_at::text AS updated_at FROM api_orders ORDER BY id]])
  local out = {}
  for i, r in ipairs(res) do
    out[i] = { id = r.id, customer = r.customer, amount = r.amount, ordered_at = r.ordered_at, updated_at = r.updated_at }
  end
  return out
end

local function api_rows(api)
  local out = {}
  for i, o in ipairs(http.get(api .. "/admin/all").json) do
    out[i] = { id = o.id, customer = o.customer, amount = ("%.2f"):format(o.amount), ordered_at = o.ordered_at,
               updated_at = o.updated_at }
  end
  return out
end

t.test("orders_api.lua: the first run loads every order, the next ones fetch only newer items", { timeout = 240000 },
  function()
  local e = stack.up()
  local port = proc.free_port()
  local log = t.tmpdir() .. "/api.log"
  local pid = proc.daemon({ "node", stack.root .. "/tests/tools/fake_api.js", tostring(port), "250", "100" }, { log = log })
  local guard <close> = setmetatable({}, { __close = function() dev.stop_process(pid) end })
  -- readiness: curl retries the connection itself until the API listens
  local ready = proc.run({ "curl", "-s", "-o", "/dev/null", "--retry", "40", "--retry-connrefused", "--retry-delay", "0",
    "--retry-max-time", "20", ("http://127.0.0.1:%d/admin/stats"):format(port) })
  t.eq(ready.status, 0, "the fake API did not start")
  local api = ("http://127.0.0.1:%d"):format(port)
  local function run()
    local before = http.get(api .. "/admin/stats").json
    local r = stack.lode("run", stack.here .. "/orders_api.lua", "--param", "api=" .. api)
    t.eq(r.status, 0, r.stderr)
    local after = http.get(api .. "/admin/stats").json
    return after.requests - before.requests, after.items - before.items
  end

  local requests, items = run()
  t.eq({ requests, items }, { 3, 250 }, "three pages of 100, 100 and 50")
  t.eq(table_rows(e.wh), api_rows(api), "the table equals the API")
  local one = e.wh:query("SELECT customer, amount::text AS amount, ordered_at::text AS at FROM api_orders WHERE id = 7")[1]
  t.eq({ one.customer, one.amount, one.at }, { "customer-7", "554.33", "2024-02-08 10:07:00" })

  -- 30 new orders and one changed: the second run asks only for those
  http.post(api .. "/admin/grow?n=30", "")
  http.post(api .. "/admin/touch?id=7", "")
  requests, items = run()
  t.eq({ requests, items }, { 1, 31 }, "one page of the 31 orders updated since the cursor")
  t.eq(table_rows(e.wh), api_rows(api), "the table equals the API after the upsert")
  t.eq(e.wh:query("SELECT amount::text AS a FROM api_orders WHERE id = 7")[1].a, "566.67")
  t.eq(e.wh:query("SELECT count(*) AS n FROM api_orders")[1].n, 280)

  -- nothing new: one request, no item, the table unchanged
  requests, items = run()
  t.eq({ requests, items }, { 1, 0 })
  t.eq(table_rows(e.wh), api_rows(api))
  local c = e.wh:query("SELECT max(updated_at)::text AS m FROM api_orders")[1].m
  local r = stack.lode("cursor", "show", "orders_api.api_orders.updated_at", "--pipeline", "orders_api")
  t.contains(r.stdout .. r.stderr, c, "the cursor is the greatest updated_at loaded")
  local _ = lode
end)
