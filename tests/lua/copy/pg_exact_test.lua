-- COPY from objects that change or from servers that answer wrongly, through
-- the fault proxy (tests/lua/s3/fault_proxy.py) in a child `lode run`:
--   swap        the object is replaced between LIST and GET, or between a
--               Parquet footer and its pages (the proxy answers If-Match
--               with 412, as S3 does)
--   swap_blind  the same from a server that ignores If-Match
--   norange     Range ignored: 200 and the whole object
--   short206    206 with half the body
-- A changed object fails the load whole with ObjectChanged (nothing in the
-- table, nothing in lode.load_history); an ignored Range still loads exactly
-- the rows; a short body is retried, and never commits part of a file. The
-- expected rows come from the generators below (count and sum of ids),
-- checked in PostgreSQL.
local t = require "lode.test"
local lode = require "lode"
local copy = require "lode.copy"
local proc = require "lode.proc"
local sql = require "lode.sql"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
local endpoint = t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")
if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end
local s3 = require "lode.s3"

local upstream = endpoint:match(":(%d+)$")
if not upstream then
  t.skip_all("the fault proxy needs an http:// S3 endpoint, not " .. endpoint)
  return
end
local bucket = "lode-copy-exact-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local dir = t.tmpdir()

local CSV_DDL = "id bigint, name text"
local PQ_DDL = "id bigint, name text, amount numeric(12,2)"

local function fresh(name, ddl)
  wh:exec(("DROP TABLE IF EXISTS %s"):format(sql.qname(name)))
  wh:exec(("CREATE TABLE %s (%s)"):format(sql.qname(name), ddl))
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", sql.qname(name))
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- {rows, sum of ids} of the table, and its ledger rows.
local function contents(name)
  local r = wh:query(("SELECT count(*) AS n, coalesce(sum(id), 0)::text AS s FROM %s"):format(sql.qname(name)))[1]
  return { r.n, r.s }
end

local function ledger(name)
  return wh:query("SELECT key, etag, size FROM lode.load_history WHERE table_name = $1 ORDER BY key", sql.qname(name))
end

-- The rows ids first..last make: {count, sum}.
local function expect(...)
  local n, s = 0, 0
  for _, r in ipairs({ ... }) do
    n = n + (r[2] - r[1] + 1)
    s = s + (r[1] + r[2]) * (r[2] - r[1] + 1) // 2
  end
  return { n, tostring(s) }
end

local function proxy(mode, count, log, match, arg)
  local r = proc.run({ "python3", root .. "/tests/lua/s3/fault_proxy.py", upstream, mode, tostring(count), log,
                       "120", match or "", "1", arg or "" })
  assert(r.status == 0, r.stderr)
  return r.stdout:match("%d+")
end

-- copy.into(opts) in a child lode whose S3 endpoint is the proxy; prints
-- "ok FILES ROWS" or "error CODE RETRYABLE\nMESSAGE".
local function child(port, opts_src)
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write(([[
local lode = require "lode"
local copy = require "lode.copy"
local s3 = require "lode.s3"
local B = %q
s3.configure { backoff_base = 5, max_attempts = 3 }
local wh = lode.warehouse()
local ok, r = pcall(copy.into, wh, %s)
if ok then
  io.write("ok ", r.files, " ", r.rows)
else
  io.write("error ", tostring(type(r) == "table" and r.code), " ", tostring(type(r) == "table" and r.retryable),
    "\n", tostring(type(r) == "table" and r.message or r))
end
]]):format(B, opts_src))
  f:close()
  return proc.run({ lode_bin, "run", script },
    { env = { AWS_ENDPOINT_URL = "http://127.0.0.1:" .. port, LODE_WAREHOUSE = url }, timeout = 120000 })
end

local function csv_rows(first, last, pad)
  local lines = {}
  for id = first, last do
    lines[#lines + 1] = ("%d,row %d%s"):format(id, id, pad or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

local BIG_ROWS = 400000        -- about 10 MB: three 4 MiB ranged reads
local NPQ = 16384              -- per Parquet file: 8 row groups, well past the 64 KiB footer read

local function parquet(path, first, last)
  return ([[COPY (SELECT i::BIGINT AS id, 'name ' || i AS name, (i / 100.0)::DECIMAL(12,2) AS amount
    FROM range(%d, %d) t(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION uncompressed)]])
    :format(first, last + 1, path)
end

t.test("setup: CSV and Parquet objects, and the replacements the proxy swaps in", { timeout = 120000 }, function()
  s3.put(B .. "d/csv/a.csv", csv_rows(1, 1000))
  s3.put(B .. "d/csv/b.csv", csv_rows(1001, 2000))
  -- the replacement is longer: its first listed-size bytes are rows too
  s3.put(B .. "r/csv/b.csv", csv_rows(50001, 53000))
  H.write(dir .. "/big.csv", csv_rows(1, BIG_ROWS, " padding padding"))
  s3.put(B .. "big/csv/a.csv", read(dir .. "/big.csv"))
  t.ok(#read(dir .. "/big.csv") > 2 * (4 << 20), "more than two 4 MiB chunks")
  -- same schema and layout, other values: old footer + new pages decode cleanly
  H.duckdb({ parquet(dir .. "/a.parquet", 0, NPQ - 1), parquet(dir .. "/b.parquet", NPQ, 2 * NPQ - 1),
             parquet(dir .. "/b2.parquet", 1000000 + NPQ, 1000000 + 2 * NPQ - 1) })
  s3.put(B .. "d/pq/a.parquet", read(dir .. "/a.parquet"))
  s3.put(B .. "d/pq/b.parquet", read(dir .. "/b.parquet"))
  s3.put(B .. "r/pq/b.parquet", read(dir .. "/b2.parquet"))
  t.ok(#read(dir .. "/b.parquet") > 4 * 65536, "page reads go past the footer read")
end)

local CSV = [[{ table = "exact_csv", from = B .. "d/csv/", format = "csv" }]]
local BIG = [[{ table = "exact_big", from = B .. "big/csv/", format = "csv" }]]
local PQ = [[{ table = "exact_pq", from = B .. "d/pq/", format = "parquet" }]]

-- The load failed whole with ObjectChanged, the table and the ledger are
-- empty, and a run without the proxy then loads the listed objects exactly once.
local function changed_then_clean(r, tbl)
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "^error ObjectChanged true\n", "the load fails with ObjectChanged")
  t.match(r.stdout, "changed during the load")
  t.eq(contents(tbl), { 0, "0" }, "nothing committed")
  t.eq(#ledger(tbl), 0, "the ledger is unchanged")
end

t.test("CSV: an object replaced between LIST and GET fails the load whole (412 to If-Match)", { timeout = 120000 }, function()
  fresh("exact_csv", CSV_DDL)
  local log = dir .. "/swap-csv.log"
  local port = proxy("swap", 0, log, "/" .. bucket .. "/d/csv/b.csv", "/" .. bucket .. "/r/csv/b.csv")
  changed_then_clean(child(port, CSV), "exact_csv")
  t.match(read(log), "d/csv/b.csv[^\n]*fault swap 412", "the proxy answered 412")
  local r = copy.into(wh, { table = "exact_csv", from = B .. "d/csv/", format = "csv" })
  t.eq({ r.files, r.rows }, { 2, 2000 })
  t.eq(contents("exact_csv"), expect({ 1, 2000 }))
  local l = ledger("exact_csv")
  t.eq(#l, 2)
  t.eq(l[2].etag, s3.head(B .. "d/csv/b.csv").etag)
end)

t.test("CSV: from a server that ignores If-Match, the answer's ETag still fails the load", { timeout = 120000 }, function()
  fresh("exact_csv", CSV_DDL)
  local port = proxy("swap_blind", 0, dir .. "/blind-csv.log", "/" .. bucket .. "/d/csv/b.csv",
                     "/" .. bucket .. "/r/csv/b.csv")
  changed_then_clean(child(port, CSV), "exact_csv")
end)

t.test("Parquet: an object replaced after its footer was read fails the load whole", { timeout = 120000 }, function()
  fresh("exact_pq", PQ_DDL)
  local log = dir .. "/swap-pq.log"
  -- the first GET of b.parquet (the footer) is the listed object; every later one the replacement
  local port = proxy("swap", 1, log, "/" .. bucket .. "/d/pq/b.parquet", "/" .. bucket .. "/r/pq/b.parquet")
  changed_then_clean(child(port, PQ), "exact_pq")
  t.match(read(log), "d/pq/b.parquet[^\n]*fault swap 412")
end)

t.test("Parquet: the same from a server that ignores If-Match", { timeout = 120000 }, function()
  fresh("exact_pq", PQ_DDL)
  local port = proxy("swap_blind", 1, dir .. "/blind-pq.log", "/" .. bucket .. "/d/pq/b.parquet",
                     "/" .. bucket .. "/r/pq/b.parquet")
  changed_then_clean(child(port, PQ), "exact_pq")
end)

t.test("Parquet: an object replaced between LIST and its footer read fails the load whole", { timeout = 120000 }, function()
  fresh("exact_pq", PQ_DDL)
  local port = proxy("swap_blind", 0, dir .. "/blind-pq0.log", "/" .. bucket .. "/d/pq/b.parquet",
                     "/" .. bucket .. "/r/pq/b.parquet")
  changed_then_clean(child(port, PQ), "exact_pq")
  local r = copy.into(wh, { table = "exact_pq", from = B .. "d/pq/", format = "parquet" })
  t.eq({ r.files, r.rows }, { 2, 2 * NPQ })
  t.eq(contents("exact_pq"), expect({ 0, 2 * NPQ - 1 }))
end)

t.test("a server that ignores Range (200, whole object) loads exactly the rows, CSV and Parquet", { timeout = 120000 }, function()
  fresh("exact_big", CSV_DDL)
  fresh("exact_pq", PQ_DDL)
  local log = dir .. "/norange.log"
  local port = proxy("norange", -1, log, "GET /" .. bucket .. "/")
  local r = child(port, BIG)
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "ok 1 " .. BIG_ROWS)
  t.eq(contents("exact_big"), expect({ 1, BIG_ROWS }))
  t.eq(#ledger("exact_big"), 1)
  r = child(port, PQ)
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "ok 2 " .. 2 * NPQ)
  t.eq(contents("exact_pq"), expect({ 0, 2 * NPQ - 1 }))
  local _, n = read(log):gsub("big/csv/a.csv[^\n]*-> 200 fault norange", "")
  t.ok(n >= 3, "every ranged read of the CSV was answered 200: " .. n)
  t.match(read(log), "d/pq/b.parquet[^\n]*-> 200 fault norange")
end)

t.test("a short 206 body is retried, never loaded: past the retries the load fails, nothing committed", { timeout = 120000 }, function()
  fresh("exact_big", CSV_DDL)
  fresh("exact_pq", PQ_DDL)
  local port = proxy("short206", -1, dir .. "/short-all.log", "GET /" .. bucket .. "/")
  local r = child(port, BIG)
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "^error transport true\n")
  t.match(r.stdout, "short")
  t.eq(contents("exact_big"), { 0, "0" })
  t.eq(#ledger("exact_big"), 0)
  r = child(port, PQ)
  t.eq(r.status, 0, r.stderr)
  t.match(r.stdout, "^error io true\n")
  t.match(r.stdout, "short")
  t.eq(contents("exact_pq"), { 0, "0" })
  t.eq(#ledger("exact_pq"), 0)
end)

t.test("a few short 206 bodies are retried and the load is exact", { timeout = 120000 }, function()
  fresh("exact_big", CSV_DDL)
  local log = dir .. "/short-2.log"
  local port = proxy("short206", 2, log, "GET /" .. bucket .. "/big/")
  local r = child(port, BIG)
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "ok 1 " .. BIG_ROWS)
  t.eq(contents("exact_big"), expect({ 1, BIG_ROWS }))
  local _, n = read(log):gsub("fault short206", "")
  t.eq(n, 2)
end)

t.test("cleanup", function()
  for _, n in ipairs({ "exact_csv", "exact_big", "exact_pq" }) do
    wh:exec("DROP TABLE IF EXISTS " .. n)
    pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", n)
  end
  proc.run({ "aws", "s3", "rb", B, "--force" })
  proc.run({ "rm", "-rf", dir })
end)
