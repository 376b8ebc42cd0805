-- Spectrum's data handling table properties on text external tables
-- (PostgreSQL emulation, s3rver): AWS's soccer_league example from the
-- CREATE EXTERNAL TABLE page ("Data handling examples"), its ALTERs and the
-- results it prints, over a file written here in the example's layout (a
-- header line; Barcelona's name with an invalid UTF-8 byte; names longer
-- than their columns). Oracle: the rows the page prints.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local BUCKET = "spectrum-uddh"
local S3 = "s3://" .. BUCKET .. "/"

local X = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/spectrum/s3_env.lua")(BUCKET, "schema_spectrum_uddh")
local write = X.write
local env

local function setup()
  env = X.setup()
  return env
end

-- spi_global_rankings.csv's layout: a header, then rank,prev_rank,name,league,off,def,spi,nspi
local LEAGUE = table.concat({
  "rank,prev_rank,name,league,off,def,spi,nspi",
  "1,1,Manchester City,Barclays Premier League,2.82,0.28,92.51,34595",
  "2,2,Bayern Munich,German Bundesliga,3.02,0.62,90.69,34151",
  "3,3,Liverpool,Barclays Premier League,2.50,0.41,87.47,33223",
  "4,4,Chelsea,Barclays Premier League,2.41,0.43,86.05,32808",
  "5,5,Ajax,Dutch Eredivisie,2.64,0.59,85.99,32790",
  "6,6,Atletico Madrid,Spanish Primera Division,2.04,0.39,83.36,31517",
  "7,7,Real Madrid,Spanish Primera Division,2.21,0.50,83.19,31469",
  "8,8,Barcel\243na,Spanish Primera Division,2.34,0.62,82.75,31321",
  "9,9,RB Leipzig,German Bundesliga,2.43,0.67,82.11,31014",
  "10,10,Paris Saint-Germain,French Ligue 1,2.34,0.65,81.67,30929",
  "11,12,Tottenham Hotspur,Barclays Premier League,2.16,0.58,80.34,30512",
  "12,11,Inter Milan,Italy Serie A,2.05,0.55,79.73,30344",
}, "\n") .. "\n"

local TOP10 = [[select league_rank,club_name,league_name,league_nspi
from schema_spectrum_uddh.soccer_league
where league_rank between 1 and 10;]]

local function top10()
  local res = sqlrun.run(env.wh, TOP10, { file = "top10.sql" })
  local out = {}
  for _, row in ipairs(res[#res].result) do
    local club = (row.club_name == nil or row.club_name == lode.null) and "NULL" or row.club_name
    out[#out + 1] = ("%d|%s|%s|%d"):format(row.league_rank, club, row.league_name, row.league_nspi)
  end
  table.sort(out, function(a, b) return tonumber(a:match("^%d+")) < tonumber(b:match("^%d+")) end)
  return out
end

-- the rows the page prints (league_rank, club_name, league_name, league_nspi)
local PRINTED = {
  "1|Manchester City|Barclays Premier Lea|34595", "2|Bayern Munich|German Bundesliga|34151",
  "3|Liverpool|Barclays Premier Lea|33223", "4|Chelsea|Barclays Premier Lea|32808", "5|Ajax|Dutch Eredivisie|32790",
  "6|Atletico Madrid|Spanish Primera Divi|31517", "7|Real Madrid|Spanish Primera Divi|31469",
  "8|Barcel?na|Spanish Primera Divi|31321", "9|RB Leipzig|German Bundesliga|31014",
  "10|Paris Saint-Ger|French Ligue 1|30929",
}

local DDL = [[
create external schema schema_spectrum_uddh
from data catalog
database 'spectrum_db_uddh'
iam_role 'arn:aws:iam::123456789012:role/role-name'
create external database if not exists;

CREATE EXTERNAL TABLE schema_spectrum_uddh.soccer_league
(
  league_rank smallint,
  prev_rank   smallint,
  club_name   varchar(15),
  league_name varchar(20),
  league_off  decimal(6,2),
  league_def  decimal(6,2),
  league_spi  decimal(6,2),
  league_nspi integer
)
ROW FORMAT DELIMITED
    FIELDS TERMINATED BY ','
%s
stored as textfile
LOCATION 's3://spectrum-uddh/league/'
table properties ('skip.header.line.count'='1'%s);
]]

-- the page's first query, the table having no data handling property: "Because club Barcelona has an
-- invalid character in the string, a NULL is displayed for the name"; names cut to their VARCHAR
local PRINTED_NO_PROPERTIES = {}
for i, r in ipairs(PRINTED) do
  PRINTED_NO_PROPERTIES[i] = r:match("^8|") and "8|NULL|Spanish Primera Divi|31321" or r
end

t.test("soccer_league (CREATE EXTERNAL TABLE, data handling examples): the printed rows, without properties, "
    .. "with REPLACE and with DROP_ROW", { timeout = 180000 }, function()
  local E = setup()
  write("league/spi_global_rankings.csv", LEAGUE)
  -- the page's LINES TERMINATED BY '\n\l': AWS defines no '\l', so it is refused, saying so
  local ok, err = pcall(sqlrun.run, E.wh, DDL:format("    LINES TERMINATED BY '\\n\\l'", ""), { file = "uddh.sql" })
  t.ok(not ok)
  t.contains(tostring(err.message or err), "LINES TERMINATED BY '\\n\\l' is not emulated")
  t.contains(tostring(err.message or err), "documents no '\\l' escape")
  t.eq(E.wh:query("SELECT to_regclass('schema_spectrum_uddh.soccer_league') IS NULL AS gone")[1].gone, true)
  E.wh:exec("DROP SCHEMA IF EXISTS schema_spectrum_uddh CASCADE")
  sqlrun.run(E.wh, DDL:format("", ""), { file = "uddh.sql" })
  local n = sqlrun.run(E.wh, "select count(*) as n from schema_spectrum_uddh.soccer_league;", { file = "n.sql" })
  t.eq(n[#n].result[1].n, 12)   -- the rows written (the page's file has 645)
  t.eq(top10(), PRINTED_NO_PROPERTIES)
  sqlrun.run(E.wh, [[alter  table schema_spectrum_uddh.soccer_league
set table properties ('invalid_char_handling'='REPLACE','replacement_char'='?','data_cleansing_enabled'='true');]],
    { file = "alter1.sql" })
  t.eq(top10(), PRINTED)
  sqlrun.run(E.wh, [[alter table schema_spectrum_uddh.soccer_league
set table properties ('invalid_char_handling'='DROP_ROW','data_cleansing_enabled'='true');]], { file = "alter2.sql" })
  local dropped = {}
  for _, r in ipairs(PRINTED) do
    if not r:match("^8|") then
      dropped[#dropped + 1] = r
    end
  end
  t.eq(top10(), dropped)
  -- 'data_cleansing_enabled'='false': "data handling is off for the table"; what Spectrum then returns
  -- for a bad value is not documented: the query fails
  sqlrun.run(E.wh, [[alter table schema_spectrum_uddh.soccer_league
set table properties ('data_cleansing_enabled'='false');]], { file = "alter3.sql" })
  ok, err = pcall(top10)
  t.ok(not ok, "handling off: the bad value fails the query")
  -- surplus_char_handling 'FAIL': a name longer than its column fails the query, naming it
  sqlrun.run(E.wh, [[alter table schema_spectrum_uddh.soccer_league
set table properties ('data_cleansing_enabled'='true','invalid_char_handling'='REPLACE','surplus_char_handling'='FAIL');]],
    { file = "alter4.sql" })
  ok, err = pcall(top10)
  t.ok(not ok)
  t.contains(tostring(err.context or err.message or err), "spi_global_rankings.csv line 2, column league_name")
end)

t.test("DROP_ROW of one property leaves only its kind of bad row out; another kind still fails the query",
    { timeout = 180000 }, function()
  local E = setup()
  write("kinds/a.txt", "1|ok\n2|b\255d\nx3|ok\n4|ok\n")
  sqlrun.run(E.wh, [[
create external schema if not exists schema_spectrum_uddh from data catalog database 'spectrum_db_uddh'
iam_role 'arn:aws:iam::123456789012:role/role-name' create external database if not exists;
create external table schema_spectrum_uddh.kinds_utf8 (id int, v varchar(10))
row format delimited fields terminated by '|'
location 's3://spectrum-uddh/kinds/'
table properties ('invalid_char_handling'='DROP_ROW');
create external table schema_spectrum_uddh.kinds_both (id int, v varchar(10))
row format delimited fields terminated by '|'
location 's3://spectrum-uddh/kinds/'
table properties ('invalid_char_handling'='DROP_ROW', 'numeric_overflow_handling'='DROP_ROW');
]], { file = "kinds.sql" })
  -- 'x3' is no integer: invalid_char_handling does not govern it
  local err = t.raises(function() E.wh:query("SELECT * FROM schema_spectrum_uddh.kinds_utf8") end)
  t.contains(tostring(err.context or err.message), "a.txt line 3, column id")
  local r = E.wh:query("SELECT string_agg(id::text, ',' ORDER BY id) AS r FROM schema_spectrum_uddh.kinds_both")
  t.eq(r[1].r, "1,4")
  -- SET_TO_NULL of one kind: 'x3' (no integer) is numeric_overflow_handling's, still failing the query
  sqlrun.run(E.wh, [[create external table schema_spectrum_uddh.kinds_null (id int, v varchar(10))
row format delimited fields terminated by '|' location 's3://spectrum-uddh/kinds/'
table properties ('invalid_char_handling'='SET_TO_NULL');]], { file = "null.sql" })
  err = t.raises(function() E.wh:query("SELECT * FROM schema_spectrum_uddh.kinds_null") end)
  t.contains(tostring(err.context or err.message), "a.txt line 3, column id")
end)

-- Each row as "id|v|amt" with NULL spelled out, in id order (NULL ids last).
local function rows(q)
  local out = {}
  for _, r in ipairs(env.wh:query(q)) do
    local v = {}
    for i, c in ipairs({ "id", "v", "amt" }) do
      local x = r[c]
      v[i] = (x == nil or x == lode.null) and "NULL" or tostring(x)
    end
    out[#out + 1] = table.concat(v, "|")
  end
  return out
end

-- SET_TO_NULL, property by property (CREATE EXTERNAL TABLE, TABLE PROPERTIES):
-- "Replaces data that exceeds the column width with null" (a VARCHAR's
-- width is in bytes), "Replaces invalid UTF-8 values with null", a number
-- too big for its column set to null, and for a column count mismatch "Fill
-- missing values with NULL and ignore the additional values in each row".
-- The row is kept, its other columns as written. Oracle: the rows written
-- here by hand from those words.
local SET_TO_NULL_CASES = {
  { prop = "surplus_char_handling", file = "1|abc|1.5\n2|abcdefgh|2.5\n3|h\195\169llo|3.5\n4|h\195\169ll|4.5\n",
    want = { "1|abc|1.5", "2|NULL|2.5", "3|NULL|3.5", "4|h\195\169ll|4.5" } },
  { prop = "invalid_char_handling", file = "1|ok|1.0\n2|b\255d|2.0\n3|\192\175|3.0\n",
    want = { "1|ok|1.0", "2|NULL|2.0", "3|NULL|3.0" } },
  { prop = "numeric_overflow_handling", file = "1|a|999.9\n2|b|1000.0\n3|c|5\n40000000000|d|1.0\n",
    want = { "1|a|999.9", "2|b|NULL", "3|c|5.0", "NULL|d|1.0" } },
  { prop = "column_count_mismatch_handling", file = "1|a|1.0\n2|b\n3|c|3.0|extra|more\n4\n",
    want = { "1|a|1.0", "2|b|NULL", "3|c|3.0", "4|NULL|NULL" } },
}

t.test("SET_TO_NULL of each property: the bad value is NULL, the row and its other values kept",
    { timeout = 180000 }, function()
  local E = setup()
  sqlrun.run(E.wh, [[
create external schema if not exists schema_spectrum_uddh from data catalog database 'spectrum_db_uddh'
iam_role 'arn:aws:iam::123456789012:role/role-name' create external database if not exists;]], { file = "s.sql" })
  for _, c in ipairs(SET_TO_NULL_CASES) do
    write("null/" .. c.prop .. "/a.txt", c.file)
    sqlrun.run(E.wh, ([[
create external table schema_spectrum_uddh.%s (id int, v varchar(5), amt decimal(4,1))
row format delimited fields terminated by '|'
stored as textfile
location 's3://spectrum-uddh/null/%s/'
table properties ('%s'='SET_TO_NULL');]]):format(c.prop, c.prop, c.prop), { file = c.prop .. ".sql" })
    t.eq(rows(("SELECT id, v, amt FROM schema_spectrum_uddh.%s ORDER BY id NULLS LAST"):format(c.prop)), c.want,
      c.prop)
    -- 'FAIL': the same file fails the query, naming its line
    sqlrun.run(E.wh, ("alter table schema_spectrum_uddh.%s set table properties ('%s'='FAIL');"):format(c.prop,
      c.prop), { file = "fail.sql" })
    local err = t.raises(function() E.wh:query(("SELECT * FROM schema_spectrum_uddh.%s"):format(c.prop)) end)
    t.contains(tostring(err.context or err.message), "a.txt line 2", c.prop)
  end
end)

t.test("Parquet tables: an action the Parquet scan cannot take is refused at CREATE and ALTER, naming it",
    { timeout = 180000 }, function()
  local E = setup()
  sqlrun.run(E.wh, [[
create external schema if not exists schema_spectrum_uddh from data catalog database 'spectrum_db_uddh'
iam_role 'arn:aws:iam::123456789012:role/role-name' create external database if not exists;]], { file = "s.sql" })
  for _, p in ipairs({ "surplus_char_handling", "invalid_char_handling", "numeric_overflow_handling" }) do
    local err = t.raises(function()
      sqlrun.run(E.wh, ([[create external table schema_spectrum_uddh.pq_%s (id int, v varchar(5))
stored as parquet location 's3://spectrum-uddh/pq/' table properties ('%s'='SET_TO_NULL');]]):format(p, p),
        { file = "pq.sql" })
    end)
    t.contains(tostring(err.message), p .. " 'SET_TO_NULL' is not emulated locally by lode for Parquet tables")
    t.eq(E.wh:query(("SELECT to_regclass('schema_spectrum_uddh.pq_%s') IS NULL AS gone"):format(p))[1].gone, true,
      "nothing created")
  end
  -- FAIL, and column_count_mismatch_handling (text files only), are accepted
  sqlrun.run(E.wh, [[create external table schema_spectrum_uddh.pq_ok (id int, v varchar(5))
stored as parquet location 's3://spectrum-uddh/pq/'
table properties ('surplus_char_handling'='FAIL', 'column_count_mismatch_handling'='SET_TO_NULL');]],
    { file = "pq.sql" })
  local err = t.raises(function()
    sqlrun.run(E.wh, [[alter table schema_spectrum_uddh.pq_ok set table properties ('surplus_char_handling'='TRUNCATE');]],
      { file = "pq2.sql" })
  end)
  t.contains(tostring(err.message), "surplus_char_handling 'TRUNCATE' is not emulated locally by lode for Parquet")
end)

t.test("surplus_bytes_handling: a text table's VARBYTE column (whose width lode cannot apply) is refused at CREATE",
    { timeout = 180000 }, function()
  local E = setup()
  sqlrun.run(E.wh, [[
create external schema if not exists schema_spectrum_uddh from data catalog database 'spectrum_db_uddh'
iam_role 'arn:aws:iam::123456789012:role/role-name' create external database if not exists;]], { file = "s.sql" })
  local err = t.raises(function()
    sqlrun.run(E.wh, [[create external table schema_spectrum_uddh.vb (id int, b varbyte(4))
row format delimited fields terminated by '|' location 's3://spectrum-uddh/vb/'
table properties ('surplus_bytes_handling'='SET_TO_NULL');]], { file = "vb.sql" })
  end)
  t.contains(tostring(err.message), 'column "b" is varbyte(4): VARBYTE columns of text tables are not emulated')
  t.eq(E.wh:query("SELECT to_regclass('schema_spectrum_uddh.vb') IS NULL AS gone")[1].gone, true)
end)
