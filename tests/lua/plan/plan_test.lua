-- `lode plan` works on every example pipeline and every SQL script of the
-- corpus, on an empty warehouse and after a real run, and changes nothing:
-- a snapshot of the catalog, of every table's rows and of the S3 listing is
-- identical before and after each plan. The statements sales_daily's plan
-- prints are the ones its real run then sends (PostgreSQL's own
-- log_statement = 'all' is the oracle). A plan against a warehouse that
-- cannot be reached still prints its statements.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local s3 = require "lode.s3"
local fs = require "lode.fs"
local tok = require "lode.sqltok"
local dev = require "lode.dev"

local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local examples = root .. "/scripts/examples"
local corpus_dirs = { root .. "/tests/sql/corpus", root .. "/tests/sql/conformance" }
local LAKE = "planlake"        -- buckets of this test only: other tests rebuild theirs
local CORPUS = "plancorpus"

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- The fixtures the corpus scripts read (as tests/lua/sql/corpus_test.lua
-- writes them), in this test's own bucket.
local function corpus_fixtures(dir)
  local base = "s3://" .. CORPUS .. "/"
  s3.put(base .. "csv/orders.csv", 'id,customer,amount,ordered_on\n1,Alice,10.50,2024-01-01\n'
    .. '2,"Smith, ""Jo""",20.00,2024-01-02\n3,Bob,5.25,2024-01-03\n')
  s3.put(base .. "text/orders.txt", "4|Carol|7.00|2024-01-04\n5|NULL|1.00|2024-01-05\n")
  local gz = proc.run({ "gzip", "-c" }, { stdin = "10,Dan,2.00,2024-01-06\n11,Eve,3.00,2024-01-07\n" })
  s3.put(base .. "gz/part-1.csv.gz", gz.stdout)
  s3.put(base .. "csv/m1.csv", "20,Fay,10.00,2024-01-08\n21,Gus,20.00,2024-01-09\n")
  s3.put(base .. "manifests/orders.manifest", ([[{"entries": [
    {"url": "%scsv/m1.csv", "mandatory": true},
    {"url": "%scsv/missing.csv", "mandatory": false}]}]]):format(base, base))
  local function events(first, path)
    return ([[COPY (SELECT %d + i AS event_id, ['click', 'view', 'buy', 'share'][1 + (i %% 4)] AS kind,
      CAST(i * 0.5 AS DOUBLE) AS value, TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i) MINUTE AS at
      FROM range(1, 101) t(i)) TO '%s' (FORMAT parquet)]]):format(first, path)
  end
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", events(0, dir .. "/e1.parquet"),
    events(100, dir .. "/e2.parquet") }, { timeout = 60000 })
  t.eq(r.status, 0, r.stdout .. r.stderr)
  s3.upload(dir .. "/e1.parquet", base .. "parquet/events/part-1.parquet")
  s3.upload(dir .. "/e2.parquet", base .. "parquet/events/part-2.parquet")
  s3.upload(dir .. "/e1.parquet", base .. "lake/events/day=2024-01-01/part-0.parquet")
  s3.upload(dir .. "/e2.parquet", base .. "lake/events/day=2024-01-02/part-0.parquet")
end

local stack
local function setup()
  if stack then
    return stack
  end
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  t.env("AWS_ENDPOINT_URL", "tests/run.sh starts S3")
  -- two databases: the examples', and the corpus scripts' (which reuse names like orders)
  local admin = lode.warehouse({ url = url, pool = 1 })
  stack = { dir = t.tmpdir(), url = {}, wh = {} }
  for _, kind in ipairs({ "examples", "corpus" }) do
    local db = ("plan_%s_%d_%d"):format(kind, require("lode.core").hrtime() % 1000000000, math.random(1, 1e6))
    admin:exec("CREATE DATABASE " .. db)
    -- the oracle for the statements a run sends: the server logs this database's statements
    admin:exec("ALTER DATABASE " .. db .. " SET log_statement = 'all'")
    stack.url[kind] = url:gsub("/[^/]*$", "/" .. db)
    stack.wh[kind] = lode.warehouse({ url = stack.url[kind], pool = 2 })
  end
  for _, b in ipairs({ LAKE, CORPUS }) do
    proc.run({ "aws", "s3", "rb", "--force", "s3://" .. b })
    local r = proc.run({ "aws", "s3", "mb", "s3://" .. b })
    t.eq(r.status, 0, r.stderr)
  end
  local r = proc.run({ bin, "--log-level", "warn", "run", examples .. "/make_lake.lua", "--param", "bucket=" .. LAKE },
    { env = { LODE_ROOT = root }, timeout = 120000 })
  t.eq(r.status, 0, r.stderr)
  corpus_fixtures(stack.dir)
  -- the API orders_api.lua pulls from
  local port = proc.free_port()
  stack.api_pid = proc.daemon({ "node", root .. "/tests/tools/fake_api.js", tostring(port), "40", "20" },
    { log = stack.dir .. "/api.log" })
  local ready = proc.run({ "curl", "-s", "-o", "/dev/null", "--retry", "40", "--retry-connrefused", "--retry-delay", "0",
    "--retry-max-time", "20", ("http://127.0.0.1:%d/orders"):format(port) })
  t.eq(ready.status, 0, "the fake API did not start")
  stack.api = ("http://127.0.0.1:%d"):format(port)
  return stack
end

-- Every file `lode plan` is given: the example pipelines and scripts, and the
-- corpus scripts with their bucket renamed to this test's.
local function targets()
  local out = {}
  local names = {}
  for _, e in ipairs(fs.scandir(examples) or {}) do
    -- aws_api.lua calls STS and Glue, which need moto: aws_api_test.lua plans it
    if e.name:match("%.lua$") and not e.name:match("_test%.lua$") and e.name ~= "aws_api.lua" then
      names[#names + 1] = e.name
    end
  end
  table.sort(names)
  for _, n in ipairs(names) do
    out[#out + 1] = { name = n, path = examples .. "/" .. n }
  end
  for _, dir in ipairs(corpus_dirs) do
    local sqls = {}
    for _, e in ipairs(fs.scandir(dir) or {}) do
      if e.name:match("%.sql$") then
        sqls[#sqls + 1] = e.name
      end
    end
    table.sort(sqls)
    for _, n in ipairs(sqls) do
      out[#out + 1] = { name = n, sql = true, source = dir .. "/" .. n }
    end
  end
  return out
end

local function materialise(target)
  if target.sql and not target.path then
    target.path = stack.dir .. "/" .. target.name
    write(target.path, (read(target.source):gsub("s3://sqlcorpus/", "s3://" .. CORPUS .. "/")))
  end
  return target.path
end

local function lode_cmd(command, target)
  local argv = { bin, "--log-level", "warn", command, materialise(target) }
  if not target.sql then
    for _, p in ipairs({ "bucket=" .. LAKE, "lake=" .. LAKE, "api=" .. stack.api, "day=2024-02-01" }) do
      argv[#argv + 1] = "--param"
      argv[#argv + 1] = p
    end
  end
  return proc.run(argv, { env = { LODE_WAREHOUSE = stack.url[target.sql and "corpus" or "examples"], LODE_ROOT = root },
    timeout = 180000 })
end

-- Catalog (schemas, relations and their columns, extensions, servers,
-- outside temp schemas), every ordinary table's rows, and the S3 listing.
local function snapshot(wh, buckets)
  local snap = {}
  snap.catalog = wh:query([[SELECT md5(coalesce(string_agg(x, E'\n' ORDER BY x), '')) AS h FROM (
    SELECT n.nspname || '.' || c.relname || ':' || c.relkind::text || ':' || coalesce((SELECT string_agg(a.attname || ' '
      || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum) FROM pg_attribute a
      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') AS x
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relpersistence <> 't' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
    UNION ALL SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg_temp%' AND nspname NOT LIKE 'pg_toast_temp%'
    UNION ALL SELECT 'extension ' || extname FROM pg_extension
    UNION ALL SELECT 'server ' || srvname || coalesce(array_to_string(srvoptions, ','), '') FROM pg_foreign_server
    UNION ALL SELECT 'foreign ' || ftrelid::regclass::text || array_to_string(ftoptions, ',') FROM pg_foreign_table
  ) s]])[1].h
  snap.rows = {}
  for _, r in ipairs(wh:query([[SELECT format('%I.%I', n.nspname, c.relname) AS t FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND c.relpersistence <> 't' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1]])) do
    snap.rows[r.t] = wh:query(("SELECT count(*) AS n, md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), '')) AS h "
      .. "FROM %s x"):format(r.t))[1]
    snap.rows[r.t] = snap.rows[r.t].n .. " " .. snap.rows[r.t].h
  end
  snap.s3 = {}
  for _, b in ipairs(buckets or { LAKE, CORPUS }) do
    for _, o in ipairs((s3.list("s3://" .. b .. "/", { recursive = true }))) do
      snap.s3[#snap.s3 + 1] = ("%s/%s %s %s"):format(b, o.key, tostring(o.etag), tostring(o.size))
    end
  end
  table.sort(snap.s3)
  return snap
end

local function plan_changes_nothing(target, when)
  local wh = stack.wh[target.sql and "corpus" or "examples"]
  local before = snapshot(wh)
  local r = lode_cmd("plan", target)
  t.eq(r.status, 0, ("%s (%s): %s"):format(target.name, when, r.stderr))
  t.eq(snapshot(wh), before, ("lode plan %s (%s) changed nothing"):format(target.name, when))
  return r
end

local empty_plans = {}

t.test("lode plan on every example and corpus script, on an empty warehouse: exit 0, nothing changed",
  { timeout = 600000 }, function()
  setup()
  for _, target in ipairs(targets()) do
    empty_plans[target.name] = plan_changes_nothing(target, "empty warehouse").stdout
  end
  t.contains(empty_plans["sales_daily.lua"], "CREATE TABLE IF NOT EXISTS sales_fact")
  t.contains(empty_plans["sales_daily.lua"], "-- lode plan: COPY 24 Parquet file(s)")
end)

-- The statements of a plan or of a server log, one normalised text each.
local function normalise(s)
  return (s:gsub("%s+", " "):gsub("^ ", ""):gsub(" ?;? ?$", ""))
end

local TX_CONTROL = { begin = true, commit = true, rollback = true, savepoint = true, release = true }
local function first_word(s)
  return (s:match("^%s*(%a+)") or ""):lower()
end

local function plan_statements(out)
  local list = {}
  for _, st in ipairs(tok.split(out)) do
    local text = normalise(st.text)
    if text ~= "" and not TX_CONTROL[first_word(text)] then
      list[#list + 1] = text
    end
  end
  return list
end

-- statements the server logged (log_statement = 'all') in the log's new bytes
local function logged_statements(text)
  local out, cur = {}, nil
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local stmt = line:match("LOG:  statement: (.*)$") or line:match("LOG:  execute [^:]*: (.*)$")
    if stmt then
      cur = { stmt }
      out[#out + 1] = cur
    elseif line:match("^%d%d%d%d%-%d%d%-%d%d ") then
      cur = nil   -- another log entry (a statement's blank lines are part of it)
    elseif cur then
      cur[#cur + 1] = line
    end
  end
  local set = {}
  for i, parts in ipairs(out) do
    out[i] = normalise(table.concat(parts, "\n"))
    set[out[i]] = true
  end
  return out, set
end

t.test("sales_daily: the plan prints the statements the real run then sends", { timeout = 300000 }, function()
  setup()
  local plan = empty_plans["sales_daily.lua"] or t.skip("the empty-warehouse plans did not run")
  local logfile = t.env("LODE_TEST_PGDATA", "tests/run.sh starts PostgreSQL") .. "/../pg.log"
  local from = #read(logfile)
  local r = lode_cmd("run", { name = "sales_daily.lua", path = examples .. "/sales_daily.lua" })
  t.eq(r.status, 0, r.stderr)
  t.ok(#plan_statements(plan) > 20, "the plan shows the run's statements")
  local logged, seen = logged_statements(read(logfile):sub(from + 1))
  t.ok(#logged > 0, "the server logged the run's statements")
  local missing = {}
  for _, s in ipairs(plan_statements(plan)) do
    if not seen[s] and first_word(s) ~= "select" then
      missing[#missing + 1] = s
    end
  end
  t.eq(missing, {}, "every statement of the plan was sent by the run")
  -- and every write the run sent was in the plan, but for what a plan
  -- describes instead of sending: COPY data and the files it records in the
  -- ledger (the plan's "-- lode plan: COPY n Parquet file(s)" line), the scan
  -- programs' env file, and the run's own bookkeeping
  local planned = {}
  for _, s in ipairs(plan_statements(plan)) do
    planned[s] = true
  end
  local unplanned = {}
  for _, s in ipairs(logged) do
    local w = first_word(s)
    if not planned[s] and not TX_CONTROL[w] and w ~= "select" and w ~= "set" and w ~= "show" and w ~= "explain"
        and not s:find("FROM STDIN", 1, true) and not s:find("lode_spectrum_env", 1, true)
        and not s:find("lode.runs", 1, true) and not s:find("INTO lode.load_history", 1, true)
        and not s:find("DELETE FROM lode.load_history", 1, true) and not s:find("pg_advisory", 1, true)
        and w ~= "discard" then -- the pool's reset of a session a statement changed
      unplanned[#unplanned + 1] = s
    end
  end
  t.eq(unplanned, {}, "every write of the run was in the plan")
end)

t.test("lode plan after a real run of each: exit 0, nothing changed", { timeout = 600000 }, function()
  setup()
  for _, target in ipairs(targets()) do
    if target.name ~= "make_lake.lua" then
      local r = lode_cmd(target.sql and "sql" or "run", target)
      t.eq(r.status, 0, ("%s: the real run: %s"):format(target.name, r.stderr))
    end
  end
  for _, target in ipairs(targets()) do
    local r = plan_changes_nothing(target, "after a run")
    if target.name == "sales_daily.lua" then
      -- the ledger is read: every file is loaded already
      t.ok(not r.stdout:find("-- lode plan: COPY", 1, true), "a plan after the run loads no file again")
    end
  end
end)

-- The conformance corpus (tests/conformance/<source>/<case>.sql): every case
-- planned in a database of its own, on an empty database and after its real
-- run (`lode sql`, as tests/lua/sql/conformance_test.lua runs it), with the
-- data gen.py writes in this test's own bucket. Every statement the plan
-- prints up to a refusal is one the run sends (PostgreSQL's log is the
-- oracle); a refused statement is printed with a note naming its feature and
-- line, the plan goes on and exits 0, and the run still fails there.
local CONF = "planconformance"
local conformance = root .. "/tests/conformance"

local function conformance_cases()
  local out = {}
  for _, d in ipairs(fs.scandir(conformance) or {}) do
    if d.type == "directory" or d.type == "dir" then
      for _, e in ipairs(fs.scandir(conformance .. "/" .. d.name) or {}) do
        if e.name:match("%.sql$") then
          out[#out + 1] = d.name .. "/" .. e.name
        end
      end
    end
  end
  table.sort(out)
  return out
end

local conf_admin
local function conformance_setup()
  if conf_admin then
    return conf_admin
  end
  setup()
  local dir = stack.dir .. "/conformance"
  local r = proc.run({ "python3", conformance .. "/gen.py", dir }, { timeout = 120000 })
  t.eq(r.status, 0, r.stderr)
  -- the data names its bucket too (manifests): this test's
  r = proc.run({ "sh", "-c", 'grep -rlF "s3://lode-conformance/" "$1" | while read -r f; do '
    .. 'sed -i "s|s3://lode-conformance/|s3://$2/|g" "$f"; done', "sh", dir .. "/data", CONF })
  t.eq(r.status, 0, r.stderr)
  proc.run({ "aws", "s3", "rb", "--force", "s3://" .. CONF })
  r = proc.run({ "aws", "s3", "mb", "s3://" .. CONF })
  t.eq(r.status, 0, r.stderr)
  r = proc.run({ "aws", "s3", "cp", "--quiet", "--recursive", dir .. "/data", "s3://" .. CONF .. "/" }, { timeout = 120000 })
  t.eq(r.status, 0, r.stderr)
  conf_admin = lode.warehouse({ url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL"), pool = 1 })
  return conf_admin
end

-- The statements of a plan's output up to its first refusal (the run stops
-- there), leaving out the refused statement itself.
local function planned_until_refusal(out)
  local at = out:find("-- lode: would fail: ", 1, true)
  if at then
    -- the refused statement is the last one printed before the note
    out = out:sub(1, at - 1):gsub("[^;]*;\n$", "")
  end
  return plan_statements(out)
end

t.test("lode plan on every conformance case, empty and after its run: exit 0, the run's statements, nothing changed",
  { timeout = 1200000 }, function()
  local admin = conformance_setup()
  local logfile = t.env("LODE_TEST_PGDATA", "tests/run.sh starts PostgreSQL") .. "/../pg.log"
  local base = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local cases = conformance_cases()
  t.ok(#cases >= 20, #cases .. " conformance cases")
  for i, case in ipairs(cases) do
    local text = read(conformance .. "/" .. case)
    local db = ("planconf_%d_%d"):format(i, math.random(1, 1e6))
    -- three-part names name the case's own database, and its data this test's bucket
    local own = text:match("\n%-%- database: ([%w_]+)")
    text = text:gsub("s3://lode%-conformance/", "s3://" .. CONF .. "/")
    if own then
      text = text:gsub('"' .. own .. '"%.', '"' .. db .. '".')
    end
    local path = stack.dir .. "/" .. case:gsub("/", "__")
    write(path, text)
    admin:exec("CREATE DATABASE " .. db)
    admin:exec("ALTER DATABASE " .. db .. " SET log_statement = 'all'")
    local url = base:gsub("/[^/?]*(%??[^/]*)$", "/" .. db .. "%1")
    local wh = lode.warehouse({ url = url, pool = 1 })
    local function lode_on_db(command)
      return proc.run({ bin, "--log-level", "warn", command, path }, { env = { LODE_WAREHOUSE = url }, timeout = 180000 })
    end
    local function plan(when)
      local before = snapshot(wh, { CONF })
      local r = lode_on_db("plan")
      t.eq(r.status, 0, ("%s (%s): %s"):format(case, when, r.stderr))
      t.eq(snapshot(wh, { CONF }), before, ("lode plan %s (%s) changed nothing"):format(case, when))
      return r
    end
    local r = plan("empty database")
    local line, feature = text:match("\n%-%- refuse: (%d+) ([^\n]+)")
    -- a case whose data makes the run fail as on Redshift (`-- fails: LINE TEXT`): the plan
    -- notes it when it reads that data, and goes on
    local fails_line = text:match("\n%-%- fails: (%d+) ")
    -- `-- plan: shown`: the refusal comes from reading the data inside a write the plan shows
    -- without running (CREATE TABLE … AS SELECT from an external table): no note to expect
    if line and not text:find("\n%-%- plan: shown") then
      t.match(r.stdout, "\n%-%- lode: would fail: [^\n]*" .. feature:gsub("%p", "%%%0") .. "[^\n]*%(line " .. line .. "%)\n",
        case .. ": the plan notes the refusal: " .. r.stdout)
    end
    local planned = planned_until_refusal(r.stdout)
    t.ok(#planned > 0, case .. ": the plan prints statements")
    local from = #read(logfile)
    local run = lode_on_db("sql")
    if line or fails_line then
      t.ne(run.status, 0, case .. ": the run still fails at the refused statement")
    else
      t.eq(run.status, 0, case .. ": the run: " .. run.stderr)
    end
    local _, seen = logged_statements(read(logfile):sub(from + 1))
    local missing = {}
    -- a `plan: shown` case: the statement the run fails in (its first three words) is not required
    local failing
    if line and text:find("\n%-%- plan: shown") then
      local n = 0
      for l in (text .. "\n"):gmatch("([^\n]*)\n") do
        n = n + 1
        if n == tonumber(line) then
          failing = l:lower():match("^%s*(%S+%s+%S+%s+%S+)")
        end
      end
    end
    for _, st in ipairs(planned) do
      if not seen[st] and first_word(st) ~= "select"
          and not (failing and st:lower():sub(1, #failing) == failing) then
        missing[#missing + 1] = st
      end
    end
    t.eq(missing, {}, case .. ": every statement the plan printed (up to a refusal) was sent by the run")
    plan("after its run")
    wh:close()
    admin:exec("DROP DATABASE " .. db .. " WITH (FORCE)")
  end
end)

t.test("lode plan against a warehouse that cannot be reached prints the statements", function()
  local port = proc.free_port()
  local r = proc.run({ bin, "plan", root .. "/tests/sql/corpus/external.sql" },
    { env = { LODE_WAREHOUSE = ("redshift://loader@127.0.0.1:%d/dev"):format(port) }, timeout = 60000 })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "CREATE EXTERNAL TABLE")
  r = proc.run({ bin, "plan", examples .. "/sales_daily.lua", "--param", "lake=" .. LAKE },
    { env = { LODE_WAREHOUSE = ("redshift://loader@127.0.0.1:%d/dev"):format(port) }, timeout = 60000 })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stderr, "state was not read")
  t.contains(r.stdout, "CREATE EXTERNAL TABLE spectrum_schema.sales")
  t.contains(r.stdout, "DELETE FROM sales_fact USING lode_stage_sales_fact")
end)

t.test("cleanup", function()
  if stack and stack.api_pid then
    dev.stop_process(stack.api_pid)
  end
end)
