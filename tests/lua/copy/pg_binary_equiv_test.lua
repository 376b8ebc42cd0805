-- CSV, JSON and text loads decoded in C into binary COPY (#21) give the same
-- table as the text path they replace. Every case loads the same S3 files
-- three ways: the previous path (chunks through Lua, text COPY:
-- copy._lua_text_path), the C stream with text COPY (copy._text_copy_text)
-- and the C stream with binary COPY (the default); PostgreSQL is the
-- oracle: each row's text rendering ((t.*)::text, so a numeric's scale and
-- a float's -0 count) must be the same set in both directions (EXCEPT ALL),
-- and so must the rows of lode.load_errors, the load's counts and, past
-- MAXERROR, the error and its load_errors.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"

local bucket = "lode-copy-equiv-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
local wh = lode.warehouse { url = url }

-- the statements the C stream sends (load.text_copy's second argument)
local load = require "lode.load"
local sent = {}
local text_copy = load.text_copy
load.text_copy = function(conn, statement, ...)
  sent[#sent + 1] = statement
  return text_copy(conn, statement, ...)
end

local VARIANTS = {
  { name = "lua", set = function() copy._lua_text_path, copy._text_copy_text = true, nil end },
  { name = "ctext", set = function() copy._lua_text_path, copy._text_copy_text = nil, true end },
  { name = "cbin", set = function() copy._lua_text_path, copy._text_copy_text = nil, nil end },
}

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(name))
  wh:exec(("CREATE TABLE %s (%s)"):format(name, ddl))
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", name)
  pcall(wh.exec, wh, "DELETE FROM lode.load_errors WHERE table_name = $1", name)
end

local function differ(q, a, b)
  local n = 0
  for _, pair in ipairs({ { a, b }, { b, a } }) do
    n = n + wh:query(("SELECT count(*)::int AS n FROM (%s EXCEPT ALL %s) x"):format(q(pair[1]), q(pair[2])))[1].n
  end
  return n
end

local function rows_of(name)
  return ("SELECT (x.*)::text AS r FROM %s x"):format(name)
end

local function errors_of(name)
  return ("SELECT filename, line_number, colname, colnum, raw_line, raw_field_value, err_code, err_reason "
    .. "FROM lode.load_errors WHERE table_name = '%s'"):format(name)
end

-- Load `files` (key -> bytes) into DDL three ways with opts; everything must agree.
local function case(name, ddl, files, opts, expect)
  t.test(name, { timeout = 600000 }, function()
    for key, bytes in pairs(files) do
      s3.put(B .. name .. "/" .. key, bytes)
    end
    local results = {}
    for _, v in ipairs(VARIANTS) do
      local tbl = ("equiv_%s_%s"):format(name, v.name)
      fresh(tbl, ddl)
      local o = { table = tbl, from = B .. name .. "/" }
      for k, x in pairs(opts) do
        o[k] = x
      end
      v.set()
      sent = {}
      local ok, r = pcall(copy.into, wh, o)
      copy._lua_text_path, copy._text_copy_text = nil, nil
      results[v.name] = { ok = ok, r = r, table = tbl, statements = sent }
    end
    -- the binary variant really sent binary COPY (every column's type is rendered), or text where expected
    local binary = not (expect and expect.text_copy)
    t.ok(#results.cbin.statements > 0, "cbin: the C stream ran")
    for _, st in ipairs(results.cbin.statements) do
      t.eq(st:find("(FORMAT binary)", 1, true) ~= nil, binary, "cbin: " .. st)
    end
    local ref = results.lua
    if expect and expect.fails then
      t.ok(not ref.ok, "the reference load fails")
    else
      t.ok(ref.ok, ref.ok or tostring(ref.r))
    end
    if ref.ok and expect and expect.rows then
      t.eq(ref.r.rows, expect.rows, "rows loaded by the reference")
    end
    for _, vn in ipairs({ "ctext", "cbin" }) do
      local got = results[vn]
      t.eq(got.ok, ref.ok, vn .. ": " .. tostring(got.r))
      if ref.ok and got.ok then
        t.eq({ got.r.files, got.r.rows, got.r.errors, got.r.bytes }, { ref.r.files, ref.r.rows, ref.r.errors, ref.r.bytes },
          vn .. ": files, rows, bad rows, bytes")
      elseif not ref.ok and not got.ok and type(ref.r) == "table" then
        t.eq({ got.r.op, got.r.code, got.r.key, got.r.message }, { ref.r.op, ref.r.code, ref.r.key, ref.r.message },
          vn .. ": the error")
        t.eq(#(got.r.load_errors or {}), #(ref.r.load_errors or {}), vn .. ": load_errors")
        for i, e in ipairs(ref.r.load_errors or {}) do
          t.eq(got.r.load_errors[i], e, vn .. ": load_errors[" .. i .. "]")
        end
      end
      t.eq(differ(rows_of, ref.table, got.table), 0, vn .. ": the same rows")
      t.eq(differ(errors_of, ref.table, got.table), 0, vn .. ": the same lode.load_errors")
    end
    t.ok(wh:query("SELECT count(*)::int AS n FROM " .. results.cbin.table)[1].n >= (expect and expect.min or 0))
  end)
end

t.test("setup", function()
  local r = proc.run({ "aws", "s3", "mb", B })
  t.eq(r.status, 0, r.stderr)
  wh:exec("CREATE SCHEMA IF NOT EXISTS lode")
  require("lode.ledger").ensure(wh)
end)

-- Every type the binary path renders, one value under test per row, the
-- other columns at a plain value; bad values are bad rows in every path.
local COLS = {
  { "a", "smallint", "1", { "32767", "-32768", "32768", "-32769", "+5", "007", "-0", "", " 5", "1.0", "x" } },
  { "b", "integer", "1", { "2147483647", "-2147483648", "2147483648", "0", "-00012" } },
  { "c", "bigint", "1", { "9223372036854775807", "-9223372036854775808", "9223372036854775808", "12e3" } },
  { "d", "numeric(38,10)", "1", { "1234567890123456789012345678.1234567890", "-0.0000000001",
    "99999999999999999999999999999", "1.12345678901", ".5", "5.", "-.5", "-0.0000000000", "0000.1000", "1e5", "--1" } },
  { "e", "numeric(5,2)", "1", { "999.99", "999.995", "-999.999", "1000", "-0.00", "0012.30", "0.005" } },
  { "f", "numeric", "1", { "123456789012345678901234567890.123456789012345678901234567890", "0.000000000000000000001",
    "-100", "10000", "100000000", "0.0001", "0.00010", "99990000.00009999", "-0" } },
  { "g", "real", "1", { "3.4028234e38", "1e39", "1.5e-45", "NaN", "nan", "Infinity", "-inf", "-0", "0.1",
    "16777217", "1.17549435e-38", "0x10", "1,5" } },
  { "h", "double precision", "1", { "1e308", "1e309", "4.9e-324", "1e-400", "NaN", "-Infinity", "0.1",
    "123456789.123456789", "-0", "2.2250738585072014e-308" } },
  { "i", "boolean", "t", { "t", "TRUE", "yes", "0", "off", "N", "maybe", "1" } },
  { "j", "date", "2024-01-01", { "2024-02-29", "2023-02-29", "0001-01-01", "9999-12-31", "1999-12-31", "2000-01-01",
    "1970-01-01", "1900-03-01", "2024-1-5", "2024-01-01 10:00:00", "20240101" } },
  { "k", "timestamp", "2024-01-01 00:00:00", { "2024-01-01 12:34:56", "2024-01-01", "2024-01-01 24:00:00",
    "2016-12-31 23:59:60", "2024-01-01 01:02:03.123456", "2024-01-01 01:02:03.1234567", "2024-06-01 10:00:00+02",
    "2024-03-01 01:00:00+05:30", "2024-12-31 23:30:00-01", "0001-01-01 00:00:00", "9999-12-31 23:59:59.999999",
    "1999-12-31 23:59:59.5", "1960-07-04 04:05:06", "2024-01-01T10:00:00", "2024-13-01 00:00:00" } },
  { "l", "timestamptz", "2024-01-01 00:00:00", { "2024-01-01 12:00:00+05:30", "2024-01-01 12:00:00-08",
    "2024-01-01 12:00:00Z", "2024-01-01 12:00:00", "1969-12-31 23:59:59.999999", "2024-01-01 00:00:00 UTC" } },
  { "m", "time", "00:00:00", { "00:00:00", "23:59:59.999999", "24:00:00", "12:34", "12:34:56.5", "25:00:00" } },
  { "n", "varchar(5)", "v", { "abcde", "abcdef", "h\xC3\xA9llo", "h\xC3\xA9ll", "a\tb", "b\\s", "" } },
  { "o", "char(3)", "c", { "ab", "abc", "abc ", "abcd", "" } },
  { "p", "text", "x", { "tab\there", "back\\slash", "\\N", "cr\rhere", "\"new\nline\"", "\"q\"\"uote\"", "\xF0\x9F\x98\x80",
    "\"\"", "bad\xFFutf8", "nul\0byte", "  spaced  ", "\"a,b\"" } },
  -- the types binary COPY renders since #21's second part: timetz (its zone as seconds west),
  -- json (the text), jsonb (version byte and text), bytea (decoded as the server reads its input)
  { "q", "timetz", "00:00:00", { "10:00:00+02", "23:59:59.999999-15:59", "24:00:00+00", "00:00:00+15:59",
    "12:34:56.5+05:30", "12:00:00 UTC", "12:00:00Z", "01:02:03-0930", "12:00", "25:00:00+01", "12:00:00+16", "x" } },
  { "r", "json", "{}", { "\"{\"\"a\"\": [1, 2.5e300, null], \"\"a\"\": {}}\"", "\"\"\"str\\u00e9\"\"\"", "1",
    "-0.0", "null", "true", "\"\"\"h\xC3\xA9\xF0\x9F\x98\x80\"\"\"", "", "  []  ", "\"[\"\"\\\\\"\"]\"" } },
  { "s", "jsonb", "{}", { "\"{\"\"b\"\": 1, \"\"a\"\": 2, \"\"b\"\": 3}\"", "[]", "false", "123456789012345678901234567890.5",
    "\"\"\"\\ud83d\\ude00\"\"\"", "", "\"{\"\"k\"\": \"\"h\xC3\xA9\"\"}\"" } },
  { "u", "bytea", "ab", { "\\x", "\\x0aff", "\\xDEADbeef", "\\x 0a FF\t01", "plain", "\\\\", "\\101\\102\\377",
    "a\\\\b", "", "\xC3\xA9" } },
}

local function csv_rows(cols)
  local lines = {}
  for ci, c in ipairs(cols) do
    for _, v in ipairs(c[4]) do
      local row = {}
      for cj, d in ipairs(cols) do
        row[cj] = cj == ci and v or d[3]
      end
      lines[#lines + 1] = table.concat(row, ",")
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

local function ddl_of(cols)
  local parts = {}
  for i, c in ipairs(cols) do
    parts[i] = c[1] .. " " .. c[2]
  end
  return table.concat(parts, ", ")
end

local DDL = ddl_of(COLS)
local ALL = csv_rows(COLS)

case("types", DDL, { ["1.csv"] = ALL }, { format = "csv", maxerror = 1000 }, { min = 60 })
case("types_acceptinvchars", DDL, { ["1.csv"] = ALL }, { format = "csv", maxerror = 1000, acceptinvchars = "?" })
case("types_truncate_roundec", DDL, { ["1.csv"] = ALL },
  { format = "csv", maxerror = 1000, truncatecolumns = true, roundec = true, trimblanks = true })
case("types_blanks", DDL, { ["1.csv"] = ALL }, { format = "csv", maxerror = 1000, emptyasnull = true, blanksasnull = true })
case("types_acceptanydate", DDL, { ["1.csv"] = ALL }, { format = "csv", maxerror = 1000, acceptanydate = true })
case("types_null_as", DDL, { ["1.csv"] = ALL }, { format = "csv", maxerror = 1000, null_as = "\\N" })
case("types_gzip_streams", DDL, {
  ["1.csv"] = ALL,
  ["2.csv.gz"] = (function()
    local dir = t.tmpdir()
    local f = assert(io.open(dir .. "/x.csv", "wb"))
    f:write(ALL)
    f:close()
    assert(proc.run({ "gzip", "-f", dir .. "/x.csv" }).status == 0)
    f = assert(io.open(dir .. "/x.csv.gz", "rb"))
    local z = f:read("a")
    f:close()
    return z
  end)(),
  ["3.csv"] = "",
}, { format = "csv", maxerror = 1000, streams = 2 })

-- past MAXERROR: the same error, message and load_errors
case("maxerror", DDL, { ["1.csv"] = ALL, ["2.csv"] = ALL }, { format = "csv", maxerror = 20 }, { fails = true })

-- dates and times in every DATEFORMAT / TIMEFORMAT the conversion knows
local DT = "id int, d date, ts timestamp, tz timestamptz"
local function dt_rows(vals)
  local lines = {}
  for i, v in ipairs(vals) do
    lines[i] = ("%d|%s|%s|%s"):format(i, v[1], v[2], v[3])
  end
  return table.concat(lines, "\n") .. "\n"
end
local DATEFORMATS = {
  { "auto", { "2024-03-05", "03/05/2024", "05.03.2024", "20240305", "Mar 5, 2024", "5 Mar 2024", "2024-Mar-05",
              "05-Mar-24", "March 5, 2024", "2024/03/05", "nope" } },
  { "MM/DD/YYYY", { "03/05/2024", "3/5/2024", "13/05/2024", "03-05-2024" } },
  { "DD.MM.YYYY", { "05.03.2024", "31.02.2024", "5.3.2024" } },
  { "YYYYMMDD", { "20240305", "2024035", "00010101" } },
  { "MON DD, YYYY", { "Mar 05, 2024", "mar 5, 2024", "Sept 05, 2024" } },
  { "YYYY-MM-DD", { "2024-03-05", "2024-03-05 00:00:00" } },
}
for i, f in ipairs(DATEFORMATS) do
  local vals = {}
  for j, d in ipairs(f[2]) do
    vals[j] = { d, "2024-01-01 00:00:00", "2024-01-01 00:00:00" }
  end
  case("dateformat_" .. i, DT, { ["1.txt"] = dt_rows(vals) }, { dateformat = f[1], maxerror = 100 })
end
local TIMEFORMATS = {
  { "auto", { "2024-03-05 10:11:12", "2024-03-05T10:11:12", "03/05/2024 10:11:12 PM", "2024-03-05",
              "2024-03-05 10:11", "Mar 5 2024 01:02:03", "2024-03-05 10:11:12.5+03", "garbage" } },
  { "epochsecs", { "0", "1709633472", "-1", "253402300799", "253402300800", "1.5" } },
  { "epochmillisecs", { "0", "1709633472123", "-1", "-1500", "999" } },
  { "YYYY-MM-DD HH12:MI:SS AM", { "2024-03-05 12:00:00 AM", "2024-03-05 12:30:00 PM", "2024-03-05 01:02:03 pm",
                                   "2024-03-05 13:00:00 PM" } },
  { "MM/DD/YYYY HH24:MI:SS.SSS", { "03/05/2024 23:59:59.999", "03/05/2024 00:00:00.000001", "03/05/2024 00:00" } },
  { "YYYY-MM-DD HH:MI:SS", { "2024-03-05 10:11:12+14:00", "2024-03-05 10:11:12-0930", "2024-03-05 10:11:12 UTC" } },
}
for i, f in ipairs(TIMEFORMATS) do
  local vals = {}
  for j, v in ipairs(f[2]) do
    vals[j] = { "2024-01-01", v, v }
  end
  case("timeformat_" .. i, DT, { ["1.txt"] = dt_rows(vals) }, { timeformat = f[1], maxerror = 100 })
end

-- text format (escapes, NULL as \N, a closing delimiter), FILLRECORD, ISO-8859-1
case("text_escape", "id int, s text, n numeric(6,2), d date", {
  ["1.txt"] = "1|back\\\\slash|1.5|2024-01-01\n2|pipe\\|inside|2|2024-01-02|\n3|\\N|\\N|\\N\n"
    .. "4|new\\\nline|-3.333|2024-01-04\n5|tab\there||\n6|short\n",
}, { escape = true, fillrecord = true, maxerror = 10 })
case("latin1", "id int, s varchar(4)", { ["1.txt"] = "1|caf\xE9\n2|\xE9\xE9\xE9\n3|abcd\n" },
  { encoding = "ISO88591", maxerror = 10 })

-- fixed width: blanks around numbers and dates, text kept as cut
case("fixedwidth", "id int, name char(6), amount numeric(8,2), day date", {
  ["1.txt"] = "  1alice   12.50 2024-01-02\n  2bob    -0.5  2024-02-29\n  3carol  x     2024-01-01\n",
}, { fixedwidth = "id:3,name:6,amount:6,day:11", maxerror = 10 })

-- JSON: strings, numbers, nested values as text, null vs missing vs ""
case("json", "id bigint, name varchar(8), amount numeric(10,3), at timestamptz, ok boolean, tags text", {
  ["1.json"] = table.concat({
    '{"id": 1, "name": "a\\tb", "amount": 1.2345, "at": "2024-01-01 10:00:00+01", "ok": true, "tags": ["x", 1]}',
    '{"id": 2, "name": null, "amount": "7", "ok": false, "tags": {"k": "v"}}',
    '{"id": 3, "name": "", "amount": -0.0005, "at": "2024-01-01", "ok": "yes", "tags": ""}',
    '{"id": 4, "name": "toolongvalue", "amount": 1e3}',
    '{"id": 9223372036854775807, "name": "\\u00e9\\ud83d\\ude00", "amount": 9999999.999}',
  }, "\n") .. "\n",
}, { format = "json", maxerror = 10 })

-- a table with a column the binary path does not render (interval) loads as text COPY
case("fallback", "id int, iv interval, j jsonb, s text", {
  ["1.csv"] = '1,1 day 02:00:00,"{""a"": 1}",x\n2,1 hour,"[1, 2]",\n3,P1Y2M,"{}",y\n4,@ 3 hours ago,null,z\n',
}, { format = "csv", maxerror = 10 }, { text_copy = true })

-- bytea input the server refuses fails the whole load in every path, nothing
-- loaded; the binary path names the file, line and column and gives the
-- server's reason (PostgreSQL's byteain is the oracle)
t.test("bytea input the server refuses fails the load", { timeout = 600000 }, function()
  for i, v in ipairs({ "\\x0g", "\\x123", "\\q", "\\12", "\\x\xC3\xA9", "\\X00", "ok\\" }) do
    s3.put(B .. "badbytea" .. i .. "/1.csv", "1,ab\n2," .. v .. "\n")
    local reasons = {}
    for _, var in ipairs(VARIANTS) do
      local tbl = "equiv_badbytea_" .. var.name
      fresh(tbl, "id int, b bytea")
      var.set()
      local ok, e = pcall(copy.into, wh, { table = tbl, from = B .. "badbytea" .. i .. "/", format = "csv", maxerror = 10 })
      copy._lua_text_path, copy._text_copy_text = nil, nil
      t.ok(not ok, var.name .. " fails on " .. v)
      reasons[var.name] = tostring(type(e) == "table" and e.message or e)
      t.eq(wh:query("SELECT count(*)::int AS n FROM " .. tbl)[1].n, 0, var.name .. ": nothing loaded")
      t.eq(wh:query("SELECT count(*)::int AS n FROM lode.load_history WHERE table_name = $1", tbl)[1].n, 0)
    end
    local ok, perr = pcall(wh.query, wh, "SELECT $1::bytea AS b", v)
    t.ok(not ok, "PostgreSQL refuses " .. v)
    local why = tostring(type(perr) == "table" and perr.message or perr)
    why = why:match("^(.-) %(unnamed portal") or why
    t.ok(reasons.cbin:find("line 2, column 2 'b': " .. why, 1, true) ~= nil, reasons.cbin .. " / " .. why)
  end
end)

-- the server's own error mid-stream (NOT NULL), after 80,000 rows were sent:
-- the same error as the text path's writer raised, nothing loaded
t.test("a NULL into NOT NULL mid-stream fails the load with the server's error", { timeout = 600000 }, function()
  local lines = {}
  for i = 1, 100000 do
    lines[i] = i .. ",x" .. i
  end
  lines[80000] = ",boom"
  s3.put(B .. "notnull/1.csv", table.concat(lines, "\n") .. "\n")
  for _, v in ipairs(VARIANTS) do
    local tbl = "equiv_notnull_" .. v.name
    fresh(tbl, "id int NOT NULL, s text")
    v.set()
    local ok, e = pcall(copy.into, wh, { table = tbl, from = B .. "notnull/", format = "csv" })
    copy._lua_text_path, copy._text_copy_text = nil, nil
    t.ok(not ok, v.name)
    t.eq({ e.op, e.code, e.sqlstate, e.line }, { "pg.copy_in", "23502", "23502", 80000 }, v.name .. ": " .. tostring(e))
    t.eq(wh:query("SELECT count(*)::int AS n FROM " .. tbl)[1].n, 0)
    t.eq(wh:query("SELECT count(*)::int AS n FROM lode.load_history WHERE table_name = $1", tbl)[1].n, 0)
  end
end)

t.test("cleanup", function()
  for _, r in ipairs(wh:query("SELECT tablename FROM pg_tables WHERE tablename LIKE 'equiv\\_%'")) do
    wh:exec("DROP TABLE IF EXISTS " .. r.tablename)
    pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", r.tablename)
    pcall(wh.exec, wh, "DELETE FROM lode.load_errors WHERE table_name = $1", r.tablename)
  end
  proc.run({ "aws", "s3", "rb", B, "--force" })
end)
