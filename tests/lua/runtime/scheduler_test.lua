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
