-- COPY options Redshift scripts use, emulated on PostgreSQL through
-- `lode sql` (AWS COPY reference, "Data conversion parameters"): ROUNDEC,
-- TRIMBLANKS, ACCEPTANYDATE, IGNOREALLERRORS, NOLOAD, EXPLICIT_IDS,
-- COMPROWS, ENCODING, and FORMAT AS PARQUET … MAXERROR 0 (as dlt emits it).
-- Expected values come from PostgreSQL's own casts or from the generator.
local t = require "lode.test"
local lode = require "lode"
local s3 = require "lode.s3"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."

local bucket = "copyopts-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse({ url = url, pool = 2 })

local function run(script, file)
  return sqlrun.run(wh, script:gsub("B/", B), { file = file or "opts.sql" })
end

local function col(q)
  local out = {}
  for _, r in ipairs(wh:query(q)) do
    local v = r.v
    out[#out + 1] = v == lode.null and "<null>" or tostring(v)
  end
  return table.concat(out, ",")
end

local NUMS = { "20.259", "20.255", "-1.005", "0.004", "-0.005", "123.4", "999999.994" }

t.test("ROUNDEC rounds extra scale digits as PostgreSQL's cast does; without it they are truncated", function()
  s3.put(B .. "num/n.txt", table.concat(NUMS, "\n") .. "\n")
  run([[
DROP TABLE IF EXISTS o_num; CREATE TABLE o_num (v DECIMAL(8,2));
COPY o_num FROM 'B/num/' IAM_ROLE 'r' ROUNDEC;
DROP TABLE IF EXISTS o_num_t; CREATE TABLE o_num_t (v DECIMAL(8,2));
COPY o_num_t FROM 'B/num/' IAM_ROLE 'r';]])
  local rounded, truncated = {}, {}
  for i, v in ipairs(NUMS) do
    local r = wh:query("SELECT $1::numeric(8,2)::text AS a, trunc($1::numeric, 2)::numeric(8,2)::text AS b", v)[1]
    rounded[i], truncated[i] = r.a, r.b
  end
  t.eq(col("SELECT v::text AS v FROM o_num"), table.concat(rounded, ","))
  t.eq(col("SELECT v::text AS v FROM o_num_t"), table.concat(truncated, ","))
  -- rounding past the precision is an overflow, as PostgreSQL's cast
  s3.put(B .. "numover/n.txt", "999999.995\n")
  t.raises(function() run("COPY o_num FROM 'B/numover/' IAM_ROLE 'r' ROUNDEC;") end, "Numeric data overflow")
  t.raises(function() wh:query("SELECT '999999.995'::numeric(8,2) AS x") end, "overflow")
end)

t.test("TRIMBLANKS cuts trailing blanks from VARCHAR values before the length check", function()
  s3.put(B .. "trim/t.txt", "1|ab   |  x  \n2|abcde \t|y\n")
  run([[
DROP TABLE IF EXISTS o_trim; CREATE TABLE o_trim (id int, a varchar(5), b varchar(10));
COPY o_trim FROM 'B/trim/' IAM_ROLE 'r' TRIMBLANKS;]])
  t.eq(col("SELECT '[' || a || '][' || b || ']' AS v FROM o_trim ORDER BY id"), "[ab][  x],[abcde][y]")
  -- without it the blanks are data, and "abcde \t" is too long for varchar(5)
  t.raises(function()
    run("DROP TABLE IF EXISTS o_trim2; CREATE TABLE o_trim2 (id int, a varchar(5), b varchar(10));\n"
      .. "COPY o_trim2 FROM 'B/trim/' IAM_ROLE 'r';")
  end, "String length exceeds DDL length")
end)

t.test("ACCEPTANYDATE loads a date that does not parse as NULL", function()
  s3.put(B .. "date/d.txt", "1|2024-01-02|2024-01-02 03:04:05\n2|00/00/00|00/00/00 00:00:00\n")
  run([[
DROP TABLE IF EXISTS o_date; CREATE TABLE o_date (id int, d date, ts timestamp);
COPY o_date FROM 'B/date/' IAM_ROLE 'r' DATEFORMAT 'YYYY-MM-DD' ACCEPTANYDATE;]])
  t.eq(col("SELECT coalesce(d::text, '<null>') || '/' || coalesce(ts::text, '<null>') AS v FROM o_date ORDER BY id"),
    "2024-01-02/2024-01-02 03:04:05,<null>/<null>")
  t.raises(function() run("COPY o_date FROM 'B/date/' IAM_ROLE 'r' DATEFORMAT 'YYYY-MM-DD';") end, "Invalid")
end)

t.test("IGNOREALLERRORS skips every bad row; combined with MAXERROR it is refused", function()
  local lines = {}
  for i = 1, 50 do
    lines[#lines + 1] = i % 5 == 0 and ("x%d|bad"):format(i) or ("%d|ok"):format(i)
  end
  s3.put(B .. "bad/b.txt", table.concat(lines, "\n") .. "\n")
  run([[
DROP TABLE IF EXISTS o_bad; CREATE TABLE o_bad (id int, s varchar(5));
COPY o_bad FROM 'B/bad/' IAM_ROLE 'r' IGNOREALLERRORS;]])
  t.eq(col("SELECT count(*) AS v FROM o_bad"), "40")
  t.raises(function() run("COPY o_bad FROM 'B/bad/' IAM_ROLE 'r' IGNOREALLERRORS MAXERROR 5;") end,
    "MAXERROR and IGNOREALLERRORS cannot be combined")
end)

t.test("NOLOAD checks the files and loads nothing", function()
  s3.put(B .. "noload/good.txt", "1|a\n2|b\n")
  s3.put(B .. "noload_bad/bad.txt", "1|a\nnope|b\n")
  run([[
DROP TABLE IF EXISTS o_noload; CREATE TABLE o_noload (id int, s varchar(5));
INSERT INTO o_noload VALUES (100, 'kept');
COPY o_noload FROM 'B/noload/' IAM_ROLE 'r' NOLOAD;]])
  t.eq(col("SELECT id AS v FROM o_noload"), "100")
  t.raises(function() run("COPY o_noload FROM 'B/noload_bad/' IAM_ROLE 'r' NOLOAD;", "nl.sql") end,
    "nl.sql:1:")
  t.eq(col("SELECT id AS v FROM o_noload"), "100")
end)

t.test("EXPLICIT_IDS loads the file's IDENTITY values; without it the column is left out and generated", function()
  s3.put(B .. "ids/with.txt", "7|seven\n9|nine\n")
  s3.put(B .. "ids/without.txt", "ten\neleven\n")
  run([[
DROP TABLE IF EXISTS o_ids; CREATE TABLE o_ids (id BIGINT IDENTITY(1,1), name VARCHAR(10));
COPY o_ids FROM 'B/ids/with.txt' IAM_ROLE 'r' EXPLICIT_IDS;
COPY o_ids FROM 'B/ids/without.txt' IAM_ROLE 'r';]])
  t.eq(col("SELECT id || '=' || name AS v FROM o_ids WHERE id IN (7, 9) ORDER BY id"), "7=seven,9=nine")
  t.eq(col("SELECT count(*) AS v FROM o_ids WHERE name IN ('ten', 'eleven') AND id IS NOT NULL"), "2")
  t.raises(function() run("COPY o_ids (id, name) FROM 'B/ids/with.txt' IAM_ROLE 'r';") end, "needs EXPLICIT_IDS")
end)

t.test("COMPROWS and ENCODING UTF8 change nothing; ENCODING UTF16LE transcodes, and a file that is not UTF-16 fails at the statement", function()
  s3.put(B .. "enc/e.txt", "1|é\n")
  s3.put(B .. "enc16/e.txt", "\xff\xfe2\0|\0\xe9\0\n\0")
  run([[
DROP TABLE IF EXISTS o_enc; CREATE TABLE o_enc (id int, s varchar(5));
COPY o_enc FROM 'B/enc/' IAM_ROLE 'r' COMPROWS 100000 ENCODING AS UTF8 COMPUPDATE ON;
COPY o_enc FROM 'B/enc16/' IAM_ROLE 'r' ENCODING UTF16LE;]])
  t.eq(col("SELECT id || s AS v FROM o_enc ORDER BY id"), "1é,2é")
  -- the UTF-8 file read as UTF-16LE: 5 bytes, an odd count (Redshift: "it skips the file and returns an error")
  local err = t.raises(function() run("\nCOPY o_enc FROM 'B/enc/' IAM_ROLE 'r' ENCODING UTF16LE;", "enc.sql") end, "enc.sql:2:")
  t.contains(tostring(err), "e.txt, byte 5: the file ends in the middle of a UTF-16 code unit")
end)

t.test("FORMAT AS PARQUET … MAXERROR 0 (dlt) loads like FORMAT AS PARQUET", function()
  local dir = t.tmpdir()
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ("COPY (SELECT i AS id, 'n' || i AS name FROM range(1, 201) t(i)) "
    .. "TO '%s' (FORMAT parquet)"):format(dir .. "/p.parquet") }, { timeout = 60000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  s3.upload(dir .. "/p.parquet", B .. "pq/part-0.parquet")
  run([[
DROP TABLE IF EXISTS o_pq; CREATE TABLE o_pq (id bigint, name varchar(10));
COPY o_pq FROM 'B/pq/' IAM_ROLE 'r' FORMAT AS PARQUET MAXERROR 0;]])
  t.eq(col("SELECT count(*) || '/' || sum(id) AS v FROM o_pq"), "200/20100")
  t.raises(function() run("COPY o_pq FROM 'B/pq/' IAM_ROLE 'r' FORMAT AS PARQUET MAXERROR 3;") end,
    "MAXERROR is not supported with PARQUET")
end)

t.test("JSON arrays load through a JSONPaths file ($[0], $[1]); with 'auto' they are refused, as on Redshift", function()
  s3.put(B .. "jarr/data.json", '[1, "one", {"x": 10}]\n[2, "two, \\"quoted\\"", {"x": 20}]\n  [3, null, {}]\n')
  s3.put(B .. "jpaths/arr.jsonpaths", '{"jsonpaths": ["$[0]", "$[1]", "$[2].x"]}')
  run([[
DROP TABLE IF EXISTS o_jarr; CREATE TABLE o_jarr (id int, name varchar(20), x int);
COPY o_jarr FROM 'B/jarr/' IAM_ROLE 'r' FORMAT AS JSON 'B/jpaths/arr.jsonpaths';]])
  t.eq(col("SELECT id || '|' || coalesce(name, '<null>') || '|' || coalesce(x::text, '<null>') AS v FROM o_jarr ORDER BY id"),
    '1|one|10,2|two, "quoted"|20,3|<null>|<null>')
  t.raises(function() run("COPY o_jarr FROM 'B/jarr/' IAM_ROLE 'r' FORMAT AS JSON 'auto';") end, "needs a JSONPaths file")
end)
