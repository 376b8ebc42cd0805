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
-- the test instead of hanging it.
local function next_query(w, q, ...)
  local args = table.pack(...)
  return lode.timeout(5000, function() return w:query(q, table.unpack(args, 1, args.n)) end)
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
    lode.timeout(5000, function()
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
