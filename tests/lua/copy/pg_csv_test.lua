-- copy.into on PostgreSQL, emulated from s3rver: CSV and text, compression,
-- MAXERROR and lode.load_errors, the ledger (idempotency), manifests and
-- hostile bytes. Rows are compared with DuckDB reading the same files.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"

local bucket = "lode-copy-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local tmp = os.tmpname()
os.remove(tmp)
assert(proc.run({ "mkdir", "-p", tmp }).status == 0)
local root = os.getenv("LODE_ROOT") or "."

local function write_file(name, data)
  local f = assert(io.open(tmp .. "/" .. name, "wb"))
  f:write(data)
  f:close()
  return tmp .. "/" .. name
end

local function put(key, data)
  s3.put(B .. key, data)
end

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(name))
  wh:exec(("CREATE TABLE %s (%s)"):format(name, ddl))
  wh:exec("CREATE SCHEMA IF NOT EXISTS lode")
  pcall(wh.exec, wh, ("DELETE FROM lode.load_history WHERE table_name = '%s'"):format(name))
  pcall(wh.exec, wh, ("DELETE FROM lode.load_errors WHERE table_name = '%s'"):format(name))
end

local function count(name)
  return wh:query(("SELECT count(*) AS n FROM %s"):format(name))[1].n
end

-- DuckDB's reading of a local CSV, as one string "v|v|v;..." ordered by the first column
local function duck(sqltext)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", sqltext })
  t.eq(r.status, 0, r.stdout)
  local s = r.stdout:match('"s":"(.*)"}%]')
  t.ok(s, r.stdout)
  return (s:gsub('\\(.)', { n = "\n", ['"'] = '"', ["\\"] = "\\" }))
end

local function pg(sqltext)
  return wh:query(sqltext)[1].s
end

local CSV = table.concat({
  "id;name;amount;day;ts;ok",
  "1;alice;12.50;2024-01-02;2024-01-02 03:04:05;true",
  '2;"bob; the ""builder""";-3.25;2024-02-29;2024-02-29 23:59:59;false',
  '3;"two\nlines";NA;NA;NA;NA',
  "4;;0;2023-12-31;2023-12-31 00:00:00;true",
}, "\n") .. "\n"

local SALES = "id int, name varchar(40), amount numeric(10,2), day date, ts timestamp, ok boolean"

t.test("CSV with header, quotes, custom delimiter and NULL AS equals DuckDB's reading", function()
  fresh("copy_csv", SALES)
  local path = write_file("sales.csv", CSV)
  put("csv/plain/sales.csv", CSV)
  local r = copy.into(wh, { table = "copy_csv", from = B .. "csv/plain/", format = "csv", delimiter = ";",
                            ignoreheader = 1, null_as = "NA" })
  t.eq(r.files, 1)
  t.eq(r.rows, 4)
  t.eq(r.errors, 0)
  t.eq(r.skipped_files, 0)
  t.eq(r.bytes, #CSV)
  t.ok(r.seconds >= 0)
  local want = duck(([[SELECT string_agg(concat_ws('|', id, coalesce(name, '<null>'), coalesce(amount::VARCHAR, '<null>'),
      coalesce(day::VARCHAR, '<null>'), coalesce(strftime(ts, '%%Y-%%m-%%d %%H:%%M:%%S'), '<null>'), coalesce(ok::VARCHAR, '<null>')), ';' ORDER BY id) AS s
    FROM read_csv('%s', delim = ';', header = true, nullstr = 'NA', quote = '"', escape = '"',
      columns = {'id': 'INT', 'name': 'VARCHAR', 'amount': 'DECIMAL(10,2)', 'day': 'DATE', 'ts': 'TIMESTAMP', 'ok': 'BOOLEAN'})]]):format(path))
  local got = pg([[SELECT string_agg(concat_ws('|', id, coalesce(name, '<null>'), coalesce(amount::text, '<null>'),
      coalesce(day::text, '<null>'), coalesce(to_char(ts, 'YYYY-MM-DD HH24:MI:SS'), '<null>'), coalesce(ok::text, '<null>')), ';' ORDER BY id) AS s
    FROM copy_csv]])
  -- DuckDB and PostgreSQL spell booleans differently; the empty CSV field is '' in both
  got = got:gsub("|t;", "|true;"):gsub("|f;", "|false;"):gsub("|t$", "|true"):gsub("|f$", "|false")
  t.eq(got, want)
  local row = wh:query("SELECT name FROM copy_csv WHERE id = 4")[1]
  t.eq(row.name, "", "an empty unquoted field is '' in a varchar column (no EMPTYASNULL)")
end)

t.test("gzip, bzip2 and zstd (by option and by magic bytes) load the same rows", function()
  local path = write_file("z.csv", CSV)
  for _, z in ipairs { { "gzip", "gz" }, { "bzip2", "bz2" }, { "zstd", "zst" } } do
    local r = proc.run({ z[1], "-k", "-f", path })
    t.eq(r.status, 0, z[1])
    local f = assert(io.open(path .. "." .. z[2], "rb"))
    local bytes = f:read("a")
    f:close()
    put("csv/" .. z[1] .. "/part-0." .. z[2], bytes)
    put("csv/" .. z[1] .. "/part-1." .. z[2], bytes)
    fresh("copy_z", SALES)
    local res = copy.into(wh, { table = "copy_z", from = B .. "csv/" .. z[1] .. "/", format = "csv", delimiter = ";",
                                ignoreheader = 1, null_as = "NA", [z[1]] = true })
    t.eq(res.rows, 8, z[1])
    t.eq(res.files, 2)
    t.eq(count("copy_z"), 8)
    fresh("copy_z", SALES)
    res = copy.into(wh, { table = "copy_z", from = B .. "csv/" .. z[1] .. "/", format = "csv", delimiter = ";",
                          ignoreheader = 1, null_as = "NA" })
    t.eq(res.rows, 8, z[1] .. " by magic bytes")
  end
  put("csv/badgz/x.csv.gz", "\31\139\8\0garbage")
  fresh("copy_z", SALES)
  local e = t.raises(function()
    copy.into(wh, { table = "copy_z", from = B .. "csv/badgz/", format = "csv", gzip = true })
  end, "gzip data is corrupt")
  t.contains(tostring(e), "x.csv.gz")
end)

t.test("the same COPY twice loads once; reload = true loads again", function()
  fresh("copy_idem", "a int, b text")
  put("idem/1.csv", "1,x\n2,y\n")
  put("idem/2.csv", "3,z\n")
  local o = { table = "copy_idem", from = B .. "idem/", format = "csv" }
  local r1 = copy.into(wh, o)
  t.eq({ r1.files, r1.rows, r1.skipped_files }, { 2, 3, 0 })
  local r2 = copy.into(wh, o)
  t.eq({ r2.files, r2.rows, r2.skipped_files }, { 0, 0, 2 })
  t.eq(count("copy_idem"), 3)
  -- a changed object (new ETag) is loaded; the unchanged one is not
  put("idem/2.csv", "3,z\n4,w\n")
  local r3 = copy.into(wh, o)
  t.eq({ r3.files, r3.rows, r3.skipped_files }, { 1, 2, 1 })
  t.eq(count("copy_idem"), 5)
  local hist = wh:query("SELECT key, rows FROM lode.load_history WHERE table_name = 'copy_idem' ORDER BY key, rows")
  t.eq(#hist, 3)
  o.reload = true
  local r4 = copy.into(wh, o)
  t.eq({ r4.files, r4.rows, r4.skipped_files }, { 2, 4, 0 })
  t.eq(count("copy_idem"), 9)
  t.eq(#wh:query("SELECT 1 FROM lode.load_history WHERE table_name = 'copy_idem'"), 3, "one row per key and ETag")
end)

local BAD = table.concat({
  "id,qty,day",        -- line 1 (header)
  "1,10,2024-01-01",
  "2,x1,2024-01-02",   -- line 3: bad integer
  "3,30,2024-01-03",
  "4,40,2024-13-01",   -- line 5: bad date
  "5,50,2024-01-05",
  "6,60",              -- line 7: missing column
  "7,70,2024-01-07",
}, "\n") .. "\n"

t.test("MAXERROR: 3 bad rows load with maxerror = 5 and are recorded with their lines", function()
  fresh("copy_bad", "id int, qty int, day date")
  put("bad/rows.csv", BAD)
  local r = copy.into(wh, { table = "copy_bad", from = B .. "bad/rows.csv", format = "csv", ignoreheader = 1,
                            maxerror = 5, run = "run-maxerror" })
  t.eq(r.rows, 4)
  t.eq(r.errors, 3)
  t.eq(count("copy_bad"), 4)
  local e = wh:query([[SELECT filename, line_number, colname, raw_field_value, raw_line, err_code, err_reason, run
    FROM lode.load_errors WHERE table_name = 'copy_bad' ORDER BY line_number]])
  t.eq(#e, 3)
  t.eq({ e[1].line_number, e[2].line_number, e[3].line_number }, { 3, 5, 7 })
  t.eq({ e[1].colname, e[2].colname, e[3].colname }, { "qty", "day", "day" })
  t.eq(e[1].raw_field_value, "x1")
  t.eq(e[1].raw_line, "2,x1,2024-01-02")
  t.eq(e[1].err_code, 1207)
  t.contains(e[1].err_reason, "Invalid digit")
  t.contains(e[2].err_reason, "Invalid Date Format")
  t.contains(e[3].err_reason, "Delimiter not found")
  t.eq(e[1].filename, B .. "bad/rows.csv")
  t.eq(e[1].run, "run-maxerror")
end)

t.test("MAXERROR: past the limit nothing is written, table and ledger unchanged", function()
  fresh("copy_bad2", "id int, qty int, day date")
  put("bad2/ok.csv", "100,1,2024-01-01\n")
  put("bad2/rows.csv", BAD)
  local err = t.raises(function()
    copy.into(wh, { table = "copy_bad2", from = B .. "bad2/", format = "csv", ignoreheader = 1, maxerror = 2 })
  end, "exceed MAXERROR 2")
  t.eq(err.code, "load_failed")
  t.contains(tostring(err), "line 3")
  t.eq(#err.load_errors, 3)
  t.eq(count("copy_bad2"), 0)
  t.eq(wh:query("SELECT count(*) AS n FROM lode.load_history WHERE table_name = 'copy_bad2'")[1].n, 0)
  t.eq(wh:query("SELECT count(*) AS n FROM lode.load_errors WHERE table_name = 'copy_bad2'")[1].n, 0)
  -- the default (MAXERROR 0) fails on the first bad row too
  t.raises(function()
    copy.into(wh, { table = "copy_bad2", from = B .. "bad2/rows.csv", format = "csv", ignoreheader = 1 })
  end, "exceed MAXERROR 0")
end)

t.test("manifest: a missing optional entry is skipped, a missing mandatory one fails", function()
  fresh("copy_man", "a int, b text")
  put("man/1.csv", "1,one\n")
  put("man/2.csv", "2,two\n")
  put("man/opt.manifest", ([[{"entries": [
    {"url": "%sman/1.csv", "mandatory": true},
    {"url": "%sman/2.csv", "mandatory": false, "meta": {"content_length": 6}},
    {"url": "%sman/gone.csv", "mandatory": false}]}]]):format(B, B, B))
  local r = copy.into(wh, { table = "copy_man", manifest = B .. "man/opt.manifest", format = "csv" })
  t.eq({ r.files, r.rows, r.skipped_files }, { 2, 2, 1 })
  put("man/must.manifest", ([[{"entries": [{"url": "%sman/1.csv", "mandatory": true},
    {"url": "%sman/gone.csv", "mandatory": true}]}]]):format(B, B))
  fresh("copy_man", "a int, b text")
  local e = t.raises(function()
    copy.into(wh, { table = "copy_man", manifest = B .. "man/must.manifest", format = "csv" })
  end, "man/gone.csv is mandatory")
  t.eq(e.code, "missing_file")
  t.eq(count("copy_man"), 0)
  put("man/bad.manifest", "{not json")
  t.raises(function()
    copy.into(wh, { table = "copy_man", manifest = B .. "man/bad.manifest", format = "csv" })
  end, "not valid JSON")
end)

t.test("hostile bytes: NULs and invalid UTF-8 are clear errors, or replaced with ACCEPTINVCHARS", function()
  fresh('"copy; hostile"', '"we""ird" text, n int')
  put("hostile/x.csv", "ok,1\na\0b,2\nbad \255\254 utf8,3\nfine,4\n")
  local r = copy.into(wh, { table = '"copy; hostile"', from = B .. "hostile/", format = "csv", maxerror = 10 })
  t.eq({ r.rows, r.errors }, { 2, 2 })
  local e = wh:query([[SELECT line_number, err_reason, raw_field_value FROM lode.load_errors
    WHERE table_name = '"copy; hostile"' ORDER BY line_number]])
  t.eq(e[1].line_number, 2)
  t.contains(e[1].err_reason, "NUL byte")
  t.eq(e[1].raw_field_value, "a\\x00b")
  t.eq(e[2].line_number, 3)
  t.contains(e[2].err_reason, "Invalid UTF8")
  t.eq(e[2].raw_field_value, "bad \\xFF\\xFE utf8")
  fresh('"copy; hostile"', '"we""ird" text, n int')
  r = copy.into(wh, { table = '"copy; hostile"', from = B .. "hostile/", format = "csv", acceptinvchars = "^" })
  t.eq(r.rows, 4)
  local rows = wh:query([[SELECT "we""ird" AS v FROM "copy; hostile" ORDER BY n]])
  t.eq({ rows[2].v, rows[3].v }, { "a^b", "bad ^^ utf8" })
end)

t.test("text format: pipe delimiter, \\N, ESCAPE; extra columns are errors", function()
  fresh("copy_text", "a int, b text, c text")
  put("text/t.txt", "1|x\\|y|\\N\n2|plain|z\n3|a|b|extra\n")
  local r = copy.into(wh, { table = "copy_text", from = B .. "text/t.txt", escape = true, maxerror = 1 })
  t.eq({ r.rows, r.errors }, { 2, 1 })
  local rows = wh:query("SELECT a, b, c FROM copy_text ORDER BY a")
  t.eq(rows[1].b, "x|y")
  t.eq(rows[1].c, lode.null)
  local e = wh:query("SELECT err_reason FROM lode.load_errors WHERE table_name = 'copy_text'")
  t.contains(e[1].err_reason, "Extra column")
end)

t.test("columns option, an unknown column, and no objects", function()
  fresh("copy_cols", "a int, b text, c date")
  put("cols/x.csv", "hello,5\n")
  local r = copy.into(wh, { table = "copy_cols", columns = { "b", "a" }, from = B .. "cols/", format = "csv" })
  t.eq(r.rows, 1)
  local row = wh:query("SELECT a, b, c FROM copy_cols")[1]
  t.eq({ row.a, row.b, row.c }, { 5, "hello", lode.null })
  t.raises(function()
    copy.into(wh, { table = "copy_cols", columns = { "nope" }, from = B .. "cols/", format = "csv" })
  end, "column 'nope'")
  t.raises(function()
    copy.into(wh, { table = "copy_cols", from = B .. "nothing-here/", format = "csv" })
  end, "no objects under")
end)
