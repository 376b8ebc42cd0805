-- Text external tables on the PostgreSQL emulation, end to end against
-- PostgreSQL + s3rver: the CREATE EXTERNAL TABLE examples of AWS's Spectrum
-- guide and dbt-external-tables' rendered Redshift SQL, run through lode's
-- SQL runner over files generated here in the documented layouts; every
-- query's answer equals DuckDB's (read_csv / read_json) over the same files.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local root = os.getenv("LODE_ROOT") or "."
local BUCKET = "spectrum-text"
local S3 = "s3://" .. BUCKET .. "/"

local function duckdb(...)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ... }, { timeout = 120000 })
  t.eq(r.status, 0, "duckdb.js: " .. (r.stdout or "") .. (r.stderr or ""))
  return require("lode.json").decode(r.stdout)
end

local env

local function write(rel, bytes)
  local path = env.dir .. "/" .. rel
  require("lode.fs").mkdir(path:match("^(.*)/[^/]*$"), true)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  require("lode.s3").upload(path, S3 .. rel)
  return path
end

local function gzip(path)
  local r = proc.run({ "gzip", "-kf", path })
  t.eq(r.status, 0, r.stderr)
  return path .. ".gz"
end

local function setup()
  if env then
    return env
  end
  t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  local wh = lode.warehouse({ url = os.getenv("LODE_TEST_PG_URL"), dialect = "postgres" })
  wh:exec("DROP SCHEMA IF EXISTS spectrum CASCADE")
  wh:exec("DROP SCHEMA IF EXISTS dbt_ext CASCADE")
  env = { dir = t.tmpdir(), wh = wh }
  return env
end

-- The TICKIT sales layout of AWS's Spectrum guide: salesid, listid,
-- sellerid, buyerid, eventid, dateid, qtysold, pricepaid, commission, saletime.
local function sales_rows(first, n, month, delim)
  local out = {}
  for i = first, first + n - 1 do
    local price = (i * 37 % 1000) + (i % 100) / 100
    out[#out + 1] = table.concat({ i, i * 3 % 997, i % 50 + 1, i % 70 + 1, i % 13 + 1, 1800 + i % 300,
      i % 4 + 1, ("%.2f"):format(price), ("%.2f"):format(price * 0.15 - (price * 0.15) % 0.01),
      ("2008-%02d-%02d %02d:%02d:%02d"):format(month, i % 28 + 1, i % 24, i % 60, (i * 7) % 60) }, delim) .. "\n"
  end
  return table.concat(out)
end

local SALES_COLS = "{'salesid':'INTEGER','listid':'INTEGER','sellerid':'INTEGER','buyerid':'INTEGER',"
  .. "'eventid':'INTEGER','dateid':'SMALLINT','qtysold':'SMALLINT','pricepaid':'DECIMAL(8,2)',"
  .. "'commission':'DECIMAL(8,2)','saletime':'TIMESTAMP'}"

local function pg_rows(q)
  local out = {}
  for i, row in ipairs(env.wh:query(q)) do
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

t.test("AWS guide: spectrum.sales, tab-delimited TEXTFILE, one gzip'd object and one plain", { timeout = 180000 }, function()
  local E = setup()
  -- https://docs.aws.amazon.com/redshift/latest/dg/c-getting-started-using-spectrum-create-external-table.html
  local a = write("tickit/spectrum/sales/sales_a.txt", sales_rows(1, 400, 2, "\t"))
  local gz = gzip(a)
  require("lode.s3").delete(S3 .. "tickit/spectrum/sales/sales_a.txt")
  require("lode.s3").upload(gz, S3 .. "tickit/spectrum/sales/sales_a.txt.gz")
  local b = write("tickit/spectrum/sales/sales_b.txt", sales_rows(401, 300, 3, "\t"))
  sqlrun.run(E.wh, [[
create external schema spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;

create external table spectrum.sales(
salesid integer,
listid integer,
sellerid integer,
buyerid integer,
eventid integer,
dateid smallint,
qtysold smallint,
pricepaid decimal(8,2),
commission decimal(8,2),
saletime timestamp)
row format delimited
fields terminated by '\t'
stored as textfile
location 's3://spectrum-text/tickit/spectrum/sales/'
table properties ('numRows'='172000');
]], { file = "spectrum_sales.sql" })
  local ours = pg_rows([[SELECT concat_ws(',', count(*), sum(pricepaid), sum(commission), min(saletime), max(saletime),
    sum(qtysold), count(DISTINCT eventid)) AS r FROM spectrum.sales]])
  local theirs = duck_rows(([[SELECT concat_ws(',', count(*), sum(pricepaid), sum(commission),
    strftime(min(saletime), '%%Y-%%m-%%d %%H:%%M:%%S'), strftime(max(saletime), '%%Y-%%m-%%d %%H:%%M:%%S'),
    sum(qtysold), count(DISTINCT eventid)) AS r
    FROM read_csv(['%s', '%s'], delim = '\t', header = false, columns = %s)]]):format(gz, b, SALES_COLS))
  t.eq(ours, theirs)
  t.eq(#ours, 1)
  t.match(ours[1], "^700,")
end)

t.test("AWS guide: sales_part partitioned by saledate, '|' delimited; a pruned query scans one partition",
    { timeout = 180000 }, function()
  local E = setup()
  -- https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html (partitioning example)
  local files = {}
  for m = 1, 3 do
    files[m] = write(("tickit/spectrum/sales_partition/saledate=2008-%02d/part-0000"):format(m),
      sales_rows(m * 1000, 50 + m * 10, m, "|"))
  end
  sqlrun.run(E.wh, [[
create external table spectrum.sales_part(
salesid integer,
listid integer,
sellerid integer,
buyerid integer,
eventid integer,
dateid smallint,
qtysold smallint,
pricepaid decimal(8,2),
commission decimal(8,2),
saletime timestamp)
partitioned by (saledate char(10))
row format delimited
fields terminated by '|'
stored as textfile
location 's3://spectrum-text/tickit/spectrum/sales_partition/'
table properties ('numRows'='172000');

alter table spectrum.sales_part add
partition(saledate='2008-01')
location 's3://spectrum-text/tickit/spectrum/sales_partition/saledate=2008-01/'
partition(saledate='2008-02')
location 's3://spectrum-text/tickit/spectrum/sales_partition/saledate=2008-02/'
partition(saledate='2008-03')
location 's3://spectrum-text/tickit/spectrum/sales_partition/saledate=2008-03/';
]], { file = "sales_part.sql" })
  local q = "SELECT concat_ws(',', rtrim(saledate), count(*), sum(pricepaid)) AS r FROM spectrum.sales_part "
    .. "WHERE saledate = '2008-02' GROUP BY saledate"
  local theirs = duck_rows(([[SELECT concat_ws(',', '2008-02', count(*), sum(pricepaid)) AS r
    FROM read_csv('%s', delim = '|', header = false, columns = %s)]]):format(files[2], SALES_COLS))
  t.eq(pg_rows(q), theirs)
  local all = pg_rows("SELECT concat_ws(',', rtrim(saledate), count(*), sum(pricepaid)) AS r FROM spectrum.sales_part "
    .. "GROUP BY saledate ORDER BY saledate")
  local expect = {}
  for m = 1, 3 do
    expect[m] = duck_rows(([[SELECT concat_ws(',', '2008-%02d', count(*), sum(pricepaid)) AS r
      FROM read_csv('%s', delim = '|', header = false, columns = %s)]]):format(m, files[m], SALES_COLS))[1]
  end
  t.eq(all, expect)
  local plan = {}
  for _, row in ipairs(E.wh:query("EXPLAIN " .. q)) do
    plan[#plan + 1] = row["QUERY PLAN"]
  end
  plan = table.concat(plan, "\n")
  local scans = select(2, plan:gsub("Foreign Scan", ""))
  t.eq(scans, 1, plan)
  t.contains(plan, "saledate=2008-02/", plan)
end)

t.test("Hive's default \\001 delimiter, ESCAPED BY '\\\\', serialization.null.format and skip.header.line.count",
    { timeout = 120000 }, function()
  local E = setup()
  local data = "id\1name\1note\n"
    .. "1\1plain\1x\n"
    .. "2\1has\\\1delim\1\\N\n"
    .. "3\1\1NULL\n"
    .. "4\1multi\\\nline\1y\n"
  write("hive/default/data.txt", data)
  sqlrun.run(E.wh, [[
create external table spectrum.hive_default(id int, name varchar(40), note varchar(10))
row format delimited escaped by '\\'
stored as textfile
location 's3://spectrum-text/hive/default/'
table properties ('skip.header.line.count'='1', 'serialization.null.format'='NULL');
]], { file = "hive.sql" })
  local rows = E.wh:query("SELECT id, name, note FROM spectrum.hive_default ORDER BY id")
  t.eq(#rows, 4)
  t.eq(rows[1].name, "plain")
  t.eq(rows[2].name, "has\1delim", "an escaped delimiter is part of the value")
  t.eq(rows[2].note, "\\N", "with serialization.null.format 'NULL', \\N is a value")
  t.eq(rows[3].name, "", "an empty string field is '', not NULL")
  t.is_nil(rows[3].note ~= require("lode.core").null and rows[3].note or nil, "NULL is NULL")
  t.eq(rows[4].name, "multi\nline", "an escaped newline is part of the value")
end)

-- dbt-external-tables' Redshift create_external_table macro renders
--   create external table "db"."schema"."table" ( "col" type, … )
--   [partitioned by (…)] row format serde '…' with serdeproperties (…) stored as textfile
--   location '…' table properties (…)
-- (macros/plugins/redshift/create_external_table.sql).
t.test("dbt-external-tables: CSV source through OpenCSVSerde, three-part name, quoted hostile values",
    { timeout = 120000 }, function()
  local E = setup()
  E.wh:exec("CREATE SCHEMA IF NOT EXISTS dbt_ext")
  local csv = 'id,name,comment,amount\n'
    .. '1,"Smith, John","said ""hi""",10.5\n'
    .. '2,plain,"line one\nline two",20\n'
    .. '3,,"",\n'
    .. '4,"tab\there","pipe|here",-3.25\n'
  local path = write("dbt/people/people.csv", csv)
  local db = E.wh:query("SELECT current_database() AS d")[1].d
  sqlrun.run(E.wh, ([[
create external table "%s"."dbt_ext"."people" (
    "id" int,
    "name" varchar(64),
    "comment" varchar(256),
    "amount" double precision
)
row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
with serdeproperties ('separatorChar'=',', 'quoteChar'='"')
stored as textfile
location 's3://spectrum-text/dbt/people/'
table properties ('skip.header.line.count'='1');
]]):format(db), { file = "dbt_people.sql" })
  local ours = pg_rows("SELECT concat_ws('|', id, '[' || name || ']', '[' || comment || ']', amount::numeric(10,2)) AS r "
    .. "FROM dbt_ext.people ORDER BY id")
  -- OpenCSVSerde reads every string field as a string, never NULL: '' where DuckDB reads NULL
  local theirs = duck_rows(([[SELECT concat_ws('|', id, '[' || coalesce(name, '') || ']', '[' || coalesce(comment, '') || ']',
      CAST(amount AS DECIMAL(10,2))) AS r
    FROM read_csv('%s', delim = ',', quote = '"', escape = '"', header = true, all_varchar = false,
      columns = {'id':'INTEGER','name':'VARCHAR','comment':'VARCHAR','amount':'DOUBLE'}) ORDER BY id]]):format(path))
  t.eq(ours, theirs)
end)

t.test("JSON: OpenX JsonSerDe with case.insensitive and mapping.*, HCatalog JsonSerDe", { timeout = 120000 }, function()
  local E = setup()
  local lines = '{"Id": 1, "Name": "a", "ts-value": 1.5, "tags": {"k": 1}}\n'
    .. '{"Id": 2, "Name": "b\\nc", "ts-value": null}\n'
    .. '{"Id": 3, "ts-value": 7}\n'
  local path = write("json/openx/events.json", lines)
  write("json/hcat/events.json", '{"id": 10, "name": "x"}\n{"id": 11, "name": null}\n')
  sqlrun.run(E.wh, [[
create external table spectrum.events_openx (id int, name varchar(20), ts_value double precision)
row format serde 'org.openx.data.jsonserde.JsonSerDe'
with serdeproperties ('case.insensitive'='true', 'mapping.ts_value'='ts-value')
location 's3://spectrum-text/json/openx/';

create external table spectrum.events_hcat (id int, name varchar(20))
row format serde 'org.apache.hive.hcatalog.data.JsonSerDe'
stored as inputformat 'org.apache.hadoop.mapred.TextInputFormat'
outputformat 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
location 's3://spectrum-text/json/hcat/';
]], { file = "json.sql" })
  local ours = pg_rows("SELECT concat_ws('|', id, coalesce(name, 'NULL'), coalesce(ts_value::numeric(10,2)::text, 'NULL')) AS r "
    .. "FROM spectrum.events_openx ORDER BY id")
  local theirs = duck_rows(([[SELECT concat_ws('|', "Id", coalesce("Name", 'NULL'), coalesce(CAST(CAST("ts-value" AS DECIMAL(10,2)) AS VARCHAR), 'NULL')) AS r
    FROM read_json('%s', format = 'newline_delimited',
      columns = {'Id':'INTEGER','Name':'VARCHAR','ts-value':'DOUBLE'}) ORDER BY "Id"]]):format(path))
  t.eq(ours, theirs)
  t.eq(pg_rows("SELECT concat_ws('|', id, coalesce(name, 'NULL')) AS r FROM spectrum.events_hcat ORDER BY id"),
    { "10|x", "11|NULL" })
end)

t.test("bad values: the query fails naming file, line and column; DROP_ROW leaves the row out; invalid UTF-8",
    { timeout = 120000 }, function()
  local E = setup()
  write("bad/ints/a.txt", "1|ok\nx2|bad\n3|ok\n")
  write("bad/utf8/a.txt", "1|ok\n2|b\255d\n")
  sqlrun.run(E.wh, [[
create external table spectrum.bad_ints (id int, v varchar(10))
row format delimited fields terminated by '|'
location 's3://spectrum-text/bad/ints/';
create external table spectrum.bad_ints_drop (id int, v varchar(10))
row format delimited fields terminated by '|'
location 's3://spectrum-text/bad/ints/'
table properties ('numeric_overflow_handling'='DROP_ROW');
create external table spectrum.bad_utf8 (id int, v varchar(10))
row format delimited fields terminated by '|'
location 's3://spectrum-text/bad/utf8/'
table properties ('invalid_char_handling'='FAIL');
create external table spectrum.bad_utf8_replace (id int, v varchar(10))
row format delimited fields terminated by '|'
location 's3://spectrum-text/bad/utf8/'
table properties ('invalid_char_handling'='REPLACE', 'replacement_char'='^');
]], { file = "bad.sql" })
  local err = t.raises(function() E.wh:query("SELECT * FROM spectrum.bad_ints") end)
  t.contains(err.context, "s3://spectrum-text/bad/ints/a.txt line 2, column id", tostring(err.message))
  t.eq(pg_rows("SELECT string_agg(id::text, ',' ORDER BY id) AS r FROM spectrum.bad_ints_drop"), { "1,3" })
  err = t.raises(function() E.wh:query("SELECT * FROM spectrum.bad_utf8") end)
  t.contains(err.context, "s3://spectrum-text/bad/utf8/a.txt line 2, column v", tostring(err.message))
  t.eq(pg_rows("SELECT string_agg(v, ',' ORDER BY id) AS r FROM spectrum.bad_utf8_replace"), { "ok,b^d" })
  -- what lode cannot read exactly is refused at CREATE, never read differently
  t.raises(function()
    sqlrun.run(E.wh, [[create external table spectrum.snappy_t (id int)
row format delimited fields terminated by '|'
location 's3://spectrum-text/bad/ints/' table properties ('compression_type'='snappy');]], { file = "s.sql" })
  end, "compression_type 'snappy'")
end)

t.test("a partition-pruned query reads only its partition's objects (the S3 requests counted by a proxy)",
    { timeout = 120000 }, function()
  local E = setup()
  local spectrum = require "lode.spectrum"
  local dir = t.tmpdir()
  local log = dir .. "/proxy.log"
  local upstream = os.getenv("AWS_ENDPOINT_URL"):match(":(%d+)/?$")
  -- a never-matching fault: the proxy only forwards and logs "METHOD TARGET -> STATUS"
  local r = proc.run({ "python3", root .. "/tests/lua/s3/fault_proxy.py", upstream, "503", "0", log, "60",
    "never-matches-anything" })
  t.eq(r.status, 0, r.stderr)
  local port = r.stdout:match("^(%d+)")
  local pf = assert(io.open(log .. ".pid"))
  local pid = pf:read("a"):match("%d+")
  pf:close()
  t.ok(port and pid, r.stdout)
  local getenv = os.getenv
  local ok, err = pcall(function()
    -- the scan programs read their endpoint from the env file the setup writes
    os.getenv = function(k)
      if k == "AWS_ENDPOINT_URL" or k == "AWS_ENDPOINT_URL_S3" then
        return "http://127.0.0.1:" .. port
      end
      return getenv(k)
    end
    spectrum._pg_setup(E.wh)
    os.getenv = getenv
    local rows = E.wh:query("SELECT count(*) AS n FROM spectrum.sales_part WHERE saledate = '2008-02'")
    t.eq(rows[1].n, 70)
  end)
  os.getenv = getenv
  spectrum._pg_setup(E.wh)
  proc.run({ "kill", pid })
  t.ok(ok, tostring(err))
  local f = assert(io.open(log, "rb"))
  local text = f:read("a")
  f:close()
  local n, gets = 0, 0
  for line in text:gmatch("[^\n]+") do
    n = n + 1
    t.ok(line:find("saledate=2008-02", 1, true) or line:find("saledate%3D2008-02", 1, true), line)
    if line:match("^GET /spectrum%-text/tickit/spectrum/sales_partition/saledate%%3D2008%-02/part%-0000 %-> 206") then
      gets = gets + 1
    end
  end
  t.ok(n >= 2, text)
  t.eq(gets, 1, text)
end)

t.test("the scan estimate of a text table: its objects' sizes, pruned by partition, not by column",
    { timeout = 60000 }, function()
  local E = setup()
  local spectrum = require "lode.spectrum"
  local size = require("lode.fs").stat(E.dir .. "/tickit/spectrum/sales_partition/saledate=2008-02/part-0000").size
  local est = spectrum.estimate(E.wh, "spectrum.sales_part", { columns = { "salesid" }, where = { saledate = "2008-02" } })
  t.eq(est.bytes, size)
  t.eq(est.files, 1)
  t.eq(est.partitions, 1)
  local all = 0
  for m = 1, 3 do
    all = all + require("lode.fs").stat(("%s/tickit/spectrum/sales_partition/saledate=2008-%02d/part-0000"):format(E.dir, m)).size
  end
  t.eq(spectrum.estimate(E.wh, "spectrum.sales_part").bytes, all)
end)
