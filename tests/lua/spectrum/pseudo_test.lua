-- The pseudocolumns "$path" and "$size" of external tables on the
-- PostgreSQL emulation (s3rver): each row's object URL and the object's size,
-- for text and Parquet tables, partitioned or not, in the select list,
-- WHERE and GROUP BY, never in SELECT *; spectrum_enable_pseudo_columns
-- turns them off. Oracle: the aws CLI's listing of the same objects, and
-- the rows written to each object here.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"
local sqlrun = require "lode.sqlrun"

local BUCKET = "spectrum-pseudo"
local S3 = "s3://" .. BUCKET .. "/"

local X = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/spectrum/s3_env.lua")(BUCKET, "spectrum_ps")
local write, listing = X.write, X.listing
local env

local function setup()
  env = X.setup()
  return env
end

local function sales_lines(first, n, month)
  local out = {}
  for i = first, first + n - 1 do
    out[#out + 1] = table.concat({ i, i * 3, i % 50 + 1, i % 70 + 1, i % 13 + 1, 1800 + i, i % 4 + 1,
      ("%d.%02d"):format(i, i % 100), "1.50", ("2008-%02d-%02d 10:00:00"):format(month, i % 28 + 1) }, "|") .. "\n"
  end
  return table.concat(out)
end

local SALES_PART = [[
create external table spectrum_ps.sales_part(
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
location 's3://spectrum-pseudo/sales_partition/'
table properties ('numRows'='172000');

alter table spectrum_ps.sales_part add
partition(saledate='2008-01')
location 's3://spectrum-pseudo/sales_partition/saledate=2008-01/'
partition(saledate='2008-02')
location 's3://spectrum-pseudo/sales_partition/saledate=2008-02/';
]]

local function text_table()
  local E = setup()
  if E.text then
    return E
  end
  -- 2008-01 in two objects (30 and 12 rows), 2008-02 in one (20 rows)
  write("sales_partition/saledate=2008-01/part_a.txt", sales_lines(1, 30, 1))
  write("sales_partition/saledate=2008-01/part_b.txt", sales_lines(31, 12, 1))
  write("sales_partition/saledate=2008-02/part_a.txt", sales_lines(43, 20, 2))
  sqlrun.run(E.wh, [[
create external schema spectrum_ps
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;
]] .. SALES_PART, { file = "pseudo.sql" })
  E.text = true
  return E
end

local function run(q)
  local res = sqlrun.run(env.wh, q, { file = "q.sql" })
  return res[#res].result
end

t.test('AWS guide: select distinct "$path", "$size" — every object of the table with its size', { timeout = 180000 },
    function()
  text_table()
  local want = listing("sales_partition/")
  local got = {}
  local r = run([[select distinct "$path", "$size"
from spectrum_ps.sales_part;]])
  for _, row in ipairs(r) do
    got[row["$path"]] = row["$size"]
  end
  t.eq(got, want)
  local n = 0
  for _ in pairs(want) do
    n = n + 1
  end
  t.eq(n, 3)
end)

t.test('"$path" in GROUP BY and WHERE, with a partition filter: rows per object as written', { timeout = 180000 },
    function()
  text_table()
  local r = run([[select "$path" as p, count(*) as n, min(salesid) as lo from spectrum_ps.sales_part
    where saledate = '2008-01' group by "$path" order by 1]])
  t.eq(#r, 2)
  t.eq({ r[1].p, r[1].n, r[1].lo }, { S3 .. "sales_partition/saledate=2008-01/part_a.txt", 30, 1 })
  t.eq({ r[2].p, r[2].n, r[2].lo }, { S3 .. "sales_partition/saledate=2008-01/part_b.txt", 12, 31 })
  local w = run([[select count(*) as n from spectrum_ps.sales_part where "$path" like '%/part_a.txt']])
  t.eq(w[1].n, 50)
  -- the guide's form: the pseudocolumns with the table's own qualified columns
  local q = run([[select top 1 spectrum_ps.sales_part.salesid, "$size" from spectrum_ps.sales_part
    where saledate = '2008-02' order by 1]])
  t.eq(q[1].salesid, 43)
  t.eq(q[1]["$size"], listing("sales_partition/saledate=2008-02/")[S3 .. "sales_partition/saledate=2008-02/part_a.txt"])
end)

t.test("SELECT * leaves the pseudocolumns out, also when the statement names one", { timeout = 180000 }, function()
  text_table()
  local cols = { "salesid", "listid", "sellerid", "buyerid", "eventid", "dateid", "qtysold", "pricepaid", "commission",
    "saletime", "saledate" }
  local plain = run([[select * from spectrum_ps.sales_part order by salesid limit 1]])
  local with = run([[select * from spectrum_ps.sales_part where "$size" > 0 order by salesid limit 1]])
  local aliased = run([[select s.*, "$path" from spectrum_ps.sales_part s order by salesid limit 1]])
  local function names(res)
    local out = {}
    for i, c in ipairs(res.columns) do
      out[i] = type(c) == "table" and c.name or c
    end
    return out
  end
  t.eq(names(plain), cols)
  t.eq(names(with), cols)
  local want = { table.unpack(cols) }
  want[#want + 1] = "$path"
  t.eq(names(aliased), want)
  local qualified = run([[select spectrum_ps.sales_part.*, "$path" from spectrum_ps.sales_part order by salesid limit 1]])
  t.eq(names(qualified), want)
  t.eq(with[1].salesid, 1)
  t.eq(aliased[1]["$path"], S3 .. "sales_partition/saledate=2008-01/part_a.txt")
end)

t.test('Parquet (CREATE EXTERNAL TABLE … AS): "$path" and "$size" of each object', { timeout = 180000 }, function()
  local E = text_table()
  E.wh:exec("DROP TABLE IF EXISTS pseudo_src")
  E.wh:exec("CREATE TABLE pseudo_src AS SELECT g AS id, CASE WHEN g % 3 = 0 THEN 'east' ELSE 'west' END AS region "
    .. "FROM generate_series(1, 90) g")
  run([[CREATE EXTERNAL TABLE spectrum_ps.pq PARTITIONED BY (region) STORED AS PARQUET
    LOCATION 's3://spectrum-pseudo/pq/' AS SELECT id, region FROM pseudo_src]])
  local want = listing("pq/")
  local got, rows = {}, 0
  for _, row in ipairs(run([[select "$path", "$size", count(*) as n from spectrum_ps.pq group by 1, 2]])) do
    got[row["$path"]] = row["$size"]
    rows = rows + row.n
  end
  t.eq(got, want)
  t.eq(rows, 90)
  local east = run([[select count(*) as n from spectrum_ps.pq where region = 'east' and "$path" like '%region=east/%']])
  t.eq(east[1].n, 30)
end)

t.test("spectrum_enable_pseudo_columns false: the pseudocolumns are unknown; $spectrum_oid is refused by name",
    { timeout = 180000 }, function()
  local E = text_table()
  E.wh:session(function(s)
    sqlrun.run_on(s, "set spectrum_enable_pseudo_columns to false")
    local ok, err = pcall(sqlrun.run_on, s, [[select "$path" from spectrum_ps.sales_part]])
    t.ok(not ok)
    t.contains(tostring(err.message or err), '"$path" does not exist')
    sqlrun.run_on(s, "set spectrum_enable_pseudo_columns to true")
    local r = sqlrun.run_on(s, [[select count(distinct "$path") as n from spectrum_ps.sales_part]])
    t.eq(r[#r].result[1].n, 3)
  end)
  local ok, err = pcall(run, [[select "$spectrum_oid" from spectrum_ps.sales_part]])
  t.ok(not ok)
  t.contains(tostring(err.message or err), '"$spectrum_oid"')
  t.eq(err.code, "unsupported")
end)

t.test("a new object under a partition shows in the next query's \"$path\" (S3 is listed live)", { timeout = 180000 },
    function()
  text_table()
  write("sales_partition/saledate=2008-02/part_c.txt", sales_lines(63, 5, 2))
  local r = run([[select "$path" as p, "$size" as z from spectrum_ps.sales_part where saledate = '2008-02'
    group by 1, 2 order by 1]])
  local want = listing("sales_partition/saledate=2008-02/")
  t.eq(#r, 2)
  for _, row in ipairs(r) do
    t.eq(row.z, want[row.p])
  end
  require("lode.s3").delete(S3 .. "sales_partition/saledate=2008-02/part_c.txt")
end)
