-- Redshift's query dialect on PostgreSQL (issue #19 item 3): each rewrite
-- and function against the inputs and results printed in AWS's Amazon
-- Redshift Database Developer Guide (the page is named above each check);
-- where an example needs the TICKIT tables, the rows it reads are created.
local t = require "lode.test"
local lode = require "lode"
local sqlrun = require "lode.sqlrun"
local redshift = require "lode.redshift"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
-- a PostgreSQL warehouse standing in for Redshift: every wh:query text is Redshift SQL
local wh = lode.warehouse({ url = url, pool = 2, emulate = "redshift" })

-- the one value of a one-row, one-column Redshift query run through wh:query
local function value(q)
  local r = wh:query(q)
  return r[1] and r[1].v
end

local function column(q)
  local out = {}
  for i, row in ipairs(wh:query(q)) do
    out[i] = row.v
  end
  return out
end

local function run(script)
  return sqlrun.run(wh, script, { file = "dialect.sql" })
end

t.test("DATEADD (r_DATEADD_function): every example on the page", function()
  t.eq(value("select dateadd(month,18,'2008-02-28')::text as v"), "2009-08-28 00:00:00")
  t.eq(value("select dateadd(m,30,'2008-02-28')::text as v"), "2008-02-28 00:30:00")   -- m is minutes
  t.eq(value("select dateadd(day,30,date '2008-11-01')::text as v"), "2008-12-01 00:00:00")
  t.eq(value("select dateadd(month,1,'2008-04-30')::text as v"), "2008-05-30 00:00:00")
  t.eq(value("select dateadd(month,12,'2016-02-29')::text as v"), "2017-02-28 00:00:00")
  t.eq(value("select dateadd(year, 1, '2016-02-29')::text as v"), "2017-03-01 00:00:00")
  t.eq(value("select dateadd(hour, 8, time '13:24:55')::text as v"), "21:24:55")
  t.eq(value("select dateadd(hour, 12, time '13:24:55')::text as v"), "01:24:55")
  t.eq(column("select dateadd(minute,5,time_val)::text as v from (values (time '20:00:00'), "
    .. "(time '00:00:00.5550'), (time '00:58:00')) as time_test(time_val)"), { "20:05:00", "00:05:00.555", "01:03:00" })
  -- ADD_MONTHS keeps the last day of a month (same page, usage notes)
  t.eq(value("select add_months('2008-04-30',1)::text as v"), "2008-05-31 00:00:00")
end)

t.test("DATEDIFF counts the boundaries crossed (r_DATEDIFF_function)", function()
  t.eq(value("select datediff(week,'2009-01-01','2009-12-31') as v"), 52)
  t.eq(value("select datediff(year, '2008-12-31', '2009-01-01') as v"), 1)   -- 'returns 1 year'
  t.eq(value("select datediff(hours, '2009-01-01 8:30:00', '2009-01-01 10:00:00') as v"), 2)
  t.eq(column("select datediff(hour, time_val, time '15:24:45') as v from (values (1, time '20:00:00'), "
    .. "(2, time '00:00:00.5550'), (3, time '00:58:00')) as time_test(n, time_val) order by n"), { -5, 15, 15 })
  t.eq(value("select datediff(minute, time '20:00:00', time '21:00:00') as v"), 60)
  -- every date part Redshift lists, by an abbreviation
  for _, c in ipairs {
    { "mils", "'1999-12-31'", "'2001-01-01'", 1 }, { "cent", "'2000-12-31'", "'2001-01-01'", 1 },
    { "decs", "'2009-12-31'", "'2010-01-01'", 1 }, { "yrs", "'2009-12-31'", "'2010-01-01'", 1 },
    { "qtr", "'2009-03-31'", "'2009-04-01'", 1 }, { "mons", "'2009-01-31'", "'2009-02-01'", 1 },
    { "w", "'2009-01-04'", "'2009-01-05'", 1 }, { "d", "'2009-01-01 23:59'", "'2009-01-02 00:01'", 1 },
    { "hrs", "'2009-01-01 03:59'", "'2009-01-01 04:01'", 1 }, { "mins", "'2009-01-01 03:59:59'", "'2009-01-01 04:00:00'", 1 },
    { "secs", "'2009-01-01 03:59:59.9'", "'2009-01-01 04:00:00.1'", 1 },
    { "msec", "'2009-01-01 03:59:59.9999'", "'2009-01-01 04:00:00.0001'", 1 },
    { "usecs", "'2009-01-01 00:00:00.000001'", "'2009-01-01 00:00:00.000003'", 2 },
  } do
    t.eq(value(("select datediff(%s, %s, %s) as v"):format(c[1], c[2], c[3])), c[4], c[1])
  end
end)

t.test("DATE_TRUNC with Redshift's date parts (r_DATE_TRUNC)", function()
  for _, c in ipairs {
    { "second", "2020-04-30 04:05:06" }, { "minute", "2020-04-30 04:05:00" }, { "hour", "2020-04-30 04:00:00" },
    { "day", "2020-04-30 00:00:00" }, { "month", "2020-04-01 00:00:00" }, { "quarter", "2020-04-01 00:00:00" },
    { "year", "2020-01-01 00:00:00" }, { "millennium", "2001-01-01 00:00:00" },
  } do
    t.eq(value(("SELECT DATE_TRUNC('%s', TIMESTAMP '20200430 04:05:06.789')::text as v"):format(c[1])), c[2], c[1])
  end
  t.eq(value("select date_trunc('week', TIMESTAMP '20220430 04:05:06.789')::text as v"), "2022-04-25 00:00:00")
  -- a DATE truncates to a TIMESTAMP, as Redshift returns (not PostgreSQL's TIMESTAMPTZ)
  t.eq(value("select pg_typeof(date_trunc('month', date '2020-04-30'))::text as v"), "timestamp without time zone")
end)

t.test("DATE_PART and TRUNC (r_Dateparts_for_datetime_functions, r_TRUNC_date)", function()
  t.eq(value("select date_part(sec, timestamp '2009-09-21 11:10:03.189717')::text as v"), "3.189717")
  -- EXTRACT: the unit alone (r_Dateparts_for_datetime_functions, r_EXTRACT_function)
  t.eq(value("select extract(sec from timestamp '2009-09-21 11:10:03.189717') as v"), 3)
  t.eq(value("select extract(minute from timestamp '2009-09-09 12:08:43') as v"), 8)
  t.eq(value("select extract(ms from timestamp '2009-09-09 12:08:43.101') as v"), 101)
  t.eq(value("select extract(ms from time '18:25:33.123456') as v"), 123)
  t.eq(value("select extract(year from timestamptz '1.12.1997 07:37:16.00 PST') as v"), 1997)
  t.eq(column("select extract(minute from time_val) as v from (values (1, time '20:00:00'), (2, time '00:00:00.5550'), "
    .. "(3, time '00:58:00')) time_test(n, time_val) order by n"), { 0, 0, 58 })
  t.eq(value("select extract(decade from timestamp '1999-02-16 20:38:40') as v"), 200)
  t.eq(value("select extract(decade from timestamp '2000-02-16 20:38:40') as v"), 201)
  t.eq(value("select extract(decade from timestamp '2010-02-16 20:38:40') as v"), 202)
  t.eq(value("select extract (century from timestamp '2000-12-16 12:21:13') as v"), 20)
  t.eq(value("select extract (century from timestamp '2001-12-16 12:21:13') as v"), 21)
  t.eq(value("select extract (mil from timestamp '2000-12-16 12:21:13') as v"), 2)
  t.eq(value("select extract (mil from timestamp '2001-12-16 12:21:13') as v"), 3)
  t.eq(value("select extract(weekday from date '2024-06-02') as v"), 0)   -- 0-6 from Sunday
  t.eq(value("select date_part(decade, timestamp '1999-02-16 20:38:40') as v"), 200)
  t.eq(value("select date_part(decade, timestamp '2000-02-16 20:38:40') as v"), 201)
  t.eq(value("select date_part(decade, timestamp '2010-02-16 20:38:40') as v"), 202)
  t.eq(value("select trunc(timestamp '2011-07-21 10:32:38.248109')::text as v"), "2011-07-21")
  t.eq(value("select last_day(date '2004-02-12')::text as v"), "2004-02-29")
  -- r_MONTHS_BETWEEN_function: the literal example and the EVENT rows of the second one
  t.eq(value("select months_between('1969-01-18', '1969-03-18') as v"), -2)
  t.eq(column([[select round(months_between(max(starttime), min(starttime))::numeric, 2)::text as v
    from (values ('.38 Special', timestamp '2008-01-21 19:30:00'), ('.38 Special', '2008-12-25 15:00:00'),
      ('3 Doors Down', '2008-01-03 15:00:00'), ('3 Doors Down', '2008-12-01 19:30:00'),
      ('70s Soul Jam', '2008-01-16 19:30:00'), ('70s Soul Jam', '2008-12-07 14:00:00'),
      ('A Bronx Tale', '2008-01-21 19:00:00'), ('A Bronx Tale', '2008-12-15 15:00:00'),
      ('A Catered Affair', '2008-01-08 19:30:00'), ('A Catered Affair', '2008-12-19 19:00:00'))
      event(eventname, starttime) group by eventname order by eventname]]),
    { "11.12", "10.94", "10.70", "10.80", "11.35" })
  t.eq(value("select months_between('2014-09-30', '2014-08-31') as v"), 1)   -- both last days: whole
end)

t.test("CONVERT_TIMEZONE with 2 and 3 arguments (CONVERT_TIMEZONE)", function()
  t.eq(value("select convert_timezone('America/New_York', '2008-08-21 07:23:51')::text as v"), "2008-08-21 03:23:51")
  t.eq(value("select convert_timezone('EST', 'PST', '20080305 12:25:29')::text as v"), "2008-03-05 09:25:29")
  t.eq(value("select convert_timezone('PST', timestamp '2008-08-24 09:36:12')::text as v"), "2008-08-24 01:36:12")
  t.eq(value("select convert_timezone('US/Pacific', timestamp '2008-08-24 09:36:12')::text as v"), "2008-08-24 02:36:12")
  t.eq(value("select convert_timezone('America/New_York', '2013-02-01 08:00:00')::text as v"), "2013-02-01 03:00:00")
  t.eq(value("select convert_timezone('America/New_York', '2013-06-01 08:00:00')::text as v"), "2013-06-01 04:00:00")
  local r = wh:query([[SELECT CONVERT_TIMEZONE('GMT','NEWZONE +2','2014-05-17 12:00:00')::text as newzone_plus_2,
    CONVERT_TIMEZONE('GMT','NEWZONE-2:15','2014-05-17 12:00:00')::text as newzone_minus_2_15,
    CONVERT_TIMEZONE('GMT','America/Los_Angeles+2','2014-05-17 12:00:00')::text as la_plus_2,
    CONVERT_TIMEZONE('GMT','GMT+2','2014-05-17 12:00:00')::text as gmt_plus_2]])[1]
  t.eq(r.newzone_plus_2, "2014-05-17 10:00:00")
  t.eq(r.newzone_minus_2_15, "2014-05-17 14:15:00")
  t.eq(r.la_plus_2, "2014-05-17 10:00:00")
  t.eq(r.gmt_plus_2, "2014-05-17 10:00:00")
end)

t.test("NVL, NVL2, DECODE (NULL matches NULL), LEN, CHARINDEX, STRTOL", function()
  -- r_NVL_function: NVL takes any number of arguments, like COALESCE
  t.eq(value("select nvl(null, null, 'c') as v"), "c")
  t.eq(column("select x as v from (values (1, null), (2, 'b')) s(n, x) order by nvl(x, 'a') desc"), { "b", lode.null or nil })
  -- r_NVL2
  t.eq(value("select nvl2(null, 'a', 'b') as v"), "b")
  t.eq(value("select nvl2(1, 'a', 'b') as v"), "a")
  t.eq(column([[select nvl2(email, email, phone) AS v from (values ('Aphrodite', 'Acevedo', null, '(906) 632-4407'),
    ('Caldwell', 'Acevedo', 'Nunc.sollicitudin@Duisac.ca', '(111) 111-1111')) users(firstname, lastname, email, phone)
    order by lastname, firstname]]), { "(906) 632-4407", "Nunc.sollicitudin@Duisac.ca" })
  -- r_DECODE_expression: the CATEGORY example and the VENUESEATS NULL example
  t.eq(column([[select decode(catname, 'NHL', 'National Hockey League', 'MLB', 'Major League Baseball',
    'MLS', 'Major League Soccer', 'NFL', 'National Football League', 'NBA', 'National Basketball Association',
    'Unknown') as v from (values (1, 'MLB'), (2, 'NHL'), (3, 'NFL'), (4, 'NBA'), (5, 'MLS'), (6, 'Musicals'))
    category(catid, catname) order by catid]]), { "Major League Baseball", "National Hockey League",
    "National Football League", "National Basketball Association", "Major League Soccer", "Unknown" })
  t.eq(column("select decode(venueseats,null,0,1) as v from (values (1, 76125), (2, null)) venue(n, venueseats) order by n"),
    { 1, 0 })
  t.eq(value("select decode(date '2008-06-02', '2008-06-01', 'June 1st, 2008') is null as v"), true)
  -- 2-argument decode is PostgreSQL's (bytea), untouched
  t.eq(value("select encode(decode('6c6f6465', 'hex'), 'escape') as v"), "lode")
  -- r_LEN: characters, not bytes; CHAR's trailing blanks do not count
  t.eq(value("select len('français') as v"), 8)
  t.eq(value("select len('cat'::char(10)) as v"), 3)
  t.eq(value("select len('cat') + 100 * len('cat   ') as v"), 603)
  t.eq(value("select octet_length('français') as v"), 9)
  -- r_CHARINDEX
  t.eq(value("select charindex('dog', 'fish') as v"), 0)
  t.eq(value("select charindex('fish', 'dogfish') as v"), 4)
  -- r_CONVERT_function: CONVERT(type, expression); r_REPLICATE
  t.eq(value("select convert(integer, pricepaid) as v from (values (12.00::decimal(8,2))) sales(pricepaid)"), 12)
  t.eq(value("select convert(varchar(20), 123) as v"), "123")
  t.eq(value("select replicate(catid, 3) as v from (values (1)) category(catid)"), "111")
  -- RESPECT NULLS is the default; IGNORE NULLS is emulated (below)
  t.eq(value("select first_value(x respect nulls) over (order by n) as v from (values (1, 'a')) s(n, x)"), "a")
  t.eq(value("select first_value(x ignore nulls) over (order by n) as v from (values (1, 'a')) s(n, x)"), "a")
  -- r_STRTOL
  t.eq(value("select strtol('0xf',16) as v"), 15)
  t.eq(value("select strtol('abcd1234',16) as v"), 2882343476)
  t.eq(value("select strtol('1234567', 10) as v"), 1234567)
  t.eq(value("select strtol('1234567', 8) as v"), 342391)
  t.eq(value("select strtol('110101', 2) as v"), 53)
end)

t.test("JSON_EXTRACT_PATH_TEXT with null_if_invalid, SPLIT_PART, REGEXP_*", function()
  -- JSON_EXTRACT_PATH_TEXT: the page's three examples
  t.eq(value([[select json_extract_path_text('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}}','f4', 'f6') as v]]), "star")
  t.raises(function()
    value([[select json_extract_path_text('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}','f4', 'f6') as v]])
  end, "invalid JSON")
  t.eq(value([[select json_extract_path_text('{"f2":{"f3":1},"f4":{"f5":99,"f6":"star"}','f4', 'f6',true) is null as v]]), true)
  -- a missing path is NULL (JSON_EXTRACT_PATH_TEXT's current text; tests/lua/sql/dialect_audit_test.lua)
  t.eq(value([[select json_extract_path_text('{"f2":{"f3":1}}','f9') is null as v]]), true)
  -- JSON_ARRAY_LENGTH, JSON_EXTRACT_ARRAY_ELEMENT_TEXT, IS_VALID_JSON, IS_VALID_JSON_ARRAY: each page's examples
  t.eq(value([=[select json_array_length('[11,12,13,{"f1":21,"f2":[25,26]},14]') as v]=]), 5)
  t.raises(function() value([=[select json_array_length('[11,12,13,{"f1":21,"f2":[25,26]},14') as v]=]) end, "invalid JSON")
  t.eq(value([=[select json_array_length('[11,12,13,{"f1":21,"f2":[25,26]},14',true) is null as v]=]), true)
  t.eq(value("select json_extract_array_element_text('[111,112,113]', 2) as v"), "113")
  t.raises(function() value([=[select json_extract_array_element_text('["a",["b",1,["c",2,3,null,]]]',1) as v]=]) end,
    "invalid JSON")
  t.eq(value([=[select json_extract_array_element_text('["a",["b",1,["c",2,3,null,]]]',1,true) is null as v]=]), true)
  t.eq(value("select json_extract_array_element_text('[111,112,113]', 3) is null as v"), true)   -- out of bounds
  t.eq(column([=[select is_valid_json(json_strings) as v from (values (1, '{"a":2}'), (2, '{"a":{"b":{"c":1}}}'),
    (3, '{"a": [1,2,"b"]}'), (4, '{{}}'), (5, '{1:"a"}'), (6, '[1,2,3]')) test_json(id, json_strings) order by id]=]),
    { true, true, true, false, false, false })
  t.eq(column([=[select is_valid_json_array(json_arrays) as v from (values (1, '[]'), (2, '["a","b"]'),
    (3, '["a",["b",1,["c",2,3,null]]]'), (4, '{"a":1}'), (5, 'a'), (6, '[1,2,]')) test_json_arrays(id, json_arrays)
    order by id]=]), { true, true, true, false, false, false })
  -- SPLIT_PART
  t.eq(value("select split_part('abc$def$ghi','$',2) as v"), "def")
  t.eq(value("select split_part('abc$def$ghi','$',4) as v"), "")
  t.eq(value("select split_part('abc$def$ghi','#',1) as v"), "abc$def$ghi")
  t.raises(function() value("select split_part('a,b', ',', -1) as v") end, "greater than 0")
  -- REGEXP_SUBSTR: case-insensitive, and the PCRE look-ahead examples
  t.eq(value("SELECT regexp_substr('the fox', 'FOX', 1, 1, 'i') as v"), "fox")
  t.eq(value("SELECT regexp_substr('passwd7 plain A1234 a1234', '(?=[^ ]*[a-z])(?=[^ ]*[0-9])[^ ]+', 1, 2, 'p') as v"), "a1234")
  t.eq(value("SELECT regexp_substr('passwd7 plain A1234 a1234', '(?=[^ ]*[a-z])(?=[^ ]*[0-9])[^ ]+', 1, 2, 'ip') as v"), "A1234")
  t.eq(value("SELECT regexp_substr(email,'@[^.]*') as v from (values ('Etiam.laoreet.libero@sodalesMaurisblandit.edu')) u(email)"),
    "@sodalesMaurisblandit")
  -- REGEXP_COUNT: 'the fox' has one 'FOX' ignoring case; REGEXP_INSTR; REGEXP_REPLACE replaces every match
  t.eq(value("SELECT regexp_count('abcdefghijklmnopqrstuvwxyz', '[a-z]{3}') as v"), 8)
  t.eq(value("SELECT regexp_count('the fox', 'FOX', 1, 'i') as v"), 1)
  t.eq(value("SELECT regexp_instr('the fox', 'FOX', 1, 1, 0, 'i') as v"), 5)
  t.eq(value("SELECT regexp_instr('the fox', 'FOX', 1, 1, 1, 'i') as v"), 8)
  t.eq(value("SELECT regexp_replace('the fox', 'FOX', 'quick brown fox', 1, 'i') as v"), "the quick brown fox")
  t.eq(value("SELECT regexp_replace('a-b-c', '-') as v"), "abc")
  -- REGEXP_REPLACE's examples (the pattern's \\. is Redshift's literal escape for \.)
  t.eq(column([[SELECT regexp_replace(email, '@.*\\.(org|gov|com|edu|ca)$') as v from (values
    (1, 'Etiam.laoreet.libero@sodalesMaurisblandit.edu'), (2, 'Suspendisse.tristique@nonnisiAenean.edu'),
    (3, 'amet.faucibus.ut@condimentumegetvolutpat.ca'), (4, 'sed@lacusUtnec.ca')) users(userid, email) order by userid]]),
    { "Etiam.laoreet.libero", "Suspendisse.tristique", "amet.faucibus.ut", "sed" })
  t.eq(value([=[SELECT regexp_replace('sed@lacusUtnec.ca', '@.*\\.[[:alpha:]]{2,3}', '@internal.company.com') as v]=]),
    "sed@internal.company.com")
  t.eq(value("SELECT regexp_replace('passwd7 plain A1234 a1234', '(?=[^ ]*[a-z])(?=[^ ]*[0-9])[^ ]+', '[hidden]', 1, 'p') as v"),
    "[hidden] plain A1234 [hidden]")
  t.eq(value("SELECT regexp_replace('passwd7 plain A1234 a1234', '(?=[^ ]*[a-z])(?=[^ ]*[0-9])[^ ]+', '[hidden]', 1, 'ip') as v"),
    "[hidden] plain [hidden] [hidden]")
  -- REGEXP_INSTR's examples
  t.eq(column([[select regexp_instr(email,'@[^.]*') as v from (values (1, 'Cum@accumsan.com'),
    (2, 'lorem.ipsum@Vestibulumante.com'), (3, 'non.justo.Proin@ametconsectetuer.edu')) users(n, email) order by n]]),
    { 4, 12, 16 })
  t.eq(column([[select regexp_instr(venuename,'[cC]ent(er|re)$') as v from (values (1, 'The Home Depot Center'),
    (2, 'Izod Center'), (3, 'Air Canada Centre'), (4, 'Fenway Park')) venue(n, venuename) order by n]]), { 16, 6, 12, 0 })
end)

t.test("LISTAGG … WITHIN GROUP, DISTINCT (r_LISTAGG), MEDIAN (r_MEDIAN), APPROXIMATE COUNT", function()
  run([[
DROP TABLE IF EXISTS winsales;
create table winsales(salesid int, dateid date, sellerid int, buyerid char(10), qty int, qty_shipped int);
insert into winsales values
(30001, '8/2/2003', 3, 'b', 10, 10), (10001, '12/24/2003', 1, 'c', 10, 10), (10005, '12/24/2003', 1, 'a', 30, null),
(40001, '1/9/2004', 4, 'a', 40, null), (10006, '1/18/2004', 1, 'c', 10, null), (20001, '2/12/2004', 2, 'b', 20, 20),
(40005, '2/12/2004', 4, 'a', 10, 10), (20002, '2/16/2004', 2, 'c', 20, 20), (30003, '4/18/2004', 3, 'b', 15, null),
(30004, '4/18/2004', 3, 'b', 20, null), (30007, '9/7/2004', 3, 'c', 30, null);
DROP TABLE IF EXISTS sales;
create table sales (eventid int, sellerid int, qtysold smallint);
insert into sales select 4337, s, 1 from unnest(array[380, 380, 1178, 1178, 1178, 2731, 8117, 12905, 32043, 32043,
  32043, 32432, 32432, 38669, 38750, 41498, 45676, 46324, 47188, 47188, 48294]) as s;
]])
  t.eq(value("select listagg(sellerid, ', ') within group (order by sellerid) as v from sales where eventid = 4337"),
    "380, 380, 1178, 1178, 1178, 2731, 8117, 12905, 32043, 32043, 32043, 32432, 32432, 38669, 38750, 41498, 45676, "
      .. "46324, 47188, 47188, 48294")
  t.eq(value("select listagg(distinct sellerid, ', ') within group (order by sellerid) as v from sales where eventid = 4337"),
    "380, 1178, 2731, 8117, 12905, 32043, 32432, 38669, 38750, 41498, 45676, 46324, 47188, 48294")
  -- the page orders by dateid alone; two sellers share 2004-02-12, printed 2 then 4
  t.eq(value("select listagg(sellerid) within group (order by dateid, sellerid) as v from winsales"), "31141242333")
  t.eq(value("select listagg(dateid,'|') within group (order by sellerid desc,salesid asc) as v from winsales "
    .. "where buyerid  = 'b'"), "2003-08-02|2004-04-18|2004-04-18|2004-02-12")
  t.eq(value("select listagg(salesid,',') within group (order by salesid) as v from winsales where buyerid = 'a'"),
    "10005,40001,40005")
  -- NULLs and empty strings are left out; no values is NULL
  t.eq(value("select listagg(x, ',') as v from (values ('a'), (null), (''), ('b')) s(x)"), "a,b")
  t.eq(value("select listagg(x, ',') is null as v from (values (null::text)) s(x)"), true)
  -- MEDIAN = PERCENTILE_CONT(0.5); exact for DECIMAL
  t.eq(value("select median(qty) as v from winsales"), "20")   -- a DECIMAL for an INT (r_MEDIAN)
  t.eq(value("select median(x)::text as v from (values (1.10::numeric(5,2)), (2.15), (9.00), (3.00)) s(x)"), "2.5750000000000000")
  t.eq(value("select count(*) as v from (select top 10 distinct sellerid, qtysold, percentile_cont(0.5) within group "
    .. "(order by qtysold) as p, median (qtysold) as m from sales group by sellerid, qtysold) q where p = m"), 10)
  -- APPROXIMATE COUNT(DISTINCT …) is exact here
  t.eq(value("select approximate count(distinct sellerid) as v from sales"), 14)
end)

t.test("SELECT TOP n, subqueries in FROM without an alias", function()
  t.eq(column("select top 3 x as v from generate_series(1, 10) x order by x desc"), { 10, 9, 8 })
  t.eq(column("select distinct top 2 x % 3 as v from generate_series(1, 10) x order by 1"), { 0, 1 })
  t.eq(value("select count(*) as v from (select top 4 x from generate_series(1, 10) x)"), 4)
  t.eq(value("select max(v) as v from (select x as v from generate_series(1, 5) x), (select 1 as one) where one = 1"), 5)
  t.eq(value("select v from (select x as v from generate_series(1, 5) x where x in (select top 1 y from generate_series(3, 9) y "
    .. "order by y)) where v > 1"), 3)
  t.raises(function() value("select percentile_cont(0.5) within group (order by x) over (partition by x % 2) as v "
    .. "from generate_series(1, 4) x") end, "PERCENTILE_CONT … WITHIN GROUP … OVER is not emulated")
  -- TOP in a UNION is refused, naming it
  t.raises(function() value("select top 1 x as v from generate_series(1, 3) x union select 5") end, "SELECT TOP in an operand of UNION")
  -- a column named top is not a TOP clause
  t.eq(value("select top as v from (select 7 as top) q"), 7)
end)

t.test("TOP in an operand of UNION/INTERSECT/EXCEPT/MINUS is refused as Redshift refuses LIMIT there; MINUS is EXCEPT",
    function()
  -- r_SELECT_list: TOP behaves as LIMIT; r_UNION: LIMIT on an intermediate result of a set operation is an error
  for _, q in ipairs {
    "select top 1 x as v from generate_series(1, 3) x union select 5",
    "(select top 1 x as v from generate_series(1, 3) x) union all select 5",
    "select 5 as v intersect (select top 1 x from generate_series(1, 3) x)",
    "select top 2 x as v from generate_series(1, 3) x minus select 1",
  } do
    t.raises(function() value(q) end, "SELECT TOP in an operand of", q)
  end
  -- the whole result limited: TOP over the set operation in a subquery
  t.eq(column("select top 2 v from (select x as v from generate_series(1, 3) x union select 5) order by v desc"), { 5, 3 })
  -- r_UNION: "MINUS and EXCEPT are exact synonyms"
  t.eq(column("select x as v from generate_series(1, 5) x minus select y from generate_series(2, 3) y order by 1"),
    { 1, 4, 5 })
  t.eq(column("select v from (select x as v from generate_series(1, 4) x minus (select 2)) order by 1"), { 1, 3, 4 })
  -- a column named minus is a column
  t.eq(value("select minus as v from (select 7 as minus) q"), 7)
end)

t.test("LIMIT / OFFSET in a parenthesized operand of a set operation is refused, as r_UNION's example fails on Redshift",
    function()
  -- r_UNION: "LIMIT may not be used within input to set operations" (PostgreSQL runs these and returns rows)
  for _, q in ipairs {
    "(select x as v from generate_series(1, 3) x limit 10) intersect select 2",
    "select 2 as v union (select x from generate_series(1, 3) x order by x limit 1)",
    "(select x as v from generate_series(1, 3) x offset 1) except select 3",
    "(select x as v from generate_series(1, 3) x limit 2) minus select 1",
  } do
    t.raises(function() value(q) end, "in an operand of", q)
  end
  -- a LIMIT after the last operand limits the whole result; one in a subquery in FROM limits the subquery
  t.eq(column("select x as v from generate_series(1, 3) x union select 5 order by 1 limit 2"), { 1, 2 })
  t.eq(column("select v from (select x as v from generate_series(1, 3) x order by x limit 1) q union select 5 order by 1"),
    { 1, 5 })
  t.eq(column("select v from ((select 1 as v union select 2) order by v limit 1) q"), { 1 })
end)

t.test("CONCAT is NULL when either argument is (r_CONCAT); + is no string concatenation on Redshift", function()
  t.eq(value("SELECT CONCAT('December 25, ', '2008') as v"), "December 25, 2008")
  t.eq(value("SELECT CONCAT(CONCAT('December 25, ', '2008'), ' Christmas') as v"), "December 25, 2008 Christmas")
  t.eq(value("SELECT CONCAT('a', NULL) IS NULL as v"), true)
  t.eq(value("SELECT CONCAT(NULL, 'b') IS NULL as v"), true)
  -- r_concat_op / r_CONCAT document || and CONCAT only; '+' on strings fails, as on Redshift
  t.raises(function() value("select 'a'::varchar + 'b'::varchar as v") end, "operator does not exist")
  -- a plain PostgreSQL warehouse's concat() keeps PostgreSQL's meaning
  t.eq(redshift.needs_emulation("select concat('a', null)"), false)
end)

t.test("RATIO_TO_REPORT (r_WF_RATIO_TO_REPORT): the page's formula rows and its WINSALES example", function()
  -- "2500 (2500)/(13900) 0.1798" …: the ratios printed to four places
  t.eq(column("select trunc(ratio_to_report(x) over ()::numeric, 4)::text as v from (values (1, 2500), (2, 2600), "
    .. "(3, 2800), (4, 2900), (5, 3100)) s(n, x) order by n"), { "0.1798", "0.1870", "0.2014", "0.2086", "0.2230" })
  run([[
DROP TABLE IF EXISTS d19_winsales;
create table d19_winsales(salesid int, sellerid int, qty decimal(12,8));
insert into d19_winsales values (1, 2, 20.12312341), (2, 2, 20.08630000), (3, 4, 10.12414400), (4, 4, 40.23000000),
(5, 1, 30.37262000), (6, 1, 10.64000000), (7, 1, 10.00000000), (8, 3, 10.03500000), (9, 3, 15.14660000),
(10, 3, 30.54790000), (11, 3, 20.74630000);
]])
  -- the page prints the ratios to two places
  t.eq(column("select round(ratio_to_report(qty) over (partition by sellerid)::numeric, 2)::text as v "
    .. "from d19_winsales order by salesid"),
    { "0.50", "0.50", "0.20", "0.80", "0.60", "0.21", "0.20", "0.13", "0.20", "0.40", "0.27" })
  t.eq(value("select pg_typeof(ratio_to_report(qty) over ())::text as v from d19_winsales limit 1"), "double precision")
  -- "If ratio_expression is NULL, then the return value is NULL"
  t.eq(column("select ratio_to_report(x) over () as v from (values (1, 1), (2, null), (3, 3)) s(n, x) order by n"),
    { 0.25, require("lode.core").null, 0.75 })
  t.raises(function() value("select ratio_to_report(qty) over (order by salesid) as v from d19_winsales") end,
    "RATIO_TO_REPORT")
  run("DROP TABLE d19_winsales")
end)

t.test("IGNORE NULLS in FIRST_VALUE, LAST_VALUE, NTH_VALUE (the pages' VENUE examples), LAG and LEAD (DuckDB)",
    function()
  run([[
DROP TABLE IF EXISTS d19_venue;
create table d19_venue (venueid int, venuename varchar(100), venuecity varchar(30), venuestate char(2), venueseats int);
insert into d19_venue values
(1, 'Qualcomm Stadium', 'San Diego', 'CA', 70561), (2, 'Monster Park', 'San Francisco', 'CA', 69843),
(3, 'McAfee Coliseum', 'Oakland', 'CA', 63026), (4, 'Dodger Stadium', 'Los Angeles', 'CA', 56000),
(5, 'Angel Stadium of Anaheim', 'Anaheim', 'CA', 45050), (6, 'PETCO Park', 'San Diego', 'CA', 42445),
(7, 'AT&T Park', 'San Francisco', 'CA', 41503), (8, 'Shoreline Amphitheatre', 'Mountain View', 'CA', 22000),
(9, 'INVESCO Field', 'Denver', 'CO', 76125), (10, 'Coors Field', 'Denver', 'CO', 50445),
(11, 'Nationals Park', 'Washington', 'DC', 41888), (12, 'Dolphin Stadium', 'Miami Gardens', 'FL', 74916),
(13, 'Jacksonville Municipal Stadium', 'Jacksonville', 'FL', 73800), (14, 'Raymond James Stadium', 'Tampa', 'FL', 65647),
(15, 'Tropicana Field', 'St. Petersburg', 'FL', 36048), (16, 'Ralph Wilson Stadium', 'Orchard Park', 'NY', 73967),
(17, 'Yankee Stadium', 'New York City', 'NY', 52325), (18, 'Madison Square Garden', 'New York City', 'NY', 20000),
(19, 'Pacific Bell Park', 'San Francisco', 'CA', 0);
]])
  -- r_WF_NTH: the third largest venue of CA, FL and NY
  local r = wh:query([[select venuestate, venuename, venueseats,
nth_value(venueseats, 3)
ignore nulls
over(partition by venuestate order by venueseats desc
rows between unbounded preceding and unbounded following)
as third_most_seats
from (select * from d19_venue where venueseats > 0 and
venuestate in('CA', 'FL', 'NY'))
order by venuestate, venueseats desc]])
  local third = {}
  for _, row in ipairs(r) do
    third[#third + 1] = row.venuestate .. ":" .. row.third_most_seats
  end
  t.eq(third, { "CA:63026", "CA:63026", "CA:63026", "CA:63026", "CA:63026", "CA:63026", "CA:63026", "CA:63026",
    "FL:65647", "FL:65647", "FL:65647", "FL:65647", "NY:20000", "NY:20000", "NY:20000" })
  -- r_WF_first_value: after the page's INSERT of a NULL-named 90000-seat venue, FIRST_VALUE is NULL for CA
  -- and FIRST_VALUE(… IGNORE NULLS) is Qualcomm Stadium
  run("insert into d19_venue values(2000,null,'Stanford','CA',90000);")
  local function fv(ignore)
    return column(([[select first_value(venuename%s)
over(partition by venuestate
order by venueseats desc
rows between unbounded preceding and unbounded following) as v
from (select * from d19_venue where venuestate='CA')
order by venuestate, venueseats desc]]):format(ignore))
  end
  local null = require("lode.core").null
  local with, without = fv(" ignore nulls"), fv("")
  t.eq(#with, 10)
  for i = 1, 10 do
    t.eq(with[i], "Qualcomm Stadium")
    t.eq(without[i], null)
  end
  t.eq(fv(" respect nulls"), without)
  -- LAST_VALUE(… IGNORE NULLS): "the last value in the frame that is not NULL"
  t.eq(column([[select distinct last_value(venuename ignore nulls) over (partition by venuestate order by venueseats
    rows between unbounded preceding and unbounded following) as v from d19_venue where venuestate = 'CA']]),
    { "Qualcomm Stadium" })
  t.eq(column([[select nth_value(venuename, 2) ignore nulls over (order by venueseats desc
    rows between unbounded preceding and unbounded following) as v from d19_venue where venuestate = 'CA' limit 1]]),
    { "Monster Park" })
  run("DROP TABLE d19_venue")
  -- LAG / LEAD IGNORE NULLS, offsets 1 and 2, with DuckDB's IGNORE NULLS as the oracle
  local data = "(1, 'a', 1), (2, 'a', null), (3, 'a', null), (4, 'a', 2), (5, 'a', null), (6, 'a', 3), "
    .. "(7, 'b', null), (8, 'b', 5), (9, 'b', 6), (10, 'b', null)"
  local ours = {}
  for _, row in ipairs(wh:query("select i, lag(x) ignore nulls over (partition by g order by i) as l1, "
      .. "lag(x, 2) ignore nulls over (partition by g order by i) as l2, lead(x) ignore nulls over (partition by g "
      .. "order by i) as d1, lead(x, 2) ignore nulls over (partition by g order by i) as d2 from (values " .. data
      .. ") s(i, g, x) order by i")) do
    ours[#ours + 1] = table.concat({ row.i, tostring(row.l1), tostring(row.l2), tostring(row.d1), tostring(row.d2) }, "/")
  end
  local proc = require "lode.proc"
  local root = os.getenv("LODE_ROOT") or "."
  local d = proc.run({ "node", root .. "/tests/tools/duckdb.js", "select i, lag(x, 1 ignore nulls) over (partition by g "
    .. "order by i) as l1, lag(x, 2 ignore nulls) over (partition by g order by i) as l2, lead(x, 1 ignore nulls) over "
    .. "(partition by g order by i) as d1, lead(x, 2 ignore nulls) over (partition by g order by i) as d2 from (values "
    .. data .. ") s(i, g, x) order by i" }, { timeout = 60000 })
  t.eq(d.status, 0, d.stdout .. d.stderr)
  local theirs = {}
  for _, row in ipairs(require("lode.json").decode(d.stdout)) do
    local function s(v)
      return v == nil and tostring(null) or tostring(math.tointeger(tonumber(v)) or v)
    end
    theirs[#theirs + 1] = table.concat({ s(row.i), s(row.l1), s(row.l2), s(row.d1), s(row.d2) }, "/")
  end
  t.eq(ours, theirs)
  t.raises(function() value("select lag(x, 0) ignore nulls over (order by x) as v from (values (1)) s(x)") end,
    "offset 0")
  -- IGNORE NULLS anywhere else is refused, naming it
  t.raises(function() value("select count(x ignore nulls) as v from (values (1)) s(x)") end, "IGNORE NULLS")
end)

-- t_Defining_constraints: "Uniqueness, primary key, and foreign key constraints
-- are informational only; they are not enforced"; NOT NULL is enforced.
t.test("IDENTITY(seed, step), seed 0, and informational keys that let duplicates load", function()
  run([[
DROP TABLE IF EXISTS dialect_keys, dialect_parent;
CREATE TABLE dialect_parent (PRIMARY KEY (id), id INT);
CREATE TABLE dialect_keys (
  seq BIGINT IDENTITY(0, 1),
  id INT NOT NULL PRIMARY KEY,
  code VARCHAR(10) UNIQUE,
  parent INT REFERENCES dialect_parent(id),
  CONSTRAINT dk_pk PRIMARY KEY (id),
  UNIQUE (code),
  FOREIGN KEY (parent) REFERENCES dialect_parent (id)
) DISTSTYLE KEY DISTKEY (id) SORTKEY (id);
INSERT INTO dialect_keys (id, code, parent) VALUES (1, 'a', 99), (1, 'a', 99), (2, 'b', NULL);
ALTER TABLE dialect_keys ADD CONSTRAINT dk_u UNIQUE (code);
ALTER TABLE dialect_keys ADD FOREIGN KEY (parent) REFERENCES dialect_parent (id);
DROP TABLE IF EXISTS dialect_gen;
CREATE TABLE dialect_gen (g INT GENERATED BY DEFAULT AS IDENTITY(0, 1), v INT);
INSERT INTO dialect_gen (v) VALUES (10), (11);
]])
  t.eq(column("select g as v from dialect_gen order by v"), { 0, 1 })
  t.eq(column("select seq as v from dialect_keys order by seq"), { 0, 1, 2 })
  t.eq(value("select count(*) as v from dialect_keys where id = 1"), 2)
  -- NOT NULL is enforced, as on Redshift
  t.raises(function() run("INSERT INTO dialect_keys (id) VALUES (NULL)") end, "null")
  t.eq(value("select count(*) as v from pg_constraint where conrelid in ('dialect_keys'::regclass, "
    .. "'dialect_parent'::regclass) and contype in ('p','u','f')"), 0)
end)

t.test("COLLATE case_insensitive and pg_table_def", function()
  run([[
DROP TABLE IF EXISTS dialect_ci;
CREATE TABLE dialect_ci (name VARCHAR(20) COLLATE case_insensitive, note VARCHAR(20) COLLATE case_sensitive);
INSERT INTO dialect_ci VALUES ('AMAZON', 'AMAZON'), ('amazon', 'amazon'), ('Other', 'Other');
]])
  t.eq(value("select count(*) as v from dialect_ci where name = 'Amazon'"), 2)
  t.eq(value("select count(*) as v from dialect_ci where note = 'Amazon'"), 0)
  t.eq(value("select count(*) as v from dialect_ci where note = 'Amazon' collate case_insensitive"), 2)
  -- pg_table_def: Redshift's columns (r_PG_TABLE_DEF), the types as format_type prints them
  run([[
DROP TABLE IF EXISTS event_example;
create table event_example (eventname varchar(200), starttime timestamp, pgdate_part double precision not null);
]])
  local r = wh:query([[select schemaname, tablename, "column", type, encoding, distkey, sortkey, "notnull"
    from pg_table_def where tablename='event_example' order by "column"]])
  t.eq(#r, 3)
  t.eq(r[1].column, "eventname")
  t.eq(r[1].type, "character varying(200)")
  t.eq(r[2].type, "double precision")
  t.eq(r[2].notnull, true)
  t.eq(r[3].type, "timestamp without time zone")
  t.eq(r[1].schemaname, "public")
  -- only the tables on the search path (r_PG_TABLE_DEF's demo example)
  local results = {}
  sqlrun.run(wh, [[
create schema if not exists demo;
create table if not exists demo.demotable (one int);
select count(*) as n from pg_table_def where tablename = 'demotable';
set search_path to '$user', 'public', 'demo';
select schemaname, tablename, "column", type, trim(encoding) as encoding, distkey, sortkey, "notnull"
  from pg_table_def where tablename = 'demotable';
reset search_path;
drop schema demo cascade]], { on_result = function(st, res) results[#results + 1] = res end })
  t.eq(results[3][1].n, 0)
  local d = results[5][1]
  t.eq({ d.schemaname, d.tablename, d.column, d.type, d.encoding, d.distkey, d.sortkey, d.notnull },
    { "demo", "demotable", "one", "integer", "none", false, 0, false })
end)

t.test("a Redshift function lode does not emulate fails naming it and its line", function()
  local ok, err = pcall(run, "select 1;\n\nselect hll_cardinality(hll_create_sketch(a)) from t")
  t.eq(ok, false)
  t.contains(err.message, "lode: Redshift function HLL_CARDINALITY is not emulated on PostgreSQL (line 3)")
  t.eq(err.line, 3)
  t.eq(redshift.needs_emulation("select is_valid_json('[1]')"), true)
  -- PostgreSQL has a json_array_length of its own: by itself no sign of Redshift SQL
  t.eq(redshift.needs_emulation("select json_array_length('[1]')"), false)
  -- ordinary PostgreSQL SQL is untouched
  t.eq(redshift.needs_emulation("select length(x), date_trunc from t"), false)
  t.eq(redshift.needs_emulation("select decode(x, 'hex') from t"), false)
end)

t.test("views keep Redshift's functions whatever the search_path", function()
  run([[
DROP VIEW IF EXISTS dialect_view;
CREATE VIEW dialect_view AS SELECT nvl(NULL, 'x') AS a, dateadd(day, 1, '2020-02-28')::text AS v;
]])
  t.eq(value("select v from dialect_view"), "2020-02-29 00:00:00")
end)

t.test("a database set up by an older lode gets the current functions; concurrent first uses set it up once", function()
  run([[
DROP FUNCTION lode_redshift.charindex(text, text);
COMMENT ON SCHEMA lode_redshift IS 'lode_redshift 0';
]])
  -- a new pool: its connections have not seen the schema yet
  local wh2 = lode.warehouse({ url = url, pool = 4 })
  local hs = {}
  for i = 1, 4 do
    hs[i] = lode.spawn(function()
      return wh2:query("select charindex('fish', 'dogfish') + " .. i .. " as v")[1].v
    end)
  end
  for i = 1, 4 do
    t.eq(hs[i]:await(), 4 + i)
  end
  t.eq(value("select obj_description('lode_redshift'::regnamespace, 'pg_namespace') as v"),
    require("lode.redshift.dialect").VERSION)
  wh2:close()
end)

t.test("the rewrites keep everything else byte for byte, and the lines", function()
  local dialect = require "lode.redshift.dialect"
  local q = "select top 5 a,\n  nvl(b, 'x')  -- note\nfrom (select * from t where c = 'top 3')\norder by a"
  t.eq(dialect.rewrite(q, 1),
    "select  a,\n  COALESCE(b, 'x')  -- note\nfrom (select * from t where c = 'top 3') AS lode_subquery_1\norder by a LIMIT 5")
  t.eq(dialect.rewrite("select top 2 a from t -- the first two", 1), "select  a from t LIMIT 2 -- the first two")
  -- a CTE, a subquery in a WHERE clause, a quoted "top" and a qualified function are not touched
  for _, s in ipairs {
    "with x as (select 1 as a) select \"top\" from x",
    "select * from t where a in (select a from u)",
    "select myschema.nvl(a) from t",
    "select a from t where exists (select 1 from u)",
  } do
    t.eq(dialect.rewrite(s, 1), s)
  end
  -- an error names its line within the script
  local ok, err = pcall(dialect.rewrite, "select 1,\n\n  hll(a) from t", 10)
  t.eq(ok, false)
  t.eq(err.line, 12)
  t.eq(err.feature, "HLL")
end)

t.test("an informational primary key is still the key lode.merge takes, as Redshift's catalog has it", function()
  run([[
DROP TABLE IF EXISTS dialect_merge, dialect_merge2, dialect_merge_src;
CREATE TABLE dialect_merge (id INT NOT NULL, region VARCHAR(8), amount INT, PRIMARY KEY (id, region)) DISTKEY (id);
CREATE TABLE dialect_merge2 (id INT PRIMARY KEY, amount INT);
CREATE TABLE dialect_merge_src (id INT, region VARCHAR(8), amount INT);
INSERT INTO dialect_merge VALUES (1, 'eu', 10), (2, 'eu', 20);
INSERT INTO dialect_merge_src VALUES (1, 'eu', 11), (1, 'us', 5);
]])
  local merge = require "lode.merge"
  local _, key = wh:session(function(s) return merge.columns_of(s, "dialect_merge", "postgres") end)
  t.eq(key, { "id", "region" })
  local _, key2 = wh:session(function(s) return merge.columns_of(s, "dialect_merge2", "postgres") end)
  t.eq(key2, { "id" })
  merge.upsert(wh, { target = "dialect_merge", query = "SELECT id, region, amount FROM dialect_merge_src" })
  t.eq(column("select id || region || '=' || amount as v from dialect_merge order by id, region"),
    { "1eu=11", "1us=5", "2eu=20" })
  -- declared later by ALTER TABLE, as Redshift allows
  run([[
DROP TABLE IF EXISTS dialect_merge3;
CREATE TABLE dialect_merge3 (k INT, v INT);
ALTER TABLE dialect_merge3 ADD CONSTRAINT dm3_pk PRIMARY KEY (k);
]])
  local _, key3 = wh:session(function(s) return merge.columns_of(s, "dialect_merge3", "postgres") end)
  t.eq(key3, { "k" })
end)

t.test("PostgreSQL's own spellings of the same functions keep PostgreSQL's meaning", function()
  t.eq(value("select regexp_replace('a-b-c', '-', '+', 'g') as v"), "a+b+c")
  t.eq(value("select regexp_replace('a-b-c', '-', '+', 1, 2) as v"), "a-b+c")
  t.eq(value("select regexp_substr('abc123', '([a-z]+)([0-9]+)', 1, 1, '', 2) as v"), "123")
  t.eq(value("select date_trunc('day', timestamptz '2020-01-01 05:00:00+00', 'Asia/Tokyo')::text = "
    .. "pg_catalog.date_trunc('day', timestamptz '2020-01-01 05:00:00+00', 'Asia/Tokyo')::text as v"), true)
  t.eq(value([[select json_extract_path_text('{"a":{"b":"x"}}'::json, 'a', 'b') as v]]), "x")
  t.eq(value("select decode('bG9kZQ==', 'base64') = 'lode'::bytea as v"), true)
end)

t.test("a plain PostgreSQL warehouse: PostgreSQL's functions keep PostgreSQL's results unless the text is Redshift SQL", function()
  local pg = lode.warehouse({ url = url, pool = 1 })
  local function pgv(q)
    return pg:query(q)[1].v
  end
  -- PostgreSQL's 3-argument regexp_replace replaces the first match; Redshift's every match
  t.eq(pgv("select regexp_replace('a-b-c', '-', '+') as v"), "a+b-c")
  t.eq(pgv("select extract(second from timestamp '2020-01-01 00:00:01.5')::text as v"), "1.500000")
  t.eq(pgv("select date_trunc('week', timestamp '2020-01-08 10:00')::text as v"), "2020-01-06 00:00:00")
  -- a Redshift-only construct in the text makes it Redshift SQL
  t.eq(pgv("select nvl(null, regexp_replace('a-b-c', '-', '+')) as v"), "a+b+c")
  t.eq(pgv("select date_trunc(week, timestamp '2020-01-08 10:00')::text as v"), "2020-01-06 00:00:00")
  pg:close()
end)
