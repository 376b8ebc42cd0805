-- lode.cursor: the position of an incremental load, committed in the same
-- transaction as the rows (copy.into / merge.upsert `cursor = { c, value }`,
-- c:set(value, tx)). The stored values are read back with plain SQL from
-- PostgreSQL; the Redshift statements are checked as text against a double
-- that records them (as tests/lua/copy/redshift_ledger_test.lua does).
local t = require "lode.test"
local lode = require "lode"
local cursor = require "lode.cursor"
local copy = require "lode.copy"
local merge = require "lode.merge"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
local wh = lode.warehouse { url = url }
local P = "cursor_test_" .. math.random(1, 1e9)

-- the stored row, read without lode.cursor
local function stored(name, pipeline)
  local r = wh:query("SELECT value, kind FROM lode.cursors WHERE pipeline = $1 AND name = $2", pipeline or P, name)
  return r[1] and r[1].value, r[1] and r[1].kind
end

t.test("Redshift: the table and the upsert of a value, exactly", function()
  t.eq(cursor.ddl("redshift"), {
    "CREATE SCHEMA IF NOT EXISTS lode",
    "CREATE TABLE IF NOT EXISTS lode.cursors (pipeline VARCHAR(256) NOT NULL, name VARCHAR(512) NOT NULL, "
      .. "value VARCHAR(65535) NOT NULL, kind VARCHAR(16) NOT NULL, run VARCHAR(256), "
      .. "updated_at TIMESTAMP DEFAULT GETDATE(), PRIMARY KEY (pipeline, name))",
  })
  -- a transaction double: records statements, answers nothing
  local log = {}
  local tx = { depth = 0, dialect = "redshift" }
  function tx:exec(q, ...)
    log[#log + 1] = { q, table.pack(...) }
    return 0
  end
  function tx:query(q, ...)
    log[#log + 1] = { q, table.pack(...) }
    return { rowcount = 0 }
  end
  tx.wh = { dialect = "redshift" }
  local c = cursor.new(wh, "orders.id", 0, { pipeline = "rs" })
  c:set(42, tx)
  local qs = {}
  for i, e in ipairs(log) do
    qs[i] = e[1]
  end
  t.eq(qs, {
    "CREATE SCHEMA IF NOT EXISTS lode",
    cursor.ddl("redshift")[2],
    "DELETE FROM lode.cursors WHERE pipeline = $1 AND name = $2",
    "INSERT INTO lode.cursors (pipeline, name, value, kind, run) VALUES ($1, $2, $3, $4, $5)",
  })
  t.eq({ log[3][2][1], log[3][2][2], log[3][2].n }, { "rs", "orders.id", 2 })
  t.eq({ log[4][2][1], log[4][2][2], log[4][2][3], log[4][2][4] }, { "rs", "orders.id", "42", "integer" })
end)

t.test("PostgreSQL: the upsert of a value, exactly", function()
  t.eq(cursor.set_sql("postgres"), { { "INSERT INTO lode.cursors (pipeline, name, value, kind, run) VALUES "
    .. "($1, $2, $3, $4, $5) ON CONFLICT (pipeline, name) DO UPDATE SET value = EXCLUDED.value, "
    .. "kind = EXCLUDED.kind, run = EXCLUDED.run, updated_at = now()", 5 } })
end)

t.test("get returns the initial value, then the committed one, typed", function()
  local c = lode.cursor(wh, "a.updated_at", "1970-01-01T00:00:00Z", { pipeline = P })
  t.eq(c:get(), "1970-01-01T00:00:00Z")
  c:set("2024-02-29T23:59:59.999999Z")
  t.eq(stored("a.updated_at"), "2024-02-29T23:59:59.999999Z")
  t.eq(c:get(), "2024-02-29T23:59:59.999999Z")
  local n = lode.cursor(wh, "a.id", 0, { pipeline = P })
  n:set(math.maxinteger)
  t.eq(math.type(n:get()), "integer")
  t.eq(n:get(), math.maxinteger)
  local f = lode.cursor(wh, "a.score", 0.5, { pipeline = P })
  f:set(0.1)
  t.eq(f:get(), 0.1)
  t.eq(select(2, stored("a.score")), "number")
  -- another pipeline's cursor of the same name is another cursor
  t.eq(lode.cursor(wh, "a.id", 7, { pipeline = P .. "_other" }):get(), 7)
  n:reset()
  t.eq(n:get(), 0)
end)

t.test("bad values and bad transactions are refused", function()
  local c = lode.cursor(wh, "b", 0, { pipeline = P })
  local ok, err = pcall(c.set, c, lode.null)
  t.ok(not ok)
  t.eq(err.code, "usage")
  ok, err = pcall(c.set, c, 1, wh)
  t.ok(not ok)
  t.contains(err.message, "must be a transaction")
  ok, err = pcall(copy.into, wh, { table = "x", from = "s3://b/k", cursor = { c } })
  t.ok(not ok)
  t.contains(err.message, "option 'cursor'")
end)

t.test("c:set inside wh:transaction commits and rolls back with the rows", function()
  wh:exec("DROP TABLE IF EXISTS cursor_rows")
  wh:exec("CREATE TABLE cursor_rows (id int)")
  local c = lode.cursor(wh, "rows.id", 0, { pipeline = P })
  wh:transaction(function(tx)
    tx:exec("INSERT INTO cursor_rows SELECT generate_series(1, 10)")
    c:set(10, tx)
    t.eq(c:get(tx), 10) -- the transaction sees its own value
    t.eq(c:get(), 0)    -- others see the committed one
  end)
  t.eq(c:get(), 10)
  local ok = pcall(wh.transaction, wh, function(tx)
    tx:exec("INSERT INTO cursor_rows SELECT generate_series(11, 20)")
    c:set(20, tx)
    error("crash before commit")
  end)
  t.ok(not ok)
  t.eq(c:get(), 10)
  t.eq(wh:query("SELECT max(id) AS m FROM cursor_rows")[1].m, 10)
end)

t.test("merge.upsert advances the cursor in its transaction, and not when it fails", function()
  wh:exec("DROP TABLE IF EXISTS cursor_merge")
  wh:exec("CREATE TABLE cursor_merge (id int PRIMARY KEY, v text)")
  local c = lode.cursor(wh, "merge.id", 0, { pipeline = P })
  local r = merge.upsert(wh, { target = "cursor_merge", query = "SELECT g AS id, 'x' AS v FROM generate_series(1, 5) g",
                              cursor = { c, 5 } })
  t.eq(r.inserted, 5)
  t.eq(stored("merge.id"), "5")
  -- duplicate keys in the source: the merge fails, nothing moves
  local ok = pcall(merge.upsert, wh, { target = "cursor_merge",
    query = "SELECT 6 AS id, 'a' AS v UNION ALL SELECT 6, 'b'", cursor = { c, 6 } })
  t.ok(not ok)
  t.eq(c:get(), 5)
  t.eq(wh:query("SELECT count(*)::int AS n FROM cursor_merge")[1].n, 5)
end)

t.test("copy.into advances the cursor with the rows; a failed load leaves it", function()
  t.env("LODE_TEST_S3_ENDPOINT", "tests/run.sh starts s3rver")
  local s3 = require "lode.s3"
  local bucket = "lode-cursor-" .. math.random(1, 1e9)
  assert(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status == 0)
  wh:exec("DROP TABLE IF EXISTS cursor_copy")
  wh:exec("CREATE TABLE cursor_copy (id int NOT NULL, at text)")
  local c = lode.cursor(wh, "copy.at", "", { pipeline = P })
  s3.put("s3://" .. bucket .. "/a/1.csv", "1,2024-01-01\n2,2024-01-02\n")
  local r = copy.into(wh, { table = "cursor_copy", from = "s3://" .. bucket .. "/a/", format = "csv",
                            cursor = { c, "2024-01-02" } })
  t.eq(r.rows, 2)
  t.eq(stored("copy.at"), "2024-01-02")
  -- a NULL into NOT NULL: the load fails whole, the cursor stays
  s3.put("s3://" .. bucket .. "/b/1.csv", "3,2024-01-03\n,2024-01-04\n")
  local ok = pcall(copy.into, wh, { table = "cursor_copy", from = "s3://" .. bucket .. "/b/", format = "csv",
                                   cursor = { c, "2024-01-04" } })
  t.ok(not ok)
  t.eq(c:get(), "2024-01-02")
  t.eq(wh:query("SELECT count(*)::int AS n FROM cursor_copy")[1].n, 2)
  -- NOLOAD checks and keeps nothing, the cursor included
  copy.into(wh, { table = "cursor_copy", from = "s3://" .. bucket .. "/a/", format = "csv", noload = true,
                  reload = true, cursor = { c, "2099-01-01" } })
  t.eq(c:get(), "2024-01-02")
end)

t.test("lode plan shows the value a run starts from and writes nothing; lode cursor list|show|reset", function()
  local bin = t.env("LODE_BIN", "tests/run.sh sets it")
  local path = t.tmpdir() .. "/cursor_plan.lua"
  local f = assert(io.open(path, "w"))
  f:write(([[
local lode = require "lode"
local wh = lode.warehouse()
local c = lode.cursor(wh, "plan.id", 0)
return lode.pipeline %q {
  lode.task "t" { function()
    local from = c:get()
    wh:transaction(function(tx) c:set(from + 100, tx) end)
  end },
}
]]):format(P .. "_plan"))
  f:close()
  local env = { LODE_WAREHOUSE = url }
  local r = proc.run({ bin, "run", path }, { env = env })
  t.eq(r.status, 0, r.stderr)
  t.eq(stored("plan.id", P .. "_plan"), "100") -- the pipeline's name by default
  r = proc.run({ bin, "plan", path }, { env = env })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "-- lode plan: cursor plan.id (pipeline " .. P .. "_plan) starts from 100")
  t.eq(stored("plan.id", P .. "_plan"), "100")
  r = proc.run({ bin, "cursor", "list", "--pipeline", P .. "_plan" }, { env = env })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "plan.id")
  r = proc.run({ bin, "cursor", "show", "plan.id" }, { env = env })
  t.eq(r.status, 0, r.stderr)
  t.contains(r.stdout, "100")
  r = proc.run({ bin, "cursor", "reset", "plan.id", "--to", "150" }, { env = env })
  t.eq(r.status, 0, r.stderr)
  t.eq(stored("plan.id", P .. "_plan"), "150")
  r = proc.run({ bin, "cursor", "reset", "plan.id" }, { env = env })
  t.eq(r.status, 0, r.stderr)
  t.eq(stored("plan.id", P .. "_plan"), nil)
  r = proc.run({ bin, "cursor", "show", "no.such" }, { env = env })
  t.eq(r.status, 1)
  t.contains(r.stderr, "no cursor 'no.such'")
end)
