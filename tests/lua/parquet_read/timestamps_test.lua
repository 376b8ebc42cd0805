-- Timestamps at the edges: INT96 from Spark (including the value Spark
-- wrote with its Julian-day arithmetic wrapped, 290000 AD), what PostgreSQL
-- accepts of them, and values beyond PostgreSQL's range (4714-11-24 BC ..
-- 294276-12-31), which are an error naming the file, row and column.
local t = require "lode.test"
local proc = require "lode.proc"
local H = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/parquet_read/helpers.lua")

local shared = os.getenv("LODE_SHARED")
local spark = shared and (shared .. "/parquet-testing/data/int96_from_spark.parquet")

local EXPECTED = table.concat({
  "a",
  "2024-01-01 20:34:56.123456",   -- "2024-01-01T12:34:56.123456" in Spark's session zone (UTC-8)
  "2024-01-01 01:00:00",
  "9999-12-31 03:00:00",          -- 9999-12-31T01:00:00-02:00
  "2024-12-30 23:00:00",          -- 2024-12-31T01:00:00+02:00
  "",
  "290000-12-30 23:00:00",        -- 290000-12-31T01:00:00+02:00 (see parquet-testing's int96_from_spark.md)
  "",
}, "\n")

t.test("int96_from_spark: the values Spark was given, row 6 in 290000 AD", function()
  if not (spark and io.open(spark)) then t.skip("../shared/parquet-testing is absent (LODE_SHARED)") end
  local r = H.cat(spark, "csv")
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, EXPECTED)
end)

t.test("PostgreSQL loads int96_from_spark's COPY text unchanged", function()
  if not (spark and io.open(spark)) then t.skip("../shared/parquet-testing is absent (LODE_SHARED)") end
  local pg = os.getenv("LODE_TEST_PG_URL")
  if not pg then t.skip("LODE_TEST_PG_URL is not set (tests/run.sh starts PostgreSQL)") end
  local tbl = "lode_int96_" .. math.random(1, 1e9)
  local text = H.cat(spark, "text")
  t.eq(text.status, 0, text.stderr)
  local function psql(args, stdin)
    local argv = { "psql", "-qtA", "-v", "ON_ERROR_STOP=1", pg }
    for _, a in ipairs(args) do argv[#argv + 1] = a end
    local r = proc.run(argv, { stdin = stdin })
    t.eq(r.status, 0, r.stderr)
    return r.stdout
  end
  psql({ "-c", "CREATE TABLE " .. tbl .. " (a timestamp)" })
  psql({ "-c", "\\copy " .. tbl .. " FROM STDIN" }, text.stdout)
  local back = psql({ "-c", "SELECT coalesce(a::text, '') FROM " .. tbl .. " ORDER BY a NULLS LAST" })
  psql({ "-c", "DROP TABLE " .. tbl })
  t.eq(back, table.concat({ "2024-01-01 01:00:00", "2024-01-01 20:34:56.123456", "2024-12-30 23:00:00",
                            "9999-12-31 03:00:00", "290000-12-30 23:00:00", "", "" }, "\n"))
end)

t.test("a timestamp beyond PostgreSQL's range fails naming file, row and column", function()
  if not H.have_node() then t.skip("node with @duckdb/node-api is not installed in tests/") end
  local dir = t.tmpdir()
  local file = dir .. "/ms.parquet"
  -- TIMESTAMP(MILLIS) written uncompressed by DuckDB; then the 8 bytes of
  -- row 3's value are replaced by 9.3e15 ms (296675 AD)
  H.duckdb({ ("COPY (SELECT i AS id, (TIMESTAMP '2001-02-03 04:05:06' + INTERVAL (i) DAY)::TIMESTAMP_MS AS ts "
    .. "FROM range(5) t(i)) TO '%s' (FORMAT parquet, COMPRESSION uncompressed)"):format(file) })
  local fh = assert(io.open(file, "rb"))
  local bytes = fh:read("a")
  fh:close()
  local ms = 981173106000 + 2 * 86400000
  local old = string.pack("<i8", ms)
  local first = bytes:find(old, 1, true)
  t.ok(first, "found the value's bytes")
  local patched = bytes:gsub(old:gsub("%p", "%%%0"), (string.pack("<i8", 9300000000000000):gsub("%%", "%%%%")))
  H.write(file, patched)
  local r = H.cat(file, "text")
  t.ok(r.status ~= 0, "non-zero exit")
  t.contains(r.stderr, "ms.parquet")
  t.contains(r.stderr, "row 3, column 'ts'")
  t.contains(r.stderr, "timestamp on 296675-04-08 is outside PostgreSQL's range")
  t.eq(r.stdout, "0\t2001-02-03 04:05:06\n1\t2001-02-04 04:05:06\n", "the rows before it, whole")
end)
