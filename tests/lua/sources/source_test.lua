-- lode.source: a source module (lode.rest over a loopback API that counts
-- requests, tests/tools/rest_api.py) loaded twice with source.load: the first
-- run merges every item, the second asks only for newer ones (one request,
-- nothing merged), and the table equals the API's data.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local dev = require "lode.dev"
local http = require "lode.http"
local rest = require "lode.rest"
local source = require "lode.source"

local root = os.getenv("LODE_ROOT") or "."

t.test("an incremental REST source: the second run fetches only newer items", { timeout = 120000 }, function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local port = proc.free_port()
  local api = ("http://127.0.0.1:%d"):format(port)
  local pid = proc.daemon({ "python3", root .. "/tests/tools/rest_api.py", tostring(port) },
    { log = t.tmpdir() .. "/api.log" })
  local guard <close> = setmetatable({}, { __close = function() dev.stop_process(pid) end })
  t.eq(proc.run({ "curl", "-s", "-o", "/dev/null", "--retry", "40", "--retry-connrefused", "--retry-delay", "0",
    "--retry-max-time", "20", api .. "/_count" }).status, 0, "the loopback API started")
  local bucket = "lode-source-" .. math.random(1, 1e9)
  assert(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status == 0)
  local wh = lode.warehouse { url = url }
  wh:exec("DROP TABLE IF EXISTS source_orders")
  local pipeline = "source_test_" .. math.random(1, 1e9)
  local mod = {
    name = "shop",
    resources = {
      { name = "source_orders", primary_key = { "id" },
        columns = { { name = "id", type = "bigint" }, { name = "updated_at", type = "date" } },
        cursor = { column = "updated_at", initial = "1970-01-01" },
        rows = function(since)
          return rest.items(api .. "/cursor", { paginator = "cursor", items = "data.orders", since = since })
        end },
    },
  }
  local function requests()
    return http.get(api .. "/_count?path=/cursor").json.n
  end
  local r = source.load(wh, mod, { stage = "s3://" .. bucket .. "/stage/", pipeline = pipeline })
  t.eq(r.source_orders.rows, 25)
  t.eq(r.source_orders.cursor, "2024-01-25")
  t.eq(requests(), 3)
  t.eq(wh:query("SELECT count(*)::int AS n, count(DISTINCT id)::int AS d, min(id) AS lo, max(id) AS hi, "
    .. "max(updated_at)::text AS at FROM source_orders")[1], { n = 25, d = 25, lo = 1, hi = 25, at = "2024-01-25" })
  t.eq(wh:query("SELECT count(*)::int AS n FROM source_orders WHERE updated_at <> date '2024-01-01' + (id - 1)::int")[1].n, 0)
  r = source.load(wh, mod, { stage = "s3://" .. bucket .. "/stage/", pipeline = pipeline })
  t.eq(r.source_orders.rows, 0)
  t.eq(requests(), 4, "one request, with since, the second time")
  t.eq(wh:query("SELECT count(*)::int AS n FROM source_orders")[1].n, 25)
  t.eq(lode.cursor(wh, "shop.source_orders.updated_at", nil, { pipeline = pipeline }):get(), "2024-01-25")
  wh:exec("DROP TABLE source_orders")
end)

t.test("a module missing its contract is refused, naming what is missing", function()
  local ok, err = pcall(source.check, { name = "x", resources = { { name = "a", rows = function() end } } })
  t.ok(not ok)
  t.contains(err.message, "primary_key")
end)
