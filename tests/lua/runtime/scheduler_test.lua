local t = require "lode.test"
local lode = require "lode"
local core = require "lode.core"

t.test("spawn and await return the task's values", function()
  local h = lode.spawn(function(a, b) return a + b, "x" end, 2, 3)
  local s, x = h:await()
  t.eq(s, 5)
  t.eq(x, "x")
  t.eq(h:status(), "ok")
end)

t.test("await re-raises the task's error", function()
  local h = lode.spawn(function() error("boom", 0) end)
  t.raises(function() h:await() end, "boom")
  t.eq(h:status(), "failed")
end)

t.test("sleeping tasks overlap in time", function()
  -- every task starts its sleep before any of them wakes: they wait together
  local started, first_wake = 0, nil
  local hs = {}
  for i = 1, 20 do
    hs[i] = lode.spawn(function()
      started = started + 1
      lode.sleep(100)
      first_wake = first_wake or started
      return i
    end)
  end
  for i = 1, 20 do
    t.eq(hs[i]:await(), i)
  end
  t.eq(first_wake, 20, "all 20 tasks were sleeping when the first one woke")
end)

t.test("lode.all returns every first result in order", function()
  local r = lode.all {
    function() lode.sleep(30); return "a" end,
    function() return "b" end,
    function() lode.sleep(10); return "c" end,
  }
  t.eq(r, { "a", "b", "c" })
end)

t.test("lode.all: the first error cancels the rest", function()
  local finished = false
  local err = t.raises(function()
    lode.all {
      function() lode.sleep(5000); finished = true end,
      function() lode.sleep(10); error("second failed", 0) end,
    }
  end, "second failed")
  t.ok(err)
  lode.sleep(50)
  t.eq(finished, false, "the sleeping sibling was cancelled")
end)

t.test("lode.timeout cancels a slow function with a clear error", function()
  local reached = false
  local err = t.raises(function()
    lode.timeout(50, function() lode.sleep(10000); reached = true end)
  end, "timed out after 50 ms")
  t.eq(err.code, "timeout")
  t.eq(err.retryable, true)
  t.eq(reached, false)
  t.eq(lode.timeout(1000, function(x) return x * 2 end, 21), 42)
end)

t.test("a cancelled task's children are cancelled too", function()
  local child_done = false
  local parent = lode.spawn(function()
    local c = lode.spawn(function() lode.sleep(200); child_done = true end)
    c:await()
  end)
  lode.sleep(10)
  parent:cancel()
  t.eq(parent:status(), "cancelled")
  lode.sleep(300)
  t.eq(child_done, false)
end)

t.test("wait(ms) reports whether the task finished", function()
  local h = lode.spawn(function() lode.sleep(200) end)
  t.eq(h:wait(10), false)
  t.eq(h:done(), false)
  t.eq(h:wait(), true)
end)

t.test("semaphore bounds concurrency", function()
  local sem = lode.semaphore(3)
  local active, peak = 0, 0
  local fns = {}
  for i = 1, 12 do
    fns[i] = function()
      sem:with(function()
        active = active + 1
        peak = math.max(peak, active)
        lode.sleep(10)
        active = active - 1
      end)
    end
  end
  lode.all(fns)
  t.eq(peak, 3)
  t.eq(active, 0)
end)

t.test("a semaphore skips waiters that were cancelled", function()
  local sem = lode.semaphore(1)
  sem:acquire()
  local w = lode.spawn(function() sem:acquire() end)
  lode.sleep(5)
  w:cancel()
  sem:release()
  -- the permit must not be lost to the cancelled waiter
  t.eq(lode.timeout(500, function() sem:acquire(); return true end), true)
end)

t.test("a permit handed to a waiter cancelled before it ran is not lost", function()
  local sem = lode.semaphore(1)
  sem:acquire()
  local w = lode.spawn(function() sem:acquire() end)
  lode.sleep(5)          -- w now waits in the queue
  sem:release()          -- hands the permit to w, which is queued to run...
  w:cancel()             -- ...but is cancelled before it does
  t.eq(lode.timeout(500, function() sem:acquire(); return true end), true)
end)

t.test("futures carry values between tasks", function()
  local f = lode.future()
  lode.spawn(function() lode.sleep(10); f:set("v", 2) end)
  local a, b = f:await()
  t.eq(a, "v")
  t.eq(b, 2)
  local g = lode.future()
  g:fail("nope")
  t.raises(function() g:await() end, "nope")
end)

t.test("an async call outside a task fails with a clear message", function()
  local co = coroutine.create(function() lode.sleep(1) end)
  local ok, err = coroutine.resume(co)
  t.eq(ok, false)
  t.contains(err, "must be called from a lode task")
end)

t.test("an async call where yielding is impossible fails clearly", function()
  -- table.sort calls the comparator from C without a continuation
  local err = t.raises(function()
    table.sort({ 3, 1, 2 }, function(a, b) lode.sleep(1); return a < b end)
  end)
  t.contains(tostring(err), "cannot wait here")
end)

t.test("structured errors have fields and a readable form", function()
  local err = t.raises(function() lode.error { op = "s3.get", code = "NoSuchKey", message = "not found", key = "s3://b/k" } end)
  t.eq(err.code, "NoSuchKey")
  t.ok(lode.is_error(err))
  t.contains(tostring(err), "s3.get: not found")
  t.contains(tostring(err), "s3://b/k")
end)

t.test("proc.run captures output and status", function()
  local proc = require "lode.proc"
  local r = proc.run({ "sh", "-c", "cat; echo err >&2; exit 3" }, { stdin = "hello" })
  t.eq(r.status, 3)
  t.eq(r.stdout, "hello")
  t.eq(r.stderr, "err\n")
  local r2 = proc.run({ "sleep", "5" }, { timeout = 50 })
  t.eq(r2.timed_out, true)
  t.raises(function() proc.run({ "/nonexistent/program" }) end, "no such file")
end)

t.test("many tasks finish and are released", function()
  local before = core.live_tasks()
  local hs = {}
  for i = 1, 2000 do
    hs[i] = lode.spawn(function() lode.sleep(1) end)
  end
  for i = 1, 2000 do hs[i]:await() end
  t.eq(core.live_tasks(), before)
end)

-- A value whose __close records that it ran (and the error it was given).
local function closer(log, name)
  return setmetatable({}, { __close = function(_, err) log[#log + 1] = { name, err } end })
end

t.test("a task that dies by error runs its <close> handlers, innermost first, with its error", function()
  local log = {}
  local boom = { message = "boom" }
  local h = lode.spawn(function()
    local outer <close> = closer(log, "outer")
    local function inner()
      local x <close> = closer(log, "inner")
      lode.sleep(1) -- dies after a yield, like a failed query
      error(boom)
    end
    inner()
  end)
  local ok, err = pcall(h.await, h)
  t.eq(ok, false)
  t.ok(err == boom, "await raises the very error object the task died with")
  t.eq(#log, 2, "both handlers ran")
  t.eq(log[1][1], "inner")
  t.eq(log[2][1], "outer")
  t.ok(log[1][2] == boom and log[2][2] == boom, "each handler saw the task's error")
  t.eq(h:status(), "failed")
end)

t.test("lode.timeout, lode.all and a cancelled parent run the <close> handlers of every task they end", function()
  local log = {}
  -- an error inside lode.timeout
  t.raises(function()
    lode.timeout(5000, function()
      local c <close> = closer(log, "timeout-error")
      error("inner failure", 0)
    end)
  end, "inner failure")
  -- the timeout itself
  t.raises(function()
    lode.timeout(20, function()
      local c <close> = closer(log, "timed-out")
      lode.sleep(10000)
    end)
  end, "timed out after 20 ms")
  -- lode.all: the failing task and the sibling it cancels
  t.raises(function()
    lode.all {
      function() local c <close> = closer(log, "all-failed"); lode.sleep(5); error("all failure", 0) end,
      function() local c <close> = closer(log, "all-cancelled"); lode.sleep(10000) end,
    }
  end, "all failure")
  -- structured cancel: a parent's cancel takes its child's handlers along
  local parent = lode.spawn(function()
    local c <close> = closer(log, "parent")
    lode.spawn(function() local cc <close> = closer(log, "child"); lode.sleep(10000) end)
    lode.sleep(10000)
  end)
  lode.sleep(5)
  parent:cancel()
  local ran = {}
  for _, e in ipairs(log) do ran[e[1]] = (ran[e[1]] or 0) + 1 end
  t.eq(ran, { ["timeout-error"] = 1, ["timed-out"] = 1, ["all-failed"] = 1, ["all-cancelled"] = 1,
              parent = 1, child = 1 })
end)

t.test("an error raised by a <close> handler is logged and does not replace the task's error", function()
  local dir = t.tmpdir()
  local path = dir .. "/close_error.lua"
  local f = assert(io.open(path, "w"))
  f:write([[
local lode = require "lode"
local function failing(msg)
  return setmetatable({}, { __close = function() error(msg, 0) end })
end
local h = lode.spawn(function()
  local c <close> = failing("handler failed after an error")
  lode.sleep(1)
  error("the task's own error", 0)
end)
local ok, err = pcall(h.await, h)
print(ok, err)
local k = lode.spawn(function()
  local c <close> = failing("handler failed during a cancel")
  lode.sleep(10000)
end)
lode.sleep(5)
k:cancel()
print(k:status())
]])
  f:close()
  local r = require("lode.proc").run({ t.env("LODE_BIN", "tests/run.sh sets it"), "run", path })
  t.eq(r.status, 0, r.stderr)
  t.eq(r.stdout, "false\tthe task's own error\ncancelled\n")
  t.contains(r.stderr, "a <close> handler failed while the task ended by error (the task keeps its own error): handler failed after an error")
  t.contains(r.stderr, "a <close> handler failed while the task was cancelled: handler failed during a cancel")
end)

t.test("sleeps share one timer: they wake in deadline order, FIFO among equal ones, a cancelled one never", function()
  -- durations in a shuffled order, several per deadline; the wake order must sort them
  local order, hs = {}, {}
  local durations = { 30, 10, 20, 10, 0, 30, 20, 0, 10, 40, 40, 5 }
  for i, ms in ipairs(durations) do
    hs[i] = lode.spawn(function()
      lode.sleep(ms)
      order[#order + 1] = i
    end)
  end
  local cancelled = lode.spawn(function() lode.sleep(20); order[#order + 1] = "cancelled" end)
  local alone = lode.spawn(function() lode.sleep(25); order[#order + 1] = "alone-cancelled" end)
  lode.sleep(0)
  cancelled:cancel()
  alone:cancel()   -- the only sleep with its deadline: its bucket goes away
  for i = 1, #durations do hs[i]:await() end
  local want = {}
  for i = 1, #durations do want[i] = i end
  table.sort(want, function(a, b)
    if durations[a] ~= durations[b] then return durations[a] < durations[b] end
    return a < b
  end)
  t.eq(order, want)
end)

t.test("a cancelled long sleep leaves no timer behind: a stuck run is reported as a deadlock at once", function()
  local proc = require "lode.proc"
  local dir = t.tmpdir()
  local path = dir .. "/stuck.lua"
  local f = assert(io.open(path, "w"))
  f:write([[
local lode = require "lode"
local core = require "lode.core"
local h = lode.spawn(function() lode.sleep(3600000) end)
lode.sleep(0)
h:cancel()
core.future():await()
]])
  f:close()
  local bin = os.getenv("LODE_BIN") or ((os.getenv("LODE_ROOT") or ".") .. "/build/lode")
  local r = proc.run({ bin, "run", path }, { timeout = 50000 })
  t.ok(not r.timed_out, "the run ended instead of waiting for the cancelled hour-long sleep")
  t.ne(r.status, 0)
  t.contains(r.stderr, "deadlock")
end)

-- Fairness: the run queue is run in batches, and libuv gets a turn between two
-- batches. Counted in resumes of other tasks, never in time: how many ran
-- between an event becoming due and the loop noticing it (the waiting task's
-- status turning from "waiting" to "ready" is the loop's callback at work).
local SPINNERS, BATCH = 20000, 1024

t.test("a due timer is seen after at most one batch of resumes, however many tasks are runnable", function()
  local resumes, slept_at, seen_at = 0, nil, nil
  local sleeper = lode.spawn(function()
    slept_at = resumes
    lode.sleep(0)               -- due at the next loop turn
  end)
  local hs = {}
  for i = 1, SPINNERS do
    hs[i] = lode.spawn(function()
      while not seen_at do
        if slept_at and sleeper:status() ~= "waiting" then seen_at = resumes; break end
        resumes = resumes + 1
        coroutine.yield()       -- a plain yield: runnable again at once
      end
    end)
  end
  for i = 1, SPINNERS do hs[i]:await() end
  sleeper:await()
  t.ok(seen_at - slept_at <= BATCH,
       ("the timer fired after %d resumes of %d runnable tasks (at most %d)"):format(seen_at - slept_at, SPINNERS, BATCH))
end)

t.test("an I/O event is seen after at most one batch of resumes, however many tasks are runnable", function()
  -- SIGTERM wakes signal.wait through libuv's async handle (an eventfd read in
  -- the loop's poll phase); the signal is sent by a child process that has
  -- exited before os.execute returns, so the handler has run by then.
  local dir = t.tmpdir()
  local path = dir .. "/io_fair.lua"
  local f = assert(io.open(path, "w"))
  f:write(([[
local lode = require "lode"
local signal = require "lode.signal"
signal.configure { grace_ms = 3600000 }
local pid = assert(io.open("/proc/self/stat")):read("n")
local resumes, sent_at, seen_at = 0, nil, nil
local waiter = lode.spawn(function() return signal.wait() end)
lode.sleep(0)
assert(waiter:status() == "waiting")
local hs = {}
for i = 1, %d do
  hs[i] = lode.spawn(function()
    while not seen_at do
      if not sent_at then
        assert(os.execute("kill -TERM " .. pid))
        assert(signal.received() == "SIGTERM")
        sent_at = resumes
      elseif waiter:status() ~= "waiting" then
        seen_at = resumes
        break
      end
      resumes = resumes + 1
      coroutine.yield()
    end
  end)
end
for i = 1, #hs do hs[i]:await() end
assert(waiter:await() == "SIGTERM")
print(seen_at - sent_at)
]]):format(SPINNERS))
  f:close()
  local r = require("lode.proc").run({ t.env("LODE_BIN", "tests/run.sh sets it"), "run", path })
  t.eq(r.status, 0, r.stderr)
  local n = tonumber(r.stdout)
  t.ok(n and n <= BATCH, ("the signal's wake-up was seen after %s resumes of %d runnable tasks (at most %d)"):format(r.stdout:gsub("%s+$", ""), SPINNERS, BATCH))
end)

-- Tasks start when the run queue reaches them, and the threads of finished
-- tasks are reused by later ones: a backlog of spawned tasks does not hold a
-- Lua thread each, and woken tasks are not kept waiting behind it.
local START_BATCH = 512

t.test("a backlog of spawned tasks runs only a bounded number at once: woken tasks finish while later ones start", function()
  -- each task is inside from its start to its end, across one sleep(0) (due
  -- at the next loop turn): counted in tasks, not time
  local N, inside, peak = 50000, 0, 0
  local hs = {}
  for i = 1, N do
    hs[i] = lode.spawn(function()
      inside = inside + 1
      if inside > peak then peak = inside end
      lode.sleep(0)
      inside = inside - 1
      return i
    end)
  end
  for i = 1, N do t.eq(hs[i]:await(), i) end
  t.ok(peak <= 2 * START_BATCH, ("at most %d of %d tasks were inside at once (%d)"):format(2 * START_BATCH, N, peak))
end)

t.test("tasks start in spawn order, and a spawned task starts before the spawner's lode.yield returns", function()
  local order = {}
  local hs = {}
  for i = 1, 3 * START_BATCH do
    hs[i] = lode.spawn(function() order[#order + 1] = i end)
  end
  lode.yield()
  t.ok(#order >= 1, "the first spawned task ran during the spawner's yield")
  for i = 1, #hs do hs[i]:await() end
  local want = {}
  for i = 1, 3 * START_BATCH do want[i] = i end
  t.eq(order, want)
  local ran = false
  lode.spawn(function() ran = true end)
  lode.yield()
  t.eq(ran, true)
end)

t.test("spawn passes every argument, nils included, to a task that starts later", function()
  local h = lode.spawn(function(...) return select("#", ...), ... end, nil, 2, nil)
  local n, a, b, c = h:await()
  t.eq(n, 3)
  t.eq(a, nil)
  t.eq(b, 2)
  t.eq(c, nil)
  local many = {}
  for i = 1, 200 do many[i] = i end
  t.eq(lode.spawn(function(...) return select("#", ...) end, table.unpack(many)):await(), 200)
end)

t.test("a task cancelled before it started never runs, and awaiting it raises the cancel", function()
  local ran = false
  local h = lode.spawn(function() ran = true end)
  t.eq(h:status(), "ready")
  h:cancel()
  t.eq(h:status(), "cancelled")
  local err = t.raises(function() h:await() end)
  t.eq(err.code, "cancelled")
  lode.sleep(0)
  t.eq(ran, false)
  -- a parent cancelled before it started has no children to take along
  local p = lode.spawn(function() lode.spawn(function() ran = true end) end)
  p:cancel()
  lode.sleep(0)
  t.eq(ran, false)
end)

t.test("finished tasks keep their results and errors while later tasks reuse their threads", function()
  local hs = {}
  for i = 1, 3000 do
    hs[i] = lode.spawn(function()
      -- each task knows itself, whichever thread it got
      t.eq(tostring(core.current()), tostring(hs[i]))
      lode.sleep(0)
      if i % 1000 == 0 then error("task " .. i .. " failed", 0) end
      return i, "r" .. i
    end)
  end
  t.eq(core.wait_all(hs), 1000)
  for i = 1, 3000 do
    t.eq(hs[i]:wait(), true)
  end
  -- every task has ended: a later batch reuses (some of) their threads
  local later = {}
  for i = 1, 2000 do
    later[i] = lode.spawn(function() t.eq(tostring(core.current()), tostring(later[i])); return -i end)
  end
  for i = 1, 2000 do t.eq(later[i]:await(), -i) end
  for i = 1, 3000 do
    if i % 1000 == 0 then
      t.raises(function() hs[i]:await() end, "task " .. i .. " failed")
    else
      local a, b = hs[i]:await()
      t.eq(a, i)
      t.eq(b, "r" .. i)
    end
  end
end)

t.test("a thread coroutine.running() handed out is never another task's: per-coroutine state does not leak", function()
  -- the usual Lua idiom: state kept per coroutine in a weak table
  local state = setmetatable({}, { __mode = "k" })
  local kept = {}
  local first = {}
  for i = 1, 2000 do
    first[i] = lode.spawn(function()
      local co = coroutine.running()
      state[co] = i
      kept[i] = co
      lode.sleep(0)
      return i
    end)
  end
  for i = 1, 2000 do t.eq(first[i]:await(), i) end
  local seen = 0
  local later = {}
  for i = 1, 4000 do
    later[i] = lode.spawn(function()
      if state[coroutine.running()] ~= nil then seen = seen + 1 end
      lode.sleep(0)
      return i
    end)
  end
  for i = 1, 4000 do t.eq(later[i]:await(), i) end
  t.eq(seen, 0, "a later task saw an ended task's per-coroutine state")
  for i = 1, 2000 do
    t.eq(coroutine.status(kept[i]), "dead")
  end
end)

t.test("a task's <close> variables run once, when it returns, before its thread is reused", function()
  local log = {}
  local hs = {}
  for i = 1, 1500 do
    hs[i] = lode.spawn(function()
      local c <close> = closer(log, i)
      lode.sleep(0)
      return i
    end)
  end
  for i = 1, 1500 do t.eq(hs[i]:await(), i) end
  t.eq(#log, 1500)
  local seen = {}
  for _, e in ipairs(log) do
    t.eq(seen[e[1]], nil, "handler of task " .. e[1] .. " ran once")
    seen[e[1]] = true
    t.eq(e[2], nil, "returned normally: no error")
  end
end)

t.test("a task spawned while more tasks than a batch keep yielding still starts, in its turn", function()
  -- 3000 started tasks yield in a loop, more than one batch: spawned tasks
  -- start fewer per turn then (START_MIN at least), but they do start, after
  -- the tasks queued before them
  local N, resumes, started, spawned_at, started_at = 3000, 0, 0, nil, nil
  local hs = {}
  for i = 1, N do
    hs[i] = lode.spawn(function()
      started = started + 1
      while not started_at and resumes < 100 * N do
        resumes = resumes + 1
        coroutine.yield()
      end
    end)
  end
  while started < N do lode.sleep(0) end
  spawned_at = resumes
  local h = lode.spawn(function() started_at = resumes end)
  for i = 1, N do hs[i]:await() end
  h:await()
  t.ok(resumes < 100 * N, "every task started, and the last one ended the others' loop")
  t.ok(started_at and started_at - spawned_at <= N,
       ("it started after %s resumes of the %d tasks queued before it"):format(started_at and started_at - spawned_at, N))
end)
