-- CREATE EXTERNAL TABLE … AS SELECT on the PostgreSQL emulation (s3rver):
-- the rows written under the location (Parquet in k=v partition folders, or
-- '|' text), the table and its partitions registered. Oracles: PostgreSQL
-- itself (the source table the query reads) and DuckDB reading the files
-- written.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local root = os.getenv("LODE_ROOT") or "."
local BUCKET = "spectrum-ctas"

local pg_url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local dir = t.tmpdir()

local function wh()
  return lode.warehouse({ url = pg_url, dialect = "postgres" })
end

local function rows(q)
  local out = {}
  for i, r in ipairs(wh():query(q)) do
    out[i] = r.r
  end
  return out
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

local ROW = "id || '/' || coalesce(name, '<null>') || '/' || coalesce(amount::text, '<null>') || '/' "
  .. "|| coalesce(saledate::text, '<null>')"

t.test("CREATE EXTERNAL TABLE … AS SELECT writes Parquet / text under the location and registers the table",
    { timeout = 180000 }, function()
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS ctas_s CASCADE")
  w:exec("DROP TABLE IF EXISTS ctas_src")
  w:exec("CREATE TABLE ctas_src (id int, name varchar(20), amount numeric(10,2), saledate date, region varchar(10))")
  w:exec([[INSERT INTO ctas_src VALUES (1, 'plain', 12.50, '2008-01-05', 'east'), (2, 'pipe|in', -0.01, NULL, 'west'),
    (3, E'back\\slash', NULL, '2008-02-29', 'east'), (4, NULL, 7.00, '2008-03-01', 'west'),
    (5, E'two\nlines', 1234567.89, '2008-12-31', 'east'), (6, '', 0.00, '2008-06-15', 'north')]])
  sqlrun.run(w, [==[
CREATE EXTERNAL SCHEMA ctas_s FROM DATA CATALOG DATABASE 'ctasdb' IAM_ROLE 'arn:aws:iam::1:role/R';
CREATE EXTERNAL TABLE ctas_s.sales_pq
PARTITIONED BY (region)
STORED AS PARQUET
LOCATION 's3://spectrum-ctas/pq/'
AS SELECT id, name, amount, saledate, region FROM ctas_src;
CREATE EXTERNAL TABLE ctas_s.sales_txt
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'
STORED AS TEXTFILE
LOCATION 's3://spectrum-ctas/txt/'
AS SELECT id, name, amount, saledate FROM ctas_src WHERE id > 1;
]==], { file = "ctas.sql" })
  -- the tables read back exactly what the query returned
  t.eq(rows("SELECT " .. ROW .. " || '/' || region AS r FROM ctas_s.sales_pq ORDER BY id"),
    rows("SELECT " .. ROW .. " || '/' || region AS r FROM ctas_src ORDER BY id"))
  t.eq(rows("SELECT " .. ROW .. " AS r FROM ctas_s.sales_txt ORDER BY id"),
    rows("SELECT " .. ROW .. " AS r FROM ctas_src WHERE id > 1 ORDER BY id"))
  t.eq(rows("SELECT columnname || ' ' || external_type || ' ' || part_key AS r FROM svv_external_columns "
    .. "WHERE schemaname = 'ctas_s' AND tablename = 'sales_pq' ORDER BY columnnum"),
    { "id int 0", "name varchar(20) 0", "amount decimal(10,2) 0", "saledate date 0", "region varchar(10) 1" })
  t.eq(rows("SELECT \"values\" AS r FROM svv_external_partitions WHERE schemaname = 'ctas_s' ORDER BY 1"),
    { '["east"]', '["north"]', '["west"]' })
  -- DuckDB reads the Parquet files written, partition folders and all
  local s3 = require "lode.s3"
  local objs = s3.list("s3://" .. BUCKET .. "/pq/")
  t.ok(#objs >= 3, "one file per partition at least")
  for _, o in ipairs(objs) do
    local key = o.key or select(2, o.url:match("^s3://([^/]+)/(.*)$"))
    local path = dir .. "/" .. key
    require("lode.fs").mkdir(path:match("^(.*)/[^/]*$"), true)
    s3.download("s3://" .. BUCKET .. "/" .. key, path)
  end
  t.eq(duck(("SELECT id || '/' || coalesce(name, '<null>') || '/' || coalesce(amount::VARCHAR, '<null>') || '/' "
      .. "|| coalesce(saledate::VARCHAR, '<null>') || '/' || region AS r "
      .. "FROM read_parquet('%s/pq/*/*.parquet', hive_partitioning = true) ORDER BY id"):format(dir)),
    rows("SELECT " .. ROW .. " || '/' || region AS r FROM ctas_src ORDER BY id"))
  -- as on Redshift, a location that holds objects is refused before anything is written
  local ok, err = pcall(sqlrun.run, w, "CREATE EXTERNAL TABLE ctas_s.again STORED AS PARQUET "
    .. "LOCATION 's3://spectrum-ctas/pq/' AS SELECT 1 AS x;\n", { file = "again.sql" })
  t.ok(not ok, "a non-empty location is refused")
  t.contains(tostring(err.message or err), "again.sql:1")
  t.eq(w:query("SELECT to_regclass('ctas_s.again') IS NULL AS r")[1].r, true)
  -- from Lua, on a pooled warehouse (one connection is held for the temp table)
  local spectrum = require "lode.spectrum"
  local res = spectrum.create_table_as(w, { name = "ctas_s.by_lua", location = "s3://spectrum-ctas/lua/",
    format = "textfile", row_format = { delimited = true, fields = "," },
    query = "SELECT id, name FROM ctas_src WHERE name IS NOT NULL" })
  t.eq(res.rowcount, 5)
  t.eq(rows("SELECT id || '/' || name AS r FROM ctas_s.by_lua ORDER BY id"),
    rows("SELECT id || '/' || name AS r FROM ctas_src WHERE name IS NOT NULL ORDER BY id"))
  w:exec("DROP SCHEMA IF EXISTS ctas_s CASCADE")
  w:exec("DROP TABLE IF EXISTS ctas_src")
  for _, tbl in ipairs({ "spectrum_external_schemas", "spectrum_tables", "spectrum_partitions" }) do
    w:exec("DELETE FROM lode." .. tbl .. " WHERE schema_name = 'ctas_s'")
  end
end)

-- CREATE EXTERNAL TABLE AS's usage notes: "The ROW FORMAT SERDE 'serde_name'
-- clause isn't supported", nor LINES TERMINATED BY, nor a LIMIT in the outer
-- SELECT (a nested one is); the query is Redshift SQL (TOP, NVL).
t.test("CREATE EXTERNAL TABLE … AS refuses what Redshift refuses (SERDE, LINES TERMINATED BY, outer LIMIT), "
    .. "reads the query's dialect", { timeout = 180000 }, function()
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS ctas_r CASCADE")
  w:exec("DROP TABLE IF EXISTS ctas_rsrc")
  w:exec("CREATE TABLE ctas_rsrc (id int, name varchar(20))")
  w:exec("INSERT INTO ctas_rsrc VALUES (1, 'a'), (2, NULL), (3, 'c'), (4, 'd')")
  sqlrun.run(w, "CREATE EXTERNAL SCHEMA ctas_r FROM DATA CATALOG DATABASE 'ctasr' IAM_ROLE 'arn:aws:iam::1:role/R';\n")
  local refused = {
    { [[CREATE EXTERNAL TABLE ctas_r.csv1 ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
      STORED AS TEXTFILE LOCATION 's3://spectrum-ctas/r_csv/' AS SELECT id, name FROM ctas_rsrc]], "ROW FORMAT SERDE" },
    { [[CREATE EXTERNAL TABLE ctas_r.json1 ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'
      LOCATION 's3://spectrum-ctas/r_json/' AS SELECT id, name FROM ctas_rsrc]], "ROW FORMAT SERDE" },
    { [[CREATE EXTERNAL TABLE ctas_r.lines1 ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' LINES TERMINATED BY '\n'
      STORED AS TEXTFILE LOCATION 's3://spectrum-ctas/r_lines/' AS SELECT id, name FROM ctas_rsrc]], "LINES TERMINATED BY" },
    { [[CREATE EXTERNAL TABLE ctas_r.limit1 STORED AS PARQUET LOCATION 's3://spectrum-ctas/r_limit/'
      AS SELECT id, name FROM ctas_rsrc ORDER BY id LIMIT 2]], "LIMIT clause in the outer SELECT" },
  }
  for _, c in ipairs(refused) do
    local ok, err = pcall(sqlrun.run, w, c[1] .. ";\n", { file = "r.sql" })
    t.ok(not ok, c[2])
    t.contains(tostring(err.message or err), c[2])
    t.contains(tostring(err.message or err), "r.sql:1")
    t.eq(err.code, "unsupported")
  end
  t.eq(#require("lode.s3").list("s3://" .. BUCKET .. "/r_"), 0, "nothing written")
  sqlrun.run(w, [[CREATE EXTERNAL TABLE ctas_r.nested STORED AS PARQUET LOCATION 's3://spectrum-ctas/r_nested/'
    AS SELECT * FROM (SELECT TOP 3 id, NVL(name, 'none') AS name FROM ctas_rsrc ORDER BY id);
]], { file = "n.sql" })
  t.eq(rows("SELECT id || '/' || name AS r FROM ctas_r.nested ORDER BY id"), { "1/a", "2/none", "3/c" })
  w:exec("DROP SCHEMA IF EXISTS ctas_r CASCADE")
  w:exec("DROP TABLE IF EXISTS ctas_rsrc")
  for _, tbl in ipairs({ "spectrum_external_schemas", "spectrum_tables", "spectrum_partitions" }) do
    w:exec("DELETE FROM lode." .. tbl .. " WHERE schema_name = 'ctas_r'")
  end
end)
