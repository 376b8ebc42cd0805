-- String partition keys compared with numbers (#18): Redshift's cast in
-- lode's Redshift SQL, and nothing database-wide — no text/number operator
-- in schema public, so `varchar = int` fails on any other connection as on
-- stock PostgreSQL; an older lode's operators in public are removed by the
-- next `lode sql` or `lode run`. On the PostgreSQL emulation over s3rver.
-- Oracles: PostgreSQL itself (its errors, its catalog, its plans) and
-- DuckDB's read_csv over the same files.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local json = require "lode.json"
local sqlrun = require "lode.sqlrun"

local root = os.getenv("LODE_ROOT") or "."
local lode_bin = os.getenv("LODE_BIN") or (root .. "/build/lode")
local BUCKET = "spectrum-keycast"

local pg_url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
local endpoint = t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local dir = t.tmpdir()

-- a plain PostgreSQL connection: no lode rewriting
local function plain(url)
  return lode.warehouse({ url = url or pg_url, dialect = "postgres", pool = 1 })
end

local function duck(q)
  local r = proc.run({ "node", root .. "/tests/tools/duckdb.js", q }, { timeout = 60000 })
  t.eq(r.status, 0, "duckdb.js: " .. (r.stdout or "") .. (r.stderr or ""))
  return json.decode(r.stdout)[1].r
end

local function put(rel, bytes)
  local path = dir .. "/" .. rel
  require("lode.fs").mkdir(path:match("^(.*)/[^/]*$"), true)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  require("lode.s3").upload(path, "s3://" .. BUCKET .. "/" .. rel)
  return path
end

local function sqlstate(e)
  return type(e) == "table" and (e.sqlstate or e.code) or tostring(e)
end

-- Operators in schema public between a string type and a number type (what
-- `\do public.*` would list of lode's).
local function public_text_number_operators(w)
  return tonumber(w:query([[SELECT count(*) AS n FROM pg_operator o
    WHERE o.oprnamespace = 'public'::regnamespace
      AND ((o.oprleft IN ('text'::regtype, 'varchar'::regtype)
            AND o.oprright IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype))
        OR (o.oprright IN ('text'::regtype, 'varchar'::regtype)
            AND o.oprleft IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype, 'numeric'::regtype)))]])[1].n)
end

-- stock PostgreSQL: varchar = int has no operator (42883, "operator does not exist")
local function stock_comparison_fails(w)
  for _, q in ipairs({ "SELECT 'a'::varchar = 1 AS b", "SELECT '2024'::text = 2024 AS b", "SELECT 2024 < '2024'::text AS b" }) do
    local ok, e = pcall(w.query, w, q)
    t.ok(not ok, q .. " fails as on stock PostgreSQL")
    t.eq(sqlstate(e), "42883", q .. ": " .. tostring(e))
  end
end

local KEYS = { { "2023", "12" }, { "2024", "01" }, { "2024", "02" } }
local files = {}

local function setup()
  local r = proc.run({ "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", endpoint .. "/" .. BUCKET })
  t.ok(r.stdout == "200" or r.stdout == "409", "create bucket: " .. r.stdout)
  for i, k in ipairs(KEYS) do
    local rows = {}
    for j = 1, 3 + i do
      rows[#rows + 1] = ("%d|%d\n"):format(i * 100 + j, j * i)
    end
    files[i] = put(("keyed/year=%s/month=%s/part-0"):format(k[1], k[2]), table.concat(rows))
  end
  plain():exec("DROP SCHEMA IF EXISTS keycast CASCADE")
  local parts = {}
  for _, k in ipairs(KEYS) do
    parts[#parts + 1] = ("PARTITION (year='%s', month='%s') LOCATION 's3://%s/keyed/year=%s/month=%s/'")
      :format(k[1], k[2], BUCKET, k[1], k[2])
  end
  sqlrun.run(plain(), ([==[
CREATE EXTERNAL SCHEMA keycast FROM DATA CATALOG DATABASE 'keycastdb' IAM_ROLE 'arn:aws:iam::1:role/R';
CREATE EXTERNAL TABLE keycast.keyed (id int, n int) PARTITIONED BY (year varchar(4), month varchar(2))
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' STORED AS TEXTFILE LOCATION 's3://%s/keyed/';
ALTER TABLE keycast.keyed ADD %s;
]==]):format(BUCKET, table.concat(parts, "\n")), { file = "keycast.sql" })
end

local function duck_sum(idx)
  local list = {}
  for _, i in ipairs(idx) do list[#list + 1] = "'" .. files[i] .. "'" end
  return duck(("SELECT coalesce(sum(id), 0)::VARCHAR AS r FROM read_csv([%s], delim = '|', header = false, "
    .. "columns = {'id': 'INTEGER', 'n': 'INTEGER'})"):format(table.concat(list, ", ")))
end

t.test("after lode's Spectrum setup, varchar = int still fails on another connection, and public has no lode operator",
    { timeout = 180000 }, function()
  setup()
  local w = plain()
  t.eq(public_text_number_operators(w), 0)
  t.eq(tonumber(w:query("SELECT count(*) AS n FROM pg_operator o JOIN pg_proc p ON p.oid = o.oprcode "
    .. "WHERE p.pronamespace = 'lode'::regnamespace")[1].n), 0, "no operator at all calls a lode function")
  stock_comparison_fails(w)
  -- a plain PostgreSQL query of the external table keeps PostgreSQL's meaning too
  local ok, e = pcall(w.query, w, "SELECT count(*) FROM keycast.keyed WHERE year = 2024")
  t.ok(not ok, "PostgreSQL SQL: text = integer has no operator")
  t.eq(sqlstate(e), "42883", tostring(e))
end)

t.test("Redshift SQL (emulate = 'redshift', lode sql): year = 2024 casts the string, '2024' compares strings, both prune",
    { timeout = 180000 }, function()
  if not files[1] then setup() end
  local rs = lode.warehouse({ url = pg_url, dialect = "postgres", emulate = "redshift", pool = 1 })
  local function sum(where)
    return tostring(rs:query("SELECT coalesce(sum(id), 0)::text AS r FROM keycast.keyed WHERE " .. where)[1].r)
  end
  t.eq(sum("year = 2024"), duck_sum({ 2, 3 }))
  t.eq(sum("year = 2024 AND month = 1"), duck_sum({ 2 }))
  t.eq(sum("2024 = year AND 1 = month"), duck_sum({ 2 }))
  t.eq(sum("month >= 2"), duck_sum({ 1, 3 }))
  t.eq(sum("month IN (1, 12)"), duck_sum({ 1, 2 }))
  t.eq(sum("month NOT IN (1, 12)"), duck_sum({ 3 }))
  t.eq(sum("month BETWEEN 2 AND 12 AND year <> 2023"), duck_sum({ 3 }))
  t.eq(sum("keycast.keyed.year = 2024.0"), duck_sum({ 2, 3 }))
  t.eq(sum("(year = 2023 OR month = 2)"), duck_sum({ 1, 3 }))
  -- the strings: '01' <> '1'
  t.eq(sum("year = '2024' AND month = '01'"), duck_sum({ 2 }))
  t.eq(sum("month = '1'"), "0")
  -- a number column of the same name elsewhere in the statement compares as a number (2024.4 <> 2024)
  local w = plain()
  w:exec("DROP TABLE IF EXISTS keycast_local")
  w:exec("CREATE TABLE keycast_local (year numeric, month double precision)")
  w:exec("INSERT INTO keycast_local VALUES (2024.4, 1.5), (2024, 1)")
  local want = tostring(w:query("SELECT count(*)::text AS r FROM keycast_local WHERE year = 2024 AND month = 1")[1].r)
  t.eq(tostring(rs:query("SELECT count(*)::text AS r FROM keycast_local l WHERE l.year = 2024 AND month = 1 "
    .. "AND EXISTS (SELECT 1 FROM keycast.keyed)")[1].r), want)
  -- the plan reads only the matching partitions (PostgreSQL's EXPLAIN)
  local function scans(where)
    local plan = {}
    for _, row in ipairs(rs:query("EXPLAIN SELECT sum(id) FROM keycast.keyed WHERE " .. where)) do
      plan[#plan + 1] = row["QUERY PLAN"]
    end
    plan = table.concat(plan, "\n")
    local n = 0
    for _ in plan:gmatch("Foreign Scan") do n = n + 1 end
    return n, plan
  end
  local n, plan = scans("year = 2024 AND month = 1")
  t.eq(n, 1, plan)
  t.contains(plan, "year=2024/month=01/")
  n, plan = scans("year = '2024'")
  t.eq(n, 2, plan)
  -- a script through `lode sql`
  local path = dir .. "/q.sql"
  local f = assert(io.open(path, "w"))
  f:write("SELECT sum(id) AS total FROM keycast.keyed WHERE year = 2024 AND month = 2;\n")
  f:close()
  local r = proc.run({ lode_bin, "sql", path, "--warehouse", pg_url })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, duck_sum({ 3 }))
  -- UNLOAD's query reads as Redshift reads it too
  sqlrun.run(plain(), ("UNLOAD ('SELECT id FROM keycast.keyed WHERE year = 2024 AND month IN (1, 2)') "
    .. "TO 's3://%s/unloaded/k_' IAM_ROLE 'arn:aws:iam::1:role/R' ALLOWOVERWRITE"):format(BUCKET), { file = "unload.sql" })
  local s3 = require "lode.s3"
  local total = 0
  for _, o in ipairs((s3.list("s3://" .. BUCKET .. "/unloaded/", { recursive = true }))) do
    for line in s3.get("s3://" .. BUCKET .. "/" .. o.key):gmatch("[^\n]+") do
      total = total + tonumber(line)
    end
  end
  t.eq(tostring(total), duck_sum({ 2, 3 }))
  -- and still nothing in public
  t.eq(public_text_number_operators(w), 0)
end)

-- What an earlier lode (#18's first string-key commit) left in a database:
-- functions lode.rs_cmp_* behind operators in schema public.
local function old_operators(w)
  w:exec("CREATE SCHEMA IF NOT EXISTS lode")
  local ops = { eq = "=", ne = "<>", lt = "<", le = "<=", gt = ">", ge = ">=" }
  for tname, ty in pairs({ int2 = "smallint", int4 = "integer", int8 = "bigint", numeric = "numeric" }) do
    for oname, op in pairs(ops) do
      local f1 = ("lode.rs_cmp_text_%s_%s"):format(tname, oname)
      local f2 = ("lode.rs_cmp_%s_text_%s"):format(tname, oname)
      w:exec(("CREATE OR REPLACE FUNCTION %s(text, %s) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        .. "AS 'SELECT $1::%s %s $2'"):format(f1, ty, ty, op))
      w:exec(("CREATE OR REPLACE FUNCTION %s(%s, text) RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        .. "AS 'SELECT $1 %s $2::%s'"):format(f2, ty, op, ty))
      w:exec(("CREATE OPERATOR public.%s (LEFTARG = text, RIGHTARG = %s, FUNCTION = %s)"):format(op, ty, f1))
      w:exec(("CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = text, FUNCTION = %s)"):format(op, ty, f2))
    end
  end
  t.eq(public_text_number_operators(w), 48)
  t.eq(tostring(w:query("SELECT '2024'::varchar = 2024 AS b")[1].b), "true", "the old operators are in effect")
end

t.test("upgrade: the operators an earlier lode put in public are removed by the next lode sql and lode run",
    { timeout = 180000 }, function()
  local db = ("keycast_%d"):format(math.random(1, 1e9))
  plain():exec("CREATE DATABASE " .. db)
  local url = pg_url:gsub("/[^/]*$", "/" .. db)
  local w = plain(url)
  old_operators(w)
  -- a view made with one: it keeps working (the operator moves out of public instead)
  w:exec("CREATE VIEW public.old_cmp AS SELECT '2024'::text = 2024 AS b")
  local path = dir .. "/one.sql"
  local f = assert(io.open(path, "w"))
  f:write("SELECT 1 AS one;\n")
  f:close()
  local r = proc.run({ lode_bin, "sql", path, "--warehouse", url })
  t.eq(r.status, 0, r.stderr)
  w = plain(url)
  t.eq(public_text_number_operators(w), 0)
  stock_comparison_fails(w)
  t.eq(tostring(w:query("SELECT b FROM public.old_cmp")[1].b), "true")
  -- again, and a pipeline that opens its warehouse inside a task
  w:exec("DROP VIEW public.old_cmp")
  w:exec("DROP OPERATOR IF EXISTS lode.= (text, integer)")
  old_operators(w)
  path = dir .. "/pipe.lua"
  f = assert(io.open(path, "w"))
  f:write(([==[
local lode = require "lode"
return lode.pipeline "keycast_upgrade" {
  lode.task "q" { function()
    local wh = lode.warehouse({ url = %q })
    wh:query("SELECT 1")
  end },
}
]==]):format(url))
  f:close()
  r = proc.run({ lode_bin, "run", path })
  t.eq(r.status, 0, r.stderr .. r.stdout)
  w = plain(url)
  t.eq(public_text_number_operators(w), 0)
  stock_comparison_fails(w)
end)
