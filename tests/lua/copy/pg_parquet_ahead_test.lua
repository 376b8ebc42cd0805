-- The read-ahead of emulated Parquet COPY (runtime/load/pqcopy.c): while one row
-- group streams into the COPY, the column chunks of the next `ahead` row
-- groups — of the same file, then of the next files — are fetched from
-- s3rver, and the reader's reads are served from them. The rows must be
-- the same whatever the depth, and no more than `ahead` row groups are ever
-- held ahead. DuckDB writes the files (several row groups each).
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local H = dofile(root .. "/tests/lua/parquet_read/helpers.lua")
if not H.have_node() then
  t.skip_all("node with @duckdb/node-api is not installed in tests/")
  return
end
local s3 = require "lode.s3"
local load = require "lode.load"

local bucket = "lode-pq-ahead-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse { url = url }
local dir = H.tmpdir()

-- 3 files of 5 row groups (2,048 rows each, the last one shorter) and one of a single row group
local FILES = { { 0, 9000 }, { 9000, 18000 }, { 18000, 18100 }, { 18100, 27100 } }
local NROWS = 27100
local SUM = NROWS * (NROWS - 1) // 2
local COLS = { { name = "id", type = "int8" }, { name = "name", type = "text" }, { name = "amount", type = "numeric" },
               { name = "at", type = "timestamp" } }
local urls = {}

t.test("setup: DuckDB writes 4 files, 16 row groups", { timeout = 120000 }, function()
  local stmts = {}
  for i, f in ipairs(FILES) do
    local path = ("%s/f%d.parquet"):format(dir, i)
    stmts[i] = ([[COPY (SELECT i::BIGINT AS id, 'name ' || i AS name, (i / 100.0)::DECIMAL(12,2) AS amount,
      TIMESTAMP '2024-01-01' + to_seconds(i) AS at FROM range(%d, %d) t(i))
      TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 2048, COMPRESSION snappy)]]):format(f[1], f[2], path)
    f.path = path
  end
  H.duckdb(stmts)
  for i, f in ipairs(FILES) do
    local fh = assert(io.open(f.path, "rb"))
    s3.put(B .. ("p/f%d.parquet"):format(i), fh:read("a"))
    fh:close()
    urls[i] = B .. ("p/f%d.parquet"):format(i)
  end
  wh:exec("DROP TABLE IF EXISTS copy_ahead")
  wh:exec("CREATE TABLE copy_ahead (id bigint, name text, amount numeric(12,2), at timestamp)")
end)

local function run(opts)
  wh:exec("TRUNCATE copy_ahead")
  local r = wh:with_conn(function(conn)
    return load.parquet_copy(conn, "COPY copy_ahead (id, name, amount, at) FROM STDIN (FORMAT binary)", urls, COLS, opts)
  end)
  t.eq(r.rows, NROWS)
  t.eq(r.file_rows, { 9000, 9000, 100, 9000 })
  local q = wh:query([[SELECT count(*) AS n, sum(id)::bigint AS s, count(DISTINCT id) AS d,
    bool_and(name = 'name ' || id AND amount = id / 100.0 AND at = TIMESTAMP '2024-01-01' + id * INTERVAL '1 second') AS ok
    FROM copy_ahead]])[1]
  t.eq({ q.n, q.s, q.d, q.ok }, { NROWS, SUM, NROWS, true })
  return r
end

t.test("row groups are fetched ahead, at most `ahead` at once, the rows are the same at every depth", { timeout = 120000 }, function()
  local chunk_reads = 16 * #COLS
  for _, ahead in ipairs({ 1, 2, 4 }) do
    local r = run({ ahead = ahead })
    t.ok(r.ahead_peak >= 1 and r.ahead_peak <= ahead, ("ahead %d: peak %d"):format(ahead, r.ahead_peak))
    -- every chunk read is served once, from memory or directly; footers are direct
    t.ok(r.reads_ahead + r.reads_direct >= chunk_reads + #FILES, ("ahead %d: %d + %d reads"):format(ahead,
      r.reads_ahead, r.reads_direct))
    -- at most the first row group of a file is read before its read-ahead could start
    t.ok(r.reads_ahead >= chunk_reads - #FILES * #COLS, ("ahead %d: %d reads served ahead"):format(ahead, r.reads_ahead))
  end
  -- the default depth, and a file ring of one
  local r = run({ prefetch = 1 })
  t.ok(r.ahead_peak >= 1 and r.ahead_peak <= 2, "default depth 2")
end)

t.test("progress counters: files finished, rows sent, bytes read; copy.into draws the line on request", { timeout = 120000 }, function()
  local g = load.progress()
  run({ progress = g })
  local c = g:get()
  t.eq({ c.files, c.rows }, { #FILES, NROWS })
  local size = 0
  for _, f in ipairs(FILES) do
    local fh = assert(io.open(f.path, "rb"))
    size = size + fh:seek("end")
    fh:close()
  end
  -- every column chunk once, plus the footers
  t.ok(c.bytes > size / 2 and c.bytes < size * 2, ("%d bytes read of %d"):format(c.bytes, size))

  local script = dir .. "/progress.lua"
  H.write(script, ([[
local lode = require "lode"
local copy = require "lode.copy"
local wh = lode.warehouse { url = %q }
wh:exec("TRUNCATE copy_ahead")
local r = copy.into(wh, { table = "copy_ahead", from = %q, format = "parquet", show_progress = true, reload = true })
io.write(r.rows)
]]):format(url, B .. "p/"))
  local root_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
  local r = proc.run({ root_bin, "run", script })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, tostring(NROWS))
  t.match(r.stderr, "\rcopy: 4/4 files, [%d.]+ MB/s, %d+ rows/s\n$")
end)

t.test("cleanup", function()
  wh:exec("DROP TABLE IF EXISTS copy_ahead")
  proc.run({ "aws", "s3", "rb", B, "--force" })
  proc.run({ "rm", "-rf", dir })
end)
