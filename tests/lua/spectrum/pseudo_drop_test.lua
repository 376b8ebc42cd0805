-- The siblings that carry "$path" / "$size" (schema lode_spectrum_pseudo)
-- follow their external table: DROP TABLE and DROP SCHEMA … CASCADE drop
-- them, a table created again under the same name (another LOCATION,
-- spectrum.table's replace) reads its own objects, and ALTER TABLE … SET
-- LOCATION / SET TABLE PROPERTIES / ADD|DROP PARTITION are seen by the next
-- "$path" query. Oracle: the aws CLI's listing of the objects (s3rver).
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"
local sqlrun = require "lode.sqlrun"

local BUCKET = "spectrum-pseudo-drop"
local S3 = "s3://" .. BUCKET .. "/"

local X = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/spectrum/s3_env.lua")(BUCKET, "spectrum_pd")
local write, listing = X.write, X.listing
local env

local function setup()
  env = X.setup()
  return env
end

local function run(q)
  local res = sqlrun.run(env.wh, q, { file = "q.sql" })
  return res[#res].result
end

-- "$path" → "$size" of every object the table's query reads
local function paths(tbl)
  local got = {}
  for _, row in ipairs(run(('select distinct "$path", "$size" from %s;'):format(tbl))) do
    got[row["$path"]] = row["$size"]
  end
  return got
end

-- the relations in lode_spectrum_pseudo (siblings and their partitions) named after a table
local function siblings(tbl)
  return env.wh:query("SELECT count(*) AS n FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    .. "ON n.oid = c.relnamespace WHERE n.nspname = 'lode_spectrum_pseudo' AND c.relname LIKE $1",
    tbl .. "\\_%")[1].n
end

local SCHEMA = [[
create external schema if not exists spectrum_pd
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;
]]

t.test('DROP TABLE drops the sibling; the table created again at another LOCATION shows its own "$path"',
    { timeout = 180000 }, function()
  local E = setup()
  write("a/one.txt", "1|x\n2|y\n")
  write("a/two.txt", "3|z\n")
  write("b/only.txt", "4|w\n5|v\n6|u\n")
  sqlrun.run(E.wh, SCHEMA .. [[
create external table spectrum_pd.t1 (id int, v varchar(5))
row format delimited fields terminated by '|' location 's3://spectrum-pseudo-drop/a/';]], { file = "t1.sql" })
  t.eq(paths("spectrum_pd.t1"), listing("a/"))
  t.ok(siblings("t1") > 0, "the sibling is built by the first \"$path\" query")
  sqlrun.run(E.wh, "drop table spectrum_pd.t1;", { file = "drop.sql" })
  t.eq(siblings("t1"), 0, "DROP TABLE drops the sibling")
  sqlrun.run(E.wh, [[create external table spectrum_pd.t1 (id int, v varchar(5))
row format delimited fields terminated by '|' location 's3://spectrum-pseudo-drop/b/';]], { file = "t1b.sql" })
  t.eq(paths("spectrum_pd.t1"), listing("b/"))
  local r = run([[select "$path" as p, count(*) as n from spectrum_pd.t1 group by 1;]])
  t.eq({ r[1].p, r[1].n }, { S3 .. "b/only.txt", 3 })
end)

t.test('ALTER TABLE … SET LOCATION, SET TABLE PROPERTIES, ADD / DROP PARTITION: the next "$path" query sees them',
    { timeout = 180000 }, function()
  local E = setup()
  write("c/p=1/a.txt", "1|x\n")
  write("c/p=2/b.txt", "2|y\n")
  write("d/h.txt", "id|v\n7|q\n")
  sqlrun.run(E.wh, SCHEMA .. [[
create external table spectrum_pd.t2 (id int, v varchar(5))
row format delimited fields terminated by '|' location 's3://spectrum-pseudo-drop/a/';
create external table spectrum_pd.parts (id int, v varchar(5)) partitioned by (p int)
row format delimited fields terminated by '|' location 's3://spectrum-pseudo-drop/c/';
alter table spectrum_pd.parts add partition (p=1) location 's3://spectrum-pseudo-drop/c/p=1/';]], { file = "t2.sql" })
  t.eq(paths("spectrum_pd.t2"), listing("a/"))
  sqlrun.run(E.wh, "alter table spectrum_pd.t2 set location 's3://spectrum-pseudo-drop/d/';", { file = "loc.sql" })
  -- the header line is a row until skip.header.line.count says otherwise: 'id' is no integer
  t.raises(function() paths("spectrum_pd.t2") end)
  sqlrun.run(E.wh, "alter table spectrum_pd.t2 set table properties ('skip.header.line.count'='1');",
    { file = "props.sql" })
  t.eq(paths("spectrum_pd.t2"), listing("d/"))
  t.eq(run([[select id, "$path" as p from spectrum_pd.t2;]])[1].id, 7)
  t.eq(paths("spectrum_pd.parts"), listing("c/p=1/"))
  sqlrun.run(E.wh, "alter table spectrum_pd.parts add partition (p=2) location 's3://spectrum-pseudo-drop/c/p=2/';",
    { file = "add.sql" })
  t.eq(paths("spectrum_pd.parts"), listing("c/"))
  sqlrun.run(E.wh, "alter table spectrum_pd.parts drop partition (p=1);", { file = "dropp.sql" })
  t.eq(paths("spectrum_pd.parts"), listing("c/p=2/"))
end)

t.test("DROP SCHEMA … CASCADE of an external schema drops its tables' siblings; spectrum.table's replace refreshes "
    .. "them", { timeout = 180000 }, function()
  local E = setup()
  local spectrum = require "lode.spectrum"
  sqlrun.run(E.wh, SCHEMA .. [[
create external table spectrum_pd.t3 (id int, v varchar(5))
row format delimited fields terminated by '|' location 's3://spectrum-pseudo-drop/a/';]], { file = "t3.sql" })
  t.eq(paths("spectrum_pd.t3"), listing("a/"))
  spectrum.table(E.wh, { name = "spectrum_pd.t3", location = S3 .. "b/", format = "textfile",
    row_format = { delimited = true, fields = "|" }, columns = { { "id", "int" }, { "v", "varchar(5)" } },
    replace = true })
  t.eq(paths("spectrum_pd.t3"), listing("b/"))
  t.ok(siblings("t3") > 0)
  sqlrun.run(E.wh, "drop schema spectrum_pd cascade;", { file = "dropschema.sql" })
  t.eq(siblings("t3"), 0, "DROP SCHEMA … CASCADE drops the siblings")
  t.eq(siblings("t1"), 0)
  t.eq(siblings("parts"), 0)
end)
