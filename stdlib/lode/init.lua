-- lode — the module pipelines require: tasks, time, logs, parameters, pipelines.
--
-- The scheduler itself is C (lode.core); this file gives it its public shape.
-- Other modules load lazily on first use: `lode.s3`, `lode.copy`, ... are
-- `require "lode.s3"`, `require "lode.copy"`, ...

local core = require "lode.core"

local lode = {}

lode.version = core.version
--- lode.null: the value of SQL NULL and JSON null (distinct from nil).
lode.null = core.null

--- lode.spawn(fn, ...) -> handle: run fn(...) as a new task. The handle has
--- :await() (results, or raises the task's error), :wait([ms]) (true when it
--- finished), :cancel(), :status(), :done().
lode.spawn = core.spawn
--- lode.sleep(ms): suspend the running task for ms milliseconds.
lode.sleep = core.sleep
--- lode.future() -> handle completed by :set(...) or :fail(err); await it like a task.
lode.future = core.future
--- lode.now() -> milliseconds on a monotonic clock.
lode.now = core.now
--- lode.time() -> wall-clock seconds since the epoch (float).
lode.time = core.time

--- lode.dry_run() -> true under `lode plan`: bindings describe writes instead of doing them.
function lode.dry_run()
  return core.dry_run()
end

--- lode.await(handle, ...) -> results of the task.
function lode.await(h)
  return h:await()
end

--- lode.yield(): let other ready tasks run before continuing.
function lode.yield()
  core.sleep(0)
end

--- lode.error{op=, code=, message=, retryable=} -> raise a structured error.
function lode.error(fields, level)
  if type(fields) == "string" then
    fields = { message = fields }
  end
  error(core.error(fields), level or 2)
end

--- lode.is_error(e) -> true when e is a structured lode error.
function lode.is_error(e)
  return type(e) == "table" and getmetatable(e) == getmetatable(core.error({}))
end

--- lode.all{fn_or_handle, ...} -> {first result of each}: run them concurrently
--- and wait for all; the first error cancels the others and is raised.
function lode.all(list)
  local handles = {}
  for i, item in ipairs(list) do
    if type(item) == "function" then
      handles[i] = core.spawn(item)
    else
      handles[i] = item
    end
  end
  local failed = core.wait_all(handles)
  if failed then
    for i, h in ipairs(handles) do
      if i ~= failed and not h:done() then
        h:cancel()
      end
    end
    handles[failed]:await() -- raises its error
  end
  local results = {}
  for i, h in ipairs(handles) do
    results[i] = h:await()
  end
  return results
end

--- lode.timeout(ms, fn, ...) -> fn's results; raises "timed out after N ms"
--- (code "timeout", retryable) and cancels fn when it runs longer.
function lode.timeout(ms, fn, ...)
  if math.type(ms) ~= "integer" or ms < 0 then
    error("lode.timeout: ms must be a non-negative integer", 2)
  end
  local h = core.spawn(fn, ...)
  if not h:wait(ms) then
    h:cancel()
    error(core.error({ op = "timeout", code = "timeout", retryable = true,
                       message = ("timed out after %d ms"):format(ms) }))
  end
  return h:await()
end

local Semaphore = {}
Semaphore.__index = Semaphore

--- lode.semaphore(n) -> sem with :acquire(), :release() and :with(fn, ...),
--- letting at most n tasks hold it at once.
function lode.semaphore(n)
  if math.type(n) ~= "integer" or n < 1 then
    error("lode.semaphore: n must be a positive integer", 2)
  end
  return setmetatable({ count = n, size = n, queue = {}, head = 1, tail = 0 }, Semaphore)
end

function Semaphore:acquire()
  if self.count > 0 and self.head > self.tail then
    self.count = self.count - 1
    return
  end
  local f = core.future()
  self.tail = self.tail + 1
  self.queue[self.tail] = f
  -- cancelled after the permit was handed over but before running: pass it on
  local taken = false
  local guard <close> = setmetatable({}, { __close = function()
    if not taken and f:status() == "ok" then
      self:release()
    end
  end })
  f:await()
  taken = true
end

function Semaphore:release()
  while self.head <= self.tail do
    local f = self.queue[self.head]
    self.queue[self.head] = nil
    self.head = self.head + 1
    if f:waited() then -- hand the permit to a waiter that is still there
      f:set()
      return
    end
  end
  self.count = self.count + 1
end

function Semaphore:with(fn, ...)
  self:acquire()
  local r = table.pack(pcall(fn, ...))
  self:release()
  if not r[1] then
    error(r[2], 0)
  end
  return table.unpack(r, 2, r.n)
end

-- Logs ------------------------------------------------------------------------

--- lode.log.debug|info|warn|error(message [, fields]): a log line on stderr
--- (text, or JSON with --log-format json); fields is a flat table.
lode.log = {}
for _, level in ipairs { "debug", "info", "warn", "error" } do
  lode.log[level] = function(msg, fields)
    core.log(level, tostring(msg), fields)
  end
end

-- Parameters --------------------------------------------------------------------

local params = {}

--- lode.param(name [, default]) -> string: from `--param name=value`, then the
--- environment variable LODE_PARAM_<NAME>, then default; raises when none is set.
function lode.param(name, default)
  local v = params[name]
  if v == nil then
    v = os.getenv("LODE_PARAM_" .. name:upper():gsub("[^%w]", "_"))
  end
  if v == nil then
    v = default
  end
  if v == nil then
    error(core.error({ op = "param", code = "missing_param", exit_code = 2,
      message = ("parameter '%s' is required: pass --param %s=VALUE or set LODE_PARAM_%s")
        :format(name, name, name:upper():gsub("[^%w]", "_")) }), 2)
  end
  return v
end

--- lode.params() -> a copy of the parameters given on the command line.
function lode.params()
  local copy = {}
  for k, v in pairs(params) do
    copy[k] = v
  end
  return copy
end

-- used by the CLI
function lode._set_params(t)
  params = t
end

-- Pipelines ------------------------------------------------------------------------

local pipeline = require "lode.pipeline"
--- lode.pipeline "name" { task, ..., concurrency=, on_success=, on_failure= }
lode.pipeline = pipeline.pipeline
--- lode.task "name" { function(ctx) ... end, after=, retries=, retry_on=, backoff=, timeout= }
lode.task = pipeline.task

-- Everything else loads on first use: lode.s3 is require "lode.s3", and so on.
return setmetatable(lode, {
  __index = function(t, k)
    if type(k) ~= "string" or not k:match("^[%w_]+$") then
      return nil
    end
    local ok, mod = pcall(require, "lode." .. k)
    if not ok then
      if tostring(mod):find("module 'lode." .. k .. "' not found", 1, true) then
        return nil
      end
      error(mod, 2)
    end
    rawset(t, k, mod)
    return mod
  end,
})
