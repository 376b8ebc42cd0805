-- Bounded memory, small edition of tests/bench/parquet_stream.sh (which
-- streams 2 GiB): a DuckDB-written Parquet file goes through
-- `lode parquet cat --format text | psql -c "\copy t FROM STDIN"` into the
-- test PostgreSQL; every row arrives intact and lode's peak RSS stays
-- under 256 MiB.
local t = require "lode.test"
local proc = require "lode.proc"
local H = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/parquet_read/helpers.lua")

t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end

t.test("a 24 MiB Parquet file streams into PostgreSQL through psql \\copy", { timeout = 120000 }, function()
  local r = proc.run({ "bash", H.root .. "/tests/bench/parquet_stream.sh" },
    { env = { PQ_STREAM_MB = "24", LODE_BIN = H.bin }, timeout = 110000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  local v = {}
  for k, val in r.stdout:gmatch("parquet_stream ([^:]+): (%S+)") do v[k] = val end
  t.ok(tonumber(v.rows) and tonumber(v.rows) > 300000, "rows: " .. tostring(v.rows))
  t.eq(v["rows loaded"], v.rows, "every row loaded")
  t.eq(v["content ok"], "t", "sum(id) and the NULL count match")
  local rss = tonumber(v["lode peak RSS MiB"])
  t.ok(rss and rss > 0 and rss < 256, "lode's peak RSS " .. tostring(rss) .. " MiB < 256 MiB")
end)
