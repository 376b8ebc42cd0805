-- Footers from S3 (s3rver): the same model as the local file, few requests
-- per file (counted), 1,000 files read concurrently, clean errors.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local parquet = require "lode.parquet"

t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"
local root = os.getenv("LODE_ROOT") or "."
local bucket = "lode-pqmeta-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)

local local_file
local function fixture()
  if local_file then
    return local_file
  end
  local_file = t.tmpdir() .. "/f.parquet"
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js",
    ("COPY (SELECT i, 'v' || i AS s, i / 3 AS d FROM range(5000) t(i)) TO '%s' (ROW_GROUP_SIZE 2048)"):format(local_file) })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  return local_file
end

local function read_file(p)
  local fh = assert(io.open(p, "rb"))
  local s = fh:read("a")
  fh:close()
  return s
end

t.test("an S3 footer equals the local one; HEAD + one ranged GET", function()
  s3.put(B .. "one/f.parquet", read_file(fixture()))
  local m = parquet.metadata(B .. "one/f.parquet")
  local l = parquet.metadata(fixture())
  t.eq(m.path, B .. "one/f.parquet")
  t.ok(m.etag and #m.etag > 0, "etag kept")
  t.eq(m.requests, 2, "HEAD for the size, one GET of the last 64 KiB")
  for _, k in ipairs({ "path", "requests", "etag" }) do
    m[k], l[k] = nil, nil
  end
  t.eq(m, l, "same model from S3 and from disk")
  local two = parquet.metadata(B .. "one/f.parquet", { speculative = 64 })
  t.eq(two.requests, 3, "a footer larger than the speculative read costs one more GET")
end)

t.test("missing keys and non-Parquet objects fail with structured errors", function()
  local ok, err = pcall(parquet.metadata, B .. "nope.parquet")
  t.ok(not ok)
  t.eq(err.code, "not_found")
  t.eq(err.file, B .. "nope.parquet")
  s3.put(B .. "junk.parquet", "definitely not parquet")
  ok, err = pcall(parquet.metadata, B .. "junk.parquet")
  t.eq(err.code, "corrupt")
  t.contains(tostring(err), "no PAR1 magic")
end)

t.test("1,000 footers under a prefix: concurrent, at most 2 requests each", { timeout = 110000 }, function()
  local body = read_file(fixture())
  local n = 1000
  local next_i = 0
  local workers = {}
  for w = 1, 16 do
    workers[w] = function()
      while next_i < n do
        next_i = next_i + 1
        s3.put(("%smany/part-%04d.parquet"):format(B, next_i), body)
      end
    end
  end
  lode.all(workers)
  local files = parquet.files(B .. "many/")
  t.eq(#files, n)
  local requests, rows = 0, 0
  local t0 = lode.now()
  parquet.each(files, function(_, m)
    requests = requests + m.requests
    rows = rows + m.num_rows
  end, { concurrency = 32 })
  local ms = lode.now() - t0
  t.eq(rows, n * 5000)
  t.ok(requests <= 2 * n, ("%d requests for %d files"):format(requests, n))
  t.diag(("%d footers from s3rver in %d ms, %d requests"):format(n, ms, requests))
  local s = parquet.summary(B .. "many/", { concurrency = 32 })
  t.eq(s.files, n)
  t.eq(s.total_rows, n * 5000)
  t.eq(s.schemas_agree, true)
end)
