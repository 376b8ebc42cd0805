-- lode.parquet.writer to an s3:// URL streams a multipart upload while the
-- rows are written: parts leave before close (seen in a logging proxy's
-- record of the requests), the object is what DuckDB reads back with the
-- values written, and a part that keeps failing aborts the upload and
-- leaves no object. Oracles: the aws CLI (size, ETag, download), DuckDB.
local t = require "lode.test"
local parquet = require "lode.parquet"
local proc = require "lode.proc"
local json = require "lode.json"
local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")

local endpoint = t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local upstream = endpoint:match(":(%d+)$")
local bucket = "lode-pqstream-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)

local MiB = 1024 * 1024
local N = 130000 -- rows of 8 + 4 + 100 bytes uncompressed: about 14.6 MB, three 5 MiB parts

local function aws(args)
  local r = proc.run(args)
  return r.status, r.stdout, r.stderr
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function proxy(mode, count, dir, match)
  local log = dir .. "/proxy.log"
  local r = proc.run({ "python3", root .. "/tests/lua/s3/fault_proxy.py", upstream, mode, tostring(count), log, "120",
                       match or "", "1" })
  assert(r.status == 0, r.stderr)
  return "http://127.0.0.1:" .. r.stdout:match("%d+"), log
end

-- The same rows in every scenario: id 1..n, a 100-byte note naming the id.
local ROWS_LUA = [[
local function rows(w, n)
  for i = 1, n do
    w:write({ id = i, note = ("%08d"):format(i) .. ("n"):rep(92) })
  end
end
]]

local function child(dir, url, body)
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write("local parquet = require 'lode.parquet'\nlocal s3 = require 'lode.s3'\nlocal B = '" .. B .. "'\n",
    ROWS_LUA, body)
  f:close()
  return proc.run({ lode_bin, "run", script }, { env = { AWS_ENDPOINT_URL = url }, timeout = 120000 })
end

local COLS = [[{ { name = "id", type = "bigint" }, { name = "note", type = "varchar(100)" } }]]

t.test("parts leave while rows are written; the object holds every row (aws CLI, DuckDB)", { timeout = 120000 },
  function()
  local dir = t.tmpdir()
  local url, log = proxy("503", 0, dir) -- no fault: a proxy that logs each request
  local r = child(dir, url, ([[
    local w = parquet.writer(B .. "stream/rows.parquet", { columns = %s, compression = "none",
      row_group_rows = 10000, part_size = 5 * 1024 * 1024 })
    rows(w, %d)
    local f = io.open(%q)
    local _, before = f:read("a"):gsub("partNumber=", "")
    f:close()
    local res = w:close()
    io.write(before, " ", res.rows, " ", res.bytes, " ", res.parts, " ", res.etag)
  ]]):format(COLS, N, log))
  t.eq(r.status, 0, r.stderr)
  local before, rows, bytes, parts, etag = r.stdout:match("^(%d+) (%d+) (%d+) (%d+) (.+)$")
  t.ok(tonumber(before) >= 2, "at least two parts were sent before close: " .. tostring(before))
  t.eq(tonumber(rows), N)
  t.eq(tonumber(parts), 3, "three parts of 5 MiB")
  local l = read(log)
  t.ok(not l:find("PUT /" .. bucket .. "/stream/rows.parquet -> ", 1, true), "no single PUT")
  t.contains(l, "POST /" .. bucket .. "/stream/rows.parquet?uploadId=", "completed")
  -- the aws CLI: the object's size and ETag are the ones close() returned
  local st, out = aws({ "aws", "s3api", "head-object", "--bucket", bucket, "--key", "stream/rows.parquet" })
  t.eq(st, 0)
  local head = json.decode(out)
  t.eq(head.ContentLength, tonumber(bytes))
  t.eq(head.ETag, etag)
  t.ok(tonumber(bytes) > 2 * 5 * MiB, "larger than two parts")
  local file = dir .. "/rows.parquet"
  t.eq(aws({ "aws", "s3", "cp", "--quiet", B .. "stream/rows.parquet", file }), 0)
  if not H.have_node() then
    t.skip("node with @duckdb/node-api is not installed in tests/")
    return
  end
  local res = proc.run({ "node", root .. "/tests/tools/duckdb.js", ([[SELECT count(*)::VARCHAR AS n,
    sum(id)::VARCHAR AS s, count(DISTINCT note)::VARCHAR AS d,
    count(*) FILTER (WHERE note = lpad(id::VARCHAR, 8, '0') || repeat('n', 92))::VARCHAR AS good
    FROM read_parquet('%s')]]):format(file) })
  t.eq(res.status, 0, res.stdout)
  local got = json.decode(res.stdout)[1]
  t.eq(got, { n = tostring(N), s = tostring(N * (N + 1) // 2), d = tostring(N), good = tostring(N) })
end)

t.test("a small file is one PUT at close", function()
  local w = parquet.writer(B .. "small/one.parquet", { columns = { { name = "id", type = "bigint" } } })
  for i = 1, 10 do
    w:write({ id = i })
  end
  local res = w:close()
  t.eq(res.parts, 1)
  local st, out = aws({ "aws", "s3api", "head-object", "--bucket", bucket, "--key", "small/one.parquet" })
  t.eq(st, 0)
  t.eq(json.decode(out).ContentLength, res.bytes)
  t.eq(json.decode(out).ETag, res.etag)
end)

-- One row group larger than a part, all of it still held at close (nothing
-- went out while the rows were written): the object must be every byte of
-- the file, in parts. (It was two PUTs of the same key: the first part's
-- bytes, then the rest over them; the bench's 16 MiB run kept 37,600 bytes.)
t.test("a file still held whole at close and larger than a part goes up whole (aws CLI, DuckDB)", { timeout = 600000 },
  function()
  local n = 60000 -- about 6.7 MB in one row group, more than one 5 MiB part
  local w = parquet.writer(B .. "close/rows.parquet", { columns = { { name = "id", type = "bigint" },
    { name = "note", type = "varchar(100)" } }, compression = "none", row_group_rows = 1000000, part_size = 5 * MiB })
  for i = 1, n do
    w:write({ id = i, note = ("%08d"):format(i) .. ("n"):rep(92) })
  end
  local res = w:close()
  t.eq(res.rows, n)
  t.ok(res.bytes > 5 * MiB, "larger than a part: " .. res.bytes)
  local st, out = aws({ "aws", "s3api", "head-object", "--bucket", bucket, "--key", "close/rows.parquet" })
  t.eq(st, 0)
  local head = json.decode(out)
  t.eq(head.ContentLength, res.bytes)
  t.eq(head.ETag, res.etag)
  t.eq(res.parts, 2, "a 5 MiB part and the rest")
  if not H.have_node() then
    t.skip("node with @duckdb/node-api is not installed in tests/")
    return
  end
  local dir = t.tmpdir()
  local file = dir .. "/rows.parquet"
  t.eq(aws({ "aws", "s3", "cp", "--quiet", B .. "close/rows.parquet", file }), 0)
  local q = proc.run({ "node", root .. "/tests/tools/duckdb.js", ([[SELECT count(*)::VARCHAR AS n,
    sum(id)::VARCHAR AS s,
    count(*) FILTER (WHERE note = lpad(id::VARCHAR, 8, '0') || repeat('n', 92))::VARCHAR AS good
    FROM read_parquet('%s')]]):format(file) })
  t.eq(q.status, 0, q.stdout .. q.stderr)
  t.eq(json.decode(q.stdout)[1], { n = tostring(n), s = tostring(n * (n + 1) // 2), good = tostring(n) })
end)

t.test("a part that keeps failing: the write raises, the upload is aborted, no object is left", { timeout = 120000 },
  function()
  local dir = t.tmpdir()
  local url, log = proxy("part500", -1, dir)
  local r = child(dir, url, ([[
    s3.configure{ backoff_base = 5, max_attempts = 2 }
    local w = parquet.writer(B .. "fail/rows.parquet", { columns = %s, compression = "none",
      row_group_rows = 10000, part_size = 5 * 1024 * 1024 })
    local ok, e = pcall(rows, w, %d)
    io.write(tostring(ok), " ", e.code, " ", e.status, " ", e.key)
    local ok2, e2 = pcall(w.write, w, { id = 1 })
    io.write(" ", e2.code)
  ]]):format(COLS, N))
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "false InternalError 500 " .. B .. "fail/rows.parquet closed")
  local l = read(log)
  local id = l:match("uploadId=([^%s&]+)")
  t.ok(id, "the upload was begun")
  t.contains(l, "DELETE /" .. bucket .. "/fail/rows.parquet?uploadId=" .. id .. " -> ", "the upload was aborted")
  t.ok(not l:find("POST /" .. bucket .. "/fail/rows.parquet?uploadId=", 1, true), "never completed")
  local st = aws({ "aws", "s3api", "head-object", "--bucket", bucket, "--key", "fail/rows.parquet" })
  t.ne(st, 0, "no object")
end)

t.test("w:abort() after parts were sent aborts the upload", { timeout = 120000 }, function()
  local dir = t.tmpdir()
  local url, log = proxy("503", 0, dir)
  local r = child(dir, url, ([[
    local w = parquet.writer(B .. "abort/rows.parquet", { columns = %s, compression = "none",
      row_group_rows = 10000, part_size = 5 * 1024 * 1024 })
    rows(w, 60000)
    w:abort()
    io.write("aborted")
  ]]):format(COLS))
  t.eq(r.status, 0, r.stderr)
  local l = read(log)
  local id = l:match("uploadId=([^%s&]+)")
  t.ok(id and l:find("partNumber=1", 1, true), "a part was sent")
  t.contains(l, "DELETE /" .. bucket .. "/abort/rows.parquet?uploadId=" .. (id or "?"))
  t.ne(aws({ "aws", "s3api", "head-object", "--bucket", bucket, "--key", "abort/rows.parquet" }), 0, "no object")
end)
