-- UNLOAD on PostgreSQL writes what Redshift writes: the bytes (checked
-- against tests/tools/unload_oracle.py, the AWS reference's rules written
-- independently in Python), the object names and manifest (checked with the
-- aws CLI's listing), and files a COPY loads back into the identical table
-- (compared in PostgreSQL with EXCEPT ALL both ways).
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local s3 = require "lode.s3"
local json = require "lode.json"
local sqlrun = require "lode.sqlrun"

local root = os.getenv("LODE_ROOT") or "."
local BUCKET = "unload-test"
local B = "s3://" .. BUCKET .. "/"
local ROLE = "IAM_ROLE 'arn:aws:iam::123456789012:role/R'"

t.test("every option of Redshift's UNLOAD grammar parses (so Redshift scripts run unchanged)", function()
  local rs = require "lode.redshift"
  local st = rs.statements([[UNLOAD ('select * from t where d = ''x''') TO 's3://b/p/'
    IAM_ROLE default FORMAT AS JSON PARTITION BY (a, b) INCLUDE MANIFEST VERBOSE HEADER DELIMITER AS '\t'
    ENCRYPTED AUTO KMS_KEY_ID 'k' BZIP2 ADDQUOTES NULL AS 'n' ESCAPE ALLOWOVERWRITE CLEANPATH PARALLEL
    MAXFILESIZE AS 1.5 GB ROWGROUPSIZE 64 REGION AS 'us-east-1' EXTENSION 'json.bz2']])[1]
  t.eq(st.kind, "unload")
  t.eq(st.query, "select * from t where d = 'x'")
  t.eq(st.format, "json")
  t.eq(st.partition_by, { "a", "b" })
  t.eq(st.partition_include, true)
  t.eq(st.manifest_verbose, true)
  t.eq(st.delimiter, "\t")
  t.eq(st.encrypted, "auto")
  t.eq(st.parallel, true)
  t.eq(st.maxfilesize, math.floor(1.5 * 1024 * 1024 * 1024))
  t.eq(st.rowgroupsize, 64 * 1024 * 1024, "MB when no unit is given")
  t.eq(st.extension, "json.bz2")
  t.eq(rs.statements("UNLOAD ('select 1') TO 's3://b/x' IAM_ROLE 'r' PARALLEL GZIP")[1].gzip, true,
    "PARALLEL without a value, then another option")
  t.eq(rs.statements("UNLOAD ('select 1') TO 's3://b/x' IAM_ROLE 'r' PARALLEL FALSE")[1].parallel, false)
end)

t.test("option strings arrive decoded from lode.redshift: DELIMITER '\\t' is a tab, '\\\\N' is \\N", function()
  local rs = require "lode.redshift"
  t.eq(rs.statements([[UNLOAD ('select 1') TO 's3://b/x' IAM_ROLE 'r' DELIMITER '\t' NULL AS '\\N']])[1].delimiter, "\t")
  t.eq(rs.statements([[UNLOAD ('select 1') TO 's3://b/x' IAM_ROLE 'r' DELIMITER '\174' NULL AS '\\N']])[1].null_as, "\\N")
end)

-- tests that run many statements and aws CLI calls: minutes on a loaded machine
local SLOW = { timeout = 300000 }

local wh
local function setup()
  if wh then
    return wh
  end
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  wh = lode.warehouse({ url = url, pool = 2 })
  proc.run({ "aws", "s3", "rb", "--force", "s3://" .. BUCKET })
  local r = proc.run({ "aws", "s3", "mb", "s3://" .. BUCKET })
  t.eq(r.status, 0, r.stderr)
  return wh
end

local function run(text)
  return sqlrun.run(setup(), text, { file = "unload.sql" })
end

-- {key = size} of every object under prefix, from the aws CLI
local function listing(prefix)
  local r = proc.run({ "aws", "s3api", "list-objects-v2", "--bucket", BUCKET, "--prefix", prefix, "--output", "json" })
  t.eq(r.status, 0, r.stderr)
  local out = {}
  if r.stdout:match("%S") then
    for _, o in ipairs(json.decode(r.stdout).Contents or {}) do
      out[o.Key] = o.Size
    end
  end
  return out
end

local function keys(prefix)
  local ks = {}
  for k in pairs(listing(prefix)) do
    ks[#ks + 1] = k
  end
  table.sort(ks)
  return ks
end

-- Every value that breaks naive writers: quotes, delimiters, backslashes,
-- line ends, tabs, NULL next to the empty string, unicode, outer spaces.
local HOSTILE = {
  "plain", 'double " quote', "single ' quote", "pipe | bar", "comma , x", "back \\ slash", "ends with \\",
  "\\", "line\nbreak", "crlf\r\nend", "cr\ronly", "tab\there", "", "  lead and trail  ", "\\N", "N",
  "unicode é ü 日本 🎉", '"', "|", ",", '""', "\t", "\n", "a|b,c\"d\\e\nf\rg\th",
}

local function make_hostile(name)
  local rows = {}
  for i, s in ipairs(HOSTILE) do
    -- a Redshift literal: backslashes escape, so each is doubled (as sql.literal(v, "redshift") does)
    local lit = "'" .. s:gsub("\\", "\\\\"):gsub("'", "''") .. "'"
    rows[#rows + 1] = ("(%d, %s, %s, %s, %s, %s)"):format(i, lit, i % 3 == 0 and "NULL" or ("%d.%03d"):format(i, i),
      i % 4 == 0 and "NULL" or (i % 2 == 0 and "true" or "false"),
      i % 5 == 0 and "NULL" or ("DATE '2024-01-%02d'"):format(i),
      i % 6 == 0 and "NULL" or ("TIMESTAMP '2024-02-03 04:05:%02d.25'"):format(i))
  end
  rows[#rows + 1] = "(100, NULL, NULL, NULL, NULL, NULL)"
  run(([[
DROP TABLE IF EXISTS %s;
CREATE TABLE %s (id INT, s VARCHAR(200), n NUMERIC(12,3), b BOOLEAN, d DATE, ts TIMESTAMP);
INSERT INTO %s VALUES %s;]]):format(name, name, name, table.concat(rows, ", ")))
end

-- the two tables hold the same rows, duplicates included
local function same_table(a, b)
  local w = setup()
  t.eq(w:query(("SELECT count(*) AS n FROM %s"):format(b))[1].n, w:query(("SELECT count(*) AS n FROM %s"):format(a))[1].n,
    "row counts")
  t.eq(w:query(("SELECT count(*) AS n FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x"):format(a, b))[1].n, 0,
    a .. " EXCEPT ALL " .. b)
  t.eq(w:query(("SELECT count(*) AS n FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x"):format(b, a))[1].n, 0,
    b .. " EXCEPT ALL " .. a)
end

local function round_trip(prefix, unload_opts, copy_opts, source)
  make_hostile("unl_src")
  source = source or "unl_src"
  if source ~= "unl_src" then
    run(("DROP TABLE IF EXISTS unl_view; CREATE TABLE unl_view AS %s;"):format(source))
    source = "unl_view"
  end
  run(([[
UNLOAD ('SELECT * FROM %s ORDER BY id') TO '%s%s' %s %s;
DROP TABLE IF EXISTS unl_back;
CREATE TABLE unl_back (LIKE %s);
COPY unl_back FROM '%s%s' %s %s;]]):format(source, B, prefix, ROLE, unload_opts, source, B, prefix, ROLE, copy_opts))
  same_table(source, "unl_back")
end

-- NULL AS is a marker absent from the data: the text format has no other
-- way to tell NULL from the empty string (on Redshift either).
t.test("text with ESCAPE round-trips every hostile value through COPY … ESCAPE", function()
  round_trip("rt/text_", [[NULL AS '<null>' ESCAPE]], [[NULL AS '<null>' ESCAPE]])
end)

-- ADDQUOTES quotes NULL's text too, so the values here are the non-NULL ones
t.test("text with ESCAPE and ADDQUOTES round-trips through COPY … ESCAPE REMOVEQUOTES", function()
  round_trip("rt/quoted_", [[ESCAPE ADDQUOTES DELIMITER ',']], [[ESCAPE REMOVEQUOTES DELIMITER ',']],
    "SELECT id, s FROM unl_src WHERE s IS NOT NULL")
end)

t.test("GZIP, BZIP2 and ZSTD text round-trips", SLOW, function()
  round_trip("rt/gz_", [[DELIMITER '~' NULL AS '<null>' ESCAPE GZIP]], [[DELIMITER '~' NULL AS '<null>' ESCAPE GZIP]])
  round_trip("rt/bz_", [[NULL AS '<null>' ESCAPE BZIP2]], [[NULL AS '<null>' ESCAPE BZIP2]])
  round_trip("rt/zst_", [[NULL AS '<null>' ESCAPE ZSTD]], [[NULL AS '<null>' ESCAPE ZSTD]])
end)

t.test("CSV round-trips every hostile value (NULL AS a marker absent from the data)", function()
  round_trip("rt/csv_", [[FORMAT AS CSV NULL AS '<null>']], [[CSV NULL AS '<null>']])
end)

t.test("JSON round-trips every hostile value through COPY … JSON 'auto'", function()
  round_trip("rt/json_", [[FORMAT JSON]], [[FORMAT AS JSON 'auto']])
end)

-- Byte-level: a few small tables written by lode and by the Python oracle.
local SMALL = {
  columns = { { name = "id", kind = "number" }, { name = "note", kind = "string" }, { name = "flag", kind = "bool" },
              { name = "amount", kind = "number" } },
  rows = {
    { "1", "a|b", "t", "1.50" },
    { "2", 'say "hi"', "f", json.null },
    { "3", "line\nbreak\rcr", json.null, "-2.00" },
    { "4", "back\\slash,comma", "t", "0.00" },
    { "5", "", "f", "10.25" },
    { "6", json.null, "t", "3.00" },
    { "7", "tab\tend  ", "f", "7.10" },
  },
}

local function small_table()
  local vals = {}
  for _, r in ipairs(SMALL.rows) do
    local function lit(v, kind)
      if v == json.null then
        return "NULL"
      elseif kind == "string" then
        return "'" .. v:gsub("\\", "\\\\"):gsub("'", "''") .. "'"   -- a Redshift literal
      end
      return v == "t" and "true" or v == "f" and "false" or v
    end
    vals[#vals + 1] = ("(%s, %s, %s, %s)"):format(lit(r[1]), lit(r[2], "string"), lit(r[3]), lit(r[4]))
  end
  run(([[
DROP TABLE IF EXISTS unl_small;
CREATE TABLE unl_small (id INT, note VARCHAR(40), flag BOOLEAN, amount NUMERIC(8,2));
INSERT INTO unl_small VALUES %s;]]):format(table.concat(vals, ", ")))
end

local function oracle(options)
  local r = proc.run({ "python3", root .. "/tests/tools/unload_oracle.py" },
    { stdin = json.encode({ columns = SMALL.columns, rows = SMALL.rows, options = options }) })
  t.eq(r.status, 0, r.stderr)
  return r.stdout
end

local BYTE_CASES = {
  { "default text", "", {} },
  { "ESCAPE", "ESCAPE", { escape = true } },
  { "ADDQUOTES ESCAPE NULL AS", [[ADDQUOTES ESCAPE NULL AS 'fred']], { addquotes = true, escape = true, null_as = "fred" } },
  { "tab DELIMITER and HEADER", [[DELIMITER AS '\t' HEADER]], { delimiter = "\t", header = true } },
  { "ESCAPE with comma DELIMITER", [[DELIMITER ',' ESCAPE]], { delimiter = ",", escape = true } },
  { "NULL AS '\\N' ESCAPE (ESCAPE applies to the NULL string too)", [[NULL AS '\\N' ESCAPE]],
    { escape = true, null_as = "\\N" } },
  { "CSV", "CSV", { format = "csv" } },
  { "CSV with pipe DELIMITER and HEADER", [[CSV DELIMITER AS '|' HEADER]], { format = "csv", delimiter = "|", header = true } },
  { "JSON", "FORMAT JSON", { format = "json" } },
}

for i, case in ipairs(BYTE_CASES) do
  t.test("bytes: " .. case[1] .. " as the AWS reference's rules give them", function()
    small_table()
    local prefix = ("bytes/%d_"):format(i)
    run(("UNLOAD ('SELECT * FROM unl_small ORDER BY id') TO '%s%s' %s PARALLEL OFF %s"):format(B, prefix, ROLE, case[2]))
    t.eq(keys(prefix), { prefix .. "000" })
    t.eq(s3.get(B .. prefix .. "000"), oracle(case[3]))
  end)
end

t.test("file names: <prefix>0000_part_00, <prefix>000 with PARALLEL OFF, compression and EXTENSION suffixes", SLOW, function()
  small_table()
  local q = "UNLOAD ('SELECT * FROM unl_small') TO '" .. B .. "names/%s' " .. ROLE .. " %s"
  for _, c in ipairs {
    { "par_", "", "par_0000_part_00" },
    { "par_on_", "PARALLEL ON", "par_on_0000_part_00" },
    { "ser_", "PARALLEL OFF", "ser_000" },
    { "sfalse_", "PARALLEL FALSE", "sfalse_000" },
    { "gz_", "GZIP", "gz_0000_part_00.gz" },
    { "bz_", "BZIP2 PARALLEL OFF", "bz_000.bz2" },
    { "zst_", "ZSTD", "zst_0000_part_00.zst" },
    { "ext_", "CSV EXTENSION 'csv'", "ext_0000_part_00.csv" },
    { "extgz_", "EXTENSION 'txt.gz' GZIP", "extgz_0000_part_00.txt.gz" },
    { "json_", "JSON PARALLEL OFF", "json_000" },
  } do
    run(q:format(c[1], c[2]))
    t.eq(keys("names/" .. c[1]), { "names/" .. c[3] }, c[2])
  end
  local gz = proc.run({ "sh", "-c", ("aws s3 cp %snames/gz_0000_part_00.gz - | gzip -dc"):format(B) })
  t.eq(gz.status, 0, gz.stderr)
  small_table()
  local plain = s3.get(B .. "names/par_0000_part_00")
  t.eq(gz.stdout, plain, "gunzip gives the plain file")
end)

t.test("MAXFILESIZE splits at row boundaries into numbered parts no larger than the maximum", { timeout = 300000 }, function()
  run([[
DROP TABLE IF EXISTS unl_big;
CREATE TABLE unl_big AS SELECT i AS id, repeat(md5(i::text), 3) AS pad FROM generate_series(1, 120000) i;]])
  -- 120000 rows of ~103 bytes: ~12.4 MB, so three 5 MB files
  run(("UNLOAD ('SELECT * FROM unl_big ORDER BY id') TO '%sbig/par_' %s MAXFILESIZE 5 MB MANIFEST"):format(B, ROLE))
  local l = listing("big/par_")
  t.eq(keys("big/par_"), { "big/par_0000_part_00", "big/par_0000_part_01", "big/par_0000_part_02", "big/par_manifest" })
  for k, size in pairs(l) do
    t.ok(size <= 5 * 1024 * 1024, k .. " is at most 5 MB")
  end
  run(("UNLOAD ('SELECT * FROM unl_big ORDER BY id') TO '%sbig/ser_' %s MAXFILESIZE AS 5 PARALLEL OFF"):format(B, ROLE))
  t.eq(keys("big/ser_"), { "big/ser_000", "big/ser_001", "big/ser_002" })
  -- the parts in order are the table in order
  local first = s3.get(B .. "big/ser_000", { range = { 0, 199 } })
  t.eq(first:match("^[^\n]*"), "1|" .. setup():query("SELECT pad FROM unl_big WHERE id = 1")[1].pad)
  run(([[
DROP TABLE IF EXISTS unl_big_back;
CREATE TABLE unl_big_back (LIKE unl_big);
COPY unl_big_back FROM '%sbig/par_manifest' %s MANIFEST;]]):format(B, ROLE))
  same_table("unl_big", "unl_big_back")
  t.eq(setup():query("SELECT count(*) AS n FROM unl_big_back")[1].n, 120000)
end)

t.test("MAXFILESIZE outside 5 MB – 6.2 GB fails at the statement", function()
  small_table()
  t.raises(function()
    run(("UNLOAD ('SELECT * FROM unl_small') TO '%sbad/size_' %s MAXFILESIZE 4 MB"):format(B, ROLE))
  end, "unload.sql:1: UNLOAD: MAXFILESIZE must be between 5 MB and 6.2 GB")
  t.eq(keys("bad/size_"), {})
end)

t.test("MANIFEST lists every file with its size; VERBOSE adds counts, schema and author; COPY … MANIFEST loads it", SLOW, function()
  make_hostile("unl_src")
  run(("UNLOAD ('SELECT * FROM unl_src') TO '%sman/v_' %s NULL AS '<null>' ESCAPE HEADER MANIFEST VERBOSE"):format(B, ROLE))
  local l = listing("man/v_")
  t.eq(keys("man/v_"), { "man/v_0000_part_00", "man/v_manifest" })
  local m = json.decode(s3.get(B .. "man/v_manifest"))
  t.eq(#m.entries, 1)
  t.eq(m.entries[1].url, B .. "man/v_0000_part_00")
  t.eq(m.entries[1].meta.content_length, l["man/v_0000_part_00"])
  t.eq(m.entries[1].meta.record_count, #HOSTILE + 2, "rows plus the header line")
  t.eq(m.meta.content_length, l["man/v_0000_part_00"])
  t.eq(m.meta.record_count, #HOSTILE + 2)
  t.eq(m.author, { name = "Amazon Redshift", version = "1.0.0" })
  t.eq(m.schema.elements, {
    { name = "id", type = { base = "integer" } },
    { name = "s", type = { base = "character varying", byte_length = 200 } },
    { name = "n", type = { base = "numeric", precision = 12, scale = 3 } },
    { name = "b", type = { base = "boolean" } },
    { name = "d", type = { base = "date" } },
    { name = "ts", type = { base = "timestamp without time zone" } },
  })
  run(("UNLOAD ('SELECT * FROM unl_src') TO '%sman/p_' %s NULL AS '<null>' ESCAPE MANIFEST PARALLEL OFF"):format(B, ROLE))
  local pm = json.decode(s3.get(B .. "man/p_manifest"))
  t.eq(pm, { entries = { { url = B .. "man/p_000", meta = { content_length = listing("man/p_")["man/p_000"] } } } })
  run(([[
DROP TABLE IF EXISTS unl_back;
CREATE TABLE unl_back (LIKE unl_src);
COPY unl_back FROM '%sman/p_manifest' %s MANIFEST NULL AS '<null>' ESCAPE;]]):format(B, ROLE))
  same_table("unl_src", "unl_back")
end)

t.test("without ALLOWOVERWRITE an UNLOAD into a prefix holding objects fails; ALLOWOVERWRITE and CLEANPATH write", SLOW, function()
  small_table()
  local q = ("UNLOAD ('SELECT * FROM unl_small ORDER BY id') TO '%sow/t_' %s PARALLEL OFF"):format(B, ROLE)
  run(q)
  local before = s3.get(B .. "ow/t_000")
  s3.put(B .. "ow/t_000", "stale")
  local err = t.raises(function() run(q) end, "Specified unload destination on S3 is not empty")
  t.eq(err.code, "not_empty")
  t.eq(s3.get(B .. "ow/t_000"), "stale", "nothing was written")
  run(q .. " ALLOWOVERWRITE")
  t.eq(s3.get(B .. "ow/t_000"), before)
  s3.put(B .. "ow/t_extra", "old file")
  run(q .. " CLEANPATH")
  t.eq(keys("ow/t_"), { "ow/t_000" }, "CLEANPATH removed the other objects under the prefix")
  t.raises(function() run(q .. " CLEANPATH ALLOWOVERWRITE") end, "CLEANPATH cannot be used with ALLOWOVERWRITE")
end)

t.test("PARTITION BY writes Hive-style folders, leaves the columns out unless INCLUDE, NULL in __HIVE_DEFAULT_PARTITION__", SLOW, function()
  run([[
DROP TABLE IF EXISTS unl_part;
CREATE TABLE unl_part (id INT, region VARCHAR(10), day DATE, note VARCHAR(20));
INSERT INTO unl_part VALUES (1, 'eu', '2024-01-01', 'a'), (2, 'us', '2024-01-01', 'b'), (3, 'eu', '2024-01-02', 'c'),
  (4, NULL, '2024-01-02', 'd'), (5, 'eu', '2024-01-01', 'e');]])
  run(("UNLOAD ('SELECT id, note, region, day FROM unl_part ORDER BY id') TO '%spart/t' %s PARTITION BY (region, day) MANIFEST"):format(B, ROLE))
  t.eq(keys("part/t/"), {
    "part/t/manifest",
    "part/t/region=__HIVE_DEFAULT_PARTITION__/day=2024-01-02/0000_part_00",
    "part/t/region=eu/day=2024-01-01/0000_part_00",
    "part/t/region=eu/day=2024-01-02/0000_part_00",
    "part/t/region=us/day=2024-01-01/0000_part_00",
  })
  t.eq(s3.get(B .. "part/t/region=eu/day=2024-01-01/0000_part_00"), "1|a\n5|e\n")
  local m = json.decode(s3.get(B .. "part/t/manifest"))
  t.eq(#m.entries, 4)
  run(("UNLOAD ('SELECT id, note, region FROM unl_part ORDER BY id') TO '%spart/inc/' %s PARTITION BY (region) INCLUDE CSV PARALLEL OFF"):format(B, ROLE))
  t.eq(s3.get(B .. "part/inc/region=eu/000"), "1,a,eu\n3,c,eu\n5,e,eu\n")
  t.eq(s3.get(B .. "part/inc/region=__HIVE_DEFAULT_PARTITION__/000"), "4,d,\n")
  t.raises(function()
    run(("UNLOAD ('SELECT id FROM unl_part') TO '%spart/bad/' %s PARTITION BY (nope)"):format(B, ROLE))
  end, "PARTITION BY column nope is not a column of the query")
end)

t.test("what lode does not reproduce fails at the statement, naming the option; nothing is written", SLOW, function()
  small_table()
  for _, c in ipairs {
    { "PARQUET GZIP", "GZIP cannot be used with FORMAT PARQUET" },
    { "ROWGROUPSIZE 64 MB", "ROWGROUPSIZE needs FORMAT PARQUET" },
    { "FIXEDWIDTH 'id:3,note:40,flag:1,amount:8' ESCAPE", "FIXEDWIDTH with ESCAPE is not emulated" },
    { "FIXEDWIDTH 'id:3,note:40,flag:1,amount:8' ADDQUOTES", "FIXEDWIDTH with ADDQUOTES is not emulated" },
    { "ENCRYPTED", "ENCRYPTED / KMS_KEY_ID / MASTER_SYMMETRIC_KEY is not emulated" },
    { "JSON HEADER", "HEADER cannot be used with FORMAT JSON" },
    { "JSON NULL AS 'x'", "NULL AS cannot be used with FORMAT JSON" },
    { "CSV ESCAPE", "ESCAPE cannot be used with FORMAT CSV" },
    { "GZIP ZSTD", "only one of GZIP, BZIP2 and ZSTD" },
    { "CSV ADDQUOTES", "ADDQUOTES is not supported for UNLOAD to CSV" },
    { "JSON", "FORMAT JSON: column name id appears twice", "SELECT id, note AS id FROM unl_small" },
    { "DELIMITER '||'", "DELIMITER must be a single ASCII character" },
  } do
    local err = t.raises(function()
      run(("\nUNLOAD ('%s') TO '%srefused/x_' %s %s"):format(c[3] or "SELECT * FROM unl_small", B, ROLE, c[1]))
    end, "unload.sql:2: UNLOAD" .. ((c[2]:find("not emulated") or c[2]:find("^FORMAT ")) and " … " or ": ") .. c[2], c[1])
    t.eq(err.line, 2)
  end
  t.eq(keys("refused/"), {})
end)

t.test("zero rows: one empty file (the header alone with HEADER)", function()
  small_table()
  run(("UNLOAD ('SELECT * FROM unl_small WHERE false') TO '%sempty/a_' %s PARALLEL OFF"):format(B, ROLE))
  t.eq(s3.get(B .. "empty/a_000"), "")
  run(("UNLOAD ('SELECT * FROM unl_small WHERE false') TO '%sempty/h_' %s CSV HEADER"):format(B, ROLE))
  t.eq(s3.get(B .. "empty/h_0000_part_00"), "id,note,flag,amount\n")
end)

t.test("UNLOAD sees the script's temp tables and its open transaction", function()
  run(([[
CREATE TEMP TABLE #staged (id INT, v VARCHAR(5));
BEGIN;
INSERT INTO #staged VALUES (1, 'x'), (2, 'y');
UNLOAD ('SELECT * FROM #staged ORDER BY id') TO '%stemp/s_' %s PARALLEL OFF;
COMMIT;]]):format(B, ROLE))
  t.eq(s3.get(B .. "temp/s_000"), "1|x\n2|y\n")
end)

-- FIXEDWIDTH: the bytes against the oracle's reading of AWS's rules, the
-- refusals the reference gives, and the round trip through COPY … FIXEDWIDTH.
local FW = {
  columns = { { name = "id", kind = "number" }, { name = "note", kind = "string" }, { name = "flag", kind = "bool" },
              { name = "amount", kind = "number" }, { name = "d", kind = "date" } },
  widths = { 3, 12, 1, 8, 10 },
  rows = {
    { "1", "a|b", "t", "1.50", "2024-01-02" },
    { "4", "", "t", "12345.25", "2024-02-29" },
    { "5", json.null, "f", "0.00", "2024-03-01" },
    { "6", "  lead,tab\tx", "t", "7.10", "2024-03-02" },
    { "7", "exactly12chr", "f", "-9999.90", "2024-03-03" },
    { "20", 'say "hi"', "f", json.null, json.null },
    { "300", "unicode é日本", json.null, "-2.00", "2024-12-31" },
  },
}

local function fw_table(rows)
  local vals = {}
  for _, r in ipairs(rows) do
    local out = {}
    for i, v in ipairs(r) do
      if v == json.null then
        out[i] = "NULL"
      elseif i == 2 or i == 5 then
        out[i] = "'" .. v:gsub("\\", "\\\\"):gsub("'", "''") .. "'"   -- a Redshift literal
      else
        out[i] = v == "t" and "true" or v == "f" and "false" or v
      end
    end
    vals[#vals + 1] = "(" .. table.concat(out, ", ") .. ")"
  end
  run(([[
DROP TABLE IF EXISTS unl_fw;
CREATE TABLE unl_fw (id INT, note VARCHAR(40), flag BOOLEAN, amount NUMERIC(8,2), d DATE);
INSERT INTO unl_fw VALUES %s;]]):format(table.concat(vals, ", ")))
end

local function fw_oracle(rows, options)
  options.format, options.widths = "fixedwidth", FW.widths
  local r = proc.run({ "python3", root .. "/tests/tools/unload_oracle.py" },
    { stdin = json.encode({ columns = FW.columns, rows = rows, options = options }) })
  return r.status, r.stdout
end

local FW_SPEC = "FIXEDWIDTH 'id:3,note:12,flag:1,amount:8,d:10'"

for i, case in ipairs {
  { "no NULL AS: NULL is blanks", "", {} },
  { "NULL AS padded; wider than a non-character column: blanks", [[NULL AS 'nil']], { null_as = "nil" } },
  { "AS with numeric labels", [[FIXEDWIDTH AS '0:3,1:12,2:1,3:8,4:10']], {} },
} do
  t.test("bytes: FIXEDWIDTH " .. case[1] .. ", as the oracle reads AWS's rules", function()
    fw_table(FW.rows)
    local prefix = ("fw/bytes%d_"):format(i)
    local spec = case[2]:find("^FIXEDWIDTH") and case[2] or (FW_SPEC .. " " .. case[2])
    run(("UNLOAD ('SELECT * FROM unl_fw ORDER BY id') TO '%s%s' %s PARALLEL OFF %s"):format(B, prefix, ROLE, spec))
    t.eq(keys(prefix), { prefix .. "000" })
    local status, want = fw_oracle(FW.rows, case[3])
    t.eq(status, 0, want)
    t.eq(s3.get(B .. prefix .. "000"), want)
  end)
end

t.test("FIXEDWIDTH fails rather than truncate, and where the reference says it fails; nothing is written", function()
  -- a value longer than its width: the oracle agrees it fails
  local long = { { "1", "thirteen char", "t", "1.00", "2024-01-01" } }
  local status = fw_oracle(long, {})
  t.eq(status, 3, "the oracle fails too")
  fw_table(long)
  local err = t.raises(function()
    run(("\nUNLOAD ('SELECT * FROM unl_fw') TO '%sfw/long_' %s %s"):format(B, ROLE, FW_SPEC))
  end, "unload.sql:2: UNLOAD … FIXEDWIDTH: row 1, column note holds 13 characters, more than its width 12")
  t.eq(err.code, "bad_input")
  t.eq(err.column, "note")
  -- NULL AS wider than a character column holding NULL
  local nul = { { "1", json.null, "t", "1.00", "2024-01-01" } }
  t.eq((fw_oracle(nul, { null_as = "<null-marker>" })), 3, "the oracle fails too")
  fw_table(nul)
  t.raises(function()
    run(("UNLOAD ('SELECT * FROM unl_fw') TO '%sfw/null_' %s %s NULL AS '<null-marker>'"):format(B, ROLE, FW_SPEC))
  end, "NULL AS '<null-marker>' is wider than the width 12 of character column note")
  -- … and the same NULL AS on a row without NULL in that column is written
  fw_table({ { "1", "x", json.null, "1.00", "2024-01-01" } })
  run(("UNLOAD ('SELECT * FROM unl_fw') TO '%sfw/nullok_' %s %s NULL AS '<null-marker>' PARALLEL OFF"):format(B, ROLE,
    FW_SPEC))
  t.eq(s3.get(B .. "fw/nullok_000"), "1  x" .. (" "):rep(11) .. " " .. "1.00    2024-01-01\n",
    "the NULL boolean is one blank: NULL AS is wider than its width 1")
  for _, c in ipairs {
    { "FIXEDWIDTH 'id:3,note:12'", "FIXEDWIDTH 'id:3,note:12' has 2 widths for the query's 5 columns" },
    { "FIXEDWIDTH 'id:3,note:0,a:1,b:1,c:1'", "'note:0' is not label:width" },
    { FW_SPEC .. " DELIMITER ','", "FIXEDWIDTH cannot be used with DELIMITER" },
    { FW_SPEC .. " HEADER", "FIXEDWIDTH cannot be used with HEADER" },
    { FW_SPEC .. " CSV", "FIXEDWIDTH cannot be used with FORMAT CSV" },
  } do
    t.raises(function()
      run(("UNLOAD ('SELECT * FROM unl_fw') TO '%sfw/bad_' %s %s"):format(B, ROLE, c[1]))
    end, c[2], c[1])
  end
  -- a line break: how Redshift writes it is not documented, so it is refused
  fw_table({ { "1", "two\nlines", "t", "1.00", "2024-01-01" } })
  t.raises(function()
    run(("UNLOAD ('SELECT * FROM unl_fw') TO '%sfw/nl_' %s %s"):format(B, ROLE, FW_SPEC))
  end, "row 1, column note holds a line break")
  t.eq(keys("fw/long_"), {})
  t.eq(keys("fw/null_"), {})
  t.eq(keys("fw/bad_"), {})
  t.eq(keys("fw/nl_"), {})
end)

-- COPY … FIXEDWIDTH keeps a VARCHAR's padding unless TRIMBLANKS, and reads a
-- blank non-character field as NULL; BLANKSASNULL makes a blank VARCHAR NULL.
-- So the values here are those the format can carry: no trailing blanks or
-- tabs, no empty or blank strings (they would come back NULL), no line breaks.
local FW_SOURCE = [[SELECT id, s, n, b, d, ts FROM unl_src
  WHERE s IS NULL OR (strpos(s, chr(10)) = 0 AND strpos(s, chr(13)) = 0 AND s !~ '^[ \t]*$' AND s !~ '[ \t]$')]]

t.test("FIXEDWIDTH round-trips through COPY … FIXEDWIDTH TRIMBLANKS BLANKSASNULL (plain, and GZIP)",
  SLOW, function()
  local spec = "FIXEDWIDTH '0:4,1:40,2:14,3:1,4:10,5:26'"
  round_trip("fw/rt_", spec, spec .. " TRIMBLANKS BLANKSASNULL",
    FW_SOURCE)
  t.ok(setup():query("SELECT count(*) AS n FROM unl_view WHERE s IS NULL")[1].n > 0, "NULLs are in the round trip")
  t.ok(setup():query("SELECT count(*) AS n FROM unl_view WHERE n IS NULL")[1].n > 0, "NULL numbers too")
  round_trip("fw/rtgz_", spec .. " GZIP", spec .. " TRIMBLANKS BLANKSASNULL GZIP",
    FW_SOURCE)
end)

-- PARQUET: DuckDB reads lode's files as the oracle, and COPY … PARQUET loads
-- them back into the identical table.
local function duckdb(...)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", ... }, { timeout = 60000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  return json.decode(r.stdout)
end

local function norm(v)
  if v == nil or v == json.null or v == lode.null then
    return "NULL"
  end
  return tostring(v)
end

t.test("PARQUET: DuckDB reads every hostile value back as PostgreSQL holds it; COPY … PARQUET round-trips", SLOW, function()
  make_hostile("unl_src")
  run(("UNLOAD ('SELECT * FROM unl_src ORDER BY id') TO '%spq/h_' %s FORMAT AS PARQUET PARALLEL OFF"):format(B, ROLE))
  t.eq(keys("pq/h_"), { "pq/h_000.parquet" })
  local dir = t.tmpdir()
  s3.download(B .. "pq/h_000.parquet", dir .. "/h.parquet")
  local types = duckdb(("DESCRIBE SELECT * FROM '%s/h.parquet'"):format(dir))
  local got_types = {}
  for i, c in ipairs(types) do
    got_types[i] = c.column_name .. " " .. c.column_type
  end
  t.eq(got_types, { "id INTEGER", "s VARCHAR", "n DECIMAL(12,3)", "b BOOLEAN", "d DATE", "ts TIMESTAMP" })
  local duck = duckdb(([[SELECT id, s, CAST(n AS VARCHAR) AS n, CAST(b AS VARCHAR) AS b, CAST(d AS VARCHAR) AS d,
    strftime(ts, '%%Y-%%m-%%d %%H:%%M:%%S.%%f') AS ts FROM '%s/h.parquet' ORDER BY id]]):format(dir))
  local pg = setup():query([[SELECT id, s, n::text AS n, b::text AS b, d::text AS d,
    to_char(ts, 'YYYY-MM-DD HH24:MI:SS.US') AS ts FROM unl_src ORDER BY id]])
  t.eq(#duck, #pg)
  for i, row in ipairs(pg) do
    for _, k in ipairs { "id", "s", "n", "b", "d", "ts" } do
      local want = norm(row[k])
      if k == "b" and want ~= "NULL" then
        want = (want == "true") and "true" or "false"
      end
      t.eq(norm(duck[i][k]), want, ("row %d column %s"):format(row.id, k))
    end
  end
  run(([[
DROP TABLE IF EXISTS unl_back;
CREATE TABLE unl_back (LIKE unl_src);
COPY unl_back FROM '%spq/h_000.parquet' %s FORMAT AS PARQUET;]]):format(B, ROLE))
  same_table("unl_src", "unl_back")
end)

t.test("PARQUET: names, PARTITION BY folders, MANIFEST and MAXFILESIZE parts; unsupported column types fail first",
  { timeout = 300000 }, function()
  run([[
DROP TABLE IF EXISTS unl_pqp;
CREATE TABLE unl_pqp (id BIGINT, region VARCHAR(10), amount NUMERIC(10,2), f REAL, g DOUBLE PRECISION, si SMALLINT);
INSERT INTO unl_pqp VALUES (1, 'eu', 1.50, 0.5, 1e300, 1), (2, 'us', -2.25, NULL, -0.0, -32768),
  (3, 'eu', NULL, 3.25, NULL, 32767);]])
  run(("UNLOAD ('SELECT * FROM unl_pqp ORDER BY id') TO '%spq/p/' %s PARQUET PARTITION BY (region) MANIFEST"):format(B, ROLE))
  t.eq(keys("pq/p/"), { "pq/p/manifest", "pq/p/region=eu/0000_part_00.parquet", "pq/p/region=us/0000_part_00.parquet" })
  local dir = t.tmpdir()
  s3.download(B .. "pq/p/region=eu/0000_part_00.parquet", dir .. "/eu.parquet")
  t.eq(duckdb(("SELECT id, CAST(amount AS VARCHAR) AS amount, f, g, si FROM '%s/eu.parquet' ORDER BY id"):format(dir)),
    { { id = "1", amount = "1.50", f = 0.5, g = 1e300, si = 1 }, { id = "3", amount = json.null, f = 3.25, g = json.null, si = 32767 } })
  local m = json.decode(s3.get(B .. "pq/p/manifest"))
  t.eq(#m.entries, 2)
  t.eq(m.entries[1].meta.content_length, listing("pq/p/")[m.entries[1].url:sub(#B + 1)])

  run([[
DROP TABLE IF EXISTS unl_big;
CREATE TABLE unl_big AS SELECT i AS id, repeat(md5(i::text), 3) AS pad FROM generate_series(1, 120000) i;]])
  run(("UNLOAD ('SELECT * FROM unl_big') TO '%spq/big_' %s PARQUET MAXFILESIZE 5 MB"):format(B, ROLE))
  local ks = keys("pq/big_")
  t.ok(#ks >= 2, ("MAXFILESIZE split the file (%d parts)"):format(#ks))
  for i, k in ipairs(ks) do
    t.eq(k, ("pq/big_0000_part_%02d.parquet"):format(i - 1))
  end
  run(([[
DROP TABLE IF EXISTS unl_big_back;
CREATE TABLE unl_big_back (LIKE unl_big);
COPY unl_big_back FROM '%spq/big_' %s FORMAT AS PARQUET;]]):format(B, ROLE))
  same_table("unl_big", "unl_big_back")

  for _, c in ipairs {
    { "SELECT id, now() AS at FROM unl_pqp", "column at of type timestamp with time zone is not written" },
    { "SELECT id, 1.5::numeric AS x FROM unl_pqp", "column x of type numeric without precision is not written" },
    { "SELECT id, '{}'::jsonb AS j FROM unl_pqp", "column j of type jsonb is not written" },
  } do
    t.raises(function()
      run(("UNLOAD ('%s') TO '%spq/bad_' %s PARQUET"):format(c[1]:gsub("'", "''"), B, ROLE))
    end, c[2])
  end
  t.eq(keys("pq/bad_"), {})
end)

t.test("PARTITION BY with more partitions than files kept open: later rows go to the next part, every row once", SLOW, function()
  run([[
DROP TABLE IF EXISTS unl_many;
CREATE TABLE unl_many AS SELECT i AS id, md5(i::text) AS v, i % 40 AS p FROM generate_series(1, 4000) i;]])
  -- rows in id order visit the 40 partitions round robin, past the 32 files kept open
  run(("UNLOAD ('SELECT id, v, p FROM unl_many ORDER BY id') TO '%smany/' %s PARTITION BY (p) INCLUDE MANIFEST"):format(B, ROLE))
  local parts, folders = {}, 0
  for _, k in ipairs(keys("many/")) do
    local p = k:match("^many/p=(%d+)/")
    if p then
      if not parts[p] then
        folders = folders + 1
      end
      parts[p] = (parts[p] or 0) + 1
    end
  end
  t.eq(folders, 40)
  t.ok(parts["0"] > 1, "a partition closed to make room was continued in _part_01")
  t.eq(#json.decode(s3.get(B .. "many/manifest")).entries, (function()
    local n = 0
    for _, c in pairs(parts) do
      n = n + c
    end
    return n
  end)())
  run(([[
DROP TABLE IF EXISTS unl_many_back;
CREATE TABLE unl_many_back (LIKE unl_many);
COPY unl_many_back FROM '%smany/manifest' %s MANIFEST;]]):format(B, ROLE))
  same_table("unl_many", "unl_many_back")
end)
