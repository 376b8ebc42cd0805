-- load_orders.sql (plain Redshift SQL), run the way a user runs it, against the local stack: the pattern
-- to copy into a pipeline repository's CI.
local t = require "lode.test"
local proc = require "lode.proc"
local stack = require "example_stack"

t.test("load_orders.sql: plain Redshift SQL runs unchanged on the local stack", { timeout = 180000 }, function()
  local e = stack.up()
  local r = stack.lode("sql", stack.here .. "/load_orders.sql")
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
  r = stack.lode("sql", stack.here .. "/load_orders.sql")
  t.eq(r.status, 0, r.stderr)
  t.eq(e.wh:query("SELECT count(*) AS n FROM orders")[1].n, 400)
  t.contains(r.stdout, "2024-12-31")
end)

t.test("load_orders.sql: lode plan on Redshift prints the script unchanged", function()
  local r = proc.run({ stack.bin, "sql", "--plan", "--dialect", "redshift", stack.here .. "/load_orders.sql" })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "COPY #orders_stage (order_id, customer, amount, ordered_on)")
  t.contains(r.stdout, "DISTKEY (customer) SORTKEY (ordered_on)")
  t.contains(r.stdout, "PARTITION (year=2024, month='12') LOCATION 's3://lake/silver/sales/year=2024/month=12/'")
end)

