-- End to end against PostgreSQL + s3rver: a lake of Parquet files under
-- sales/year=YYYY/month=MM/ written by DuckDB, an emulated external table
-- with inferred columns, partition sync (add, idempotent, new month, prune),
-- a GROUP BY equal to DuckDB's over the same files, pruning in EXPLAIN, a
-- file added to S3 visible at the next query, and the scan estimate equal to
-- DuckDB's parquet_metadata() sums.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local spectrum = require "lode.spectrum"

local root = os.getenv("LODE_ROOT") or "."
local BUCKET = "spectrum-lake"
local TABLE = "spectrum_lake.sales"

local function duckdb(...)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ... }, { timeout = 60000 })
  t.eq(r.status, 0, "duckdb.js: " .. (r.stdout or "") .. (r.stderr or ""))
  return r.stdout
end

-- the one string value of a DuckDB answer [{"r":"..."}]
local function duck_value(...)
  local out = duckdb(...)
  return out:match('^%[{"r":"(.-)"}%]') or out:match('^%[{"r":(%d+)}%]') or t.ok(false, "unexpected DuckDB answer " .. out)
end

local function s3_put(dir, rel)
  require("lode.s3").upload(dir .. "/" .. rel, "s3://" .. BUCKET .. "/" .. rel)
end

local function write_month(dir, y, m, rows, name)
  require("lode.fs").mkdir(("%s/year=%d/month=%02d"):format(dir, y, m), true)
  return ("COPY (SELECT (i %% 5) + 1 AS customer_id, CAST((i * 7 + %d + %d) * 1.25 AS DECIMAL(10,2)) AS amount, "
    .. "'item ' || i AS item FROM range(0, %d) t(i)) TO '%s/year=%d/month=%02d/%s' (FORMAT parquet)")
    :format(y, m, rows, dir, y, m, name)
end

-- Files the tests add later are written now (one DuckDB run) and moved into
-- the lake folder when they are uploaded, so the folder mirrors S3.
local EXTRA = {
  { 2025, 1, 3, "part-0.parquet" }, { 2024, 1, 6, "part-1.parquet" }, { 2023, 5, 2, "part-9.parquet" },
}

local lake

local function setup()
  if lake then
    return lake
  end
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  local dir = t.tmpdir()
  local stmts = {}
  for y = 2022, 2024 do
    for m = 1, 12 do
      stmts[#stmts + 1] = write_month(dir .. "/sales", y, m, 4, "part-0.parquet")
    end
  end
  for _, e in ipairs(EXTRA) do
    stmts[#stmts + 1] = write_month(dir .. "/extra", e[1], e[2], e[3], e[4])
  end
  duckdb(table.unpack(stmts))
  -- s3rver does not check signatures: an unsigned PUT makes the bucket
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local jobs = {}
  for y = 2022, 2024 do
    for m = 1, 12 do
      jobs[#jobs + 1] = function() s3_put(dir, ("sales/year=%d/month=%02d/part-0.parquet"):format(y, m)) end
    end
  end
  lode.all(jobs)
  -- not data: skipped by listing and by the scan
  require("lode.s3").put("s3://" .. BUCKET .. "/sales/_SUCCESS", "")
  local wh = lode.warehouse({ url = os.getenv("LODE_TEST_PG_URL"), dialect = "postgres" })
  wh:exec("DROP SCHEMA IF EXISTS spectrum_lake CASCADE")
  lake = { dir = dir, wh = wh }
  return lake
end

-- upload one of the EXTRA files into the lake
local function add_file(L, y, m, name)
  local rel = ("sales/year=%d/month=%02d/%s"):format(y, m, name)
  require("lode.fs").mkdir(("%s/sales/year=%d/month=%02d"):format(L.dir, y, m), true)
  assert(os.rename(("%s/extra/year=%d/month=%02d/%s"):format(L.dir, y, m, name), L.dir .. "/" .. rel))
  s3_put(L.dir, rel)
end

t.test("schema and table: columns inferred from the footers", { timeout = 120000 }, function()
  local L = setup()
  spectrum.schema(L.wh, { name = "spectrum_lake", database = "lake_db", iam_role = "arn:aws:iam::1:role/r" })
  local r = spectrum.table(L.wh, { name = TABLE, location = "s3://" .. BUCKET .. "/sales/", format = "parquet",
    partitions = { year = "int", month = "int" }, replace = true })
  t.eq(r.columns, { { name = "customer_id", type = "bigint" }, { name = "amount", type = "numeric(10,2)" },
                    { name = "item", type = "text" } })
  t.eq(r.partitions, { { name = "year", type = "int" }, { name = "month", type = "int" } })
  t.eq(r.files, 36)
  local cols = L.wh:query([[SELECT column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'spectrum_lake' AND table_name = 'sales' ORDER BY ordinal_position]])
  t.eq(#cols, 5)
  t.eq(cols[4].column_name, "year")
end)

t.test("sync: 36 partitions, then none, a new month adds one, prune drops one", { timeout = 120000 }, function()
  local L = setup()
  local r = spectrum.sync_partitions(L.wh, TABLE)
  t.eq(#r.added, 36)
  t.eq(r.added[1].values, { "2022", "01" })
  t.eq(r.found, 36)
  t.eq(#spectrum.sync_partitions(L.wh, TABLE).added, 0)

  require("lode.fs").mkdir(L.dir .. "/sales/year=2025/month=01", true)
  add_file(L, 2025, 1, "part-0.parquet")
  r = spectrum.sync_partitions(L.wh, TABLE)
  t.eq(#r.added, 1)
  t.eq(r.added[1].values, { "2025", "01" })

  require("lode.s3").delete("s3://" .. BUCKET .. "/sales/year=2022/month=01/part-0.parquet")
  os.remove(L.dir .. "/sales/year=2022/month=01/part-0.parquet")
  r = spectrum.sync_partitions(L.wh, TABLE)
  t.eq(#r.dropped, 0, "without prune nothing is dropped")
  r = spectrum.sync_partitions(L.wh, TABLE, { prune = true })
  t.eq(#r.dropped, 1)
  t.eq(r.dropped[1].values, { "2022", "01" })
  t.eq(L.wh:query("SELECT count(*) AS n FROM lode.spectrum_partitions WHERE schema_name = 'spectrum_lake'")[1].n, 36)
end)

local QUERY = "SELECT customer_id, SUM(amount) AS total FROM spectrum_lake.sales WHERE year = 2024 AND month = 1 "
  .. "GROUP BY 1 ORDER BY 1"

local function ours(wh)
  local out = {}
  for i, row in ipairs(wh:query(QUERY)) do
    out[i] = ("%d:%.2f"):format(row.customer_id, tonumber(row.total))
  end
  return table.concat(out, ",")
end

local function theirs(dir)
  return duck_value(("SELECT string_agg(customer_id || ':' || printf('%%.2f', total), ',' ORDER BY customer_id) AS r "
    .. "FROM (SELECT customer_id, SUM(amount) AS total FROM read_parquet('%s/sales/*/*/*.parquet', hive_partitioning = true) "
    .. "WHERE year = 2024 AND month = 1 GROUP BY 1)"):format(dir))
end

t.test("the GROUP BY equals DuckDB's; EXPLAIN scans one partition; new files show up live", { timeout = 120000 }, function()
  local L = setup()
  local want = theirs(L.dir)
  t.ok(#want > 0)
  t.eq(ours(L.wh), want)

  local plan = {}
  for _, row in ipairs(L.wh:query("EXPLAIN " .. QUERY)) do
    plan[#plan + 1] = row["QUERY PLAN"]
  end
  plan = table.concat(plan, "\n")
  local scans = select(2, plan:gsub("Foreign Scan", ""))
  t.eq(scans, 1, plan)
  t.contains(plan, "year=2024/month=01/", plan)
  t.ok(not plan:find("S3RVER", 1, true), "no secret in the plan")

  local n = L.wh:query("SELECT count(*) AS n FROM spectrum_lake.sales WHERE year = 2024 AND month = 1")[1].n
  add_file(L, 2024, 1, "part-1.parquet")
  t.eq(L.wh:query("SELECT count(*) AS n FROM spectrum_lake.sales WHERE year = 2024 AND month = 1")[1].n, n + 6)
  t.eq(ours(L.wh), theirs(L.dir))
end)

t.test("the estimate equals DuckDB's parquet_metadata() sums", { timeout = 120000 }, function()
  local L = setup()
  local e = spectrum.estimate(L.wh, TABLE, { columns = { "customer_id", "amount" }, where = { year = 2024, month = 1 } })
  local want = duck_value(("SELECT SUM(total_compressed_size)::BIGINT AS r FROM parquet_metadata('%s/sales/year=2024/month=01/*.parquet') "
    .. "WHERE path_in_schema IN ('customer_id', 'amount')"):format(L.dir))
  t.eq(e.bytes, math.tointeger(tonumber(want)))
  t.eq(e.partitions, 1)
  t.eq(e.files, 2)
  t.near(e.dollars, e.bytes / 1e12 * 5, 1e-15)
  local all = spectrum.estimate(L.wh, TABLE, { where = { year = 2024 } })
  local want_all = duck_value(("SELECT SUM(total_compressed_size)::BIGINT AS r FROM parquet_metadata('%s/sales/year=2024/*/*.parquet')")
    :format(L.dir))
  t.eq(all.bytes, math.tointeger(tonumber(want_all)))
  t.eq(all.partitions, 12)
  t.raises(function() spectrum.estimate(L.wh, TABLE, { where = { item = "x" } }) end, "not a partition column")
end)

t.test("a materialized view over the emulated table refreshes from S3", { timeout = 120000 }, function()
  local L = setup()
  local mv = require "lode.mv"
  mv.create(L.wh, { name = "spectrum_lake.by_customer", replace = true,
    query = "SELECT customer_id, SUM(amount) AS total FROM spectrum_lake.sales WHERE year = 2023 AND month = 5 GROUP BY 1" })
  local before = L.wh:query("SELECT SUM(total) AS s FROM spectrum_lake.by_customer")[1].s
  add_file(L, 2023, 5, "part-9.parquet")
  t.eq(L.wh:query("SELECT SUM(total) AS s FROM spectrum_lake.by_customer")[1].s, before)
  mv.refresh(L.wh, "spectrum_lake.by_customer")
  t.ne(L.wh:query("SELECT SUM(total) AS s FROM spectrum_lake.by_customer")[1].s, before)
end)

t.test("lode spectrum scan: COPY text in C, NULL for a column a file lacks, partition values appended", { timeout = 120000 }, function()
  t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  local dir = t.tmpdir()
  require("lode.fs").mkdir(dir .. "/evo", true)
  -- an older file without "note", a newer one with it and with a tab and a backslash in it
  duckdb(("COPY (SELECT 1 AS id, 2.5::DOUBLE AS amount) TO '%s/evo/a.parquet' (FORMAT parquet)"):format(dir),
    ("COPY (SELECT * FROM (VALUES (2, NULL::DOUBLE, 'x' || chr(9) || 'y\\z'), (3, -0.125, NULL)) v(id, amount, note)) "
      .. "TO '%s/evo/b.parquet' (FORMAT parquet)"):format(dir))
  local s3 = require "lode.s3"
  local bucket = "spectrum-scan"
  proc.run({ "curl", "-s", "-o", "/dev/null", "-X", "PUT", t.env("AWS_ENDPOINT_URL", "") .. "/" .. bucket })
  s3.upload(dir .. "/evo/a.parquet", "s3://" .. bucket .. "/t/day=2024-01-02/a.parquet")
  s3.upload(dir .. "/evo/b.parquet", "s3://" .. bucket .. "/t/day=2024-01-02/b.parquet")
  local r = proc.run({ os.getenv("LODE_BIN") or "build/lode", "spectrum", "scan", "s3://" .. bucket .. "/t/day=2024-01-02/",
    "--column", "id", "--column", "note", "--column", "amount", "--value", "2024-01-02", "--value", "it's\t" })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "1\t\\N\t2.5\t2024-01-02\tit's\\t\n"
    .. "2\tx\\ty\\\\z\t\\N\t2024-01-02\tit's\\t\n"
    .. "3\t\\N\t-0.125\t2024-01-02\tit's\\t\n")
end)
