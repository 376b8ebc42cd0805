-- COPY through S3 faults: a child `lode run` loads several CSV files and
-- several Parquet files (many row groups) through two chained fault proxies
-- (tests/lua/s3/fault_proxy.py) — one answering 503 SlowDown, one resetting
-- connections half-way through the body — on the object reads (not the
-- listing), spread over the load. The tables and the ledger must be exactly
-- those of the same COPY without faults. Past the retry budget the load
-- fails with a retryable error and leaves the table and the ledger as they
-- were; a re-run then loads every file once.
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
local bucket = "lode-copy-faults-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local dir = t.tmpdir()

local CSV_DDL = "id integer, name text, amount numeric(10,2), day date"
local PQ_DDL = "id bigint, name text, amount numeric(12,2), at timestamp"

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

-- Rows of a that are not in b, and of b not in a (duplicates count).
local function differ(a, b)
  local q = "SELECT count(*) AS n FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM %s) x"
  return wh:query(q:format(a, b))[1].n + wh:query(q:format(b, a))[1].n
end

local function ledger(name)
  return wh:query("SELECT key, etag, size, rows FROM lode.load_history WHERE table_name = $1 ORDER BY key",
    sql.qname(name))
end

local function proxy(mode, count, up, log, match, every)
  local r = proc.run({ "python3", root .. "/tests/lua/s3/fault_proxy.py", up, mode, tostring(count), log, "120",
                       match, tostring(every) })
  assert(r.status == 0, r.stderr)
  return r.stdout:match("%d+")
end

-- The child: both COPYs, through the proxies, printing the results.
local function child(port, script_body)
  local script = dir .. "/child.lua"
  local f = assert(io.open(script, "w"))
  f:write(([[
local lode = require "lode"
local copy = require "lode.copy"
local s3 = require "lode.s3"
local B = %q
s3.configure { backoff_base = 5, max_attempts = %s }
local wh = lode.warehouse()
]]):format(B, script_body.max_attempts or 10), script_body.code)
  f:close()
  return proc.run({ lode_bin, "run", script },
    { env = { AWS_ENDPOINT_URL = "http://127.0.0.1:" .. port, LODE_WAREHOUSE = url }, timeout = 120000 })
end

local NCSV, NPQ = 5, 3

t.test("setup: 5 CSV files (one gzip) and 3 Parquet files of 8 row groups; the COPYs without faults", { timeout = 120000 }, function()
  for i = 1, NCSV do
    local lines = { "id,name,amount,day" }
    for j = 1, 3000 do
      local id = i * 100000 + j
      lines[#lines + 1] = ('%d,"name %d, ""q""",%d.%02d,2024-%02d-%02d'):format(id, id, j, j % 100, 1 + j % 12, 1 + j % 28)
    end
    local text = table.concat(lines, "\n") .. "\n"
    if i == NCSV then
      H.write(dir .. "/c.csv", text)
      assert(proc.run({ "gzip", "-f", dir .. "/c.csv" }).status == 0)
      s3.put(B .. ("d/csv/part-%d.csv.gz"):format(i), read(dir .. "/c.csv.gz"))
    else
      s3.put(B .. ("d/csv/part-%d.csv"):format(i), text)
    end
  end
  local stmts = {}
  for i = 1, NPQ do
    stmts[i] = ([[COPY (SELECT i::BIGINT AS id, 'name ' || i AS name, (i / 100.0)::DECIMAL(12,2) AS amount,
      TIMESTAMP '2024-01-01' + to_seconds(i) AS at FROM range(%d, %d) t(i))
      TO '%s/p%d.parquet' (FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION snappy)]])
      :format((i - 1) * 16384, i * 16384, dir, i)
  end
  H.duckdb(stmts)
  for i = 1, NPQ do
    s3.put(B .. ("d/pq/part-%d.parquet"):format(i), read(("%s/p%d.parquet"):format(dir, i)))
  end
  fresh("faults_ref_csv", CSV_DDL)
  fresh("faults_ref_pq", PQ_DDL)
  local r = copy.into(wh, { table = "faults_ref_csv", from = B .. "d/csv/", format = "csv", ignoreheader = 1 })
  t.eq({ r.files, r.rows }, { NCSV, NCSV * 3000 })
  r = copy.into(wh, { table = "faults_ref_pq", from = B .. "d/pq/", format = "parquet" })
  t.eq({ r.files, r.rows }, { NPQ, NPQ * 16384 })
end)

local LOAD = [[
local a = copy.into(wh, { table = "faults_csv", from = B .. "d/csv/", format = "csv", ignoreheader = 1 })
local b = copy.into(wh, { table = "faults_pq", from = B .. "d/pq/", format = "parquet" })
io.write(a.files, " ", a.rows, " ", b.files, " ", b.rows)
]]

t.test("503s and connection resets during the loads change nothing: same rows, complete ledger", { timeout = 150000 }, function()
  fresh("faults_csv", CSV_DDL)
  fresh("faults_pq", PQ_DDL)
  -- lode -> 503 proxy -> reset proxy -> s3rver; object reads only ("/d/"), every 3rd one
  local reset_log, slow_log = dir .. "/reset.log", dir .. "/503.log"
  local reset_port = proxy("reset", 6, upstream, reset_log, "/d/", 3)
  local port = proxy("503", 6, reset_port, slow_log, "/d/", 3)
  local r = child(port, { code = LOAD })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, ("%d %d %d %d"):format(NCSV, NCSV * 3000, NPQ, NPQ * 16384))
  local _, n503 = read(slow_log):gsub("fault 503", "")
  local _, nreset = read(reset_log):gsub("fault reset", "")
  t.eq({ n503, nreset }, { 6, 6 }, "every fault was injected")
  -- faults hit both formats' reads
  t.match(read(slow_log) .. read(reset_log), "/d/csv/[^\n]*fault")
  t.match(read(slow_log) .. read(reset_log), "/d/pq/[^\n]*fault")
  t.eq(differ("faults_csv", "faults_ref_csv"), 0)
  t.eq(differ("faults_pq", "faults_ref_pq"), 0)
  t.eq(ledger("faults_csv"), ledger("faults_ref_csv"))
  t.eq(ledger("faults_pq"), ledger("faults_ref_pq"))
  t.eq(#ledger("faults_csv") + #ledger("faults_pq"), NCSV + NPQ)
end)

t.test("past the retry budget the load fails (retryable), nothing is written; a re-run loads every file once", { timeout = 150000 }, function()
  fresh("faults_csv", CSV_DDL)
  fresh("faults_pq", PQ_DDL)
  local log = dir .. "/503-all.log"
  -- every GET of a Parquet object (footers, column chunks) answers 503; HEADs pass
  local port = proxy("503", -1, upstream, log, "GET /" .. bucket .. "/d/pq/", 1)
  local r = child(port, { max_attempts = 2, code = [[
local a = copy.into(wh, { table = "faults_csv", from = B .. "d/csv/", format = "csv", ignoreheader = 1 })
local ok, e = pcall(copy.into, wh, { table = "faults_pq", from = B .. "d/pq/", format = "parquet" })
io.write(a.rows, " ", tostring(ok), " ", tostring(e.code), " ", tostring(e.retryable), " ", tostring(e.key), "\n",
  tostring(e.message))
]] })
  t.eq(r.status, 0, r.stderr)
  -- an I/O error naming the object (the code every Parquet reader gives
  -- for an object it cannot read), not a "bad file"
  t.match(r.stdout, ("^%d false io true %s%%S+%%.parquet\n"):format(NCSV * 3000, B:gsub("%p", "%%%0")))
  t.match(r.stdout, "SlowDown")
  t.eq(wh:query("SELECT count(*) AS n FROM faults_pq")[1].n, 0)
  t.eq(#ledger("faults_pq"), 0)
  -- the CSV load before it is kept, and a re-run through a clean path skips it
  r = child(proxy("503", 0, upstream, dir .. "/none.log", "/d/", 1), { code = LOAD })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, ("0 0 %d %d"):format(NPQ, NPQ * 16384))
  t.eq(differ("faults_csv", "faults_ref_csv"), 0)
  t.eq(differ("faults_pq", "faults_ref_pq"), 0)
  t.eq(ledger("faults_pq"), ledger("faults_ref_pq"))
end)

t.test("cleanup", function()
  for _, n in ipairs({ "faults_csv", "faults_pq", "faults_ref_csv", "faults_ref_pq" }) do
    wh:exec("DROP TABLE IF EXISTS " .. n)
    pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = $1", n)
  end
  proc.run({ "aws", "s3", "rb", B, "--force" })
  proc.run({ "rm", "-rf", dir })
end)
