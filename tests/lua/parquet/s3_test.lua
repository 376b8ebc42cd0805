-- Footers from S3 (s3rver): the same model as the local file, one request
-- per file when the footer is within the speculative read and exactly two
-- when it is larger (counted by lode and, through a loopback proxy, by what
-- the server saw), 1,000 files read concurrently, clean errors.
-- tests/env/services.sh runs s3rver through tests/tools/s3rver.js, which
-- answers suffix ranges (bytes=-N) as S3 does; buckets named s3rver-head-*
-- keep s3rver's own answer (the object's head), the fallback tested here.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local parquet = require "lode.parquet"

t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"
local endpoint = os.getenv("LODE_TEST_S3_ENDPOINT")
local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
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

t.test("an S3 footer equals the local one; one suffix GET, two when the footer is larger", function()
  s3.put(B .. "one/f.parquet", read_file(fixture()))
  local m = parquet.metadata(B .. "one/f.parquet")
  local l = parquet.metadata(fixture())
  t.eq(m.path, B .. "one/f.parquet")
  t.ok(m.etag and #m.etag > 0, "etag kept")
  t.eq(m.size, l.size, "size from Content-Range")
  t.eq(m.requests, 1, "one GET of the last 64 KiB gives the size, the ETag and the footer")
  for _, k in ipairs({ "path", "requests", "etag" }) do
    m[k], l[k] = nil, nil
  end
  t.eq(m, l, "same model from S3 and from disk")
  -- a suffix read shorter than the object but holding the footer: still one request
  local spec = l.footer_length + 8 + 100
  t.ok(spec < l.size, "the object is larger than the speculative read")
  local part = parquet.metadata(B .. "one/f.parquet", { speculative = spec })
  t.eq(part.requests, 1, "the last bytes only, and they hold the footer")
  t.eq(part.num_rows, 5000)
  local two = parquet.metadata(B .. "one/f.parquet", { speculative = 64 })
  t.eq(two.requests, 2, "a footer larger than the speculative read costs exactly one more GET")
  t.eq(two.num_rows, 5000)
  t.eq(#two.row_groups, #l.row_groups)
end)

t.test("a server that ignores suffix ranges: the same model, one request more", function()
  local hb = "s3://s3rver-head-" .. math.random(1, 1e9) .. "/"
  assert(proc.run({ "aws", "s3", "mb", hb }).status == 0)
  s3.put(hb .. "f.parquet", read_file(fixture()))
  local l = parquet.metadata(fixture())
  local whole = parquet.metadata(hb .. "f.parquet")
  t.eq(whole.requests, 1, "an object within the speculative read comes whole")
  local spec = l.footer_length + 8 + 100
  local m = parquet.metadata(hb .. "f.parquet", { speculative = spec })
  t.eq(m.requests, 2, "the head it sent gives the size; the footer is read after")
  t.eq(m.size, l.size)
  t.eq(m.num_rows, 5000)
  t.eq(parquet.metadata(hb .. "f.parquet", { speculative = 64 }).requests, 3)
end)

t.test("an empty object: a clear error after the 416 (and a HEAD for its size)", function()
  s3.put(B .. "empty.parquet", "")
  local ok, err = pcall(parquet.metadata, B .. "empty.parquet")
  t.ok(not ok)
  t.eq(err.code, "corrupt")
  t.contains(tostring(err), "0 bytes")
end)

t.test("the request count is what the server saw, retries included", function()
  s3.put(B .. "count/f.parquet", read_file(fixture()))
  local dir = t.tmpdir()
  local function through_proxy(faults, spec)
    local log = dir .. "/proxy-" .. faults .. "-" .. spec .. ".log"
    local p = proc.run({ "python3", root .. "/tests/lua/s3/fault_proxy.py", endpoint:match(":(%d+)$"), "503",
                         tostring(faults), log, "60" })
    assert(p.status == 0, p.stderr)
    local script = dir .. "/child.lua"
    local f = assert(io.open(script, "w"))
    f:write(([[
      require("lode.s3").configure{ backoff_base = 5 }
      io.write(require("lode.parquet").metadata(%q, { speculative = %d }).requests)
    ]]):format(B .. "count/f.parquet", spec))
    f:close()
    local r = proc.run({ lode_bin, "run", script },
      { env = { AWS_ENDPOINT_URL = "http://127.0.0.1:" .. p.stdout:match("%d+") }, timeout = 60000 })
    t.eq(r.status, 0, r.stderr)
    local fh = assert(io.open(log, "rb"))
    local lines = fh:read("a")
    fh:close()
    local _, seen = lines:gsub("\n", "")
    local _, heads = lines:gsub("HEAD ", "")
    t.eq(heads, 0, "no HEAD")
    return tonumber(r.stdout), seen
  end
  local n, seen = through_proxy(0, 65536)
  t.eq(n, 1)
  t.eq(seen, 1, "the server saw one GET")
  n, seen = through_proxy(0, 64)
  t.eq(n, 2)
  t.eq(seen, 2)
  n, seen = through_proxy(1, 64)
  t.eq(n, 3, "a 503 retried is a request")
  t.eq(seen, 3)
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

-- One open for every Parquet reader (lode_source_open_url): a missing local
-- file and a missing key fail the footer reader and the row reader with the
-- same code, and the message names the path or URL given.
t.test("parquet.metadata and parquet.rows fail alike on a missing file or key", function()
  local missing = { t.tmpdir() .. "/absent.parquet", "file://" .. t.tmpdir() .. "/absent2.parquet",
                    B .. "absent.parquet" }
  for _, url in ipairs(missing) do
    local ok, meta_err = pcall(parquet.metadata, url)
    t.ok(not ok, url)
    local ok2, rows_err = pcall(function() for _ in parquet.rows(url) do end end)
    t.ok(not ok2, url)
    t.eq(meta_err.code, "not_found", url .. " (metadata)")
    t.eq(rows_err.code, "not_found", url .. " (rows)")
    local name = url:gsub("^file://", "")
    t.contains(meta_err.message, name)
    t.contains(rows_err.message, name)
  end
end)

t.test("1,000 footers under a prefix: concurrent, one request each", { timeout = 110000 }, function()
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
  t.eq(requests, n, "one request per file: the footers are within 64 KiB")
  t.diag(("%d footers from s3rver in %d ms, %d requests"):format(n, ms, requests))
  local s = parquet.summary(B .. "many/", { concurrency = 32 })
  t.eq(s.files, n)
  t.eq(s.total_rows, n * 5000)
  t.eq(s.schemas_agree, true)
end)
