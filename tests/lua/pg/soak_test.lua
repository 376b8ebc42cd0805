-- Concurrency soak: 200 tasks over a pool of 4 doing a seeded random mix of
-- queries, transactions that fail half-way, rows loops left early, timeouts
-- that cancel running statements and transactions, spawned tasks that raise,
-- and small COPYs from S3. Every task must finish, every connection must end
-- idle and back in the pool, and the table must hold exactly the rows of the
-- transactions and COPYs that reported success (PostgreSQL is the oracle,
-- read on a connection of its own). LODE_SOAK_SEED=n repeats a run.
local t = require "lode.test"
local lode = require "lode"
local pg = require "lode.pg"
local copy = require "lode.copy"
local proc = require "lode.proc"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local s3 = require "lode.s3"

local TASKS, POOL, OBJECTS = 200, 4, 80
-- a hang fails the test instead of stalling it (sanitizer builds run ~8x slower)
local DEADLINE_MS = os.getenv("SANITIZE") == "1" and 180000 or 45000

local seed = tonumber(os.getenv("LODE_SOAK_SEED") or "") or (os.time() * 1000 + lode.now() % 1000)
math.randomseed(seed)
t.diag(("soak seed %d (LODE_SOAK_SEED=%d repeats the mix)"):format(seed, seed))

-- Whether a task that dies by error runs its <close> handlers (so with_conn
-- gives its connection back): issue #14 item 6, fixed in runtime/sched.c.
local function closes_on_error()
  local closed = false
  local h = lode.spawn(function()
    local _ <close> = setmetatable({}, { __close = function() closed = true end })
    error("probe", 0)
  end)
  pcall(h.await, h)
  return closed
end

t.test("200 tasks on a pool of 4: all finish, connections end idle, committed rows exact",
    { timeout = DEADLINE_MS + 15000 }, function()
  local holding_raise = closes_on_error()
  if not holding_raise then
    t.diag("TODO: spawned tasks that raise while holding a connection are left out of the mix until "
      .. "the runtime closes a task that dies by error (issue #14 item 6)")
  end
  local w = lode.warehouse({ url = url, pool = POOL })
  local tbl = "soak_rows"
  w:exec("drop table if exists " .. tbl)
  w:exec("create table " .. tbl .. " (id int primary key)")
  -- the ledger of earlier runs (same keys and contents) would skip the files
  local ledger = require "lode.ledger"
  ledger.ensure(w)
  w:exec("delete from lode.load_history where table_name = $1", ledger.table_key(tbl))

  local bucket = "lode-soak-" .. math.random(1, 1e9)
  local B = "s3://" .. bucket .. "/"
  t.eq(proc.run({ "aws", "s3", "mb", B }).status, 0)
  local objects = {}
  for k = 1, OBJECTS do
    local ids = {}
    for j = 1, 3 do
      ids[j] = 1000000 + k * 10 + j
    end
    objects[k] = { url = ("%sobj-%04d.csv"):format(B, k), ids = ids }
    s3.put(objects[k].url, table.concat(ids, "\n") .. "\n")
  end
  local next_object = 0
  local function take_object()
    next_object = next_object + 1
    return objects[next_object]
  end

  local committed = {}      -- id -> true for every success reported to us
  local counts = {}         -- kind -> times run
  local spent = {}          -- kind -> ms spent in it, all tasks together
  local unexpected = {}     -- what went wrong, for the failure message
  local function commit(ids)
    for _, id in ipairs(ids) do
      committed[id] = true
    end
  end
  local function expect_error(kind, fn, pattern)
    local ok, err = pcall(fn)
    if ok then
      unexpected[#unexpected + 1] = kind .. ": succeeded but should have failed"
    elseif pattern and not tostring(type(err) == "table" and err.message or err):find(pattern) then
      unexpected[#unexpected + 1] = kind .. ": unexpected error: " .. tostring(err)
    end
  end

  local ops = {
    query = function(i)
      local r = w:query("select $1::int + 1 as n", i)
      if r[1].n ~= i + 1 then
        unexpected[#unexpected + 1] = "query: wrong answer " .. tostring(r[1].n)
      end
    end,
    tx_ok = function(i, j)
      local ids = { i * 100 + j * 2, i * 100 + j * 2 + 1 }
      w:transaction(function(tx)
        tx:exec("insert into soak_rows values ($1)", ids[1])
        tx:exec("insert into soak_rows values ($1)", ids[2])
      end)
      commit(ids)
    end,
    tx_fail_lua = function(i, j)
      expect_error("tx_fail_lua", function()
        w:transaction(function(tx)
          tx:exec("insert into soak_rows values ($1)", i * 100 + j * 2)
          error("half-way", 0)
        end)
      end, "half%-way")
    end,
    tx_fail_sql = function(i, j)
      expect_error("tx_fail_sql", function()
        w:transaction(function(tx)
          tx:exec("insert into soak_rows values ($1)", i * 100 + j * 2)
          tx:query("select 1/0")
        end)
      end, "division by zero")
    end,
    script_fail = function(i, j)
      expect_error("script_fail", function()
        w:exec(("BEGIN; INSERT INTO soak_rows VALUES (%d); COPY soak_rows FROM '%smissing/none-%d.csv' "
          .. "IAM_ROLE 'arn:aws:iam::1:role/r' CSV; COMMIT;"):format(i * 100 + j * 2, B, i))
      end)
    end,
    rows_early = function(i)
      local stop = math.random(1, 500)
      local seen = 0
      for row in w:rows("select generate_series(1, 100000) as n") do
        seen = row.n
        if row.n >= stop then
          break
        end
      end
      if seen ~= stop then
        unexpected[#unexpected + 1] = ("rows_early %d: stopped at %s, not %d"):format(i, seen, stop)
      end
    end,
    timeout_stmt = function()
      expect_error("timeout_stmt", function()
        lode.timeout(math.random(1, 40), function() w:query("select pg_sleep(5)") end)
      end, "timed out")
    end,
    timeout_tx = function(i, j)
      expect_error("timeout_tx", function()
        lode.timeout(math.random(1, 40), function()
          w:transaction(function(tx)
            tx:exec("insert into soak_rows values ($1)", i * 100 + j * 2)
            tx:query("select pg_sleep(5)")
          end)
        end)
      end, "timed out")
    end,
    spawn_raise = function(i)
      local h = lode.spawn(function()
        w:query("select $1::int as n", i)
        error("spawned task fails", 0)
      end)
      expect_error("spawn_raise", function() h:await() end, "spawned task fails")
    end,
    spawn_raise_holding = function(i, j)
      local h = lode.spawn(function()
        w:with_conn(function(c)
          c:query("BEGIN")
          c:query("insert into soak_rows values ($1)", { i * 100 + j * 2 })
          error("spawned task fails holding a connection", 0)
        end)
      end)
      expect_error("spawn_raise_holding", function() h:await() end, "holding a connection")
    end,
    copy = function()
      local o = take_object()
      if not o then
        return
      end
      local r = copy.into(w, { table = tbl, from = o.url, format = "csv" })
      if r.rows ~= 3 then
        unexpected[#unexpected + 1] = ("copy %s: %d rows"):format(o.url, r.rows)
      end
      commit(o.ids)
    end,
    copy_session = function()
      local o = take_object()
      if not o then
        return
      end
      local n = w:session(function(s)
        return s:exec(("COPY %s FROM '%s' IAM_ROLE 'arn:aws:iam::1:role/r' CSV"):format(tbl, o.url))
      end)
      if n ~= 3 then
        unexpected[#unexpected + 1] = ("copy_session %s: %d rows"):format(o.url, n)
      end
      commit(o.ids)
    end,
    copy_tx_fail = function()
      local o = take_object()
      if not o then
        return
      end
      expect_error("copy_tx_fail", function()
        w:transaction(function(tx)
          copy.into(tx, { table = tbl, from = o.url, format = "csv" })
          error("after the copy", 0)
        end)
      end, "after the copy")
    end,
  }
  local kinds = {}
  for k in pairs(ops) do
    if k ~= "spawn_raise_holding" or holding_raise then
      kinds[#kinds + 1] = k
    end
  end
  table.sort(kinds)

  -- the whole plan is drawn up front, so the seed alone decides it
  local plan = {}
  for i = 1, TASKS do
    plan[i] = {}
    for j = 1, math.random(1, 3) do
      plan[i][j] = kinds[math.random(#kinds)]
    end
  end

  local t0 = lode.now()
  local handles = {}
  for i = 1, TASKS do
    handles[i] = lode.spawn(function()
      for j, kind in ipairs(plan[i]) do
        counts[kind] = (counts[kind] or 0) + 1
        local op_t0 = lode.now()
        local ok, err = pcall(ops[kind], i, j)
        spent[kind] = (spent[kind] or 0) + (lode.now() - op_t0)
        if not ok then
          unexpected[#unexpected + 1] = ("task %d op %d (%s): %s"):format(i, j, kind, tostring(err))
        end
      end
    end)
  end
  local finished = 0
  for i = 1, TASKS do
    local left = DEADLINE_MS - (lode.now() - t0)
    if handles[i]:done() or (left > 0 and handles[i]:wait(left)) then
      finished = finished + 1
    end
  end
  local shown = {}
  for _, k in ipairs(kinds) do
    shown[#shown + 1] = ("%s=%d/%dms"):format(k, counts[k] or 0, spent[k] or 0)
  end
  t.diag(("%d/%d tasks finished in %d ms: %s"):format(finished, TASKS, lode.now() - t0, table.concat(shown, " ")))
  if finished < TASKS then
    local stuck = {}
    for i = 1, TASKS do
      if not handles[i]:done() then
        stuck[#stuck + 1] = ("%d:%s"):format(i, table.concat(plan[i], ","))
      end
    end
    t.diag(("unfinished: %s; pool open %d, idle %d, waiting %d"):format(table.concat(stuck, " "), w._open,
      #w._idle, w._wait_tail - w._wait_head + 1))
  end
  t.eq(finished, TASKS, "every task finished (seed " .. seed .. ")")
  t.eq(unexpected, {}, "seed " .. seed)

  -- every connection idle and back in the pool (settling ones are waited for)
  local held, states = {}, {}
  for i = 1, POOL do
    held[i] = w:acquire()
    states[i] = held[i]:transaction_status() .. "/" .. held[i]:status()
  end
  for _, c in ipairs(held) do
    w:release(c)
  end
  t.eq(states, { "idle/ready", "idle/ready", "idle/ready", "idle/ready" }, "seed " .. seed)
  t.eq({ open = w._open, idle = #w._idle }, { open = POOL, idle = POOL }, "seed " .. seed)

  -- the oracle: PostgreSQL on a connection outside the pool
  local c = pg.connect(url)
  local got = {}
  for _, row in ipairs(c:query("select id from soak_rows order by id")) do
    got[#got + 1] = row.id
  end
  local want = {}
  for id in pairs(committed) do
    want[#want + 1] = id
  end
  table.sort(want)
  t.eq(got, want, "committed rows (seed " .. seed .. ")")
  local busy = c:query("select count(*)::int as n from pg_stat_activity where query = 'select pg_sleep(5)' "
    .. "and state = 'active'")[1].n
  t.eq(busy, 0, "no cancelled statement still runs")
  c:close()
  w:exec("drop table " .. tbl)
  w:close()
end)
