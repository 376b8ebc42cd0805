-- lode.pipeline — named tasks with dependencies, retries, timeouts and a
-- concurrency limit, run as a DAG: independent tasks in parallel, a failed
-- task's dependents skipped.

local core = require "lode.core"

local M = {}

local TaskSpec = { __name = "lode.task_spec" }
TaskSpec.__index = TaskSpec
local Pipeline = { __name = "lode.pipeline" }
Pipeline.__index = Pipeline

local function spec_error(msg, level)
  error(core.error({ op = "pipeline", code = "invalid_pipeline", exit_code = 2, message = msg }),
    level or 3)
end

local TASK_KEYS = {
  name = true, after = true, retries = true, retry_on = true, backoff = true,
  max_backoff = true, timeout = true, run = true, description = true,
}

--- task "name" { function(ctx) ... end, after = {...}, retries = n,
---   retry_on = function(err) -> bool, backoff = ms, max_backoff = ms, timeout = ms }
function M.task(name)
  if type(name) ~= "string" or name == "" then
    spec_error("lode.task: the task needs a name, as in lode.task \"load\" { ... }")
  end
  return function(spec)
    if type(spec) ~= "table" then
      spec_error(("task '%s': expected a table { function(ctx) ... end, ... }"):format(name))
    end
    local fn = spec.run or spec[1]
    if type(fn) ~= "function" then
      spec_error(("task '%s' has no function: write lode.task \"%s\" { function(ctx) ... end }")
        :format(name, name))
    end
    for k in pairs(spec) do
      if type(k) == "string" and not TASK_KEYS[k] then
        spec_error(("task '%s': unknown option '%s'"):format(name, k))
      end
    end
    local after = spec.after or {}
    if type(after) == "string" then
      after = { after }
    end
    local function opt_int(key, min)
      local v = spec[key]
      if v ~= nil and (math.type(v) ~= "integer" or v < min) then
        spec_error(("task '%s': %s must be an integer >= %d"):format(name, key, min))
      end
      return v
    end
    return setmetatable({
      name = name,
      fn = fn,
      after = after,
      retries = opt_int("retries", 0) or 0,
      retry_on = spec.retry_on,
      backoff = opt_int("backoff", 0) or 1000,
      max_backoff = opt_int("max_backoff", 0) or 60000,
      timeout = opt_int("timeout", 1),
      description = spec.description,
    }, TaskSpec)
  end
end

-- Find a cycle; returns the names along it ("a -> b -> a") or nil.
local function find_cycle(tasks, by_name)
  local state, stack = {}, {}
  local function visit(t)
    state[t.name] = "visiting"
    stack[#stack + 1] = t.name
    for _, dep in ipairs(t.after) do
      if state[dep] == "visiting" then
        local path, start = {}, nil
        for i, n in ipairs(stack) do
          if n == dep then
            start = i
          end
          if start then
            path[#path + 1] = n
          end
        end
        path[#path + 1] = dep
        return table.concat(path, " -> ")
      elseif state[dep] == nil then
        local c = visit(by_name[dep])
        if c then
          return c
        end
      end
    end
    stack[#stack] = nil
    state[t.name] = "done"
    return nil
  end
  for _, t in ipairs(tasks) do
    if state[t.name] == nil then
      local c = visit(t)
      if c then
        return c
      end
    end
  end
  return nil
end

local PIPELINE_KEYS = {
  concurrency = true, on_success = true, on_failure = true, params = true, description = true,
  warehouse = true, -- a lode.warehouse handle: runs are recorded in lode.runs and locked
}

--- pipeline "name" { task..., concurrency = n, on_success = fn(summary), on_failure = fn(summary) }
--- Validates names, dependencies and cycles before anything runs.
function M.pipeline(name)
  if type(name) ~= "string" or name == "" then
    spec_error("lode.pipeline: the pipeline needs a name, as in lode.pipeline \"daily\" { ... }")
  end
  return function(spec)
    local p = setmetatable({ name = name, tasks = {}, by_name = {} }, Pipeline)
    for k, v in pairs(spec) do
      if type(k) == "string" then
        if not PIPELINE_KEYS[k] then
          spec_error(("pipeline '%s': unknown option '%s'"):format(name, k))
        end
        p[k] = v
      end
    end
    for i, t in ipairs(spec) do
      if getmetatable(t) ~= TaskSpec then
        spec_error(("pipeline '%s': item %d is not a lode.task"):format(name, i))
      end
      if p.by_name[t.name] then
        spec_error(("pipeline '%s': two tasks are named '%s'"):format(name, t.name))
      end
      p.by_name[t.name] = t
      p.tasks[#p.tasks + 1] = t
    end
    if p.concurrency ~= nil and (math.type(p.concurrency) ~= "integer" or p.concurrency < 1) then
      spec_error(("pipeline '%s': concurrency must be a positive integer"):format(name))
    end
    for _, t in ipairs(p.tasks) do
      for _, dep in ipairs(t.after) do
        if not p.by_name[dep] then
          spec_error(("pipeline '%s': task '%s' runs after '%s', which is not a task in this pipeline")
            :format(name, t.name, dep))
        end
      end
    end
    local cycle = find_cycle(p.tasks, p.by_name)
    if cycle then
      spec_error(("pipeline '%s': dependency cycle: %s"):format(name, cycle))
    end
    return p
  end
end

function M.is_pipeline(v)
  return getmetatable(v) == Pipeline
end

-- The tasks to run: all, or the selected ones plus what they depend on.
function Pipeline:selection(names)
  if not names or #names == 0 then
    return self.tasks
  end
  local want = {}
  local function add(n)
    if want[n] then
      return
    end
    local t = self.by_name[n]
    if not t then
      local known = {}
      for _, x in ipairs(self.tasks) do
        known[#known + 1] = x.name
      end
      spec_error(("pipeline '%s' has no task '%s' (tasks: %s)")
        :format(self.name, n, table.concat(known, ", ")), 4)
    end
    want[n] = true
    for _, d in ipairs(t.after) do
      add(d)
    end
  end
  for _, n in ipairs(names) do
    add(n)
  end
  local out = {}
  for _, t in ipairs(self.tasks) do
    if want[t.name] then
      out[#out + 1] = t
    end
  end
  return out
end

local function describe(err)
  if type(err) == "table" and err.message then
    return tostring(err)
  end
  return tostring(err)
end

-- Codes of misuse: a wrong argument stays wrong on the next attempt.
local USAGE_CODES = { usage = true, invalid = true, invalid_option = true, invalid_name = true,
  invalid_pipeline = true }

local function default_retry_on(err)
  -- Retry what can succeed later: structured errors say so; usage errors never;
  -- script bugs (plain strings) are retried unless retry_on says otherwise.
  if type(err) == "table" and err.retryable ~= nil then
    return err.retryable and true or false
  end
  if type(err) == "table" and (USAGE_CODES[err.code] or err.exit_code == 2) then
    return false
  end
  return true
end

-- The structured parts of an error, as log fields (JSON logs get them as keys).
local ERROR_FIELDS = { "op", "code", "sqlstate", "status", "key", "file", "line", "column",
  "retryable", "request_id" }
local function error_fields(err, fields)
  fields = fields or {}
  if type(err) == "table" then
    for _, k in ipairs(ERROR_FIELDS) do
      local v = err[k]
      if v ~= nil and (type(v) == "string" or type(v) == "number" or type(v) == "boolean") then
        fields[k == "line" and "statement_line" or k] = v
      end
    end
  end
  return fields
end
M.error_fields = error_fields

local function backoff_ms(t, attempt)
  local base = t.backoff * (2 ^ (attempt - 1))
  local jittered = base * (0.5 + math.random() * 0.5)
  return math.floor(math.min(jittered, t.max_backoff))
end

-- Run one task with its retries; returns status, attempts, error, traceback.
local function run_task(self, t, ctx)
  local attempt = 0
  while true do
    attempt = attempt + 1
    ctx.attempt = attempt
    local tb
    local ok, err = xpcall(function()
      if t.timeout then
        return require("lode").timeout(t.timeout, t.fn, ctx)
      end
      return t.fn(ctx)
    end, function(e)
      tb = debug.traceback(describe(e), 2)
      return e
    end)
    if ok then
      return "ok", attempt
    end
    local retry_on = t.retry_on or default_retry_on
    local can_retry = attempt <= t.retries
    if can_retry then
      local rok, rv = pcall(retry_on, err)
      can_retry = rok and rv
    end
    if not can_retry then
      core.log("error", ("failed after %d attempt%s: %s"):format(attempt, attempt == 1 and "" or "s",
        describe(err)), error_fields(err, { attempts = attempt }))
      if tb and (core.log_level() == "debug" or require("lode.cli").debugging()) then
        core.log("debug", tb)
      end
      return "failed", attempt, err, tb
    end
    local wait = backoff_ms(t, attempt)
    core.log("warn", ("attempt %d failed: %s; retrying in %d ms"):format(attempt, describe(err), wait),
      error_fields(err, { attempt = attempt, retry_in_ms = wait }))
    core.sleep(wait)
  end
end

--- pipeline:run{tasks = {...}, params = {...}} -> summary, ok
--- summary = { pipeline =, ok =, seconds =, tasks = { {name, status, attempts, seconds, error}, ... } }
function Pipeline:run(opts)
  opts = opts or {}
  local lode = require "lode"
  local selected = self:selection(opts.tasks)
  M.current_name = self.name -- lode.cursor's default pipeline
  local sem = self.concurrency and lode.semaphore(self.concurrency)
  local results, done, order = {}, {}, {}
  for _, t in ipairs(selected) do
    results[t.name] = { name = t.name, status = "pending", attempts = 0, seconds = 0 }
    done[t.name] = core.future()
    order[#order + 1] = t.name
  end
  local started = core.now()
  core.log("info", ("pipeline %s: %d task%s%s"):format(self.name, #selected, #selected == 1 and "" or "s",
    core.dry_run() and " (dry run: nothing is written)" or ""))
  local runners = {}
  self._runners = runners
  for _, t in ipairs(selected) do
    runners[#runners + 1] = core.spawn(function()
      core.set_task_name(t.name)
      local r = results[t.name]
      for _, dep in ipairs(t.after) do
        local st = done[dep]:await()
        if st ~= "ok" then
          r.status = "skipped"
          r.reason = ("'%s' %s"):format(dep, st == "skipped" and "was skipped" or "failed")
          core.log("warn", "skipped: " .. r.reason)
          done[t.name]:set("skipped")
          return
        end
      end
      if sem then
        sem:acquire()
      end
      if self._stopping then   -- a shutdown began while this task waited
        if sem then
          sem:release()
        end
        r.status, r.reason = "cancelled", self._stopping
        done[t.name]:set("cancelled")
        return
      end
      local t0 = core.now()
      r.started = t0
      r.status = "running"
      core.log("info", "started")
      local ctx = { name = t.name, pipeline = self.name, params = lode.params(), dry_run = core.dry_run() }
      local status, attempts, err, tb = run_task(self, t, ctx)
      if sem then
        sem:release()
      end
      r.status, r.attempts, r.seconds = status, attempts, (core.now() - t0) / 1000
      r.error, r.traceback = err and describe(err), tb
      r.error_value = err
      if status == "ok" then
        core.log("info", ("finished in %.3f s"):format(r.seconds), { attempts = attempts })
      end
      done[t.name]:set(status)
    end)
  end
  for _, h in ipairs(runners) do
    h:wait()
  end
  self._runners = nil
  local summary = { pipeline = self.name, tasks = {}, ok = true, seconds = (core.now() - started) / 1000,
    cancelled = self._stopping }
  for _, n in ipairs(order) do
    local r = results[n]
    if r.status == "running" or r.status == "pending" then
      -- its runner was cancelled by a shutdown: the task's statements were
      -- cancelled and its transactions rolled back
      r.status, r.reason = "cancelled", self._stopping or "cancelled"
      if r.started then
        r.seconds = (core.now() - r.started) / 1000
      end
    end
    summary.tasks[#summary.tasks + 1] = r
    if r.status ~= "ok" then
      summary.ok = false
    end
  end
  local hook = summary.ok and self.on_success or (not summary.ok and self.on_failure)
  if hook then
    local ok, err = pcall(hook, summary)
    if not ok then
      core.log("error", ("%s hook failed: %s"):format(summary.ok and "on_success" or "on_failure", describe(err)))
      summary.ok = false
    end
  end
  return summary, summary.ok
end

--- pipeline:cancel(reason): stop a run in progress — no task starts any more,
--- running tasks are cancelled (their queries cancelled, transactions rolled
--- back, uploads aborted) and reported as "cancelled" with the reason.
function Pipeline:cancel(reason)
  self._stopping = reason or "cancelled"
  for _, h in ipairs(self._runners or {}) do
    if not h:done() then
      h:cancel()
    end
  end
end

--- Format a summary as a table for people.
function M.format_summary(summary)
  local lines = {}
  local w = 4
  for _, r in ipairs(summary.tasks) do
    w = math.max(w, #r.name)
  end
  lines[#lines + 1] = ("%-" .. w .. "s  %-9s %8s %9s  %s"):format("TASK", "STATUS", "ATTEMPTS", "SECONDS", "DETAIL")
  for _, r in ipairs(summary.tasks) do
    local detail = r.error or r.reason or ""
    detail = detail:gsub("\n.*", "")
    lines[#lines + 1] = ("%-" .. w .. "s  %-9s %8d %9.3f  %s"):format(r.name, r.status, r.attempts, r.seconds, detail)
  end
  local counts = {}
  for _, r in ipairs(summary.tasks) do
    counts[r.status] = (counts[r.status] or 0) + 1
  end
  local parts = {}
  for _, s in ipairs { "ok", "failed", "skipped", "cancelled" } do
    if counts[s] then
      parts[#parts + 1] = ("%d %s"):format(counts[s], s)
    end
  end
  lines[#lines + 1] = ("pipeline %s %s in %.3f s (%s)"):format(summary.pipeline,
    summary.cancelled and ("CANCELLED by " .. summary.cancelled) or (summary.ok and "succeeded" or "FAILED"),
    summary.seconds, table.concat(parts, ", "))
  return table.concat(lines, "\n")
end

return M
