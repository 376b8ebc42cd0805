-- The PostgreSQL emulation's DDL: partitioned tables whose leaves are
-- file_fdw foreign tables running `lode spectrum scan`; EXPLAIN shows the
-- planner pruning to one partition. (Reading S3 through them is in lake_test.)
local t = require "lode.test"
local lode = require "lode"
local spectrum = require "lode.spectrum"

local function wh()
  return lode.warehouse({ url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL"), dialect = "postgres" })
end

local DEF = {
  name = "spectrum_emul.sales", location = "s3://lake/sales/",
  columns = { { "customer_id", "int" }, { "amount", "double precision" }, { 'we"ird', "string" } },
  partitions = { { "year", "int" }, { "month", "int" } },
}

t.test("parent table: partitioned by the first partition column, names quoted, types mapped", function()
  local def = spectrum._table_def(DEF)
  t.eq(spectrum._pg_table_sql(def), { [[CREATE TABLE IF NOT EXISTS spectrum_emul.sales (
  customer_id int,
  amount double precision,
  "we""ird" text,
  year int,
  month int
)
PARTITION BY LIST (year)]] })
end)

t.test("the scan program is shell-quoted and holds no secret", function()
  local def = spectrum._table_def(DEF)
  def.env_file = "/data/lode_spectrum_aws.env"
  spectrum.lode_bin = "/opt/lode bin/lode"
  local p = spectrum._program(def, "s3://lake/sales/year=2024/month=01", { "2024", "it's" })
  spectrum.lode_bin = nil
  t.eq(p, [[. '/data/lode_spectrum_aws.env' && exec '/opt/lode bin/lode' 'spectrum' 'scan' ]]
    .. [['s3://lake/sales/year=2024/month=01/' '--column' 'customer_id' '--column' 'amount' ]]
    .. [['--column' 'we"ird' '--value' '2024' '--value' 'it'\''s']])
  local r = require("lode.proc").run({ "sh", "-c", "printf '%s|' " .. p:match("'spectrum'.*$") })
  t.eq(r.stdout, [[spectrum|scan|s3://lake/sales/year=2024/month=01/|--column|customer_id|--column|amount|--column|we"ird|--value|2024|--value|it's|]])
  for _, l in ipairs(spectrum._env_lines()) do
    t.ok(not p:find(l, 1, true))
  end
end)

t.test("36 leaves on file_fdw; EXPLAIN scans one partition for year = 2024 AND month = 1", function()
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS spectrum_emul CASCADE")
  w:exec("CREATE SCHEMA spectrum_emul")
  local def = spectrum._table_def(DEF)
  def.env_file = spectrum._pg_setup(w)
  t.match(def.env_file, "/lode_spectrum_aws%.env$")
  for _, s in ipairs(spectrum._pg_table_sql(def)) do
    w:exec(s)
  end
  for y = 2022, 2024 do
    for m = 1, 12 do
      local v = { tostring(y), ("%02d"):format(m) }
      local stmts = spectrum.pg_partition_sql(def, { values = v,
        location = ("s3://lake/sales/year=%s/month=%s/"):format(v[1], v[2]) })
      for _, s in ipairs(stmts) do
        w:exec(s)
      end
    end
  end
  local r = w:query([[SELECT count(*) AS n FROM pg_foreign_table f JOIN pg_class c ON c.oid = f.ftrelid
    JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'spectrum_emul']])
  t.eq(r[1].n, 36)
  local plan = {}
  for _, row in ipairs(w:query("EXPLAIN SELECT customer_id, SUM(amount) FROM spectrum_emul.sales "
      .. "WHERE year = 2024 AND month = 1 GROUP BY 1")) do
    plan[#plan + 1] = row["QUERY PLAN"]
  end
  plan = table.concat(plan, "\n")
  local scans = 0
  for _ in plan:gmatch("Foreign Scan") do
    scans = scans + 1
  end
  t.eq(scans, 1, plan)
  t.contains(plan, "Foreign Program: ", plan)
  t.contains(plan, "month=01/", plan)
  -- a range on one column keeps the matching months only
  local rows = w:query("EXPLAIN SELECT * FROM spectrum_emul.sales WHERE year = 2023 AND month <= 3")
  local n = 0
  for _, row in ipairs(rows) do
    if row["QUERY PLAN"]:find("Foreign Scan", 1, true) then
      n = n + 1
    end
  end
  t.eq(n, 3)
  w:exec("DROP SCHEMA spectrum_emul CASCADE")
end)
