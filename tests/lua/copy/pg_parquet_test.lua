-- copy.into with format = "parquet" on PostgreSQL, emulated from s3rver:
-- DuckDB writes the files (every type of the reader's fixtures, several
-- files and row groups, a partitioned prefix, a hostile column name), lode
-- streams them into one binary COPY, and the table is compared with DuckDB
-- reading the same files (tests/tools/parquet_diff.js). Then: conversions
-- to the target's types, Redshift's errors (counts, types, values), the
-- ledger, compressed objects, manifests, and merge.upsert from S3.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"
local sql = require "lode.sql"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")
if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end
local s3 = require "lode.s3"
local pr = require "lode.parquetrows"

local bucket = "lode-pq-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local dir = H.tmpdir()

local function upload(path, key)
  local f = assert(io.open(path, "rb"))
  local bytes = f:read("a")
  f:close()
  s3.put(B .. key, bytes)
  return #bytes
end

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(sql.qname(name)))
  wh:exec(("CREATE TABLE %s (%s)"):format(sql.qname(name), ddl))
  wh:exec("CREATE SCHEMA IF NOT EXISTS lode")
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", sql.qname(name))
end

local function count(name)
  return wh:query(("SELECT count(*) AS n FROM %s"):format(sql.qname(name)))[1].n
end

-- The rows of the reader's fixtures (every type DuckDB writes), ids from..to-1.
local HOSTILE = 'we"ird; DROP TABLE copy_pq;--'
local SELECT = [[
SELECT i AS id,
  (i % 3 = 0) AS b,
  CASE WHEN i % 7 = 0 THEN NULL ELSE (i * 37 % 1000)::INTEGER END AS i32,
  (i * 1000003)::BIGINT - 5000000 AS i64,
  (i % 100)::TINYINT AS i8, (i % 30000)::SMALLINT AS i16,
  (i % 200)::UTINYINT AS u8, (i * 7)::UINTEGER AS u32, (i * 1000000007)::UBIGINT AS u64,
  (i / 7.0)::FLOAT AS f32, CASE WHEN i % 11 = 0 THEN 'NaN'::DOUBLE WHEN i % 13 = 0 THEN '-inf'::DOUBLE ELSE i / 3.0 END AS f64,
  (i * 12.34)::DECIMAL(9,2) AS d9, (i * -123456.789)::DECIMAL(18,3) AS d18,
  (i * 1234567890.12345)::DECIMAL(38,5) AS d38, ((i % 9000) / 1000.0)::DECIMAL(4,3) AS d4,
  DATE '1970-01-01' + (i * 37 - 2000)::INTEGER AS dt,
  TIME '00:00:00' + INTERVAL (i * 1234567) MICROSECOND AS tm,
  TIMESTAMP '1999-12-31 23:59:59' + INTERVAL (i * 123456789) MICROSECOND AS ts,
  TIMESTAMPTZ '2020-01-01 00:00:00+00' + INTERVAL (i * 1000) SECOND AS tstz,
  (TIMESTAMP '2001-02-03 04:05:06' + INTERVAL (i) SECOND)::TIMESTAMP_MS AS ts_ms,
  (TIMESTAMP '2001-02-03 04:05:06.123456' + INTERVAL (i) SECOND)::TIMESTAMP_NS AS ts_ns,
  CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN '' ELSE 'str ' || i || E'\t"x",\\y\n' || repeat('é', i % 4) END AS s,
  ('ab' || i)::BLOB AS bin,
  ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u,
  CASE WHEN i % 4 = 0 THEN NULL ELSE [i, i + 1, NULL] END AS li,
  [[i], [], NULL] AS lli,
  {'a': i, 'b': 'x' || i, 'c': [1.5, 2.5]} AS st,
  CASE WHEN i % 6 = 0 THEN NULL ELSE MAP {'k' || i: i, 'z': NULL} END AS mp,
  [{'p': i, 'q': [i::VARCHAR]}] AS los,
  ['a', NULL, 'c'][1 + i % 3] AS dictish,
  i * 2 AS "we""ird; DROP TABLE copy_pq;--"
FROM range(FROM_, TO_) t(i)
]]

local function rows_sql(from, to)
  return (SELECT:gsub("FROM_", tostring(from)):gsub("TO_", tostring(to)))
end

-- PostgreSQL's text of the rows with ids in [from, to), as CSV with a header
-- (booleans spelled true/false, as DuckDB's VARCHAR does), into path.
local function export_csv(tbl, cols, from, to, path)
  local sel = {}
  for i, c in ipairs(cols) do
    sel[i] = c.pg_type == "boolean" and ("%s::text AS %s"):format(sql.ident(c.name), sql.ident(c.name))
      or sql.ident(c.name)
  end
  local q = ("COPY (SELECT %s FROM %s WHERE id >= %d AND id < %d ORDER BY id) TO STDOUT (FORMAT csv, HEADER)")
    :format(table.concat(sel, ", "), sql.qname(tbl), from, to)
  local r = proc.run({ "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", "SET TimeZone = 'UTC'", "-c", q },
    { max_output = 256 * 1024 * 1024 })
  t.eq(r.status, 0, r.stderr)
  H.write(path, r.stdout)
end

-- DuckDB's row groups hold at least 2,048 rows
local FILES = {
  { key = "lake/year=2024/month=01/part-0.parquet", from = 0, to = 5000, rg = 2048 },
  { key = "lake/year=2024/month=01/part-1.parquet", from = 5000, to = 5001, rg = 100 },
  { key = "lake/year=2024/month=02/part-0.snappy.parquet", from = 6000, to = 10500, rg = 2048, codec = "snappy" },
  { key = "lake/year=2025/month=12/part-0.parquet", from = 11000, to = 11700, rg = 700, codec = "zstd" },
}

t.test("every reader type, 4 files, several row groups, a partitioned prefix: the table equals DuckDB's reading", { timeout = 300000 }, function()
  local stmts = {}
  for i, f in ipairs(FILES) do
    f.path = ("%s/f%d.parquet"):format(dir, i)
    stmts[#stmts + 1] = ("COPY (%s) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE %d, COMPRESSION %s)")
      :format(rows_sql(f.from, f.to), f.path, f.rg, f.codec or "uncompressed")
  end
  H.duckdb(stmts)
  local bytes = 0
  for _, f in ipairs(FILES) do
    bytes = bytes + upload(f.path, f.key)
  end
  s3.put(B .. "lake/_SUCCESS", "")
  -- the target: the reader's natural PostgreSQL type for each column
  local rd = pr.open(FILES[1].path)
  local cols = rd:columns()
  rd:close()
  local ddl = {}
  for i, c in ipairs(cols) do
    ddl[i] = sql.ident(c.name) .. " " .. c.pg_type
  end
  t.eq(cols[#cols].name, HOSTILE)
  fresh("copy_pq", table.concat(ddl, ", "))
  local r = copy.into(wh, { table = "copy_pq", from = B .. "lake/", format = "parquet" })
  t.eq(r.files, 4)
  t.eq(r.rows, 5000 + 1 + 4500 + 700)
  t.eq(r.bytes, bytes)
  t.eq(r.errors, 0)
  t.eq(count("copy_pq"), r.rows)
  local pairs_ = {}
  for i, f in ipairs(FILES) do
    local csv = ("%s/f%d.csv"):format(dir, i)
    export_csv("copy_pq", cols, f.from, f.to, csv)
    pairs_[#pairs_ + 1] = { parquet = f.path, csv = csv }
  end
  for _, v in ipairs(H.compare(pairs_)) do
    t.eq(v.status, "equal", v.parquet .. ": " .. v.detail)
  end
  t.eq(count("copy_pq"), r.rows, "the hostile column name injected nothing")
  local hist = wh:query("SELECT key, rows FROM lode.load_history WHERE table_name = $1 ORDER BY key", "copy_pq")
  t.eq(#hist, 4)
  t.eq(hist[1].key, B .. FILES[1].key, "the ledger names a file by its URL")
  t.eq(hist[1].rows, 5000)

  -- the same COPY again loads nothing; reload loads again
  local r2 = copy.into(wh, { table = "copy_pq", from = B .. "lake/", format = "parquet" })
  t.eq({ r2.files, r2.rows, r2.skipped_files }, { 0, 0, 4 })
  t.eq(count("copy_pq"), r.rows)
end)

t.test("values convert to the target's types; a value the column cannot hold names file, row group, row and column", function()
  local f = dir .. "/conv.parquet"
  H.duckdb({ ([[COPY (SELECT i::INTEGER AS a, (i * 1000)::BIGINT AS b, (i / 4)::FLOAT AS c, DATE '2024-01-01' + i::INTEGER AS d,
      ('00000000-0000-0000-0000-' || lpad(i::VARCHAR, 12, '0'))::UUID AS u, [i, i] AS l, 'x' || i AS s, i::BIGINT AS n,
      '{"k":' || i || '}' AS j
    FROM range(0, 300) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 100)]]):format(f) })
  upload(f, "conv/a.parquet")
  fresh("copy_pq_conv", "a bigint, b integer, c double precision, d timestamp, u varchar(36), l text, s varchar(10), n numeric(12,2), j jsonb")
  local r = copy.into(wh, { table = "copy_pq_conv", from = B .. "conv/", format = "parquet" })
  t.eq(r.rows, 300)
  local row = wh:query([[SELECT a, b, c, d::text AS d, u, l, s, n::text AS n, j->>'k' AS k FROM copy_pq_conv WHERE a = 255]])[1]
  t.eq(row.a, 255)
  t.eq(row.b, 255000)
  t.eq(row.c, 63.75)
  t.eq(row.d, "2024-09-12 00:00:00")
  t.eq(row.u, "00000000-0000-0000-0000-000000000255")
  t.eq(row.l, "[255,255]")
  t.eq(row.s, "x255")
  t.eq(row.n, "255.00")
  t.eq(row.k, "255")

  -- bigint 3,000,000,000 does not fit an integer column: row 3001 of the file, in row group 1
  local g = dir .. "/big.parquet"
  H.duckdb({ ([[COPY (SELECT CASE WHEN i = 3000 THEN 3000000000 ELSE i END::BIGINT AS b FROM range(0, 5000) t(i))
    TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048)]]):format(g) })
  upload(g, "big/b.parquet")
  fresh("copy_pq_big", "b integer")
  local e = t.raises(function()
    copy.into(wh, { table = "copy_pq_big", from = B .. "big/", format = "parquet" })
  end, "out of range for integer")
  t.contains(tostring(e), "big/b.parquet: row group 1, row 3001, column 1 'b': value 3000000000")
  t.eq(count("copy_pq_big"), 0)
  t.eq(#wh:query("SELECT 1 FROM lode.load_history WHERE table_name = 'copy_pq_big'"), 0, "nothing recorded")

  -- a string longer than varchar(3): the server's error, placed in the file
  fresh("copy_pq_short", "a bigint, b integer, c double precision, d timestamp, u varchar(36), l text, s varchar(3), n numeric(12,2), j jsonb")
  e = t.raises(function()
    copy.into(wh, { table = "copy_pq_short", from = B .. "conv/", format = "parquet" })
  end, "value too long")
  t.contains(tostring(e), "conv/a.parquet: row group 0, row 101, column s:")
  t.eq({ e.sqlstate, e.row, e.row_group, e.column }, { "22001", 101, 0, "s" })
end)

t.test("Redshift's rules: column counts must match, a type the column cannot take fails, no MAXERROR", function()
  local f = dir .. "/two.parquet"
  H.duckdb({ ("COPY (SELECT i AS a, 'x' || i AS b FROM range(0, 10) t(i)) TO '%s' (FORMAT parquet)"):format(f) })
  upload(f, "rules/two.parquet")
  fresh("copy_pq_rules", "a bigint, b text, c int")
  local e = t.raises(function()
    copy.into(wh, { table = "copy_pq_rules", from = B .. "rules/", format = "parquet" })
  end, "has 2 columns, the COPY loads 3")
  t.contains(tostring(e), "rules/two.parquet")
  t.eq(e.code, "schema")
  -- the columns option: two target columns, by position
  local r = copy.into(wh, { table = "copy_pq_rules", columns = { "a", "b" }, from = B .. "rules/", format = "parquet" })
  t.eq(r.rows, 10)
  t.eq(wh:query("SELECT b FROM copy_pq_rules WHERE a = 3")[1].b, "x3")
  -- b (a string) into an integer column
  fresh("copy_pq_rules", "a bigint, b int")
  e = t.raises(function()
    copy.into(wh, { table = "copy_pq_rules", from = B .. "rules/", format = "parquet" })
  end, "cannot be loaded into column 'b' of type integer")
  t.contains(tostring(e), "rules/two.parquet: row group 0, column 2 'b'")
  t.raises(function()
    copy.into(wh, { table = "copy_pq_rules", from = B .. "rules/", format = "parquet", maxerror = 3 })
  end, "columnar COPY fails on any error")
  -- not a Parquet file
  s3.put(B .. "junk/x.parquet", "PAR1 this is not parquet at all PAR1")
  e = t.raises(function()
    copy.into(wh, { table = "copy_pq_rules", from = B .. "junk/", format = "parquet" })
  end, "x.parquet")
  t.eq(count("copy_pq_rules"), 0)
end)

t.test("gzip- and zstd-compressed Parquet objects, a manifest (content_length required), a missing file", function()
  local f = dir .. "/z.parquet"
  H.duckdb({ ("COPY (SELECT i AS a, 'v' || i AS b FROM range(0, 1000) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 300)"):format(f) })
  for _, z in ipairs { { "gzip", "gz" }, { "zstd", "zst" } } do
    t.eq(proc.run({ z[1], "-k", "-f", f }).status, 0)
    upload(f .. "." .. z[2], "z/part." .. z[2])
    os.remove(f .. "." .. z[2])
  end
  fresh("copy_pq_z", "a bigint, b text")
  local r = copy.into(wh, { table = "copy_pq_z", from = B .. "z/", format = "parquet" })
  t.eq(r.files, 2)
  t.eq(r.rows, 2000)
  t.eq(wh:query("SELECT count(DISTINCT a) AS n FROM copy_pq_z")[1].n, 1000)

  local size = upload(f, "m/one.parquet")
  s3.put(B .. "m/ok.manifest", ('{"entries": [{"url": "%sm/one.parquet", "mandatory": true, "meta": {"content_length": %d}},'
    .. '{"url": "%sm/gone.parquet", "mandatory": false, "meta": {"content_length": 5}}]}'):format(B, size, B))
  fresh("copy_pq_m", "a bigint, b text")
  r = copy.into(wh, { table = "copy_pq_m", manifest = B .. "m/ok.manifest", format = "parquet" })
  t.eq({ r.files, r.rows, r.skipped_files }, { 1, 1000, 1 })
  s3.put(B .. "m/nolen.manifest", ('{"entries": [{"url": "%sm/one.parquet", "mandatory": true}]}'):format(B))
  t.raises(function()
    copy.into(wh, { table = "copy_pq_m", manifest = B .. "m/nolen.manifest", format = "parquet", reload = true })
  end, "content_length")
  s3.put(B .. "m/bad.manifest", ('{"entries": [{"url": "%sm/gone.parquet", "mandatory": true, "meta": {"content_length": 5}}]}'):format(B))
  t.raises(function()
    copy.into(wh, { table = "copy_pq_m", manifest = B .. "m/bad.manifest", format = "parquet" })
  end, "mandatory")
  t.eq(count("copy_pq_m"), 1000)
end)

t.test("ledger_table keys the ledger by another table; merge.upsert from S3 Parquet twice loads once", function()
  local f = dir .. "/up.parquet"
  H.duckdb({ ("COPY (SELECT i AS id, 'n' || i AS name, i * 1.5 AS amount FROM range(0, 50) t(i)) TO '%s' (FORMAT parquet)"):format(f) })
  upload(f, "up/day=1/a.parquet")
  fresh("copy_pq_stage", "id bigint, name text, amount numeric(10,1)")
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = 'copy_pq_target'")   -- from an earlier run
  local r = copy.into(wh, { table = "copy_pq_stage", from = B .. "up/", format = "parquet", ledger_table = "copy_pq_target" })
  t.eq(r.rows, 50)
  t.eq(#wh:query("SELECT 1 FROM lode.load_history WHERE table_name = 'copy_pq_target'"), 1)
  t.eq(#wh:query("SELECT 1 FROM lode.load_history WHERE table_name = 'copy_pq_stage'"), 0)
  r = copy.into(wh, { table = "copy_pq_stage", from = B .. "up/", format = "parquet", ledger_table = "copy_pq_target" })
  t.eq(r.skipped_files, 1)
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = 'copy_pq_target'")

  local merge = require "lode.merge"
  fresh("copy_pq_target", "id bigint PRIMARY KEY, name text, amount numeric(10,1)")
  wh:exec("INSERT INTO copy_pq_target VALUES (1, 'old', 0), (999, 'keep', 9)")
  local m1 = merge.upsert(wh, { target = "copy_pq_target", from = B .. "up/", format = "parquet", key = { "id" } })
  t.eq(m1.staged, 50)
  t.eq(count("copy_pq_target"), 51)
  t.eq(wh:query("SELECT name FROM copy_pq_target WHERE id = 1")[1].name, "n1")
  local m2 = merge.upsert(wh, { target = "copy_pq_target", from = B .. "up/", format = "parquet", key = { "id" } })
  t.eq(m2.staged, 0, "the file was merged already")
  t.eq(count("copy_pq_target"), 51)
  t.eq(#wh:query("SELECT 1 FROM lode.load_history WHERE table_name = 'copy_pq_target'"), 1)
end)

-- Numerics are built from the unscaled integer (INT32, INT64, 16-byte FIXED)
-- without text: precision 1..38 and scale 0..38 at zero, one unit, a digit
-- pattern, a power of ten and +-max, into unconstrained numeric columns so
-- PostgreSQL prints exactly the scale and digits lode sent.
t.test("extreme decimals (precision 1..38, scale 0..38, zero, +-max, negative) equal DuckDB's reading", function()
  local specs, seen = {}, {}
  for _, p in ipairs({ 1, 2, 3, 4, 5, 8, 9, 10, 17, 18, 19, 27, 28, 37, 38 }) do
    for _, s in ipairs({ 0, 1, 2, 3, 4, 5, 7, 8, 9, p // 2, p - 1, p }) do
      if s >= 0 and s <= p and not seen[p .. "," .. s] then
        seen[p .. "," .. s] = true
        specs[#specs + 1] = { p = p, s = s }
      end
    end
  end
  local function lit(digits, s, neg)   -- digits: exactly p characters
    local p = #digits
    local txt = s == 0 and digits or (s == p and "0." .. digits or digits:sub(1, p - s) .. "." .. digits:sub(p - s + 1))
    return (neg and "-" or "") .. txt
  end
  local kinds = {
    function(p) return ("0"):rep(p), false end,
    function(p) return ("9"):rep(p), false end,
    function(p) return ("9"):rep(p), true end,
    function(p) return ("0"):rep(p - 1) .. "1", false end,
    function(p) return ("0"):rep(p - 1) .. "1", true end,
    function(p) return ("1234567890"):rep(4):sub(1, p), false end,
    function(p) return ("9876543210"):rep(4):sub(1, p), true end,
    function(p) return "1" .. ("0"):rep(p - 1), true end,
    function(p) return ("5000"):rep(10):sub(1, p), false end,
  }
  local cols, ddl = { "k AS id" }, { "id bigint" }
  for _, sp in ipairs(specs) do
    local name = ("d_%d_%d"):format(sp.p, sp.s)
    local whens = {}
    for k, f in ipairs(kinds) do
      whens[k] = ("WHEN %d THEN '%s'"):format(k - 1, lit(f(sp.p), sp.s, select(2, f(sp.p))))
    end
    cols[#cols + 1] = ("(CASE k %s END)::DECIMAL(%d,%d) AS %s"):format(table.concat(whens, " "), sp.p, sp.s, name)
    ddl[#ddl + 1] = name .. " numeric"
  end
  local path = dir .. "/decimals.parquet"
  H.duckdb({ ("COPY (SELECT %s FROM range(0, %d) t(k)) TO '%s' (FORMAT parquet)")
    :format(table.concat(cols, ", "), #kinds + 1, path) })
  upload(path, "decimals/part-0.parquet")
  fresh("copy_pq_dec", table.concat(ddl, ", "))
  local r = copy.into(wh, { table = "copy_pq_dec", from = B .. "decimals/", format = "parquet" })
  t.eq(r.rows, #kinds + 1)
  -- the oracle: DuckDB's own CSV of the file, parsed by PostgreSQL into the
  -- same columns; rows compared as text (digits and scale) both ways
  local csv = dir .. "/decimals.csv"
  H.duckdb({ ("COPY (SELECT * FROM '%s') TO '%s' (FORMAT csv, HEADER false)"):format(path, csv) })
  fresh("copy_pq_dec_oracle", table.concat(ddl, ", "))
  local ld = proc.run({ "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", url, "-c",
    ("\\copy copy_pq_dec_oracle FROM '%s' (FORMAT csv)"):format(csv) })
  t.eq(ld.status, 0, ld.stderr)
  t.eq(count("copy_pq_dec_oracle"), #kinds + 1)
  local diff = [[SELECT (SELECT count(*) FROM (SELECT t::text FROM %s t EXCEPT ALL SELECT o::text FROM %s o) x) AS n]]
  t.eq(wh:query(diff:format("copy_pq_dec", "copy_pq_dec_oracle"))[1].n, 0, "rows lode loaded that DuckDB did not read")
  t.eq(wh:query(diff:format("copy_pq_dec_oracle", "copy_pq_dec"))[1].n, 0, "rows DuckDB read that lode did not load")
  local mx = wh:query("SELECT d_38_0::text AS a, d_38_38::text AS b, d_19_9::text AS c FROM copy_pq_dec WHERE id = 2")[1]
  t.eq(mx.a, "-" .. ("9"):rep(38))
  t.eq(mx.b, "-0." .. ("9"):rep(38))
  t.eq(mx.c, "-" .. ("9"):rep(10) .. "." .. ("9"):rep(9))
  t.eq(#specs > 100, true, "the grid covers " .. #specs .. " (precision, scale) pairs")
end)

t.test("cleanup", function()
  proc.run({ "rm", "-rf", dir })
  proc.run({ "aws", "s3", "rb", B, "--force" })
end)
