-- The Redshift conformance corpus (tests/conformance/<source>/<case>.sql, issue #15): SQL
-- from AWS's Redshift guides and from what dbt-redshift, Airflow, dlt and pipelinewise emit,
-- written out by hand (each file names its source). tests/conformance/gen.py generates the
-- data and computes each case's expected tables from it in Python, never from lode; the data
-- goes to s3://lode-conformance; each case runs unchanged through `lode sql` in a database of
-- its own, and its expectations are then checked. A case headed `-- refuse: LINE FEATURE`
-- must fail at that line, naming the feature, with the changes its expectations list; one
-- headed `-- fails: LINE TEXT` fails there as Redshift fails (bad data), its error saying TEXT. A case
-- headed `-- needs: WHAT (why)` waits for a feature another branch lands (the dialect's TOP, the
-- SVV_EXTERNAL_* views…): it is skipped, saying what it waits for, until the header goes.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local fs = require "lode.fs"
local json = require "lode.json"
local tok = require "lode.sqltok"

local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local corpus = root .. "/tests/conformance"
local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function cases()
  local out = {}
  for _, d in ipairs(fs.scandir(corpus) or {}) do
    if d.type == "directory" or d.type == "dir" then
      for _, e in ipairs(fs.scandir(corpus .. "/" .. d.name) or {}) do
        if e.name:match("%.sql$") then
          out[#out + 1] = d.name .. "/" .. e.name:gsub("%.sql$", "")
        end
      end
    end
  end
  table.sort(out)
  return out
end

local expected
local function setup()
  if expected then
    return expected
  end
  local dir = t.tmpdir()
  local r = proc.run({ "python3", corpus .. "/gen.py", dir })
  t.eq(r.status, 0, r.stderr)
  expected = json.decode(read(dir .. "/expected.json"))
  proc.run({ "aws", "s3", "rb", "--force", "s3://lode-conformance" })
  r = proc.run({ "aws", "s3", "mb", "s3://lode-conformance" })
  t.eq(r.status, 0, r.stderr)
  r = proc.run({ "aws", "s3", "cp", "--quiet", "--recursive", dir .. "/data", "s3://lode-conformance/" }, { timeout = 60000 })
  t.eq(r.status, 0, r.stderr)
  return expected
end

local admin = lode.warehouse({ url = url, pool = 1 })

local all = cases()

-- gen.py (Python, and DuckDB for the external-table cases) and the upload
-- take a while on a loaded machine: their own test, with their own timeout
t.test("the corpus's data and expectations are generated and uploaded", { timeout = 600000 }, function()
  setup()
end)

for _, case in ipairs(all) do
  t.test(case, { timeout = 120000 }, function()
    local path = corpus .. "/" .. case .. ".sql"
    local text = read(path)
    t.match(text, "^%-%- source: %S", case .. " names its source on its first line")
    local needs = text:match("\n%-%- needs: ([^\n]+)")
    if needs then
      t.skip(case .. " needs " .. needs)
    end
    local exp = setup()
    local db = text:match("\n%-%- database: ([%w_]+)") or ("conf_" .. case:gsub("[^%w]", "_"))
    admin:exec("DROP DATABASE IF EXISTS " .. db .. " WITH (FORCE)")
    admin:exec("CREATE DATABASE " .. db)
    local db_url = url:gsub("/[^/?]*(%??[^/]*)$", "/" .. db .. "%1")
    local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", path },
      { env = { LODE_WAREHOUSE = db_url }, timeout = 100000 })
    local line, feature = text:match("\n%-%- refuse: (%d+) ([^\n]+)")
    if not line then
      line, feature = text:match("\n%-%- fails: (%d+) ([^\n]+)")
    end
    if line then
      t.ne(r.status, 0, case .. " fails")
      -- the refusal names the script's line and the feature
      t.ok(r.stderr:find((".sql:%s: "):format(line), 1, true) or r.stderr:find((".sql: line %s: "):format(line), 1, true),
        case .. " names line " .. line .. ": " .. r.stderr)
      t.contains(r.stderr, feature, case .. ": " .. r.stderr)
    else
      t.eq(r.status, 0, case .. ": " .. r.stderr)
    end
    local checks = exp[case] or {}
    t.ok(#checks > 0, case .. " has expectations in gen.py")
    local wh = lode.warehouse({ url = db_url, pool = 1 })
    for _, chk in ipairs(checks) do
      local res = wh:query(chk[1])
      local got = res[1] and res[1][res.columns[1].name]
      t.eq(tostring(got), chk[2], case .. ": " .. chk[1])
    end
    wh:close()
  end)
end

t.test("on Redshift every case is sent as written (lode sql --plan --dialect redshift)", function()
  local sql = require "lode.sql"
  for _, case in ipairs(all) do
    local path = corpus .. "/" .. case .. ".sql"
    local r = proc.run({ bin, "sql", "--plan", "--dialect", "redshift", path })
    t.eq(r.status, 0, case .. ": " .. r.stderr)
    for _, stmt in ipairs(tok.split(read(path), true)) do
      t.contains(r.stdout, sql.redact(stmt.text) .. ";", case)
    end
  end
end)

t.test("the corpus holds at least 250 statements from its sources", function()
  local statements = 0
  for _, case in ipairs(all) do
    statements = statements + #tok.split(read(corpus .. "/" .. case .. ".sql"), true)
  end
  t.ok(statements >= 250, ("%d statements in %d cases"):format(statements, #all))
end)

t.test("lode help sql lists every refusal the corpus asserts", function()
  local r = proc.run({ bin, "help", "sql" })
  t.eq(r.status, 0, r.stderr)
  local refused = r.stdout:match("Not emulated.-\n(.*)\noptions:")
  t.ok(refused, r.stdout)
  for _, case in ipairs(all) do
    local feature = read(corpus .. "/" .. case .. ".sql"):match("\n%-%- refuse: %d+ ([^\n]+)")
    if feature then
      -- the refusal's distinctive word: FIXEDWIDTH, TEXTFILE, REMOVE DUPLICATES, …
      local key = ({ ["backslash escape"] = "string literal escapes", ["COPY from DYNAMODB"] = "dynamodb" })
        [feature:match("^backslash escape") and "backslash escape" or feature]
      key = key or feature:match("ORC") or feature
      t.contains(refused, key, case)
    end
  end
end)

-- tests/conformance/AUDIT.md maps every example of AWS's guides and every
-- dbt-external-tables statement to the case or test that runs it: each name
-- it gives must exist, and each AWS Spectrum and dbt-external-tables case must
-- be in it.
t.test("AUDIT.md names only cases and tests that exist, and lists every Spectrum and dbt-external-tables case", function()
  local audit = read(corpus .. "/AUDIT.md")
  local have = {}
  for _, case in ipairs(all) do
    have[case] = true
    if case:match("^aws_spectrum/") or case:match("^aws_alter/external") or case:match("^dbt_external_tables/") then
      t.ok(audit:find(case, 1, true), case .. " is in AUDIT.md")
    end
  end
  for case in audit:gmatch("%f[%w_](aws_%w+/[%w_]+)") do
    t.ok(have[case], "AUDIT.md names " .. case .. ", a case of the corpus")
  end
  for case in audit:gmatch("%f[%w_](dbt_external_tables/[%w_]+)") do
    t.ok(have[case], "AUDIT.md names " .. case .. ", a case of the corpus")
  end
  -- `file_test.lua "test name …"`, and D / A for the two dialect tests
  local short = { D = "tests/lua/sql/dialect_test.lua", A = "tests/lua/sql/dialect_audit_test.lua" }
  local function has_test(file, name)
    local text = read(root .. "/" .. file)
    name = name:gsub("%s*…$", "")
    t.ok(text:find('t.test("' .. name, 1, true) or text:find("t.test('" .. name, 1, true), file .. ' has a test "' .. name .. '"')
  end
  for file, name in audit:gmatch("(tests/lua/[%w_/]+_test%.lua) \"([^\"]+)\"") do
    has_test(file, name)
  end
  for file, name in audit:gmatch("([%w_]+_test%.lua) \"([^\"]+)\"") do
    if not file:find("/") then
      local path = root .. "/tests/lua/spectrum/" .. file
      local f = io.open(path)
      if f then
        f:close()
        has_test("tests/lua/spectrum/" .. file, name)
      else
        has_test("tests/lua/sql/" .. file, name)
      end
    end
  end
  for d, name in audit:gmatch("%f[%w]([DA]) \"([^\"]+)\"") do
    has_test(short[d], name)
  end
end)
