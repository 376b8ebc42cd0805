-- The Glue Data Catalog behind DATA CATALOG schemas, against moto's Glue
-- (started here, auth off: partition folders hold '=') with the Parquet data
-- in the suite's S3 and PostgreSQL as the warehouse. The lode runs are child
-- processes given AWS_ENDPOINT_URL_GLUE (the Glue catalog is on when a Glue
-- endpoint is configured). Oracles: botocore for what Glue holds, DuckDB for
-- query results over the same files.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"
local dev = require "lode.dev"
local fs = require "lode.fs"
local core = require "lode.core"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local BUCKET = "glue-lake"
local SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
local INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
local OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

local E = dofile(root .. "/tests/lua/spectrum/glue_env.lua")
local pg_url, s3_endpoint, dir, stack, moto_env, glue_ep = E.pg_url, E.s3_endpoint, E.dir, E.stack, E.moto_env, E.glue_ep
local wh, duckdb, botocore, run_lode, lode_sql = E.wh, E.duckdb, E.botocore, E.run_lode, E.lode_sql

local function lode_lua(src)
  local path = dir .. "/script-" .. math.random(1, 1e9) .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(src)
  f:close()
  return run_lode({ "run", path })
end

-- the rows of the result tables `lode sql` prints: {{col = value}, ...}
local function printed_rows(out)
  local rows, names = {}, nil
  for line in out:gmatch("[^\n]+") do
    if line:match("^%-[%-+]+$") then
      -- separator
    elseif line:match("^%(%d+ rows?%)$") then
      names = nil
    elseif not names then
      names = {}
      for cell in (line .. "|"):gmatch("%s*(.-)%s*|") do names[#names + 1] = cell end
    else
      local row, i = {}, 0
      for cell in (line .. "|"):gmatch("%s*(.-)%s*|") do
        i = i + 1
        row[names[i]] = cell
      end
      rows[#rows + 1] = row
    end
  end
  return rows
end

-- Parquet by DuckDB under dir/sales/year=Y/month=M/, uploaded to the suite's S3
local MONTHS = { { 2023, 12 }, { 2024, 1 }, { 2024, 2 } }
local function month_sql(y, m, rows)
  fs.mkdir(("%s/sales/year=%d/month=%d"):format(dir, y, m), true)
  return ("COPY (SELECT (i %% 4) + 1 AS customer_id, CAST((i * 13 + %d * 7 + %d) / 4.0 AS DECIMAL(10,2)) AS amount, "
    .. "'item ' || i AS item FROM range(0, %d) t(i)) TO '%s/sales/year=%d/month=%d/part-0.parquet' (FORMAT parquet)")
    :format(y, m, rows, dir, y, m)
end

local data_ready
local function lake()
  if data_ready then
    return
  end
  local stmts = {}
  for i, ym in ipairs(MONTHS) do
    stmts[#stmts + 1] = month_sql(ym[1], ym[2], 10 + i)
  end
  duckdb(table.unpack(stmts))
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", s3_endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  for _, ym in ipairs(MONTHS) do
    local rel = ("sales/year=%d/month=%d/part-0.parquet"):format(ym[1], ym[2])
    require("lode.s3").upload(dir .. "/" .. rel, "s3://" .. BUCKET .. "/" .. rel)
  end
  data_ready = true
end

-- a Glue database and partitioned Parquet table as a crawler leaves them
local function crawler_table(db, name, location, partitions, key_type)
  botocore(([[
db, name, loc, parts, key_type = %q, %q, %q, json.loads(%q), %q
try:
    glue.create_database(DatabaseInput={"Name": db})
except glue.exceptions.AlreadyExistsException:
    pass
sd = {"Columns": [{"Name": "customer_id", "Type": "bigint"}, {"Name": "amount", "Type": "decimal(10,2)"},
                  {"Name": "item", "Type": "string"}],
      "Location": loc, "InputFormat": %q, "OutputFormat": %q,
      "SerdeInfo": {"SerializationLibrary": %q, "Parameters": {"serialization.format": "1"}}}
glue.create_table(DatabaseName=db, TableInput={"Name": name, "TableType": "EXTERNAL_TABLE",
    "Parameters": {"classification": "parquet"}, "StorageDescriptor": sd,
    "PartitionKeys": [{"Name": "year", "Type": key_type}, {"Name": "month", "Type": key_type}]})
inputs = []
for y, m in parts:
    psd = dict(sd, Location="%%syear=%%d/month=%%d/" %% (loc, y, m))
    inputs.append({"Values": [str(y), str(m)], "StorageDescriptor": psd})
if inputs:
    glue.batch_create_partition(DatabaseName=db, TableName=name, PartitionInputList=inputs)
print(json.dumps({"ok": True}))
]]):format(db, name, location, json.encode(partitions), key_type or "int", INPUT, OUTPUT, SERDE))
end

local function explain_scans(w, query)
  local plan = {}
  for _, row in ipairs(w:query("EXPLAIN " .. query)) do
    plan[#plan + 1] = row["QUERY PLAN"]
  end
  plan = table.concat(plan, "\n")
  local n = 0
  for _ in plan:gmatch("Foreign Scan") do n = n + 1 end
  return n, plan
end

t.test("Hive types as Spectrum reads them, and back as Glue records Redshift's", function()
  local glue = require("lode.spectrum").glue
  -- AWS: Glue/Hive int, bigint, double, float, string, decimal(p,s) are Redshift's
  -- integer, bigint, double precision, real, varchar, decimal(p,s)
  local cases = { int = "int", bigint = "bigint", double = "double precision", float = "real", string = "varchar(max)",
    ["decimal(12, 2)"] = "decimal(12,2)", tinyint = "smallint", boolean = "boolean", ["varchar(20)"] = "varchar(20)",
    ["char(3)"] = "char(3)", date = "date", timestamp = "timestamp" }
  for hive, want in pairs(cases) do
    t.eq(glue.redshift_type(hive), want, hive)
  end
  local none, why = glue.redshift_type("array<int>")
  t.eq(none, nil)
  t.contains(why, "array<int>")
  local back = { integer = "int", ["double precision"] = "double", real = "float", ["varchar(max)"] = "string",
    ["numeric(10,2)"] = "decimal(10,2)", ["character varying(5)"] = "varchar(5)", text = "string", bigint = "bigint" }
  for rs, want in pairs(back) do
    t.eq(glue.hive_type(rs), want, rs)
  end
end)

t.test("the tutorial's Strategy 2 verbatim through lode sql: Glue's table, DuckDB's sums, one partition read",
    { timeout = 180000 }, function()
  lake()
  wh():exec("DROP SCHEMA IF EXISTS spectrum_schema CASCADE")
  crawler_table("data_lake_db", "sales", "s3://" .. BUCKET .. "/sales/", MONTHS)
  local r = lode_sql([==[
CREATE EXTERNAL SCHEMA spectrum_schema
FROM DATA CATALOG
DATABASE 'data_lake_db'
IAM_ROLE 'arn:aws:iam::123456789012:role/MySpectrumRole'
CREATE EXTERNAL DATABASE IF NOT EXISTS;

SELECT customer_id, SUM(amount) AS total_amount
FROM spectrum_schema.sales
WHERE year = 2024 AND month = 1
GROUP BY customer_id;
]==])
  t.eq(r.status, 0, r.stderr)
  local got = printed_rows(r.stdout)
  table.sort(got, function(a, b) return tonumber(a.customer_id) < tonumber(b.customer_id) end)
  local want = duckdb(("SELECT customer_id::VARCHAR AS customer_id, SUM(amount)::VARCHAR AS total_amount "
    .. "FROM read_parquet('%s/sales/year=2024/month=1/*.parquet', hive_partitioning = false) GROUP BY customer_id")
    :format(dir))
  table.sort(want, function(a, b) return tonumber(a.customer_id) < tonumber(b.customer_id) end)
  t.eq(#want, 4)
  t.eq(got, want)
  local scans, plan = explain_scans(wh(), "SELECT customer_id, SUM(amount) FROM spectrum_schema.sales "
    .. "WHERE year = 2024 AND month = 1 GROUP BY customer_id")
  t.eq(scans, 1, plan)
  t.contains(plan, "year=2024/month=1/", plan)
end)

t.test("Strategy 2's query on a crawler's string partition keys (year string): Redshift's cast, DuckDB's sums, one partition",
    { timeout = 180000 }, function()
  lake()
  wh():exec("DROP SCHEMA IF EXISTS spectrum_crawled CASCADE")
  crawler_table("crawled_lake_db", "sales", "s3://" .. BUCKET .. "/sales/", MONTHS, "string")
  local query = [==[
SELECT customer_id, SUM(amount) AS total_amount
FROM spectrum_crawled.sales
WHERE year = 2024 AND month = 1
GROUP BY customer_id]==]
  local r = lode_sql(([==[
CREATE EXTERNAL SCHEMA spectrum_crawled
FROM DATA CATALOG
DATABASE 'crawled_lake_db'
IAM_ROLE 'arn:aws:iam::123456789012:role/MySpectrumRole';

%s;
]==]):format(query))
  t.eq(r.status, 0, r.stderr)
  local got = printed_rows(r.stdout)
  table.sort(got, function(a, b) return tonumber(a.customer_id) < tonumber(b.customer_id) end)
  local want = duckdb(("SELECT customer_id::VARCHAR AS customer_id, SUM(amount)::VARCHAR AS total_amount "
    .. "FROM read_parquet('%s/sales/year=2024/month=1/*.parquet', hive_partitioning = false) GROUP BY customer_id")
    :format(dir))
  table.sort(want, function(a, b) return tonumber(a.customer_id) < tonumber(b.customer_id) end)
  t.eq(#want, 4)
  t.eq(got, want)
  local rs = lode.warehouse({ url = pg_url, dialect = "postgres", emulate = "redshift" })
  local scans, plan = explain_scans(rs, query)
  t.eq(scans, 1, plan)
  t.contains(plan, "year=2024/month=1/", plan)
  wh():exec("DROP SCHEMA spectrum_crawled CASCADE")
  wh():exec("DELETE FROM lode.spectrum_tables WHERE schema_name = 'spectrum_crawled'")
  wh():exec("DELETE FROM lode.spectrum_partitions WHERE schema_name = 'spectrum_crawled'")
  wh():exec("DELETE FROM lode.spectrum_schemas WHERE schema_name = 'spectrum_crawled'")
  wh():exec("DELETE FROM lode.spectrum_external_schemas WHERE schema_name = 'spectrum_crawled'")
end)

t.test("the scan estimate takes Glue's partitions (filtered by GetPartitions' Expression), no warehouse needed",
    { timeout = 120000 }, function()
  lake()
  local r = lode_lua(([==[
    local spectrum, json = require "lode.spectrum", require "lode.json"
    local lode = require "lode"
    local one = spectrum.estimate(nil, "data_lake_db.sales", { catalog = "glue", columns = { "customer_id", "amount" },
      where = { year = 2024, month = 1 } })
    local year = spectrum.estimate(nil, "data_lake_db.sales", { catalog = "glue", where = { year = { 2024 } } })
    local wh = lode.warehouse({ url = %q, dialect = "postgres" })
    local mirrored = spectrum.estimate(wh, "spectrum_schema.sales", { where = { month = 12 } })
    print(json.encode({ one = one, year = year, mirrored = mirrored }))
  ]==]):format(pg_url))
  t.eq(r.status, 0, r.stderr)
  local e = json.decode(r.stdout)
  local function meta(glob, cols)
    local q = ("SELECT SUM(total_compressed_size)::BIGINT AS r FROM parquet_metadata('%s/sales/%s')"):format(dir, glob)
    if cols then
      q = q .. " WHERE path_in_schema IN ('customer_id', 'amount')"
    end
    return math.tointeger(duckdb(q)[1].r)
  end
  t.eq(e.one.bytes, meta("year=2024/month=1/*.parquet", true))
  t.eq(e.one.partitions, 1)
  t.eq(e.one.files, 1)
  t.eq(e.year.bytes, meta("year=2024/*/*.parquet"))
  t.eq(e.year.partitions, 2)
  t.eq(e.mirrored.bytes, meta("year=2023/month=12/*.parquet"))
  t.eq(e.mirrored.partitions, 1)
end)

t.test("a new Glue partition is seen at the next lode sql; a dropped Glue table goes; refresh mirrors a new table",
    { timeout = 180000 }, function()
  lake()
  -- a partition leaves Glue (its files stay in S3): the next script no longer reads it
  botocore([==[
glue.batch_delete_partition(DatabaseName="data_lake_db", TableName="sales", PartitionsToDelete=[{"Values": ["2023", "12"]}])
print(json.dumps({"ok": True}))
]==])
  local r = lode_sql("SELECT count(*) AS n FROM spectrum_schema.sales WHERE year = 2023;\n")
  t.eq(r.status, 0, r.stderr)
  t.eq(printed_rows(r.stdout)[1].n, "0")
  -- a second table, and a CSV one, appear in Glue; `lode spectrum refresh` mirrors them
  crawler_table("data_lake_db", "sales_copy", "s3://" .. BUCKET .. "/sales/", { { 2024, 2 } })
  botocore([==[
glue.create_table(DatabaseName="data_lake_db", TableInput={"Name": "events_csv", "TableType": "EXTERNAL_TABLE",
    "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
    "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "int"}], "Location": "s3://glue-lake/events/",
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"}}})
print(json.dumps({"ok": True}))
]==])
  r = run_lode({ "spectrum", "refresh", "spectrum_schema", "--warehouse", pg_url })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "3 tables")
  local w = wh()
  local want = duckdb(("SELECT SUM(amount)::VARCHAR AS s FROM read_parquet('%s/sales/year=2024/month=2/*.parquet')")
    :format(dir))[1].s
  t.eq(tostring(w:query("SELECT SUM(amount) AS s FROM spectrum_schema.sales_copy")[1].s), want)
  -- the CSV table is there, read by the text scan (its location is empty;
  -- glue_text_test.lua queries text tables with data, and an ORC one)
  t.eq(tostring(w:query("SELECT count(*) AS n FROM spectrum_schema.events_csv")[1].n), "0")
  -- the table is dropped in Glue: gone locally after the next refresh
  botocore([==[
glue.delete_table(DatabaseName="data_lake_db", Name="sales_copy")
print(json.dumps({"ok": True}))
]==])
  r = run_lode({ "spectrum", "refresh", "spectrum_schema", "--warehouse", pg_url })
  t.eq(r.status, 0, r.stderr)
  t.eq(w:query("SELECT to_regclass('spectrum_schema.sales_copy') AS r")[1].r, core.null)
end)

t.test("CREATE EXTERNAL TABLE, ADD/DROP PARTITION and DROP TABLE on a DATA CATALOG schema write Glue as Redshift does",
    { timeout = 180000 }, function()
  lake()
  wh():exec("DROP SCHEMA IF EXISTS glue_written CASCADE")
  local r = lode_sql([==[
CREATE EXTERNAL SCHEMA glue_written FROM DATA CATALOG DATABASE 'written_db'
IAM_ROLE 'arn:aws:iam::123456789012:role/R' CREATE EXTERNAL DATABASE IF NOT EXISTS;
CREATE EXTERNAL TABLE glue_written.sales (customer_id BIGINT, amount DECIMAL(10,2), item VARCHAR(40), note STRING,
  ratio DOUBLE PRECISION, flag BOOLEAN)
PARTITIONED BY (year INT, month INT)
STORED AS PARQUET
LOCATION 's3://glue-lake/sales/'
TABLE PROPERTIES ('numRows'='33');
ALTER TABLE glue_written.sales ADD IF NOT EXISTS
  PARTITION (year=2024, month=1) LOCATION 's3://glue-lake/sales/year=2024/month=1/'
  PARTITION (year=2024, month=2) LOCATION 's3://glue-lake/sales/year=2024/month=2/';
ALTER TABLE glue_written.sales DROP PARTITION (year=2024, month=2);
]==])
  t.eq(r.status, 0, r.stderr)
  local g = botocore([==[
t = glue.get_table(DatabaseName="written_db", Name="sales")["Table"]
parts = glue.get_partitions(DatabaseName="written_db", TableName="sales")["Partitions"]
print(json.dumps({"type": t.get("TableType"), "params": t.get("Parameters"), "keys": t.get("PartitionKeys"),
  "sd": {k: t["StorageDescriptor"].get(k) for k in ("Columns", "Location", "InputFormat", "OutputFormat", "SerdeInfo")},
  "parts": sorted([[p["Values"], p["StorageDescriptor"]["Location"]] for p in parts])}))
]==])
  t.eq(g.type, "EXTERNAL_TABLE")
  t.eq(g.params, { EXTERNAL = "TRUE", numRows = "33" })
  t.eq(g.keys, { { Name = "year", Type = "int" }, { Name = "month", Type = "int" } })
  t.eq(g.sd.Columns, { { Name = "customer_id", Type = "bigint" }, { Name = "amount", Type = "decimal(10,2)" },
    { Name = "item", Type = "varchar(40)" }, { Name = "note", Type = "string" }, { Name = "ratio", Type = "double" },
    { Name = "flag", Type = "boolean" } })
  t.eq(g.sd.Location, "s3://glue-lake/sales/")
  t.eq(g.sd.InputFormat, INPUT)
  t.eq(g.sd.OutputFormat, OUTPUT)
  t.eq(g.sd.SerdeInfo.SerializationLibrary, SERDE)
  t.eq(g.parts, { { { "2024", "1" }, "s3://glue-lake/sales/year=2024/month=1/" } })
  -- the local table reads what Glue says
  local want = duckdb(("SELECT SUM(amount)::VARCHAR AS s FROM read_parquet('%s/sales/year=2024/month=1/*.parquet')")
    :format(dir))[1].s
  t.eq(tostring(wh():query("SELECT SUM(amount) AS s FROM glue_written.sales")[1].s), want)
  -- SET LOCATION, of a partition and of the table
  r = lode_sql([==[
ALTER TABLE glue_written.sales PARTITION (year=2024, month=1) SET LOCATION 's3://glue-lake/sales/year=2023/month=12/';
ALTER TABLE glue_written.sales SET LOCATION 's3://glue-lake/moved/';
]==])
  t.eq(r.status, 0, r.stderr)
  g = botocore([==[
t = glue.get_table(DatabaseName="written_db", Name="sales")["Table"]
parts = glue.get_partitions(DatabaseName="written_db", TableName="sales")["Partitions"]
print(json.dumps({"loc": t["StorageDescriptor"]["Location"],
  "parts": sorted([[p["Values"], p["StorageDescriptor"]["Location"]] for p in parts])}))
]==])
  t.eq(g.loc, "s3://glue-lake/moved/")
  t.eq(g.parts, { { { "2024", "1" }, "s3://glue-lake/sales/year=2023/month=12/" } })
  want = duckdb(("SELECT SUM(amount)::VARCHAR AS s FROM read_parquet('%s/sales/year=2023/month=12/*.parquet')")
    :format(dir))[1].s
  t.eq(tostring(wh():query("SELECT SUM(amount) AS s FROM glue_written.sales")[1].s), want)
  r = lode_sql("DROP TABLE glue_written.sales;\n")
  t.eq(r.status, 0, r.stderr)
  local gone = botocore([==[
try:
    glue.get_table(DatabaseName="written_db", Name="sales")
    print(json.dumps({"gone": False}))
except glue.exceptions.EntityNotFoundException:
    print(json.dumps({"gone": True}))
]==])
  t.eq(gone.gone, true)
end)

t.test("CREATE EXTERNAL SCHEMA without CREATE EXTERNAL DATABASE fails naming the missing Glue database",
    { timeout = 60000 }, function()
  local r = lode_sql("CREATE EXTERNAL SCHEMA no_such FROM DATA CATALOG DATABASE 'no_such_db' IAM_ROLE 'arn:aws:iam::1:role/R';\n")
  t.ne(r.status, 0)
  t.contains(r.stderr, "no Glue database no_such_db")
  t.eq(wh():query("SELECT to_regnamespace('no_such') AS r")[1].r, core.null)
end)

t.test("sync --glue: 300 folders in 3 BatchCreatePartition calls, then none; a deleted prefix is removed",
    { timeout = 240000 }, function()
  lake()
  local s3 = require "lode.s3"
  local jobs = {}
  for y = 2000, 2029 do
    for m = 1, 10 do
      jobs[#jobs + 1] = function()
        s3.put(("s3://%s/wide/year=%d/month=%02d/part-0.parquet"):format(BUCKET, y, m), "x")
      end
    end
  end
  lode.all(jobs)
  crawler_table("sync_db", "wide", "s3://" .. BUCKET .. "/wide/", {})
  -- the Glue write calls as moto's request recorder saw them: partitions per call
  local function moto_recorder(action)
    return botocore(([==[
import urllib.request, base64
def api(path, method="POST"):
    req = urllib.request.Request(%q + "/moto-api/recorder/" + path, data=b"" if method == "POST" else None, method=method)
    return urllib.request.urlopen(req).read().decode()
action = %q
calls = {"create": [], "delete": [], "other_writes": 0}
if action == "start":
    api("reset-recording")
    api("start-recording")
else:
    text = api("download-recording", "GET")
    api("stop-recording")
    for line in text.splitlines():
        e = json.loads(line)
        target = {k.lower(): v for k, v in e["headers"].items()}.get("x-amz-target", "")
        if not target.startswith("AWSGlue."):
            continue
        body = e.get("body") or "{}"
        body = json.loads(base64.b64decode(body) if e.get("body_encoded") else body)
        op = target.split(".", 1)[1]
        if op == "BatchCreatePartition":
            calls["create"].append(len(body["PartitionInputList"]))
        elif op == "BatchDeletePartition":
            calls["delete"].append(len(body["PartitionsToDelete"]))
        elif not op.startswith("Get"):
            calls["other_writes"] += 1
print(json.dumps(calls))
]==]):format(glue_ep, action))
  end
  local function sync()
    moto_recorder("start")
    local r = run_lode({ "--log-level", "debug", "--log-format", "json", "spectrum", "sync", "--glue", "sync_db.wide" })
    t.eq(r.status, 0, r.stderr)
    local seen = moto_recorder("stop")
    t.eq(seen.other_writes, 0, "no Glue write call but Batch{Create,Delete}Partition")
    local calls = { create = {}, delete = {} }
    for line in r.stderr:gmatch("[^\n]+") do
      local ok, e = pcall(json.decode, line)
      if ok and type(e) == "table" and e.msg == "glue: BatchCreatePartition" then
        calls.create[#calls.create + 1] = e.fields.partitions
      elseif ok and type(e) == "table" and e.msg == "glue: BatchDeletePartition" then
        calls.delete[#calls.delete + 1] = e.fields.partitions
      end
    end
    -- what lode logged is what moto received
    t.eq(seen.create, calls.create, "BatchCreatePartition calls")
    t.eq(seen.delete, calls.delete, "BatchDeletePartition calls")
    return seen, r
  end
  local calls, r = sync()
  t.eq(calls.create, { 100, 100, 100 }, r.stderr)
  t.eq(calls.delete, {})
  calls = sync()
  t.eq(calls.create, {})
  t.eq(calls.delete, {})
  for m = 1, 10 do
    s3.delete(("s3://%s/wide/year=2003/month=%02d/part-0.parquet"):format(BUCKET, m))
  end
  calls = sync()
  t.eq(calls.create, {})
  t.eq(calls.delete, { 10 })
  local g = botocore([==[
out, token = [], None
while True:
    kw = {"DatabaseName": "sync_db", "TableName": "wide"}
    if token: kw["NextToken"] = token
    page = glue.get_partitions(**kw)
    out += ["/".join(p["Values"]) + " " + p["StorageDescriptor"]["Location"] for p in page["Partitions"]]
    token = page.get("NextToken")
    if not token: break
print(json.dumps(sorted(out)))
]==])
  local want = {}
  for y = 2000, 2029 do
    for m = 1, 10 do
      if y ~= 2003 then
        want[#want + 1] = ("%d/%02d s3://%s/wide/year=%d/month=%02d/"):format(y, m, BUCKET, y, m)
      end
    end
  end
  table.sort(want)
  t.eq(g, want)
end)

t.test("spectrum.table{catalog = 'glue'}: columns from the footers, the Parquet SerDe and formats in Glue",
    { timeout = 120000 }, function()
  lake()
  local r = lode_lua(([[
    local lode, spectrum = require "lode", require "lode.spectrum"
    local wh = lode.warehouse({ url = %q, dialect = "postgres" })
    spectrum.glue.create_database("inferred_db")
    spectrum.table(wh, { name = "glue_inferred.sales", location = "s3://glue-lake/sales/", catalog = "glue",
      database = "inferred_db", partitions = { { "year", "int" }, { "month", "int" } }, replace = true })
  ]]):format(pg_url))
  t.eq(r.status, 0, r.stderr)
  local g = botocore([==[
t = glue.get_table(DatabaseName="inferred_db", Name="sales")["Table"]
sd = t["StorageDescriptor"]
print(json.dumps({"cols": sd["Columns"], "keys": t["PartitionKeys"], "serde": sd["SerdeInfo"]["SerializationLibrary"],
  "in": sd["InputFormat"], "out": sd["OutputFormat"], "type": t["TableType"], "ext": t["Parameters"]["EXTERNAL"]}))
]==])
  -- DuckDB wrote BIGINT, DECIMAL(10,2), VARCHAR: Hive's bigint, decimal(10,2), string
  local d = duckdb(("SELECT column_name AS n, column_type AS t FROM (DESCRIBE SELECT * FROM "
    .. "read_parquet('%s/sales/year=2024/month=1/part-0.parquet', hive_partitioning = false))"):format(dir))
  local hive = { BIGINT = "bigint", ["DECIMAL(10,2)"] = "decimal(10,2)", VARCHAR = "string" }
  local want = {}
  for i, c in ipairs(d) do
    want[i] = { Name = c.n, Type = hive[c.t] or c.t }
  end
  t.eq(g.cols, want)
  t.eq(g.keys, { { Name = "year", Type = "int" }, { Name = "month", Type = "int" } })
  t.eq(g.serde, SERDE)
  t.eq(g["in"], INPUT)
  t.eq(g.out, OUTPUT)
  t.eq(g.type, "EXTERNAL_TABLE")
  t.eq(g.ext, "TRUE")
end)

-- tests run in the order registered: this one last
t.test("moto stops with lode dev down", function()
  local pid = tonumber(moto_env.LODE_DEV_MOTO_PID)
  dev.down({ dir = stack })
  os.remove("moto_recording") -- the request recorder's file, in moto's (this test's) working directory
  local f = io.open("/proc/" .. pid .. "/stat", "r")
  local stat = f and f:read("a") or ""
  if f then f:close() end
  t.ok(stat == "" or stat:match("^%d+ %b() Z") ~= nil, "moto_server still running: " .. stat)
  wh():exec("DROP SCHEMA IF EXISTS spectrum_schema CASCADE")
  wh():exec("DROP SCHEMA IF EXISTS glue_written CASCADE")
  wh():exec("DROP SCHEMA IF EXISTS glue_inferred CASCADE")
  for _, tbl in ipairs({ "spectrum_schemas", "spectrum_tables", "spectrum_partitions" }) do
    wh():exec("DELETE FROM lode." .. tbl .. " WHERE schema_name IN ('spectrum_schema', 'glue_written', 'glue_inferred')")
  end
end)
