local t = require "lode.test"
require("lode.core").configure_log({ level = "off" })  -- failures below are expected
local lode = require "lode"

local function quiet(fn)
  -- pipelines log at info; tests run at warn, nothing to silence
  return fn()
end

t.test("tasks run in dependency order and independent tasks overlap", function()
  local events = {}
  local function mark(what) events[#events + 1] = { what, lode.now() } end
  local p = lode.pipeline "order" {
    lode.task "extract_a" { function() mark("a+"); lode.sleep(100); mark("a-") end },
    lode.task "extract_b" { function() mark("b+"); lode.sleep(100); mark("b-") end },
    lode.task "load" { after = { "extract_a", "extract_b" }, function() mark("load") end },
  }
  local summary, ok = quiet(function() return p:run() end)
  t.eq(ok, true)
  local at = {}
  for i, e in ipairs(events) do at[e[1]] = i end
  t.ok(at["load"] > at["a-"] and at["load"] > at["b-"], "load ran after both extracts")
  t.ok(at["b+"] < at["a-"] and at["a+"] < at["b-"], "the extracts overlapped in time")
  t.eq(#summary.tasks, 3)
end)

t.test("a dependency cycle is rejected with its names before anything runs", function()
  local ran = false
  local err = t.raises(function()
    lode.pipeline "cyclic" {
      lode.task "a" { after = { "c" }, function() ran = true end },
      lode.task "b" { after = { "a" }, function() ran = true end },
      lode.task "c" { after = { "b" }, function() ran = true end },
    }
  end, "dependency cycle")
  t.match(tostring(err.message), "a %-> c %-> b %-> a")
  t.eq(err.exit_code, 2)
  t.eq(ran, false)
end)

t.test("an unknown dependency is rejected with both names", function()
  t.raises(function()
    lode.pipeline "bad" { lode.task "load" { after = { "extrct" }, function() end } }
  end, "task 'load' runs after 'extrct', which is not a task in this pipeline")
end)

t.test("a task that fails twice then succeeds with retries = 3", function()
  local calls = 0
  local p = lode.pipeline "flaky" {
    lode.task "fetch" { retries = 3, backoff = 5, function(ctx)
      calls = calls + 1
      if ctx.attempt < 3 then error("transient failure " .. ctx.attempt) end
    end },
  }
  local summary, ok = p:run()
  t.eq(ok, true)
  t.eq(calls, 3)
  t.eq(summary.tasks[1].attempts, 3)
  t.eq(summary.tasks[1].status, "ok")
end)

t.test("retry_on decides which errors are retried", function()
  local calls = 0
  local p = lode.pipeline "no-retry" {
    lode.task "fetch" { retries = 5, backoff = 1,
      retry_on = function(err) return lode.is_error(err) and err.retryable end,
      function() calls = calls + 1; lode.error { code = "AccessDenied", message = "denied", retryable = false } end },
  }
  local summary, ok = p:run()
  t.eq(ok, false)
  t.eq(calls, 1)
  t.eq(summary.tasks[1].status, "failed")
end)

t.test("a timed-out task fails with 'timed out after N ms' while the others finish", function()
  local other_done = false
  local p = lode.pipeline "timeouts" {
    lode.task "slow" { timeout = 50, function() lode.sleep(5000) end },
    lode.task "fast" { function() lode.sleep(80); other_done = true end },
  }
  local summary, ok = p:run()
  t.eq(ok, false)
  local by = {}
  for _, r in ipairs(summary.tasks) do by[r.name] = r end
  t.eq(by.slow.status, "failed")
  t.contains(by.slow.error, "timed out after 50 ms")
  t.eq(by.fast.status, "ok")
  t.eq(other_done, true)
end)

t.test("a failing task's dependents are skipped, independent tasks still run", function()
  local p = lode.pipeline "skips" {
    lode.task "extract" { function() error("source is down", 0) end },
    lode.task "load" { after = { "extract" }, function() error("must not run") end },
    lode.task "report" { after = { "load" }, function() error("must not run") end },
    lode.task "other" { function() end },
  }
  local summary, ok = p:run()
  t.eq(ok, false)
  local st = {}
  for _, r in ipairs(summary.tasks) do st[r.name] = r.status end
  t.eq(st, { extract = "failed", load = "skipped", report = "skipped", other = "ok" })
end)

t.test("concurrency bounds how many tasks run at once", function()
  local active, peak = 0, 0
  local tasks = { concurrency = 2 }
  for i = 1, 6 do
    tasks[i] = lode.task("t" .. i) { function()
      active = active + 1; peak = math.max(peak, active)
      lode.sleep(20)
      active = active - 1
    end }
  end
  local _, ok = lode.pipeline "bounded" (tasks):run()
  t.eq(ok, true)
  t.eq(peak, 2)
end)

t.test("selecting a task runs it and what it depends on, nothing else", function()
  local ran = {}
  local p = lode.pipeline "select" {
    lode.task "a" { function() ran.a = true end },
    lode.task "b" { after = { "a" }, function() ran.b = true end },
    lode.task "c" { function() ran.c = true end },
  }
  local _, ok = p:run { tasks = { "b" } }
  t.eq(ok, true)
  t.eq(ran, { a = true, b = true })
  t.raises(function() p:run { tasks = { "nope" } } end, "has no task 'nope'")
end)

t.test("hooks see the summary", function()
  local seen
  local p = lode.pipeline "hooks" {
    on_failure = function(s) seen = s end,
    lode.task "x" { function() error("bad", 0) end },
  }
  p:run()
  t.eq(seen.ok, false)
  t.eq(seen.tasks[1].error, "bad")
end)

t.test("unknown task options are refused", function()
  t.raises(function() lode.task "x" { retires = 3, function() end } end, "unknown option 'retires'")
end)
