-- sales_daily.lua (Spectrum, COPY, upsert), run the way a user runs it, against the local stack: the pattern
-- to copy into a pipeline repository's CI.
local t = require "lode.test"
local proc = require "lode.proc"
local stack = require "example_stack"

t.test("sales_daily.lua: Spectrum, COPY and upsert, and a re-run loads nothing twice", { timeout = 180000 }, function()
  local e = stack.up()
  local r = stack.lode("run", stack.here .. "/sales_daily.lua")
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
  r = stack.lode("run", stack.here .. "/sales_daily.lua", "--task", "bulk")
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "0 files, 0 rows loaded into sales_fact (24 files already loaded were skipped)")
  t.eq(e.wh:query("SELECT count(*) AS n FROM sales_fact")[1].n, 1220)
end)
