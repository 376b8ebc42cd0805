-- lode.parquet.writer: typed Lua rows to Parquet, read back by DuckDB (the
-- oracle: tests/tools/parquet_diff.js sql) and loaded by copy.into into
-- PostgreSQL, whose text output is compared with the values written.
local t = require "lode.test"
local lode = require "lode"
local parquet = require "lode.parquet"
local proc = require "lode.proc"
local root = os.getenv("LODE_ROOT") or "."
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")

local COLUMNS = {
  { name = "i16", type = "smallint" }, { name = "i32", type = "integer" }, { name = "i64", type = "bigint" },
  { name = "n", type = "numeric(18,4)" }, { name = "r", type = "real" }, { name = "d", type = "double precision" },
  { name = "b", type = "boolean" }, { name = "v", type = "varchar(20)" }, { name = "dt", type = "date" },
  { name = "ts", type = "timestamp" },
}
local ROWS = {
  { i16 = -32768, i32 = -2147483648, i64 = math.mininteger, n = "-99999999999999.9999", r = 1.5,
    d = -1.7976931348623157e308, b = true, v = "héllo", dt = "1969-12-31", ts = "1901-12-13 20:45:52.000001" },
  { i16 = 32767, i32 = 2147483647, i64 = math.maxinteger, n = "99999999999999.9999", r = -2.25,
    d = 5e-324, b = false, v = 'a,"b"', dt = "2100-02-28", ts = "2038-01-19T03:14:08" },
  { i16 = 0, i32 = 7, i64 = 0, n = 12, r = 0.0, d = 0.1, b = false, v = "", dt = "1970-01-01",
    ts = "1969-12-31 23:59:59.5" },
  {}, -- every column NULL
  { i16 = lode.null, i32 = 1, i64 = lode.null, n = "0.0001", r = lode.null, d = lode.null, b = lode.null,
    v = lode.null, dt = lode.null, ts = "2262-04-11 23:47:16.854775" },
}
-- what DuckDB prints (VARCHAR casts), NULL as false
local EXPECT = {
  { "-32768", "-2147483648", tostring(math.mininteger), "-99999999999999.9999", "true", "héllo", "1969-12-31",
    "1901-12-13 20:45:52.000001" },
  { "32767", "2147483647", tostring(math.maxinteger), "99999999999999.9999", "false", 'a,"b"', "2100-02-28",
    "2038-01-19 03:14:08" },
  { "0", "7", "0", "12.0000", "false", "", "1970-01-01", "1969-12-31 23:59:59.5" },
  { false, false, false, false, false, false, false, false },
  { false, "1", false, "0.0001", false, false, false, "2262-04-11 23:47:16.854775" },
}
local FLOATS = { { 1.5, -1.7976931348623157e308 }, { -2.25, 5e-324 }, { 0.0, 0.1 }, { false, false }, { false, false } }

local function duck_rows(file)
  local dir = H.tmpdir()
  local out = dir .. "/out.csv"
  local cols = { "i16", "i32", "i64", "n", "b", "v", "dt", "ts", "r::DOUBLE", "d" }
  for i, c in ipairs(cols) do
    cols[i] = ("coalesce(%s::VARCHAR, '<NULL>')"):format(c)
  end
  H.duckdb({ ("COPY (SELECT %s FROM read_parquet('%s')) TO '%s' (HEADER false)"):format(table.concat(cols, ", "),
    file, out) })
  local f = assert(io.open(out))
  local rows = H.parse_csv(f:read("a"))
  f:close()
  for _, r in ipairs(rows) do
    for j = 1, #cols do
      if r[j] == "<NULL>" then
        r[j] = false
      elseif r[j] == false then
        r[j] = "" -- an unquoted empty field is the empty string here
      end
    end
  end
  return rows
end

local function check_rows(rows)
  t.eq(#rows, #EXPECT)
  for i, want in ipairs(EXPECT) do
    local got = rows[i]
    for j = 1, 8 do
      t.eq(got[j], want[j], ("row %d column %d"):format(i, j))
    end
    for j = 1, 2 do
      local g = got[8 + j]
      t.eq(g and tonumber(g) or false, FLOATS[i][j], ("row %d float %d"):format(i, j))
    end
  end
end

t.test("every type, NULLs, extremes and timestamps before 1970 and after 2038 read back by DuckDB", function()
  if not H.have_node() then
    t.skip("node with @duckdb/node-api is not installed in tests/")
    return
  end
  local path = t.tmpdir() .. "/all.parquet"
  local w = parquet.writer(path, { columns = COLUMNS })
  for _, r in ipairs(ROWS) do
    w:write(r)
  end
  local res = w:close()
  t.eq(res.rows, #ROWS)
  local f = assert(io.open(path, "rb"))
  t.eq(res.bytes, #f:read("a"))
  f:close()
  check_rows(duck_rows(path))
end)

t.test("row_group_rows sizes the row groups", function()
  local path = t.tmpdir() .. "/groups.parquet"
  local w = parquet.writer(path, { columns = { { name = "id", type = "bigint" } }, row_group_rows = 1000 })
  for i = 1, 2500 do
    w:write({ id = i })
  end
  t.eq(w:close().rows, 2500)
  local m = parquet.metadata(path)
  t.eq(#m.row_groups, 3)
  t.eq({ m.row_groups[1].num_rows, m.row_groups[2].num_rows, m.row_groups[3].num_rows }, { 1000, 1000, 500 })
end)

t.test("types inferred from the first rows", function()
  local path = t.tmpdir() .. "/infer.parquet"
  local w = parquet.writer(path, { infer_rows = 3 })
  w:write({ id = 1, price = 2, name = "a", day = "2024-01-01", at = "2024-01-01T10:00:00", ok = true })
  w:write({ id = 2, price = 2.5, name = lode.null, day = "2024-01-02", at = "2024-01-02", ok = false })
  w:write({ id = 3, price = 3, name = "c", day = "2024-01-03", at = "2024-01-03 10:00:00.25", ok = true, extra = 1 })
  w:write({ id = 4, price = 4, name = "d", day = "2024-01-04", at = "2024-01-04 00:00:00", ok = true, extra = 2 })
  t.eq(w:close().rows, 4)
  local types = {}
  for _, c in ipairs(w:columns()) do
    types[c.name] = c.type
  end
  t.eq(types, { id = "bigint", price = "double precision", name = "varchar", day = "date", at = "timestamp",
                ok = "boolean", extra = "bigint" })
end)

t.test("wrong values and types not written yet raise structured errors", function()
  local dir = t.tmpdir()
  local w = parquet.writer(dir .. "/bad.parquet", { columns = { { name = "id", type = "integer" } } })
  local ok, err = pcall(w.write, w, { id = 2 ^ 40 | 0 })
  t.ok(not ok)
  t.eq(err.code, "invalid_value")
  t.contains(err.message, "id")
  w:abort()
  w = parquet.writer(dir .. "/bad2.parquet", { columns = { { name = "id", type = "integer" } } })
  ok, err = pcall(w.write, w, { id = "x" })
  t.eq(err.code, "invalid_value")
  w:abort()
  ok, err = pcall(parquet.writer, dir .. "/x.parquet", { columns = { { name = "n", type = "timetz" } } })
  t.eq(err.code, "unsupported")
  ok, err = pcall(parquet.writer, dir .. "/x.parquet", { columns = { { name = "x", type = "frobnicate" } } })
  t.eq(err.code, "usage")
  ok, err = pcall(parquet.writer, dir .. "/x.parquet", { columns = { { name = "x", type = "int" } },
                                                         compression = "lzo" })
  t.eq(err.code, "usage")
end)

t.test("written to S3, then loaded with copy.into format = parquet: PostgreSQL holds the values", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local s3 = require "lode.s3"
  local bucket = "lode-pqw-" .. math.random(1, 1e9)
  assert(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status == 0)
  local key = "s3://" .. bucket .. "/rows/part-0.parquet"
  local w = parquet.writer(key, { columns = COLUMNS })
  for _, r in ipairs(ROWS) do
    w:write(r)
  end
  local res = w:close()
  t.eq(res.rows, #ROWS)
  t.eq(res.etag, s3.head(key).etag)
  t.eq(res.bytes, s3.head(key).size)
  local wh = lode.warehouse { url = url }
  wh:exec("DROP TABLE IF EXISTS pqw_rows")
  local defs = {}
  for i, c in ipairs(COLUMNS) do
    defs[i] = c.name .. " " .. c.type
  end
  wh:exec("CREATE TABLE pqw_rows (" .. table.concat(defs, ", ") .. ")")
  local r = lode.copy.into(wh, { table = "pqw_rows", from = key, format = "parquet" })
  t.eq(r.rows, #ROWS)
  local got = wh:query([[SELECT i16::text, i32::text, i64::text, n::text, b::text, v, dt::text, ts::text,
    r::float8::text AS r, d::text FROM pqw_rows ORDER BY pqw_rows.i32 NULLS FIRST]])
  -- PostgreSQL's text: numeric keeps its scale, booleans are true/false
  local want = {
    { false, false, false, false, false, false, false, false, false, false },
    { "-32768", "-2147483648", tostring(math.mininteger), "-99999999999999.9999", "true", "héllo", "1969-12-31",
      "1901-12-13 20:45:52.000001", "1.5", "-1.7976931348623157e+308" },
    { false, "1", false, "0.0001", false, false, false, "2262-04-11 23:47:16.854775", false, false },
    { "0", "7", "0", "12.0000", "false", "", "1970-01-01", "1969-12-31 23:59:59.5", "0", "0.1" },
    { "32767", "2147483647", tostring(math.maxinteger), "99999999999999.9999", "false", 'a,"b"', "2100-02-28",
      "2038-01-19 03:14:08", "-2.25", "5e-324" },
  }
  local names = { "i16", "i32", "i64", "n", "b", "v", "dt", "ts", "r", "d" }
  t.eq(#got, #want)
  for i, row in ipairs(want) do
    for j, name in ipairs(names) do
      local g = got[i][name]
      if g == lode.null then
        g = false
      end
      t.eq(g, row[j], ("row %d %s"):format(i, name))
    end
  end
  wh:exec("DROP TABLE pqw_rows")
end)

t.test("a large write keeps memory to about one row group (peak RSS in the log)", function()
  local path = t.tmpdir() .. "/large.parquet"
  local w = parquet.writer(path, { columns = { { name = "id", type = "bigint" }, { name = "note", type = "varchar" } },
                                   row_group_rows = 100000 })
  local pad = ("x"):rep(100)
  for i = 1, 1000000 do
    w:write({ id = i, note = pad })
  end
  local r = w:close()
  t.eq(r.rows, 1000000)
  local f = assert(io.open("/proc/self/status"))
  local hwm = f:read("a"):match("VmHWM:%s*(%d+)")
  f:close()
  t.diag(("1M rows, %d bytes of Parquet, peak RSS %s kB"):format(r.bytes, tostring(hwm)))
end)
