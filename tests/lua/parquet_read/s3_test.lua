-- Parquet rows from s3:// URLs: `lode parquet cat s3://…` and parquet.rows /
-- parquet.open over s3rver and over a file:// endpoint give exactly the
-- local file's output; missing keys and buckets fail naming the URL.
local t = require "lode.test"
local proc = require "lode.proc"
local parquet = require "lode.parquet"
local H = dofile((os.getenv("LODE_ROOT") or ".") .. "/tests/lua/parquet_read/helpers.lua")

t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end
local s3 = require "lode.s3"

local bucket = "lode-pqread-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
t.eq(proc.run({ "aws", "s3", "mb", B }).status, 0)

local dir = t.tmpdir()
local file = dir .. "/mixed.parquet"
-- several row groups, so the reader issues several ranged GETs; nulls,
-- strings needing escapes, decimals, timestamps and a nested column
H.duckdb({ ("COPY (SELECT i AS id, CASE WHEN i %% 7 = 0 THEN NULL ELSE 'row\t' || i END AS s, "
  .. "(i * 1.5)::DECIMAL(12,3) AS dec, TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts, "
  .. "i / 7.0 AS d, [i, i + 1] AS l FROM range(20000) t(i)) TO '%s' "
  .. "(FORMAT parquet, ROW_GROUP_SIZE 4096, COMPRESSION zstd)"):format(file) })

local function read_file(p)
  local fh = assert(io.open(p, "rb"))
  local s = fh:read("a")
  fh:close()
  return s
end
s3.put(B .. "data/mixed.parquet", read_file(file))

local function cat_env(url, fmt, env, extra)
  local argv = { H.bin, "parquet", "cat", "--format", fmt }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  argv[#argv + 1] = url
  return proc.run(argv, { env = env, max_output = 64 * 1024 * 1024, timeout = 60000 })
end

t.test("lode parquet cat s3:// (s3rver) equals the local file in every format", function()
  for _, fmt in ipairs({ "csv", "text", "tsv", "jsonl" }) do
    local want = H.cat(file, fmt)
    t.eq(want.status, 0, want.stderr)
    local got = cat_env(B .. "data/mixed.parquet", fmt)
    t.eq(got.status, 0, got.stderr)
    t.ok(#got.stdout > 100000, fmt .. ": a real amount of output")
    t.ok(got.stdout == want.stdout, fmt .. ": S3 output equals the local output")
  end
  local want = H.cat(file, "csv", { "--columns", "ts,id" })
  local got = cat_env(B .. "data/mixed.parquet", "csv", nil, { "--columns", "ts,id" })
  t.eq(got.status, 0, got.stderr)
  t.ok(got.stdout == want.stdout, "projection over S3 equals the local projection")
end)

t.test("a missing key or bucket fails with a clear error naming the URL", function()
  local r = cat_env(B .. "data/nope.parquet", "csv")
  t.ok(r.status ~= 0, "non-zero exit")
  t.eq(r.stdout, "")
  t.contains(r.stderr, B .. "data/nope.parquet: no such key")
  local nb = "s3://lode-no-such-bucket-" .. math.random(1, 1e9) .. "/k.parquet"
  r = cat_env(nb, "csv")
  t.ok(r.status ~= 0, "non-zero exit")
  t.contains(r.stderr, nb .. ": no such") -- a HEAD's 404 has no body: key or bucket
  s3.put(B .. "data/junk.parquet", "not a parquet file at all")
  r = cat_env(B .. "data/junk.parquet", "csv")
  t.ok(r.status ~= 0)
  t.contains(r.stderr, B .. "data/junk.parquet")
end)

t.test("parquet.rows and parquet.open read s3:// URLs", function()
  local n, sum = 0, 0
  for row in parquet.rows(B .. "data/mixed.parquet", { columns = { "id", "dec" } }) do
    n = n + 1
    sum = sum + row.id
    if n == 3 then t.eq(row.dec, "3.000") end
  end
  t.eq(n, 20000)
  t.eq(sum, 20000 * 19999 // 2)
  local ok, err = pcall(function() for _ in parquet.rows(B .. "data/nope.parquet") do end end)
  t.ok(not ok)
  t.eq(err.code, "not_found")
  t.eq(err.file, B .. "data/nope.parquet")
  t.contains(tostring(err), B .. "data/nope.parquet")
end)

t.test("on a file:// endpoint s3:// URLs read the local folders", function()
  local root = t.tmpdir()
  t.eq(proc.run({ "mkdir", "-p", root .. "/bkt/p" }).status, 0)
  t.eq(proc.run({ "cp", file, root .. "/bkt/p/m.parquet" }).status, 0)
  local env = { AWS_ENDPOINT_URL = "file://" .. root, AWS_ACCESS_KEY_ID = "", AWS_SECRET_ACCESS_KEY = "" }
  for _, fmt in ipairs({ "csv", "text" }) do
    local got = cat_env("s3://bkt/p/m.parquet", fmt, env)
    t.eq(got.status, 0, got.stderr)
    t.ok(got.stdout == H.cat(file, fmt).stdout, fmt .. ": equals the local output")
  end
  local r = cat_env("s3://bkt/p/missing.parquet", "csv", env)
  t.ok(r.status ~= 0)
  t.contains(r.stderr, "s3://bkt/p/missing.parquet: no such key")
end)

