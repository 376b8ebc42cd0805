-- The audit of #19's dialect proof (tests/conformance/AUDIT.md): the examples
-- AWS's SQL reference prints that tests/lua/sql/dialect_test.lua did not yet
-- run, each against the inputs and results printed on its page (named above
-- each check), and the silent differences the audit found, each fixed here
-- with its regression check.
local t = require "lode.test"
local lode = require "lode"
local sqlrun = require "lode.sqlrun"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
-- a PostgreSQL warehouse standing in for Redshift: every wh:query text is Redshift SQL
local wh = lode.warehouse({ url = url, pool = 2, emulate = "redshift" })

local function value(q)
  local r = wh:query(q)
  return r[1] and r[1].v
end

-- the results of each statement of a Redshift script, in one session
local function results(script)
  local out = {}
  sqlrun.run(wh, script, { file = "audit.sql", on_result = function(_, res) out[#out + 1] = res end })
  return out
end

t.test("GETDATE is the start of the statement, SYSDATE of the transaction (r_GETDATE, r_SYSDATE)", function()
  -- r_GETDATE: "It returns the start date or time of the current statement, even when it is within a
  -- transaction block"; its example prints whole seconds (2008-12-04 16:10:43). r_SYSDATE: "SYSDATE
  -- returns the start date and time for the current transaction, not for the start of the current statement".
  -- The pause makes the second statement start in a later second than the transaction.
  local r = results([[
begin;
select getdate() as g0, sysdate as s0;
select pg_sleep(1.1);
select getdate() as g1, sysdate as s1, getdate() > sysdate as later, sysdate = transaction_timestamp()::timestamp as tx,
  getdate() = date_trunc('second', getdate()) as whole, pg_typeof(getdate())::text as gt, pg_typeof(sysdate)::text as st;
commit;
]])
  local a, b = r[2][1], r[4][1]
  t.eq(b.s1, a.s0, "SYSDATE stays the transaction's start")
  t.eq(b.later, true, "GETDATE() moved on with the statement: " .. tostring(a.g0) .. " / " .. tostring(b.g1))
  t.eq(b.tx, true)
  t.eq(b.whole, true)
  t.eq(b.gt, "timestamp without time zone")
  t.eq(b.st, "timestamp without time zone")
  -- the pages' TRUNC examples: the date without the time
  t.eq(value("select trunc(getdate()) = current_date as v"), true)
  t.eq(value("select pg_typeof(trunc(sysdate))::text as v"), "date")
  t.eq(value("select cast((trunc(sysdate)) as timestamp) = current_date::timestamp as v"), true)
end)

t.test("DATEADD and DATEDIFF on TIMETZ: the pages' TIMETZ examples (r_DATEADD_function, r_DATEDIFF_function)", function()
  -- "The output values in these examples are in UTC which is the default timezone"
  t.eq(value("select dateadd(hour, 2, timetz '13:24:55 PST')::text as v"), "23:24:55+00")
  t.eq(value("select datediff(hours, timetz '20:00:00 PST', timetz '00:58:00 EST') as v"), 1)
  results([[
drop table if exists timetz_test;
create table timetz_test (n int, timetz_val timetz);
insert into timetz_test values (1, '04:00:00+00'), (2, '00:00:00.5550+00'), (3, '05:58:00+00');
]])
  local plus, hours = {}, {}
  for i, row in ipairs(wh:query("select dateadd(minute,5,timetz_val)::text as minplus5_tz, "
      .. "datediff(hours, timetz '20:00:00 PST', timetz_val) as numhours from timetz_test order by n")) do
    plus[i], hours[i] = row.minplus5_tz, row.numhours
  end
  -- the page prints 00:05:00.5550+00: PostgreSQL's text drops the trailing zero of the same value
  t.eq(plus, { "04:05:00+00", "00:05:00.555+00", "06:03:00+00" })
  t.eq(hours, { 0, -4, 1 })
  results("drop table timetz_test")
end)

t.test("MEDIAN of INT2, INT4, INT8 is an exact DECIMAL (r_MEDIAN's types); the MEDIAN window example (r_WF_MEDIAN)",
    function()
  for _, ty in ipairs({ "smallint", "integer", "bigint" }) do
    t.eq(value(("select pg_typeof(median(x))::text as v from (values (1::%s), (2)) s(x)"):format(ty)), "numeric", ty)
  end
  -- beyond 2^53 a double precision median would come back rounded (9007199254740992)
  t.eq(value("select median(x)::text as v from (values (9007199254740993::bigint), (9007199254740993), (1)) s(x)"),
    "9007199254740993")
  t.eq(value("select (median(x) = 1.5) as v from (values (1::int), (2)) s(x)"), true)
  -- r_WF_MEDIAN: "the median sales quantity for each seller", over WINSALES
  results([[
drop table if exists a19_winsales;
create table a19_winsales(salesid int, sellerid int, qty int);
insert into a19_winsales values (30001, 3, 10), (10001, 1, 10), (10005, 1, 30), (40001, 4, 40), (10006, 1, 10),
(20001, 2, 20), (40005, 4, 10), (20002, 2, 20), (30003, 3, 15), (30004, 3, 20), (30007, 3, 30);
]])
  local got = {}
  for i, row in ipairs(wh:query("select sellerid, qty, median(qty) over (partition by sellerid) as median "
      .. "from a19_winsales order by sellerid, qty")) do
    got[i] = ("%d %d %g"):format(row.sellerid, row.qty, tonumber(row.median))
  end
  t.eq(got, { "1 10 10", "1 10 10", "1 30 10", "2 20 20", "2 20 20", "3 10 17.5", "3 15 17.5", "3 20 17.5",
    "3 30 17.5", "4 10 25", "4 40 25" })
  results("drop table a19_winsales")
end)

t.test("a number or a timestamp given to CHARINDEX or SPLIT_PART is read as its text (r_CHARINDEX, SPLIT_PART)",
    function()
  -- r_CHARINDEX: "the number of sales transactions with a COMMISSION over 999.00" (generated SALES rows:
  -- three commissions of four digits before the point, two of fewer)
  results([[
drop table if exists a19_sales;
create table a19_sales(salesid int, commission decimal(8,2));
insert into a19_sales values (1, 1052.15), (2, 52.15), (3, 9999.99), (4, 1000.00), (5, 999.00);
]])
  local r = wh:query([[select distinct charindex('.', commission), count (charindex('.', commission))
from a19_sales where charindex('.', commission) > 4 group by charindex('.', commission)
order by 1,2]])
  t.eq(#r, 1)
  t.eq({ r[1].charindex, r[1].count }, { 5, 3 })
  -- SPLIT_PART: the page's five LISTTIME rows and its printed year, month and date
  results([[
drop table if exists a19_listing;
create table a19_listing(listid int, listtime timestamp);
insert into a19_listing values (1, '2008-03-05 12:25:29'), (2, '2008-09-09 08:03:36'), (3, '2008-09-26 05:43:12'),
(4, '2008-10-04 02:00:30'), (5, '2008-01-06 08:33:11');
]])
  local rows = {}
  for i, row in ipairs(wh:query([[select listtime, split_part(listtime,'-',1) as year,
split_part(listtime,'-',2) as month,
split_part(split_part(listtime,'-',3),' ',1) as date
from (select * from a19_listing order by listid) limit 5]])) do
    rows[i] = table.concat({ row.year, row.month, row.date }, " ")
  end
  t.eq(rows, { "2008 03 05", "2008 09 09", "2008 09 26", "2008 10 04", "2008 01 06" })
  t.eq(value("select split_part(listtime,'-',2) as v from a19_listing where listid = 1"), "03")
  results("drop table a19_sales; drop table a19_listing")
end)

t.test("documented constructs lode does not emulate fail, naming them (never a different answer)", function()
  -- r_DATE_TRUNC's example compares a TIMESTAMP with LIKE (Redshift casts it to text; PostgreSQL has no such operator)
  t.raises(function() value("select count(*) as v from (select timestamp '2008-09-01' as saletime) s "
    .. "where saletime like '2008-09%'") end, "timestamp without time zone ~~ unknown")
  -- r_LEN's VARBYTE example
  t.raises(function() value("select len('aaa'::varbyte) as v") end, 'type "varbyte" does not exist')
  -- r_FROM_clause-pivot-unpivot-examples: PIVOT and UNPIVOT are refused by name (PostgreSQL's own error named "(")
  results([[
drop table if exists a19_part;
create table a19_part (partname varchar, manufacturer varchar, quality int, price decimal(12,2));
insert into a19_part values ('prop', 'local parts co', 2, 10.00), ('prop', 'big parts co', NULL, 9.00),
('prop', 'small parts co', 1, 12.00), ('rudder', 'big parts co', 1, 2.25), ('rudder', 'small parts co', NULL, 2.25),
('rudder', 'local parts co', 2, 1.99), ('wing', 'big parts co', NULL, 7.50);
]])
  local ok, err = pcall(value, "SELECT * FROM (SELECT partname, price FROM a19_part) PIVOT (AVG(price) FOR partname IN "
    .. "('prop', 'rudder', 'wing'))")
  t.eq(ok, false)
  t.contains(tostring(err.message or err), "PIVOT is not emulated")
  t.eq(err.feature, "PIVOT")
  ok, err = pcall(value, "SELECT * FROM (SELECT red, green, blue FROM (SELECT 23 AS red, 56 AS green, 12 AS blue) c) "
    .. "UNPIVOT INCLUDE NULLS (cnt FOR color IN (red, green, blue))")
  t.eq(ok, false)
  t.eq(err.feature, "UNPIVOT")
  -- a column or table named pivot is not the clause
  t.eq(value("select pivot as v from (select 3 as pivot) q"), 3)
  results("drop table a19_part")
  -- MEDIAN of a TIMESTAMP (r_MEDIAN's table) is not emulated
  t.raises(function() value("select median(x) as v from (values (timestamp '2008-01-01')) s(x)") end,
    "lode_redshift.median(timestamp without time zone) does not exist")
end)

t.test("NVL2 has not_null_return_value's type, DECODE its result's (r_NVL2's usage notes)", function()
  -- "assuming column1 is NULL, the following queries will return the same value. However, the DECODE
  -- return value data type will be INTEGER and the NVL2 return value data type will be VARCHAR"
  results([[
drop table if exists a19_nvl2;
create table a19_nvl2 (column1 int);
insert into a19_nvl2 values (null);
]])
  local r = wh:query("select decode(column1, null, 1234, '2345') as d, pg_typeof(decode(column1, null, 1234, '2345'))::text "
    .. "as dt, nvl2(column1, '2345', 1234) as n, pg_typeof(nvl2(column1, '2345', 1234))::text as nt from a19_nvl2")[1]
  t.eq({ r.d, r.dt }, { 1234, "integer" })
  t.eq({ r.n, r.nt }, { "1234", "text" })
  -- not null: the not_null_return_value, still a string
  t.eq(value("select nvl2(1, '2345', 1234) as v"), "2345")
  -- a number as not_null_return_value: the string is cast to it, and one that is no number fails, as on Redshift
  t.eq(value("select nvl2(column1, 1234, '2345') as v from a19_nvl2"), 2345)
  t.raises(function() value("select nvl2(column1, 1234, 'abc') as v from a19_nvl2") end, "invalid input syntax")
  results("drop table a19_nvl2")
end)

t.test("Examples with TOP (r_Examples_with_TOP): the printed QTYSOLD/SELLERID rows over generated SALES", function()
  -- the ten sellers the page prints sold 8 tickets; two more sellers of 8 sort after them, the rest sold fewer
  results([[
drop table if exists a19_top_sales;
create table a19_top_sales (salesid int, qtysold smallint, sellerid int);
insert into a19_top_sales select g, case when g % 7 = 0 then 8 else 1 + g % 7 end, 10000 + g from generate_series(1, 200) g
  where g % 7 <> 0;
insert into a19_top_sales values (301, 8, 6216), (302, 8, 518), (303, 8, 3396), (304, 8, 868), (305, 8, 2663),
  (306, 8, 520), (307, 8, 5250), (308, 8, 718), (309, 8, 574), (310, 8, 3726), (311, 8, 7001), (312, 8, 9000);
]])
  local function rows(q)
    local out = {}
    for i, row in ipairs(wh:query(q)) do
      out[i] = row.qtysold .. " " .. row.sellerid
    end
    return out
  end
  t.eq(rows("select top 10 qtysold, sellerid\nfrom a19_top_sales\norder by qtysold desc, sellerid"),
    { "8 518", "8 520", "8 574", "8 718", "8 868", "8 2663", "8 3396", "8 3726", "8 5250", "8 6216" })
  t.eq(rows("select top 2 qtysold, sellerid\nfrom a19_top_sales\norder by qtysold desc, sellerid"), { "8 518", "8 520" })
  -- "Return any 10 rows": TOP and LIMIT give ten
  t.eq(#wh:query("select top 10 *\nfrom a19_top_sales"), 10)
  t.eq(#wh:query("select *\nfrom a19_top_sales\nlimit 10"), 10)
  results("drop table a19_top_sales")
end)

t.test("JSON_EXTRACT_PATH_TEXT of a missing path and JSON_EXTRACT_ARRAY_ELEMENT_TEXT out of bounds are NULL", function()
  -- JSON_EXTRACT_PATH_TEXT.html: "If a path element does not exist in the JSON string, JSON_EXTRACT_PATH_TEXT
  -- returns NULL"; JSON_EXTRACT_ARRAY_ELEMENT_TEXT.html: "If the index is negative or out of bounds,
  -- JSON_EXTRACT_ARRAY_ELEMENT_TEXT returns NULL" (the guide's earlier text said an empty string for both)
  t.eq(value([[select json_extract_path_text('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}','f4', 'f7') is null as v]]), true)
  t.eq(value([[select json_extract_path_text('{"f2":{"f3":1}}','f2', 'f3', 'f9') is null as v]]), true)
  t.eq(value("select json_extract_array_element_text('[111,112,113]', 3) is null as v"), true)
  t.eq(value("select json_extract_array_element_text('[111,112,113]', -1) is null as v"), true)
  -- the pages' printed values stay
  t.eq(value([[select json_extract_path_text('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}','f4', 'f6') as v]]), "star")
  t.eq(value("select json_extract_array_element_text('[111,112,113]', 2) as v"), "113")
  -- a JSON null is NULL too; an empty string value is ''
  t.eq(value([[select json_extract_path_text('{"a":null}','a') is null as v]]), true)
  t.eq(value([[select json_extract_path_text('{"a":""}','a') as v]]), "")
end)
