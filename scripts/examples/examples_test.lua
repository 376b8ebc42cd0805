-- The examples, run the way a user runs them, against the local stack
-- (tests/run.sh, or `eval "$(lode dev up)"`): the pattern to copy into a
-- pipeline repository's CI. Each run gets its own database.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"

local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local here = root .. "/scripts/examples"

local env
local function stack()
  if env then
    return env
  end
  local url = t.env("LODE_TEST_PG_URL", "the local stack provides PostgreSQL")
  t.env("AWS_ENDPOINT_URL", "the local stack provides S3")
  local db = ("examples_%d"):format(math.random(1, 1e9))
  local admin = lode.warehouse({ url = url, pool = 1 })
  admin:exec("CREATE DATABASE " .. db)
  env = { LODE_WAREHOUSE = url:gsub("/[^/]*$", "/" .. db), LODE_ROOT = root }
  env.wh = lode.warehouse({ url = env.LODE_WAREHOUSE, pool = 2 })
  local r = proc.run({ bin, "run", here .. "/make_lake.lua" }, { env = { LODE_ROOT = root }, timeout = 120000 })
  t.eq(r.status, 0, r.stderr)
  return env
end

local function lode_run(...)
  local e = stack()
  local r = proc.run({ bin, "--log-level", "warn", ... }, { env = { LODE_WAREHOUSE = e.LODE_WAREHOUSE, LODE_ROOT = root },
    timeout = 180000 })
  return r
end

t.test("load_orders.sql: plain Redshift SQL runs unchanged on the local stack", { timeout = 180000 }, function()
  local e = stack()
  local r = lode_run("sql", here .. "/load_orders.sql")
  t.eq(r.status, 0, r.stderr)
  local days = e.wh:query("SELECT ordered_on::text AS d, count(*) AS n, sum(amount) AS s FROM orders GROUP BY 1 ORDER BY 1")
  t.eq(#days, 2)
  t.eq(days[1].d, "2024-12-30")
  t.eq(days[1].n, 200)
  t.eq(days[2].n, 200)
  -- the external table reads the two registered partitions live from S3
  local sales = e.wh:query([[SELECT month, count(*) AS n FROM spectrum_sql.sales GROUP BY 1 ORDER BY 1]])
  t.eq(#sales, 2)
  t.eq(sales[1].month, "11")
  t.eq(sales[1].n, 50)
  -- a second run upserts the same orders: still 400, not 800
  r = lode_run("sql", here .. "/load_orders.sql")
  t.eq(r.status, 0, r.stderr)
  t.eq(e.wh:query("SELECT count(*) AS n FROM orders")[1].n, 400)
  t.contains(r.stdout, "2024-12-31")
end)

t.test("load_orders.sql: lode plan on Redshift prints the script unchanged", function()
  local r = proc.run({ bin, "sql", "--plan", "--dialect", "redshift", here .. "/load_orders.sql" })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "COPY #orders_stage (order_id, customer, amount, ordered_on)")
  t.contains(r.stdout, "DISTKEY (customer) SORTKEY (ordered_on)")
  t.contains(r.stdout, "PARTITION (year=2024, month='12') LOCATION 's3://lake/silver/sales/year=2024/month=12/'")
end)

t.test("sales_daily.lua: Spectrum, COPY and upsert, and a re-run loads nothing twice", { timeout = 180000 }, function()
  local e = stack()
  local r = lode_run("run", here .. "/sales_daily.lua")
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "24 partitions discovered")
  t.contains(r.stdout, "its plan reads 1 of the table's partitions")
  t.contains(r.stdout, "COPY      24 files, 1200 rows loaded into sales_fact")
  t.contains(r.stdout, "staged 49 rows: 29 updated, 20 inserted")
  local total = e.wh:query("SELECT count(*) AS n, count(DISTINCT sale_id) AS d FROM sales_fact")[1]
  t.eq(total.n, 1220)
  t.eq(total.d, 1220)
  -- the upsert changed the 29 updated sales to the batch's amounts (100 + i, i = -29..-1)
  local upd = e.wh:query("SELECT min(amount) AS lo, max(amount) AS hi FROM sales_fact WHERE sale_id BETWEEN 1171 AND 1199")[1]
  t.eq(upd.lo, "71.00")
  t.eq(upd.hi, "99.00")
  -- the external table and a direct count agree on one partition
  local ext = e.wh:query("SELECT count(*) AS n FROM spectrum_schema.sales WHERE year = 2024 AND month = 1")[1]
  t.eq(ext.n, 50)
  r = lode_run("run", here .. "/sales_daily.lua", "--task", "bulk")
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "0 files, 0 rows loaded into sales_fact (24 files already loaded were skipped)")
  t.eq(e.wh:query("SELECT count(*) AS n FROM sales_fact")[1].n, 1220)
end)
