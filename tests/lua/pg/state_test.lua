-- lode.runs and the per-pipeline advisory lock, through `lode run`.
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"
local pg = require "lode.pg"
local state = require "lode.state"

local SCRIPT = [[
local lode = require "lode"
local wh = lode.warehouse()
return lode.pipeline "%s" {
  warehouse = wh,
  lode.task "load" { function() wh:exec("insert into state_out values (1)") end },
  lode.task "check" { after = { "load" }, function() assert(wh:query("select 1 as x")[1].x == 1) end },
}
]]

local function write_script(dir, name)
  local path = dir .. "/" .. name .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(SCRIPT:format(name))
  f:close()
  return path
end

local function lode_bin()
  return t.env("LODE_BIN", "tests/run.sh sets it")
end

t.test("a pipeline with a warehouse records its run and tasks in lode.runs", function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local wh = lode.warehouse(url)
  wh:exec("drop table if exists state_out")
  wh:exec("create table state_out (id int)")
  local path = write_script(t.tmpdir(), "state_ok")
  local r = proc.run({ lode_bin(), "run", path, "--run-id", "run-state-1" })
  t.eq(r.status, 0, r.stderr)
  local rows = wh:query("select task, status, attempts, seconds >= 0 as timed, finished_at is not null as finished from lode.runs where run_id = 'run-state-1' order by task")
  t.eq(#rows, 3)
  t.eq(rows[1].task, "")
  t.eq(rows[1].status, "ok")
  t.eq(rows[1].finished, true)
  t.eq(rows[2].task, "check")
  t.eq(rows[3].task, "load")
  t.eq(rows[3].status, "ok")
  t.eq(rows[3].attempts, 1)
  t.eq(rows[3].timed, true)
  t.eq(wh:query("select count(*)::int as n from state_out")[1].n, 1)
  wh:exec("drop table state_out")
  wh:close()
end)

t.test("a second run of the same pipeline fails fast with a clear message, or waits with --wait", { timeout = 120000 }, function()
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local wh = lode.warehouse(url)
  wh:exec("drop table if exists state_out")
  wh:exec("create table state_out (id int)")
  local path = write_script(t.tmpdir(), "state_locked")
  -- another "run" holds the lock
  local holder = pg.connect(url)
  state.lock(holder, "state_locked")
  local r = proc.run({ lode_bin(), "run", path })
  t.eq(r.status, 3, r.stderr)
  t.contains(r.stderr, "pipeline 'state_locked' is already running against this warehouse")
  t.contains(r.stderr, "--wait")
  t.eq(wh:query("select count(*)::int as n from state_out")[1].n, 0, "nothing ran")
  -- --wait: blocks on the lock until it is released, then runs
  local waiting = lode.spawn(function() return proc.run({ lode_bin(), "run", path, "--wait" }) end)
  local seen = false
  for _ = 1, 1000 do
    local q = wh:query([[select count(*)::int as n from pg_stat_activity
      where query like 'SELECT pg_advisory_lock%' and wait_event_type = 'Lock']])
    if q[1].n > 0 then seen = true break end
    lode.sleep(10)
  end
  t.ok(seen, "the second run waits on the lock")
  t.eq(wh:query("select count(*)::int as n from state_out")[1].n, 0, "and has not run yet")
  state.unlock(holder, "state_locked")
  local done = waiting:await()
  t.eq(done.status, 0, done.stderr)
  t.eq(wh:query("select count(*)::int as n from state_out")[1].n, 1)
  holder:close()
  wh:exec("drop table state_out")
  wh:close()
end)
