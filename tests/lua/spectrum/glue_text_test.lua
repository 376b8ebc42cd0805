-- Glue text tables, string partition keys and incremental partition sync,
-- against moto's Glue (started here) with the data in the suite's S3 and
-- PostgreSQL as the warehouse. Tables are created with botocore as a crawler
-- or Athena would; the lode runs are child processes given
-- AWS_ENDPOINT_URL_GLUE. Oracles: botocore for what Glue holds, DuckDB for
-- query results over the same files.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"
local dev = require "lode.dev"
local fs = require "lode.fs"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local BUCKET = "glue-text"

local E = dofile(root .. "/tests/lua/spectrum/glue_env.lua")
local pg_url, s3_endpoint, dir, stack, moto_env, glue_ep = E.pg_url, E.s3_endpoint, E.dir, E.stack, E.moto_env, E.glue_ep
local wh, duckdb, botocore, run_lode, lode_sql = E.wh, E.duckdb, E.botocore, E.run_lode, E.lode_sql

local bucket_ready
local function put(rel, bytes)
  if not bucket_ready then
    local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", s3_endpoint .. "/" .. BUCKET })
    t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
    bucket_ready = true
  end
  local path = dir .. "/" .. rel
  fs.mkdir(path:match("^(.*)/[^/]*$"), true)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  require("lode.s3").upload(path, "s3://" .. BUCKET .. "/" .. rel)
  return path
end

-- rows of a query as lists of strings, in order (redshift: read as Redshift SQL)
local function pg_rows(q, redshift)
  local out = {}
  local w = redshift and lode.warehouse({ url = pg_url, dialect = "postgres", emulate = "redshift" }) or wh()
  for i, row in ipairs(w:query(q)) do
    out[i] = row.r
  end
  return out
end

local function duck_rows(...)
  local out = {}
  for i, row in ipairs(duckdb(...)) do
    out[i] = row.r
  end
  return out
end

local TEXT_IN = "org.apache.hadoop.mapred.TextInputFormat"
local TEXT_OUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

t.test("Glue CSV (OpenCSVSerde), JSON (JsonSerDe) and TEXTFILE tables mirror onto the text scan: DuckDB's rows",
    { timeout = 240000 }, function()
  wh():exec("DROP SCHEMA IF EXISTS glue_text CASCADE")
  local csv = put("csv/part-0.csv", 'id,name,amount\n1,"Smith, Jo",12.50\n2,plain,0.10\n3,"say ""hi""",-7.00\n'
    .. '4,,3.25\n')
  local js = put("json/part-0.json", '{"id": 10, "Name": "ten", "score": 1.5}\n{"id": 11, "Name": null, "score": 2}\n'
    .. '{"id": 12, "Name": "twelve", "score": -0.25}\n')
  local txt = put("txt/part-0", "100|alpha|\\N\n101|beta|7\n102||8\n")
  local orc = put("orc/part-0.orc", "not really orc")
  botocore(([==[
database("text_db")
def table(name, loc, cols, lib, sp, params, inp=%q, out=%q):
    glue.create_table(DatabaseName="text_db", TableInput={"Name": name, "TableType": "EXTERNAL_TABLE",
        "Parameters": params, "StorageDescriptor": {"Columns": cols, "Location": loc, "InputFormat": inp,
        "OutputFormat": out, "SerdeInfo": {"SerializationLibrary": lib, "Parameters": sp}}})
table("people_csv", "s3://glue-text/csv/", [{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"},
      {"Name": "amount", "Type": "decimal(8,2)"}],
      "org.apache.hadoop.hive.serde2.OpenCSVSerde", {"separatorChar": ",", "quoteChar": "\"", "escapeChar": "\""},
      {"classification": "csv", "skip.header.line.count": "1", "sizeKey": "80", "UPDATED_BY_CRAWLER": "c"})
table("scores_json", "s3://glue-text/json/", [{"Name": "id", "Type": "bigint"}, {"Name": "name", "Type": "string"},
      {"Name": "score", "Type": "double"}],
      "org.openx.data.jsonserde.JsonSerDe", {"paths": "id,Name,score"}, {"classification": "json"})
table("plain_txt", "s3://glue-text/txt/", [{"Name": "id", "Type": "int"}, {"Name": "word", "Type": "string"},
      {"Name": "n", "Type": "int"}],
      "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe", {"field.delim": "|", "serialization.format": "|"}, {})
table("events_orc", "s3://glue-text/orc/", [{"Name": "id", "Type": "int"}],
      "org.apache.hadoop.hive.ql.io.orc.OrcSerde", {}, {"classification": "orc"},
      "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat", "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat")
print(json.dumps({"ok": True}))
]==]):format(TEXT_IN, TEXT_OUT))
  local r = lode_sql([==[
CREATE EXTERNAL SCHEMA glue_text FROM DATA CATALOG DATABASE 'text_db'
IAM_ROLE 'arn:aws:iam::123456789012:role/R';
]==])
  t.eq(r.status, 0, r.stderr)
  -- the table lode cannot scan is reported when it is mirrored, naming it and its format
  t.contains(r.stderr, "glue_text.events_orc")
  t.contains(r.stderr, "ORC")
  t.eq(pg_rows("SELECT concat_ws('/', id, coalesce(name, '<null>'), amount) AS r FROM glue_text.people_csv ORDER BY id"),
    duck_rows(("SELECT concat_ws('/', id, coalesce(name, '<null>'), amount) AS r FROM read_csv('%s', header = true, "
      .. "quote = '\"', escape = '\"', nullstr = 'no-null-text', columns = {'id': 'INTEGER', 'name': 'VARCHAR', 'amount': 'DECIMAL(8,2)'}) "
      .. "ORDER BY id"):format(csv)))
  -- OpenCSVSerde reads an empty field as '', never NULL
  t.eq(pg_rows("SELECT count(*)::text AS r FROM glue_text.people_csv WHERE name = ''"), { "1" })
  -- the JsonSerDe matches keys case-insensitively (its default)
  t.eq(pg_rows("SELECT concat_ws('/', id, coalesce(name, '<null>'), (score * 100)::bigint) AS r FROM glue_text.scores_json ORDER BY id"),
    duck_rows(("SELECT concat_ws('/', id, coalesce(Name, '<null>'), (score * 100)::BIGINT) AS r FROM read_json('%s', "
      .. "columns = {'id': 'BIGINT', 'Name': 'VARCHAR', 'score': 'DOUBLE'}) ORDER BY id"):format(js)))
  t.eq(pg_rows("SELECT concat_ws('/', id, coalesce(word, '<null>'), coalesce(n::text, '<null>')) AS r "
      .. "FROM glue_text.plain_txt ORDER BY id"),
    duck_rows(("SELECT concat_ws('/', id, coalesce(word, '<null>'), coalesce(n::text, '<null>')) AS r FROM "
      .. "read_csv('%s', delim = '|', header = false, nullstr = '\\N', quote = '', escape = '', "
      .. "columns = {'id': 'INTEGER', 'word': 'VARCHAR', 'n': 'INTEGER'}) ORDER BY id"):format(txt)))
  -- ORC is mirrored, and only its query fails, naming the table and the format
  local w = wh()
  local ok, err = pcall(w.query, w, "SELECT * FROM glue_text.events_orc")
  t.ok(not ok, "the ORC table's query fails")
  t.contains(tostring(err), "glue_text.events_orc")
  t.contains(tostring(err), "ORC")
  t.ok(orc ~= nil)
  -- a changed SerDe parameter in Glue re-mirrors the table at the next script
  botocore([==[
t = glue.get_table(DatabaseName="text_db", Name="plain_txt")["Table"]
sd = t["StorageDescriptor"]
sd["SerdeInfo"]["Parameters"] = {"field.delim": ",", "serialization.format": ","}
glue.update_table(DatabaseName="text_db", TableInput={"Name": "plain_txt", "TableType": "EXTERNAL_TABLE",
    "Parameters": t.get("Parameters", {}), "StorageDescriptor": sd})
print(json.dumps({"ok": True}))
]==])
  put("txt/part-0", "200,gamma,1\n")
  r = lode_sql("SELECT concat_ws('/', id, word, n) AS r FROM glue_text.plain_txt;\n")
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "200/gamma/1")
end)

local function explain_scans(q)
  local plan = {}
  local w = lode.warehouse({ url = pg_url, dialect = "postgres", emulate = "redshift" })
  for _, row in ipairs(w:query("EXPLAIN " .. q)) do
    plan[#plan + 1] = row["QUERY PLAN"]
  end
  plan = table.concat(plan, "\n")
  local n = 0
  for _ in plan:gmatch("Foreign Scan") do n = n + 1 end
  return n, plan
end

-- string partition keys, as a crawler registers them, over '|' text files
local KEYS = { { "2023", "12" }, { "2024", "01" }, { "2024", "02" } }
local function keyed_files()
  local files = {}
  for i, k in ipairs(KEYS) do
    local rows = {}
    for j = 1, 3 + i do
      rows[#rows + 1] = ("%d|%d\n"):format(i * 100 + j, j * i)
    end
    files[i] = put(("keyed/year=%s/month=%s/part-0"):format(k[1], k[2]), table.concat(rows))
  end
  return files
end

t.test("string partition keys: year = 2024 casts as Redshift does and prunes, year = '2024' compares strings",
    { timeout = 240000 }, function()
  local files = keyed_files()
  botocore(([==[
database("text_db")
parts = json.loads(%q)
sd = {"Columns": [{"Name": "id", "Type": "int"}, {"Name": "n", "Type": "int"}], "Location": "s3://glue-text/keyed/",
      "InputFormat": %q, "OutputFormat": %q,
      "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe",
                    "Parameters": {"field.delim": "|"}}}
glue.create_table(DatabaseName="text_db", TableInput={"Name": "keyed", "TableType": "EXTERNAL_TABLE",
    "StorageDescriptor": sd, "PartitionKeys": [{"Name": "year", "Type": "string"}, {"Name": "month", "Type": "string"}]})
glue.batch_create_partition(DatabaseName="text_db", TableName="keyed", PartitionInputList=[
    {"Values": [y, m], "StorageDescriptor": dict(sd, Location="s3://glue-text/keyed/year=%%s/month=%%s/" %% (y, m))}
    for y, m in parts])
print(json.dumps({"ok": True}))
]==]):format(json.encode(KEYS), TEXT_IN, TEXT_OUT))
  local r = run_lode({ "spectrum", "refresh", "glue_text", "--warehouse", pg_url })
  t.eq(r.status, 0, r.stderr)
  local function duck_sum(idx)
    local list = {}
    for _, i in ipairs(idx) do list[#list + 1] = "'" .. files[i] .. "'" end
    return duck_rows(("SELECT coalesce(sum(id), 0)::VARCHAR AS r FROM read_csv([%s], delim = '|', header = false, "
      .. "columns = {'id': 'INTEGER', 'n': 'INTEGER'})"):format(table.concat(list, ", ")))[1]
  end
  local function pg_sum(where)
    -- Redshift SQL: lode writes Redshift's cast (no text/number operator exists)
    return pg_rows("SELECT coalesce(sum(id), 0)::text AS r FROM glue_text.keyed WHERE " .. where, true)[1]
  end
  -- the number: '2024' = 2024, '01' = 1 (Redshift casts the string to the number's type)
  t.eq(pg_sum("year = 2024"), duck_sum({ 2, 3 }))
  t.eq(pg_sum("year = 2024 AND month = 1"), duck_sum({ 2 }))
  t.eq(pg_sum("month >= 2"), duck_sum({ 1, 3 }))
  t.eq(pg_sum("year = 2024.0"), duck_sum({ 2, 3 }))
  -- the string: '01' <> '1'
  t.eq(pg_sum("year = '2024' AND month = '01'"), duck_sum({ 2 }))
  t.eq(pg_sum("month = '1'"), "0")
  -- both prune: only the matching partitions are scanned
  local n, plan = explain_scans("SELECT sum(id) FROM glue_text.keyed WHERE year = 2024 AND month = 1")
  t.eq(n, 1, plan)
  t.contains(plan, "year=2024/month=01/")
  n, plan = explain_scans("SELECT sum(id) FROM glue_text.keyed WHERE year = '2024'")
  t.eq(n, 2, plan)
  n, plan = explain_scans("SELECT sum(id) FROM glue_text.keyed WHERE year = 2023")
  t.eq(n, 1, plan)
  t.contains(plan, "year=2023/month=12/")
end)

-- `lode spectrum sync --glue` with --log-level debug: the folders listed and
-- the partitions per BatchCreatePartition / BatchDeletePartition call
local function sync(...)
  local r = run_lode({ "--log-level", "debug", "--log-format", "json", "spectrum", "sync", "--glue", "text_db.dated", ... })
  t.eq(r.status, 0, r.stderr)
  local got = { listed = {}, create = {}, delete = {} }
  for line in r.stderr:gmatch("[^\n]+") do
    local ok, e = pcall(json.decode, line)
    if ok and type(e) == "table" then
      if e.msg == "spectrum: list folders" then
        got.listed[#got.listed + 1] = e.fields.url:gsub("^s3://glue%-text/dated/", "")
      elseif e.msg == "glue: BatchCreatePartition" then
        got.create[#got.create + 1] = e.fields.partitions
      elseif e.msg == "glue: BatchDeletePartition" then
        got.delete[#got.delete + 1] = e.fields.partitions
      end
    end
  end
  table.sort(got.listed)
  return got, r
end

local function glue_partitions()
  return botocore([==[
out, token = [], None
while True:
    kw = {"DatabaseName": "text_db", "TableName": "dated"}
    if token: kw["NextToken"] = token
    page = glue.get_partitions(**kw)
    out += ["/".join(p["Values"]) for p in page["Partitions"]]
    token = page.get("NextToken")
    if not token: break
print(json.dumps(sorted(out)))
]==])
end

t.test("sync --glue --since: only the folders at or after the watermark are listed, and only those pruned",
    { timeout = 240000 }, function()
  local s3 = require "lode.s3"
  local jobs, want = {}, {}
  for y = 2019, 2024 do
    for m = 1, 12 do
      jobs[#jobs + 1] = function()
        s3.put(("s3://%s/dated/year=%d/month=%02d/part-0"):format(BUCKET, y, m), "1\n")
      end
      want[#want + 1] = ("%d/%02d"):format(y, m)
    end
  end
  lode.all(jobs)
  botocore(([==[
database("text_db")
glue.create_table(DatabaseName="text_db", TableInput={"Name": "dated", "TableType": "EXTERNAL_TABLE",
    "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "int"}], "Location": "s3://glue-text/dated/",
        "InputFormat": %q, "OutputFormat": %q,
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"}},
    "PartitionKeys": [{"Name": "year", "Type": "int"}, {"Name": "month", "Type": "string"}]})
print(json.dumps({"ok": True}))
]==]):format(TEXT_IN, TEXT_OUT))
  -- the first sync lists the root and every year
  local got, r = sync()
  local years = { "" }
  for y = 2019, 2024 do years[#years + 1] = ("year=%d/"):format(y) end
  t.eq(got.listed, years, r.stderr)
  t.eq(got.create, { 72 })
  -- new months in 2025; 2019 deleted: --since 2025 lists the root and year=2025 only, and prunes nothing older
  for _, m in ipairs({ "01", "02" }) do
    s3.put(("s3://%s/dated/year=2025/month=%s/part-0"):format(BUCKET, m), "1\n")
    want[#want + 1] = "2025/" .. m
  end
  for m = 1, 12 do
    s3.delete(("s3://%s/dated/year=2019/month=%02d/part-0"):format(BUCKET, m))
  end
  got, r = sync("--since", "2025")
  t.eq(got.listed, { "", "year=2025/" }, r.stderr)
  t.eq(got.create, { 2 })
  t.eq(got.delete, {})
  -- --since latest: the newest partition in Glue (2025/02); month 10 sorts after 02 as a number and as text
  for _, m in ipairs({ "03", "10" }) do
    s3.put(("s3://%s/dated/year=2025/month=%s/part-0"):format(BUCKET, m), "1\n")
    want[#want + 1] = "2025/" .. m
  end
  got, r = sync("--since", "latest")
  t.eq(got.listed, { "", "year=2025/" }, r.stderr)
  t.eq(got.create, { 2 })
  t.eq(got.delete, {})
  table.sort(want)
  t.eq(glue_partitions(), want)
  -- a full sync then removes 2019
  got = sync()
  t.eq(got.delete, { 12 })
  local after = {}
  for _, v in ipairs(want) do
    if not v:match("^2019/") then after[#after + 1] = v end
  end
  t.eq(glue_partitions(), after)
end)

t.test("since watermarks: values by level, numbers compared as numbers", function()
  local discover = require "lode.spectrum.discover"
  local parts = { { name = "year", type = "int" }, { name = "month", type = "string" } }
  t.eq(discover.since_values(parts, "2024/06"), { "2024", "06" })
  t.eq(discover.since_values(parts, { year = 2024 }), { "2024" })
  t.eq(discover.since_values(parts, { 2024, 6 }), { "2024", "6" })
  t.ok(discover.before_since({ "2024", "05" }, { "2024", "06" }))
  t.ok(not discover.before_since({ "2024", "10" }, { "2024", "6" }))
  t.ok(discover.before_since({ "999" }, { "2024" }))
  t.ok(discover.before_since({ "2024-05-31" }, { "2024-06-01" }))
  t.ok(not discover.before_since({ "2024", "01" }, { "2024" }))
  local ok, e = pcall(discover.since_values, parts, { day = 1 })
  t.ok(not ok)
  t.contains(tostring(e.message or e), "day")
end)

-- A CSV (OpenCSVSerde) table id int, tag string at s3://glue-text/<name>/,
-- created in moto's Glue after the schema was mirrored.
local function glue_csv_table(name)
  botocore(([==[
database("text_db")
glue.create_table(DatabaseName="text_db", TableInput={"Name": %q, "TableType": "EXTERNAL_TABLE",
    "StorageDescriptor": {"Columns": [{"Name": "id", "Type": "int"}, {"Name": "tag", "Type": "string"}],
        "Location": %q, "InputFormat": %q, "OutputFormat": %q,
        "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.serde2.OpenCSVSerde"}}})
print(json.dumps({"ok": True}))
]==]):format(name, "s3://glue-text/" .. name .. "/", TEXT_IN, TEXT_OUT))
end

t.test("lode run refreshes the Glue mirror of the schemas its pipeline's sources name before the tasks run",
    { timeout = 240000 }, function()
  local csv = put("later/part-0.csv", "1,a\n2,b\n40,c\n")
  -- a Glue table that appears after the schema was mirrored
  glue_csv_table("later")
  t.eq(wh():query("SELECT to_regclass('glue_text.later') IS NULL AS r")[1].r, true)
  local pdir = dir .. "/pipe"
  fs.mkdir(pdir .. "/sql", true)
  local f = assert(io.open(pdir .. "/sql/total.sql", "w"))
  f:write("SELECT sum(id)::text AS r FROM glue_text.later\n")
  f:close()
  f = assert(io.open(pdir .. "/pipeline.lua", "w"))
  f:write(([==[
local lode = require "lode"
local wh = lode.warehouse({ url = %q, dialect = "postgres" })
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$")
return lode.pipeline "glue_refresh" {
  lode.task "total" { function()
    local q = assert(io.open(here .. "/sql/total.sql")):read("a")
    io.stdout:write("TOTAL ", wh:query(q)[1].r, "\n")
  end },
}
]==]):format(pg_url))
  f:close()
  local r = run_lode({ "run", pdir .. "/pipeline.lua" })
  t.eq(r.status, 0, r.stderr)
  local want = duck_rows(("SELECT sum(id)::VARCHAR AS r FROM read_csv('%s', header = false, "
    .. "columns = {'id': 'INTEGER', 'tag': 'VARCHAR'})"):format(csv))[1]
  t.contains(r.stdout, "TOTAL " .. want)
end)

t.test("lode run refreshes the mirror at the first use of a warehouse opened inside a task; a concurrent task waits for it",
    { timeout = 240000 }, function()
  local csv = put("inside/part-0.csv", "5,a\n6,b\n700,c\n")
  glue_csv_table("inside")
  t.eq(wh():query("SELECT to_regclass('glue_text.inside') IS NULL AS r")[1].r, true)
  local pdir = dir .. "/pipe_inside"
  fs.mkdir(pdir, true)
  local f = assert(io.open(pdir .. "/pipeline.lua", "w"))
  -- no warehouse at the top level: both tasks open it (one handle) when they run
  f:write(([==[
local lode = require "lode"
local handle
local function warehouse()
  handle = handle or lode.warehouse({ url = %q, dialect = "postgres", pool = 4 })
  return handle
end
local function total(label)
  return function()
    local r = warehouse():query("SELECT sum(id)::text AS r FROM glue_text.inside")[1].r
    io.stdout:write(label, " ", r, "\n")
  end
end
return lode.pipeline "glue_refresh_inside" {
  lode.task "a" { total("A") },
  lode.task "b" { total("B") },
}
]==]):format(pg_url))
  f:close()
  local r = run_lode({ "run", pdir .. "/pipeline.lua" })
  t.eq(r.status, 0, r.stderr)
  local want = duck_rows(("SELECT sum(id)::VARCHAR AS r FROM read_csv('%s', header = false, "
    .. "columns = {'id': 'INTEGER', 'tag': 'VARCHAR'})"):format(csv))[1]
  t.contains(r.stdout, "A " .. want)
  t.contains(r.stdout, "B " .. want)
end)

-- tests run in the order registered: this one last
t.test("moto stops with lode dev down", function()
  dev.down({ dir = stack })
  wh():exec("DROP SCHEMA IF EXISTS glue_text CASCADE")
  for _, tbl in ipairs({ "spectrum_schemas", "spectrum_tables", "spectrum_partitions" }) do
    wh():exec("DELETE FROM lode." .. tbl .. " WHERE schema_name IN ('glue_text')")
  end
end)
