-- ALTER TABLE … SET TABLE PROPERTIES and SET LOCATION (of the table and of
-- a partition) on text external tables, on the PostgreSQL emulation over
-- s3rver, run through lode's SQL runner. Oracle: DuckDB's read_csv over the
-- same files.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local root = os.getenv("LODE_ROOT") or "."
local BUCKET = "spectrum-alter"

local pg_url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local dir = t.tmpdir()

local function wh()
  return lode.warehouse({ url = pg_url, dialect = "postgres" })
end

local function duck(q)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", q }, { timeout = 60000 })
  t.eq(r.status, 0, "duckdb.js: " .. (r.stdout or "") .. (r.stderr or ""))
  local out = {}
  for i, row in ipairs(require("lode.json").decode(r.stdout)) do
    out[i] = row.r
  end
  return out
end

local function put(rel, bytes)
  local path = dir .. "/" .. rel
  require("lode.fs").mkdir(path:match("^(.*)/[^/]*$"), true)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  require("lode.s3").upload(path, "s3://" .. BUCKET .. "/" .. rel)
  return path
end

local function rows(q)
  local out = {}
  for i, r in ipairs(wh():query(q)) do
    out[i] = r.r
  end
  return out
end

local function run(text)
  return sqlrun.run(wh(), text, { file = "alter.sql" })
end

local function oracle(path)
  return duck(("SELECT id || ':' || name AS r FROM read_csv('%s', delim = '|', header = true, "
    .. "columns = {'id': 'INTEGER', 'name': 'VARCHAR'}) ORDER BY id"):format(path))
end

t.test("SET TABLE PROPERTIES and SET LOCATION on text tables: the next query reads with them (DuckDB's rows)",
    { timeout = 180000 }, function()
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local a = put("a/part-0", "id|name\n1|one\n2|two\n3|three\n")
  local b = put("b/part-0", "id|name\n10|ten\n20|twenty\n")
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS alter_s CASCADE")
  run([==[
CREATE EXTERNAL SCHEMA alter_s FROM DATA CATALOG DATABASE 'alterdb' IAM_ROLE 'arn:aws:iam::1:role/R';
CREATE EXTERNAL TABLE alter_s.plain (id int, name varchar(10))
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE LOCATION 's3://spectrum-alter/a/';
CREATE EXTERNAL TABLE alter_s.parted (id int, name varchar(10)) PARTITIONED BY (k varchar(5))
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE LOCATION 's3://spectrum-alter/';
ALTER TABLE alter_s.parted ADD PARTITION (k='x') LOCATION 's3://spectrum-alter/a/';
]==])
  -- the header line is data until skip.header.line.count says otherwise
  local ok, err = pcall(rows, "SELECT id::text AS r FROM alter_s.plain")
  t.ok(not ok, "the header line is read as a row")
  t.contains(tostring(err), "id")
  run("ALTER TABLE alter_s.plain SET TABLE PROPERTIES ('skip.header.line.count'='1');\n"
    .. "ALTER TABLE alter_s.parted SET TABLE PROPERTIES ('skip.header.line.count'='1');\n")
  t.eq(rows("SELECT id || ':' || name AS r FROM alter_s.plain ORDER BY id"), oracle(a))
  t.eq(rows("SELECT id || ':' || name AS r FROM alter_s.parted ORDER BY id"), oracle(a))
  t.eq(require("lode.json").decode(rows("SELECT parameters AS r FROM svv_external_tables "
    .. "WHERE schemaname = 'alter_s' AND tablename = 'plain'")[1]), { EXTERNAL = "TRUE", ["skip.header.line.count"] = "1" })
  -- SET LOCATION of the table, and of a partition; the properties stay
  run("ALTER TABLE alter_s.plain SET LOCATION 's3://spectrum-alter/b/';\n"
    .. "ALTER TABLE alter_s.parted PARTITION (k='x') SET LOCATION 's3://spectrum-alter/b/';\n")
  t.eq(rows("SELECT id || ':' || name AS r FROM alter_s.plain ORDER BY id"), oracle(b))
  t.eq(rows("SELECT id || ':' || name || ':' || k AS r FROM alter_s.parted ORDER BY id"),
    duck(("SELECT id || ':' || name || ':x' AS r FROM read_csv('%s', delim = '|', header = true, "
      .. "columns = {'id': 'INTEGER', 'name': 'VARCHAR'}) ORDER BY id"):format(b)))
  t.eq(rows("SELECT location AS r FROM svv_external_partitions WHERE schemaname = 'alter_s'"),
    { "s3://spectrum-alter/b/" })
  -- a property the emulation cannot read exactly is refused, naming it; nothing changes
  ok, err = pcall(run, "ALTER TABLE alter_s.plain SET TABLE PROPERTIES ('compression_type'='lzo');\n")
  t.ok(not ok, "lzo is refused")
  t.contains(tostring(err.message or err), "compression_type")
  t.contains(tostring(err.message or err), "alter.sql:1")
  t.eq(rows("SELECT id || ':' || name AS r FROM alter_s.plain ORDER BY id"), oracle(b))
  -- on Redshift the statement is sent as written
  local stmts = require("lode.redshift").statements(
    "ALTER TABLE alter_s.plain SET TABLE PROPERTIES ('numRows'='170000');")
  t.eq(stmts[1].kind, "set_table_properties")
  t.eq(stmts[1].properties, { numRows = "170000" })
  w:exec("DROP SCHEMA IF EXISTS alter_s CASCADE")
  for _, tbl in ipairs({ "spectrum_external_schemas", "spectrum_tables", "spectrum_partitions" }) do
    w:exec("DELETE FROM lode." .. tbl .. " WHERE schema_name = 'alter_s'")
  end
end)

t.test("sync_partitions{since=}: a warehouse table's sync lists and registers only from the watermark", { timeout = 120000 },
    function()
  for k = 1, 12 do
    put(("since/k=%d/part-0"):format(k), ("%d|n%d\n"):format(k, k))
  end
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS since_s CASCADE")
  run([==[
CREATE EXTERNAL SCHEMA since_s FROM DATA CATALOG DATABASE 'sincedb' IAM_ROLE 'arn:aws:iam::1:role/R';
CREATE EXTERNAL TABLE since_s.t (id int, name varchar(10)) PARTITIONED BY (k int)
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE LOCATION 's3://spectrum-alter/since/';
]==])
  local spectrum = require "lode.spectrum"
  -- 9 sorts before 10 as a number: the watermark 9 keeps 9, 10, 11, 12
  local r = spectrum.sync_partitions(w, "since_s.t", { since = { k = 9 }, prune = true })
  t.eq(#r.added, 4)
  t.eq(rows("SELECT string_agg(k::text, ',' ORDER BY k) AS r FROM since_s.t"), { "9,10,11,12" })
  -- a full sync adds the rest; a later one from the watermark prunes nothing before it
  spectrum.sync_partitions(w, "since_s.t")
  t.eq(rows("SELECT count(*)::text AS r FROM since_s.t"), { "12" })
  require("lode.s3").delete("s3://spectrum-alter/since/k=2/part-0")
  r = spectrum.sync_partitions(w, "since_s.t", { since = "latest", prune = true })
  t.eq(#r.added, 0)
  t.eq(#r.dropped, 0)
  r = spectrum.sync_partitions(w, "since_s.t", { prune = true })
  t.eq(#r.dropped, 1)
  w:exec("DROP SCHEMA IF EXISTS since_s CASCADE")
  for _, tbl in ipairs({ "spectrum_external_schemas", "spectrum_tables", "spectrum_partitions" }) do
    w:exec("DELETE FROM lode." .. tbl .. " WHERE schema_name = 'since_s'")
  end
end)
