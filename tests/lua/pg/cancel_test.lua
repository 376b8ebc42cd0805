-- Tasks that fail or are cancelled while they hold a pooled connection, and
-- statements cancelled on the server: the connection comes back to the pool,
-- and the cancel never reaches the statement that runs after it.
local t = require "lode.test"
local lode = require "lode"

local function wh(opts)
  opts = opts or {}
  opts.url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  return lode.warehouse(opts)
end

-- The next query on `w`, bounded: a connection that never came back fails
-- the test instead of hanging it (10 minutes: a guard against the hang,
-- not a speed any build on any machine must reach).
local HANG_MS = 600000
local function next_query(w, q, ...)
  local args = table.pack(...)
  return lode.timeout(HANG_MS, function() return w:query(q, table.unpack(args, 1, args.n)) end)
end

t.test("a spawned task whose query fails gives its connection back (pool = 1)", function()
  local w = wh({ pool = 1 })
  local h = lode.spawn(function() return w:query("select 1/0 as x") end)
  local err = t.raises(function() h:await() end, "division by zero")
  t.eq(err.sqlstate, "22012")
  t.eq(next_query(w, "select 2 as x")[1].x, 2)
  t.eq({ w._open, #w._idle }, { 1, 1 })
  w:close()
end)

t.test("lode.timeout, lode.all and raising tasks around with_conn release the connection (pool = 1)", function()
  local w = wh({ pool = 1 })
  -- an error raised while holding the connection, inside lode.timeout
  t.raises(function()
    lode.timeout(HANG_MS, function()
      w:with_conn(function(c)
        c:query("select 1")
        error("fails while holding it", 0)
      end)
    end)
  end, "fails while holding it")
  t.eq(next_query(w, "select 1 as x")[1].x, 1)
  -- the timeout expiring while holding it
  t.raises(function()
    lode.timeout(50, function() w:with_conn(function() lode.sleep(10000) end) end)
  end, "timed out after 50 ms")
  t.eq(next_query(w, "select 2 as x")[1].x, 2)
  -- lode.all: the failing task holds it
  t.raises(function()
    lode.all {
      function() w:with_conn(function() lode.sleep(5); error("all member fails", 0) end) end,
      function() lode.sleep(10000) end,
    }
  end, "all member fails")
  t.eq(next_query(w, "select 3 as x")[1].x, 3)
  -- a task that dies by error inside a transaction: rolled back, then released
  w:exec("drop table if exists cancel_tx_err")
  w:exec("create table cancel_tx_err (id int)")
  local h = lode.spawn(function()
    w:transaction(function(tx)
      tx:exec("insert into cancel_tx_err values (1)")
      tx:exec("insert into cancel_tx_err values ('not a number')")
    end)
  end)
  t.raises(function() h:await() end, "invalid input syntax")
  t.eq(next_query(w, "select count(*)::int as n from cancel_tx_err")[1].n, 0)
  w:with_conn(function(c) t.eq(c:transaction_status(), "idle") end)
  w:exec("drop table cancel_tx_err")
  t.eq({ w._open, #w._idle }, { 1, 1 })
  w:close()
end)

t.test("leaving a wh:rows loop early never cancels the next statement (300 times, pool = 1)", function()
  -- 6 warehouses of one connection each, 50 rounds each, side by side (a
  -- cancel waits for the server: 20-50 ms here, more on a busy machine)
  local failed, wrong, first = 0, 0, nil
  local jobs = {}
  for j = 1, 6 do
    jobs[j] = function()
      local w = wh({ pool = 1 })
      for k = 1, 50 do
        local i = (j - 1) * 50 + k
        -- odd: the server has sent every row when the loop is left; even:
        -- the statement still runs (sleeps, or streams rows as fast as it can)
        local q = "select generate_series(1, 1000) as g"
        if i % 50 == 0 then -- once per warehouse: draining the stream costs most
          q = "select generate_series(1, 10000000) as g"
        elseif i % 2 == 0 then
          q = "select g from generate_series(1, 2000) g union all select 0 from pg_sleep(10)"
        end
        local ok, r = pcall(function()
          for _ in w:rows(q) do
            break -- cancels the rest of the statement on the server
          end
          -- a statement that takes a few milliseconds, like real ones
          return w:query("select $1::int + count(*)::int - 100000 as i from generate_series(1, 100000)", i)
        end)
        if not ok then
          failed = failed + 1
          first = first or r
        elseif r[1].i ~= i then
          wrong = wrong + 1
        end
      end
      t.eq({ w._open, #w._idle }, { 1, 1 })
      w:close()
    end
  end
  lode.all(jobs)
  t.eq({ failed = failed, wrong = wrong }, { failed = 0, wrong = 0 }, first and tostring(first))
end)

t.test("a cancelled statement, then merge.upsert at once: every upsert commits (20 times, pool = 1)", function()
  local merge = require "lode.merge"
  local w = wh({ pool = 1 })
  w:exec("drop table if exists cancel_merge")
  w:exec("create table cancel_merge (id int primary key, v int)")
  local failed, first = 0, nil
  for i = 1, 20 do
    local ok, err = pcall(function()
      if i % 2 == 1 then
        -- a loop left early over a result the server has finished sending
        for _ in w:rows("select generate_series(1, 1000) as g") do break end
      else
        -- a timeout cancelling a running statement: its own error, nothing else
        local ok2, e2 = pcall(lode.timeout, 30, function() w:query("select pg_sleep(10)") end)
        if ok2 or e2.code ~= "timeout" then error(e2, 0) end
      end
      merge.upsert(w, {
        target = "cancel_merge", key = { "id" },
        query = ("select g as id, %d as v from generate_series(1, 100) g"):format(i),
      })
    end)
    if not ok then
      failed = failed + 1
      first = first or err
    end
  end
  t.eq(failed, 0, first and tostring(first))
  -- PostgreSQL says what committed: the last upsert's 100 rows
  local r = w:query("select count(*)::int as n, min(v) as lo, max(v) as hi from cancel_merge")
  t.eq({ r[1].n, r[1].lo, r[1].hi }, { 100, 20, 20 })
  w:exec("drop table cancel_merge")
  w:close()
end)
