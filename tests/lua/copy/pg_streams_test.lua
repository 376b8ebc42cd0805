-- copy.into with streams = N on PostgreSQL: the files split over N
-- connections (stream 1 straight into the target inside the load's
-- transaction, the others into UNLOGGED stages moved in at the end), still
-- all-or-nothing. The tables streams = 2 and 3 give equal, row for row
-- (EXCEPT ALL, by PostgreSQL), the one streams = 1 gives, and the counts and
-- sums the generated data fixes; a bad file in any stream leaves target,
-- ledger and schema lode as they were.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"
local sql = require "lode.sql"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")
local s3 = require "lode.s3"

local bucket = "lode-streams-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(sql.qname(name)))
  wh:exec(("CREATE TABLE %s (%s)"):format(sql.qname(name), ddl))
  wh:exec("CREATE SCHEMA IF NOT EXISTS lode")
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", sql.qname(name))
  pcall(wh.exec, wh, "DELETE FROM lode.load_errors WHERE table_name = $1", sql.qname(name))
end

local function one(q, ...)
  local r = wh:query(q, ...)[1]
  local _, v = next(r)
  return v
end

-- rows in a but not in b, and in b but not in a (multisets, compared by PostgreSQL)
local function differ(a, b)
  return one(("SELECT (SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x) + "
    .. "(SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) y) AS n"):format(a, b, b, a))
end

local function history(name)
  local r = wh:query("SELECT key, etag, size, rows FROM lode.load_history WHERE table_name = $1 ORDER BY key",
    sql.qname(name))
  local out = {}
  for i, row in ipairs(r) do
    out[i] = ("%s %s %d %d"):format(row.key, row.etag, row.size, row.rows)
  end
  return table.concat(out, "\n")
end

-- Stages of this file's tables only (copy_parallel_kill.t may run at the
-- same time and leave stages of its own table until its next load).
local function stages()
  return one("SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    .. "WHERE n.nspname = 'lode' AND c.relname LIKE 'copy\\_stage\\_%' AND left(c.relname, 28) IN "
    .. "(SELECT 'copy_stage_' || left(md5('lode.copy:' || t.relname), 16) || '_' FROM pg_class t "
    .. "WHERE t.relname LIKE 'copy\\_streams\\_%')")
end

-- CSV files: ids from..to-1 with quotes, delimiters and newlines inside fields, NULLs, dates
local function csv_rows(from, to)
  local out = {}
  for i = from, to - 1 do
    out[#out + 1] = ('%d,"name %d, ""q""%s",%s,%s,%s\n'):format(i, i, i % 10 == 0 and "\nline" or "",
      i % 7 == 0 and "" or ("%d.%02d"):format(i // 100, i % 100),
      ("2024-%02d-%02d"):format(1 + i % 12, 1 + i % 28), i % 3 == 0 and "true" or "false")
  end
  return table.concat(out)
end
local CSV_DDL = "id bigint, name text, amount numeric(12,2), day date, ok boolean"
local CSV_FILES, CSV_PER = 7, 1500
for f = 1, CSV_FILES do
  -- sizes differ so the split by bytes has work to do
  local n = CSV_PER + f * 100
  s3.put(("%scsv/part-%02d.csv"):format(B, f), csv_rows(f * 10000, f * 10000 + n))
end
local CSV_N, CSV_SUM = 0, 0
for f = 1, CSV_FILES do
  local n = CSV_PER + f * 100
  CSV_N = CSV_N + n
  CSV_SUM = CSV_SUM + n * (f * 10000) + n * (n - 1) // 2
end

t.test("CSV: streams = 2 and 3 give the table streams = 1 gives, and the same ledger rows", function()
  local want
  for _, n in ipairs({ 1, 2, 3 }) do
    local name = "copy_streams_csv" .. n
    fresh(name, CSV_DDL)
    local r = copy.into(wh, { table = name, from = B .. "csv/", format = "csv", streams = n })
    t.eq({ r.files, r.rows, r.errors, r.streams }, { CSV_FILES, CSV_N, 0, n }, "streams = " .. n)
    t.eq(one(("SELECT count(*)::text || '/' || sum(id)::text AS s FROM %s"):format(name)),
      ("%d/%d"):format(CSV_N, CSV_SUM), "the generated rows, streams = " .. n)
    local h = history(name)
    if want then
      t.eq(differ("copy_streams_csv1", name), 0, "streams = " .. n .. " equals streams = 1 row for row")
      t.eq(h, want, "the same ledger rows")
    end
    want = want or h
    local again = copy.into(wh, { table = name, from = B .. "csv/", format = "csv", streams = n })
    t.eq({ again.files, again.rows, again.skipped_files }, { 0, 0, CSV_FILES }, "a re-run loads nothing")
  end
  t.eq(stages(), 0, "no stage is left")
end)

t.test("CSV with MAXERROR: bad rows of every stream count together and land in lode.load_errors", function()
  s3.put(B .. "bad/a.csv", csv_rows(1, 2000) .. "x,bad,1.00,2024-01-01,true\n")
  s3.put(B .. "bad/b.csv", csv_rows(3000, 5000) .. "y,bad,1.00,2024-01-01,true\n")
  s3.put(B .. "bad/c.csv", csv_rows(6000, 8000) .. "z,bad,1.00,2024-01-01,true\n")
  local errs = {}
  for _, n in ipairs({ 1, 2 }) do
    local name = "copy_streams_bad" .. n
    fresh(name, CSV_DDL)
    local r = copy.into(wh, { table = name, from = B .. "bad/", format = "csv", maxerror = 3, streams = n })
    t.eq({ r.files, r.rows, r.errors, r.streams }, { 3, 5999, 3, n })
    errs[n] = one("SELECT string_agg(filename || ':' || line_number || ':' || raw_field_value, ' ' "
      .. "ORDER BY filename) AS s FROM lode.load_errors WHERE table_name = $1", sql.qname(name))
    fresh(name, CSV_DDL)
    local e = t.raises(function()
      copy.into(wh, { table = name, from = B .. "bad/", format = "csv", maxerror = 2, streams = n })
    end, "3 bad rows exceed MAXERROR 2")
    t.eq(e.code, "load_failed")
    t.eq(one(("SELECT count(*) AS n FROM %s"):format(name)), 0, "nothing loaded")
    t.eq(history(name), "", "no ledger rows")
  end
  t.eq(errs[2], errs[1], "the same load errors")
  t.eq(stages(), 0, "no stage is left")
end)

-- Parquet: DuckDB writes 6 files of several types; bad.parquet is not Parquet
local dir = H.tmpdir()
local function slurp(path)
  local fh = assert(io.open(path, "rb"))
  local bytes = fh:read("a")
  fh:close()
  return bytes
end
local have_node = H.have_node()
local PQ = {}
if have_node then
  local stmts = {}
  for f = 1, 6 do
    local path = ("%s/p%d.parquet"):format(dir, f)
    PQ[f] = path
    stmts[f] = ([[COPY (SELECT i AS id, (i %% 3 = 0) AS b, CASE WHEN i %% 7 = 0 THEN NULL ELSE (i * 37 %% 1000)::INTEGER END AS i32,
      (i * 12.34)::DECIMAL(9,2) AS d9, (i * 1234567890.12345)::DECIMAL(38,5) AS d38,
      DATE '1970-01-01' + (i * 37 - 2000)::INTEGER AS dt, TIMESTAMP '1999-12-31 23:59:59' + INTERVAL (i * 123456789) MICROSECOND AS ts,
      CASE WHEN i %% 5 = 0 THEN NULL ELSE 'str ' || i || E'\t"x",\\y\n' END AS s, ('ab' || i)::BLOB AS bin
      FROM range(%d, %d) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048)]]):format(f * 100000, f * 100000 + 3000 + f * 500, path)
  end
  H.duckdb(stmts)
  for f, path in ipairs(PQ) do
    s3.put(("%spq/part-%d.parquet"):format(B, f), slurp(path))
  end
end
local PQ_DDL = "id bigint, b boolean, i32 integer, d9 numeric(9,2), d38 numeric(38,5), dt date, ts timestamp, "
  .. "s text, bin bytea"
local PQ_N, PQ_SUM = 0, 0
for f = 1, 6 do
  local n = 3000 + f * 500
  PQ_N = PQ_N + n
  PQ_SUM = PQ_SUM + n * (f * 100000) + n * (n - 1) // 2
end

t.test("Parquet: streams = 2 and 3 give the table streams = 1 gives", { timeout = 300000,
    skip = not have_node and "node with @duckdb/node-api is not installed in tests/" or nil }, function()
  local want
  for _, n in ipairs({ 1, 2, 3 }) do
    local name = "copy_streams_pq" .. n
    fresh(name, PQ_DDL)
    local r = copy.into(wh, { table = name, from = B .. "pq/", format = "parquet", streams = n })
    t.eq({ r.files, r.rows, r.streams }, { 6, PQ_N, n }, "streams = " .. n)
    t.eq(one(("SELECT count(*)::text || '/' || sum(id)::text AS s FROM %s"):format(name)),
      ("%d/%d"):format(PQ_N, PQ_SUM), "the generated rows, streams = " .. n)
    local h = history(name)
    if want then
      t.eq(differ("copy_streams_pq1", name), 0, "streams = " .. n .. " equals streams = 1 row for row")
      t.eq(h, want, "the same ledger rows")
    end
    want = want or h
  end
  t.eq(stages(), 0, "no stage is left")
end)

t.test("Parquet: a bad file in either stream leaves the target, the ledger and schema lode unchanged", { timeout = 300000,
    skip = not have_node and "node with @duckdb/node-api is not installed in tests/" or nil }, function()
  -- the split by bytes puts the largest file in stream 1 (the target) and
  -- the next in stream 2 (a stage): a bad file a byte larger or smaller than the largest good one
  local largest = #slurp(PQ[6])
  t.ok(largest > #slurp(PQ[5]) + 1)
  for _, where in ipairs({ { "stream 1", largest + 1 }, { "stream 2", largest - 1 } }) do
    local name = "copy_streams_fail"
    fresh(name, PQ_DDL)
    local prefix = ("%sfail%d/"):format(B, where[2])
    for f = 1, 3 do
      s3.put(("%spart-%d.parquet"):format(prefix, f), slurp(PQ[f]))
    end
    local first = copy.into(wh, { table = name, from = prefix, format = "parquet", streams = 2 })
    t.eq(first.rows, 3500 + 4000 + 4500)
    local before = one(("SELECT count(*)::text || '/' || sum(id)::text AS s FROM %s"):format(name))
    local hist = history(name)
    s3.put(prefix .. "part-9-bad.parquet", ("not parquet "):rep(where[2] // 12 + 1):sub(1, where[2]))
    for f = 4, 6 do
      s3.put(("%spart-%d.parquet"):format(prefix, f), slurp(PQ[f]))
    end
    local e = t.raises(function()
      copy.into(wh, { table = name, from = prefix, format = "parquet", streams = 2 })
    end)
    t.match(tostring(e.message or e), "part%-9%-bad%.parquet", "the error names the bad file (" .. where[1] .. ")")
    t.eq(one(("SELECT count(*)::text || '/' || sum(id)::text AS s FROM %s"):format(name)), before,
      "the target is unchanged (" .. where[1] .. ")")
    t.eq(history(name), hist, "the ledger is unchanged (" .. where[1] .. ")")
    t.eq(stages(), 0, "the stages were dropped (" .. where[1] .. ")")
  end
end)

t.test("ledger = false (plain SQL COPY, Redshift's append) with streams appends the rows each time", function()
  local name = "copy_streams_plain"
  fresh(name, CSV_DDL)
  for round = 1, 2 do
    local r = copy.into(wh, { table = name, from = B .. "csv/", format = "csv", streams = 2, ledger = false })
    t.eq({ r.rows, r.streams }, { CSV_N, 2 })
    t.eq(one(("SELECT count(*)::text || '/' || sum(id)::text AS s FROM %s"):format(name)),
      ("%d/%d"):format(round * CSV_N, round * CSV_SUM))
  end
  t.eq(history(name), "", "no ledger rows")
end)

t.test("one stream where streams cannot help: a caller's transaction, a pool of one, a stage left by a killed load is dropped", function()
  local name = "copy_streams_one"
  fresh(name, CSV_DDL)
  local r = wh:transaction(function(tx)
    return copy.into(tx, { table = name, from = B .. "csv/", format = "csv", streams = 3 })
  end)
  t.eq({ r.rows, r.streams }, { CSV_N, 1 }, "inside a transaction")
  fresh(name, CSV_DDL)
  local wh1 = lode.warehouse { url = url, pool = 1 }
  r = copy.into(wh1, { table = name, from = B .. "csv/", format = "csv", streams = 3 })
  t.eq({ r.rows, r.streams }, { CSV_N, 1 }, "a pool of one: no second connection, no deadlock")
  wh1:close()
  -- a stage a SIGKILLed load of this table left behind
  fresh(name, CSV_DDL)
  local h = one("SELECT left(md5($1), 16) AS h", "lode.copy:" .. sql.qname(name))
  wh:exec(("CREATE UNLOGGED TABLE lode.%s (LIKE %s)"):format(sql.ident("copy_stage_" .. h .. "_dead_1"), name))
  t.eq(stages(), 1)
  r = copy.into(wh, { table = name, from = B .. "csv/", format = "csv", streams = 2 })
  t.eq({ r.rows, r.streams }, { CSV_N, 2 })
  t.eq(stages(), 0, "the stale stage was dropped")
end)

t.test("streams with an identity column, a NOT NULL default and a column list: as streams = 1", function()
  local want
  for _, n in ipairs({ 1, 2 }) do
    local name = "copy_streams_ident" .. n
    fresh(name, "sid bigint GENERATED ALWAYS AS IDENTITY, id bigint NOT NULL, name text, amount numeric(12,2), "
      .. "day date, ok boolean, note text NOT NULL DEFAULT 'none'")
    local r = copy.into(wh, { table = name, from = B .. "csv/", format = "csv", streams = n,
                              columns = { "id", "name", "amount", "day", "ok" } })
    t.eq({ r.rows, r.streams }, { CSV_N, n })
    local got = one(("SELECT count(DISTINCT sid)::text || '/' || sum(id)::text || '/' || "
      .. "count(*) FILTER (WHERE note = 'none')::text AS s FROM %s"):format(name))
    t.eq(got, ("%d/%d/%d"):format(CSV_N, CSV_SUM, CSV_N), "identity and default filled, streams = " .. n)
    want = want or name
  end
  t.eq(one("SELECT count(*) AS n FROM (SELECT id, name, amount, day, ok, note FROM copy_streams_ident1 EXCEPT ALL "
    .. "SELECT id, name, amount, day, ok, note FROM copy_streams_ident2) x"), 0)
end)

t.test("streams must be between 1 and 64", function()
  t.raises(function() copy.into(wh, { table = "x", from = B .. "csv/", streams = 0 }) end, "streams")
  t.raises(function() copy.into(wh, { table = "x", from = B .. "csv/", streams = 65 }) end, "streams")
end)
