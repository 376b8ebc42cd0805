-- Plain Redshift SQL on PostgreSQL gets Redshift's semantics (issue #15):
-- a COPY appends whatever it reads (no load ledger unless asked for), and
-- #name tables are session temporary tables, distinct from name.
local t = require "lode.test"
local lode = require "lode"
local s3 = require "lode.s3"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")

local bucket = "sqlparity-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse({ url = url, pool = 2 })

-- N rows "i,name-i" in one CSV object; the count is known from the generator
local N = 37
local lines = {}
for i = 1, N do
  lines[i] = ("%d,name-%d"):format(i, i)
end
s3.put(B .. "daily/part-0.csv", table.concat(lines, "\n") .. "\n")

local function count(tbl)
  return wh:query("SELECT count(*) AS n FROM " .. tbl)[1].n
end

local function fresh(tbl)
  wh:exec("DROP TABLE IF EXISTS " .. tbl)
  wh:exec("CREATE TABLE " .. tbl .. " (id int, name varchar(40))")
end

local function script_file(name, text)
  local path = t.tmpdir() .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

t.test("the REPLACE pattern (DELETE then COPY in one transaction) run twice leaves the file's rows", function()
  fresh("par_replace")
  local script = ([[
BEGIN;
DELETE FROM par_replace;
COPY par_replace FROM '%sdaily/' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV;
COMMIT;]]):format(B)
  sqlrun.run(wh, script, { file = "replace.sql" })
  t.eq(count("par_replace"), N)
  sqlrun.run(wh, script, { file = "replace.sql" })
  t.eq(count("par_replace"), N, "the second run reloads the file (Redshift has no ledger)")
  t.eq(wh:query("SELECT count(DISTINCT id) AS n FROM par_replace")[1].n, N)
end)

t.test("an APPEND COPY run twice holds every row twice, as on Redshift", function()
  fresh("par_append")
  local script = ("COPY par_append FROM '%sdaily/part-0.csv' IAM_ROLE 'r' CSV;"):format(B)
  sqlrun.run(wh, script, { file = "append.sql" })
  sqlrun.run(wh, script, { file = "append.sql" })
  t.eq(count("par_append"), 2 * N)
  t.eq(wh:query("SELECT count(*) AS n FROM par_append WHERE id = 7")[1].n, 2)
end)

t.test("wh:exec of a COPY appends on every call", function()
  fresh("par_exec")
  local q = ("COPY par_exec FROM '%sdaily/' IAM_ROLE 'r' CSV"):format(B)
  t.eq(wh:exec(q), N)
  t.eq(wh:exec(q), N)
  t.eq(count("par_exec"), 2 * N)
end)

t.test("lode sql --ledger opts in to the ledger: the second run loads nothing", function()
  fresh("par_ledger")
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = '\"par_ledger\"'")
  local path = script_file("ledger.sql", ("COPY par_ledger FROM '%sdaily/' IAM_ROLE 'r' CSV;\n"):format(B))
  for _ = 1, 2 do
    local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", "--ledger", path }, { env = { LODE_WAREHOUSE = url } })
    t.eq(r.status, 0, r.stderr)
  end
  t.eq(count("par_ledger"), N)
  -- and without the flag the same script appends
  local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", path }, { env = { LODE_WAREHOUSE = url } })
  t.eq(r.status, 0, r.stderr)
  t.eq(count("par_ledger"), 2 * N)
  t.contains(proc.run({ bin, "help", "sql" }).stdout, "--ledger")
end)
