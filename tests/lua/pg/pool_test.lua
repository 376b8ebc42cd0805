-- The warehouse pool: a connection goes back only idle (never inside a
-- transaction someone else then commits), waiters are never lost, and an
-- emulated COPY on a session never asks the pool for a second connection.
-- Row counts are read back from PostgreSQL on a connection of its own.
local t = require "lode.test"
local lode = require "lode"
local pg = require "lode.pg"
local copy = require "lode.copy"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")

local function wh(opts)
  opts = opts or {}
  opts.url = url
  return lode.warehouse(opts)
end

-- the oracle: a plain lode.pg connection outside any pool
local function ids(tbl)
  local c = pg.connect(url)
  local r = c:query(("select coalesce(array_to_string(array_agg(id order by id), ','), '') as ids from %s"):format(tbl))
  c:close()
  return r[1].ids
end

-- every connection the pool opened is idle and back in the pool
local function all_idle(w)
  local held = {}
  for i = 1, w.size do
    held[i] = w:acquire()
  end
  local states = {}
  for i, c in ipairs(held) do
    states[i] = c:transaction_status()
  end
  for _, c in ipairs(held) do
    w:release(c)
  end
  for i = 1, w.size do
    t.eq(states[i], "idle", "connection " .. i)
  end
end

-- fn must finish: a deadlock or lost wake-up fails the test instead of
-- hanging it. The bound is only a guard against that hang (10 minutes), not
-- a speed: an ASan build on a loaded machine took longer than the 20 s it was.
local HANG_MS = 600000
local function within(fn, ...)
  local h = lode.spawn(fn, ...)
  if not h:wait(HANG_MS) then
    h:cancel()
    error(("did not finish within %d ms (deadlock or lost wake-up)"):format(HANG_MS), 2)
  end
  return h:await()
end

local function fresh(w, name)
  w:exec(("drop table if exists %s"):format(name))
  w:exec(("create table %s (id int)"):format(name))
end

local bucket
local function s3_bucket()
  if not bucket then
    t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
    bucket = "lode-pool-" .. math.random(1, 1e9)
    t.eq(proc.run({ "aws", "s3", "mb", "s3://" .. bucket }).status, 0)
  end
  return "s3://" .. bucket .. "/"
end

t.test("a script that fails inside BEGIN leaves nothing for the next transaction to commit", function()
  local w = wh({ pool = 1 })
  fresh(w, "pool_foreign")
  local B = s3_bucket()
  -- the emulated COPY fails in lode (no such object), after the INSERT ran
  t.raises(function()
    w:exec("BEGIN; INSERT INTO pool_foreign VALUES (10); COPY pool_foreign FROM '" .. B
      .. "missing/none.csv' IAM_ROLE 'arn:aws:iam::1:role/r' CSV; COMMIT;")
  end)
  w:transaction(function(tx) tx:exec("insert into pool_foreign values (11)") end)
  t.eq(ids("pool_foreign"), "11")
  all_idle(w)
  w:exec("drop table pool_foreign")
  w:close()
end)

t.test("after a SQL error inside BEGIN the pooled connection serves the next statement", function()
  local w = wh({ pool = 1 })
  fresh(w, "pool_aborted")
  t.raises(function()
    w:exec("BEGIN; INSERT INTO pool_aborted VALUES (20); SELECT 1/0; COMMIT;")
  end, "division by zero")
  t.eq(w:query("select 1 as one")[1].one, 1)
  w:exec("insert into pool_aborted values (21)")
  t.eq(ids("pool_aborted"), "21")
  all_idle(w)
  w:exec("drop table pool_aborted")
  w:close()
end)

t.test("a session or with_conn left inside BEGIN is rolled back before the connection is reused", function()
  local w = wh({ pool = 1 })
  fresh(w, "pool_left_open")
  -- a session whose function raises with its own BEGIN open
  t.raises(function()
    w:session(function(s)
      s:exec("BEGIN")
      s:exec("insert into pool_left_open values (30)")
      error("the session fails", 0)
    end)
  end, "the session fails")
  -- with_conn returning normally with a transaction open
  w:with_conn(function(c)
    c:query("BEGIN")
    c:query("insert into pool_left_open values (31)")
  end)
  w:transaction(function(tx) tx:exec("insert into pool_left_open values (32)") end)
  t.eq(ids("pool_left_open"), "32")
  all_idle(w)
  w:exec("drop table pool_left_open")
  w:close()
end)

t.test("a session cancelled inside its own BEGIN is rolled back before the connection is reused", function()
  local w = wh({ pool = 1 })
  fresh(w, "pool_cancelled")
  t.raises(function()
    lode.timeout(300, function()
      w:session(function(s)
        s:exec("BEGIN")
        s:exec("insert into pool_cancelled values (40)")
        s:query("select pg_sleep(60)")
      end)
    end)
  end, "timed out")
  w:transaction(function(tx) tx:exec("insert into pool_cancelled values (41)") end)
  t.eq(ids("pool_cancelled"), "41")
  all_idle(w)
  w:exec("drop table pool_cancelled")
  w:close()
end)

t.test("an emulated statement that fails in lode aborts the session's transaction, as on Redshift", function()
  local w = wh({ pool = 2 })
  fresh(w, "pool_abort_tx")
  local B = s3_bucket()
  local after = w:session(function(s)
    s:exec("BEGIN")
    s:exec("insert into pool_abort_tx values (50)")
    t.raises(function()
      s:exec("COPY pool_abort_tx FROM '" .. B .. "missing/none.csv' IAM_ROLE 'arn:aws:iam::1:role/r' CSV")
    end)
    -- Redshift: "current transaction is aborted" until the block ends; COMMIT rolls back
    local ok, err = pcall(s.exec, s, "insert into pool_abort_tx values (51)")
    s:exec("COMMIT")
    return { ok = ok, sqlstate = type(err) == "table" and err.sqlstate or tostring(err) }
  end)
  t.eq(after, { ok = false, sqlstate = "25P02" })
  t.eq(ids("pool_abort_tx"), "")
  all_idle(w)
  w:exec("drop table pool_abort_tx")
  w:close()
end)

t.test("200 tasks on a pool of 4 all finish (no lost wake-up)", function()
  local w = wh({ pool = 4 })
  local done = 0
  within(function()
    local hs = {}
    for i = 1, 200 do
      hs[i] = lode.spawn(function()
        -- each comes back for more while others still wait
        for _ = 1, 3 do
          w:query("select pg_sleep(0.001)")
        end
        done = done + 1
      end)
    end
    for _, h in ipairs(hs) do
      h:await()
    end
  end)
  t.eq(done, 200)
  -- and again after the queue drained: waiters queued later are woken too
  done = 0
  within(function()
    for _ = 1, 3 do
      local hs = {}
      for i = 1, 10 do
        hs[i] = lode.spawn(function()
          w:query("select 1")
          done = done + 1
        end)
      end
      for _, h in ipairs(hs) do
        h:await()
      end
    end
  end)
  t.eq(done, 30)
  t.eq(w._open <= 4, true)
  all_idle(w)
  w:close()
end)

t.test("an emulated COPY on a session takes no second connection (pool = 1, and 5 at once on pool = 5)", function()
  local B = s3_bucket()
  local s3 = require "lode.s3"
  s3.put(B .. "one/a.csv", "1\n2\n")
  local w = wh({ pool = 1 })
  fresh(w, "pool_copy1")
  t.eq(within(w.exec, w, "COPY pool_copy1 FROM '" .. B .. "one/' IAM_ROLE 'arn:aws:iam::1:role/r' CSV"), 2)
  -- copy.into on a session and inside a transaction, ledger kept
  fresh(w, "pool_copy1b")
  t.eq(within(w.session, w, function(s)
    return copy.into(s, { table = "pool_copy1b", from = B .. "one/", format = "csv" }).rows
  end), 2)
  fresh(w, "pool_copy1c")
  t.eq(within(w.transaction, w, function(tx)
    return copy.into(tx, { table = "pool_copy1c", from = B .. "one/", format = "csv" }).rows
  end), 2)
  t.eq(ids("pool_copy1"), "1,2")
  t.eq(ids("pool_copy1b"), "1,2")
  t.eq(ids("pool_copy1c"), "1,2")
  all_idle(w)
  w:close()

  local w5 = wh({ pool = 5 })
  for i = 1, 5 do
    fresh(w5, "pool_copy5_" .. i)
  end
  within(function()
    local hs = {}
    for i = 1, 5 do
      hs[i] = lode.spawn(function()
        return w5:exec("COPY pool_copy5_" .. i .. " FROM '" .. B .. "one/' IAM_ROLE 'arn:aws:iam::1:role/r' CSV")
      end)
    end
    for _, h in ipairs(hs) do
      t.eq(h:await(), 2)
    end
  end)
  for i = 1, 5 do
    t.eq(ids("pool_copy5_" .. i), "1,2")
    w5:exec("drop table pool_copy5_" .. i)
  end
  all_idle(w5)
  w5:exec("drop table pool_copy1")
  w5:exec("drop table pool_copy1b")
  w5:exec("drop table pool_copy1c")
  w5:close()
end)

t.test("a script that fails or is cancelled leaves no temp tables on the pooled connection", function()
  local sqlrun = require "lode.sqlrun"
  local w = wh({ pool = 1 })
  local function temp_gone(name)
    return w:query(("select to_regclass('pg_temp.%s') is null as gone"):format(name))[1].gone
  end
  t.raises(function()
    sqlrun.run(w, "create temp table #pool_stage (x int); insert into #pool_stage values (1); select 1/0;",
      { file = "fails.sql" })
  end, "division by zero")
  t.eq(temp_gone("pool_stage"), true)
  t.raises(function()
    lode.timeout(300, function()
      sqlrun.run(w, "create temp table #pool_stage2 (x int);\nselect pg_sleep(60);", { file = "slow.sql" })
    end)
  end, "timed out")
  t.eq(temp_gone("pool_stage2"), true)
  all_idle(w)
  w:close()
end)

t.test("a transaction or session used after its function returned raises instead of reaching the next user", function()
  local w = wh({ pool = 1 })
  fresh(w, "pool_ended")
  local kept
  w:transaction(function(tx) kept = tx end)
  local err = t.raises(function() kept:exec("insert into pool_ended values (60)") end, "has ended")
  t.eq(err.code, "ended")
  local kept_s
  w:session(function(s) kept_s = s end)
  t.raises(function() kept_s:query("select 1") end, "has ended")
  -- a child task that outlives the transaction it was handed
  local go = lode.future()
  local child
  w:transaction(function(tx)
    child = lode.spawn(function()
      go:await()
      tx:exec("insert into pool_ended values (61)")
    end)
  end)
  local other = lode.spawn(function()
    return pcall(w.transaction, w, function(tx)
      tx:exec("insert into pool_ended values (62)")
      go:set()
      tx:query("select pg_sleep(0.05)") -- the child runs now, while this transaction is open
      error("rolled back", 0)
    end)
  end)
  t.eq({ other:await() }, { false, "rolled back" })
  t.raises(function() child:await() end, "has ended")
  t.eq(ids("pool_ended"), "")
  all_idle(w)
  w:exec("drop table pool_ended")
  w:close()
end)

t.test("a task's SET, SET TIME ZONE, session advisory lock and temp table do not reach the next task on the pool", function()
  local w = wh({ pool = 1 })
  local oracle = pg.connect(url)
  local defaults = oracle:query("select current_setting('search_path') as sp, current_setting('TimeZone') as tz")[1]
  oracle:close()
  lode.spawn(function()
    w:exec("SET search_path TO pg_catalog, information_schema")
    w:exec("SET TIME ZONE 'Asia/Tokyo'")
    w:query("select pg_advisory_lock(7001)")
    w:exec("create temp table pool_leftover (x int)")
  end):await()
  local seen = lode.spawn(function()
    return w:query([[select current_setting('search_path') as sp, current_setting('TimeZone') as tz,
      (select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()) as locks,
      to_regclass('pg_temp.pool_leftover') is null as no_temp]])[1]
  end):await()
  t.eq(seen.sp, defaults.sp)
  t.eq(seen.tz, defaults.tz)
  t.eq(seen.locks, 0)
  t.eq(seen.no_temp, true)
  -- a session (a script on one connection) keeps its SET for its own statements
  t.eq(w:session(function(s)
    s:exec("SET TIME ZONE 'Asia/Tokyo'")
    return s:query("select current_setting('TimeZone') as tz")[1].tz
  end), "Asia/Tokyo")
  t.eq(w:query("select current_setting('TimeZone') as tz")[1].tz, defaults.tz)
  -- an advisory lock a task took is free for another client once it is done
  local other = pg.connect(url)
  t.eq(other:query("select pg_try_advisory_lock(7001) as got")[1].got, true)
  other:close()
  all_idle(w)
  w:close()
end)

t.test("only statements that change the session mark a connection (the guess errs on the safe side)", function()
  local f = require("lode.warehouse")._leaves_session_state
  for _, q in ipairs({ "SET search_path TO x", "  set time zone 'UTC'", "-- c\nSET x = 1", "/* c */ reset all",
      "select 1; set role r", "CREATE TEMP TABLE s (x int)", "create temporary table s (x int)",
      "select pg_advisory_lock(1)", "select pg_try_advisory_lock_shared(1, 2)",
      "select set_config('search_path', 'x', false)", "LISTEN ch", "PREPARE p AS select 1",
      "DECLARE c CURSOR WITH HOLD FOR select 1", "select * into temp t from x" }) do
    t.eq(f(q), true, q)
  end
  for _, q in ipairs({ "select 1", "SET LOCAL TimeZone = 'UTC'", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
      "update t set x = 1", "insert into t values (1) on conflict (k) do update set x = excluded.x",
      "select pg_advisory_xact_lock(1)", "select * from pg_temp.x", "select 'a;b' as reset_me" }) do
    t.eq(f(q), false, q)
  end
end)

t.test("a row iterator broken off, or dropped unfinished and collected, gives its connection back", function()
  local w = wh({ pool = 2 })
  within(function()
    for _ = 1, 5 do
      for _ in w:rows("select generate_series(1, 100000) as g") do
        break
      end
    end
    for _ = 1, 5 do
      local it = w:rows("select generate_series(1, 100000) as g")
      t.eq(it().g, 1)
      it = nil -- luacheck: ignore
      collectgarbage()
      collectgarbage()
    end
    for i = 1, 5 do
      t.eq(w:query("select $1::int as i", i)[1].i, i)
    end
  end)
  all_idle(w)
  w:close()
end)

t.test("an iterator still in use is not closed by a collection", function()
  local w = wh({ pool = 1 })
  local it = w:rows("select generate_series(1, 1000) as g")
  local n = 0
  for i = 1, 1000 do
    if i % 50 == 0 then
      collectgarbage()
    end
    local r = it()
    n = n + r.g
  end
  t.eq(it(), nil)
  t.eq(n, 500500)
  all_idle(w)
  w:close()
end)
