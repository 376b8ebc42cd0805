-- Transactions, savepoints and cancellation through lode.warehouse.
local t = require "lode.test"
local lode = require "lode"

local function wh(opts)
  opts = opts or {}
  opts.url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  return lode.warehouse(opts)
end

local function count(w, tbl)
  return w:query(("select count(*)::int as n from %s"):format(tbl))[1].n
end

t.test("a transaction commits when its function returns, on one pinned connection", function()
  local w = wh({ pool = 3 })
  w:exec("drop table if exists tx_commit")
  w:exec("create table tx_commit (id int)")
  local pids = w:transaction(function(tx)
    local a = tx:query("select pg_backend_pid() as p")[1].p
    tx:exec("insert into tx_commit values (1), (2)")
    t.eq(tx.conn:transaction_status(), "intrans")
    local b = tx:query("select pg_backend_pid() as p")[1].p
    return { a, b }
  end)
  t.eq(pids[1], pids[2])
  t.eq(count(w, "tx_commit"), 2)
  w:exec("drop table tx_commit")
  w:close()
end)

t.test("an error rolls the transaction back, leaves nothing, and is re-raised", function()
  local w = wh()
  w:exec("drop table if exists tx_rollback")
  w:exec("create table tx_rollback (id int)")
  local boom = { message = "boom" }
  local ok, err = pcall(w.transaction, w, function(tx)
    tx:exec("insert into tx_rollback select generate_series(1, 100)")
    t.eq(tx:query("select count(*)::int as n from tx_rollback")[1].n, 100)
    error(boom)
  end)
  t.eq(ok, false)
  t.ok(err == boom, "the same error value is re-raised")
  t.eq(count(w, "tx_rollback"), 0)
  -- a SQL error inside also rolls back
  t.raises(function()
    w:transaction(function(tx)
      tx:exec("insert into tx_rollback values (1)")
      tx:exec("insert into tx_rollback values ('not a number')")
    end)
  end, "invalid input syntax")
  t.eq(count(w, "tx_rollback"), 0)
  w:exec("drop table tx_rollback")
  w:close()
end)

t.test("nested transactions are savepoints", function()
  local w = wh()
  w:exec("drop table if exists tx_nested")
  w:exec("create table tx_nested (id int)")
  w:transaction(function(tx)
    tx:exec("insert into tx_nested values (1)")
    local ok = pcall(tx.transaction, tx, function(sp)
      sp:exec("insert into tx_nested values (2)")
      error("inner fails")
    end)
    t.eq(ok, false)
    tx:transaction(function(sp)
      sp:exec("insert into tx_nested values (3)")
      sp:transaction(function(sp2) sp2:exec("insert into tx_nested values (4)") end)
    end)
  end)
  local ids = {}
  for row in w:rows("select id from tx_nested order by id") do ids[#ids + 1] = row.id end
  t.eq(ids, { 1, 3, 4 })
  w:exec("drop table tx_nested")
  w:close()
end)

t.test("a task timeout cancels its running query and frees the connection", function()
  local w = wh({ pool = 1 })
  local pid = w:query("select pg_backend_pid() as p")[1].p
  local err = t.raises(function()
    lode.timeout(200, function()
      w:query("select pg_sleep(60) as slept")
    end)
  end, "timed out")
  t.eq(err.code, "timeout")
  -- the same (only) connection serves the next query: the sleep was cancelled
  local r = w:query("select pg_backend_pid() as p, (select count(*)::int from pg_stat_activity where query like 'select pg_sleep(60)%' and state = 'active') as sleeping")
  t.eq(r[1].p, pid)
  t.eq(r[1].sleeping, 0)
  w:close()
end)

t.test("a cancelled transaction is rolled back before its connection is reused", function()
  local w = wh({ pool = 1 })
  w:exec("drop table if exists tx_cancel")
  w:exec("create table tx_cancel (id int)")
  t.raises(function()
    lode.timeout(200, function()
      w:transaction(function(tx)
        tx:exec("insert into tx_cancel values (1)")
        tx:query("select pg_sleep(60)")
      end)
    end)
  end, "timed out")
  t.eq(count(w, "tx_cancel"), 0)
  w:with_conn(function(c) t.eq(c:transaction_status(), "idle") end)
  w:exec("drop table tx_cancel")
  w:close()
end)

t.test("notices from the server go to the log, not the result", function()
  local w = wh()
  local r = w:query("do $$ begin raise notice 'hello from plpgsql'; end $$")
  t.eq(r.rowcount, 0)
  w:close()
end)

t.test("a server WARNING is logged under the task whose statement raised it", function()
  local dir = t.tmpdir()
  local f = assert(io.open(dir .. "/p.lua", "w"))
  f:write([[
local lode = require "lode"
local wh = lode.warehouse()
return lode.pipeline "notices" {
  lode.task "quiet" { function() lode.sleep(1) end },
  lode.task "loud" { function() wh:query("do $$ begin raise warning 'careful: %', 42; end $$") end },
}
]])
  f:close()
  local r = require("lode.proc").run({ os.getenv("LODE_BIN") or "build/lode", "run", "--log-format", "json", dir .. "/p.lua" },
    { env = { LODE_WAREHOUSE = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL") } })
  t.eq(r.status, 0, r.stderr)
  local found
  for line in r.stderr:gmatch("{[^\n]+") do   -- the log lines (the run summary is a table)
    local o = require("lode.json").decode(line)
    if o.msg:find("careful: 42", 1, true) then
      found = o
    end
  end
  t.ok(found, "the warning is in the log:\n" .. r.stderr)
  t.eq({ found.level, found.task, found.pipeline }, { "warn", "loud", "notices" })
  t.contains(found.msg, "warehouse WARNING")
end)
