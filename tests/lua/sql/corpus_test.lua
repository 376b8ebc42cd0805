-- A corpus of Redshift SQL scripts (tests/sql/corpus/*.sql) runs through
-- `lode sql` against the local stack; each script's `-- expect: QUERY => VALUE`
-- lines are checked afterwards; and `lode sql --plan` on the Redshift dialect
-- prints every statement of each script unchanged.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local s3 = require "lode.s3"
local fs = require "lode.fs"
local tok = require "lode.sqltok"
local sql = require "lode.sql"

local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local corpus = root .. "/tests/sql/corpus"
local BUCKET = "sqlcorpus"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function scripts()
  local out = {}
  for _, e in ipairs(fs.scandir(corpus) or {}) do
    if e.name:match("%.sql$") then
      out[#out + 1] = e.name
    end
  end
  table.sort(out)
  return out
end

local stack
local function setup()
  if stack then
    return stack
  end
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
  local db = ("corpus_%d"):format(math.random(1, 1e9))
  lode.warehouse({ url = url, pool = 1 }):exec("CREATE DATABASE " .. db)
  stack = { url = url:gsub("/[^/]*$", "/" .. db) }
  stack.wh = lode.warehouse({ url = stack.url, pool = 2 })
  proc.run({ "aws", "s3", "rb", "--force", "s3://" .. BUCKET })
  local r = proc.run({ "aws", "s3", "mb", "s3://" .. BUCKET })
  t.eq(r.status, 0, r.stderr)
  local base = "s3://" .. BUCKET .. "/"
  s3.put(base .. "csv/orders.csv", 'id,customer,amount,ordered_on\n1,Alice,10.50,2024-01-01\n'
    .. '2,"Smith, ""Jo""",20.00,2024-01-02\n3,Bob,5.25,2024-01-03\n')
  s3.put(base .. "text/orders.txt", "4|Carol|7.00|2024-01-04\n5|NULL|1.00|2024-01-05\n")
  local gz = proc.run({ "gzip", "-c" }, { stdin = "10,Dan,2.00,2024-01-06\n11,Eve,3.00,2024-01-07\n" })
  s3.put(base .. "gz/part-1.csv.gz", gz.stdout)
  s3.put(base .. "csv/m1.csv", "20,Fay,10.00,2024-01-08\n21,Gus,20.00,2024-01-09\n")
  s3.put(base .. "manifests/orders.manifest", ([[{"entries": [
    {"url": "%scsv/m1.csv", "mandatory": true},
    {"url": "%scsv/missing.csv", "mandatory": false}]}]]):format(base, base))
  local dir = t.tmpdir()
  local function events(first, path)
    return ([[COPY (SELECT %d + i AS event_id, ['click', 'view', 'buy', 'share'][1 + (i %% 4)] AS kind,
      CAST(i * 0.5 AS DOUBLE) AS value, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) MINUTE AS at
      FROM range(1, 101) t(i)) TO '%s' (FORMAT parquet)]]):format(first, path)
  end
  r = proc.run({ "node", root .. "/tests/tools/duckdb.js", events(0, dir .. "/e1.parquet"), events(100, dir .. "/e2.parquet") },
    { timeout = 60000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  s3.upload(dir .. "/e1.parquet", base .. "parquet/events/part-1.parquet")
  s3.upload(dir .. "/e2.parquet", base .. "parquet/events/part-2.parquet")
  s3.upload(dir .. "/e1.parquet", base .. "lake/events/day=2024-01-01/part-0.parquet")
  s3.upload(dir .. "/e2.parquet", base .. "lake/events/day=2024-01-02/part-0.parquet")
  return stack
end

for _, name in ipairs(scripts()) do
  t.test(name .. ": runs on PostgreSQL with the expected tables", { timeout = 120000 }, function()
    local st = setup()
    local path = corpus .. "/" .. name
    local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", path }, { env = { LODE_WAREHOUSE = st.url }, timeout = 100000 })
    t.eq(r.status, 0, r.stderr)
    local n = 0
    for query, want in read(path):gmatch("%-%- expect: (.-) => ([^\n]*)") do
      n = n + 1
      local row = st.wh:query(query)[1]
      local got
      for _, c in ipairs(row and st.wh:query(query).columns or {}) do
        got = row[c.name]
        break
      end
      t.eq(tostring(got), want, ("%s: %s"):format(name, query))
    end
    t.ok(n > 0, name .. " declares its expectations")
  end)

  t.test(name .. ": lode plan on the Redshift dialect prints it unchanged", function()
    local path = corpus .. "/" .. name
    local r = proc.run({ bin, "sql", "--plan", "--dialect", "redshift", path })
    t.eq(r.status, 0, r.stderr)
    for _, stmt in ipairs(tok.split(read(path))) do
      -- unchanged, except that secrets never reach a plan
      t.contains(r.stdout, sql.redact(stmt.text) .. ";", name)
    end
    t.ok(not r.stdout:find("SECRETEXAMPLE", 1, true), "no secret in the plan")
  end)
end
