-- `lode run FILE` — run a pipeline script (also the engine of `lode plan`).

local core = require "lode.core"
local args = require "lode.args"
local pipeline = require "lode.pipeline"

local M = {}

M.summary = "run a pipeline script"

local function spec_for(command)
  return {
    command = command,
    usage = ("lode %s FILE [--task NAME]... [--param KEY=VALUE]... [options]"):format(command),
    summary = command == "run"
      and "Run the pipeline script FILE: its tasks run as a DAG, independent tasks in parallel."
      or "Show what FILE would do, without writing: the same DAG runs with lode.dry_run() true, "
         .. "and bindings print the statements and S3 writes instead of doing them.",
    description = "FILE is a Lua script. If it returns lode.pipeline \"name\" { ... }, its tasks run\n"
      .. "in dependency order; otherwise the script itself is the job. The script's folder is on\n"
      .. "package.path, so `require \"sources.orders\"` loads sources/orders.lua beside it.",
    options = {
      { "--task", arg = "NAME", multi = true, help = "run only this task (and what it depends on); repeatable" },
      { "--param", arg = "KEY=VALUE", multi = true, help = "set a parameter read by lode.param(KEY); repeatable" },
      { "--run-id", arg = "ID", help = "identifier for this run in logs (default: generated)" },
      { "--wait", help = "if another run of this pipeline holds its warehouse lock, wait for it instead of failing" },
      { "--summary-json", arg = "FILE", help = "write the run summary as JSON to FILE (for CI artifacts, like dbt's run_results.json)" },
      { "--shutdown-grace", arg = "MS", help = "after SIGTERM/SIGINT, exit at once if the run has not stopped within MS (default 9000)" },
      { "--log-format", arg = "FMT", choices = { "text", "json" }, help = "text (default) or json: one object per line" },
      { "--log-level", arg = "LEVEL", choices = { "debug", "info", "warn", "error", "off" }, help = "minimum level logged (default info)" },
      { "--help", short = "-h", help = "show this help" },
    },
    examples = {
      ("lode %s scripts/examples/hello.lua"):format(command),
      ("lode %s pipeline.lua --task load --param date=2024-01-31"):format(command),
    },
  }
end

M.spec = spec_for("run")
M.spec_for = spec_for

-- The run summary as JSON (a file CI keeps as an artifact).
local function write_summary_json(path, summary, run_id)
  local json = require "lode.json"
  local tasks = {}
  for i, r in ipairs(summary.tasks) do
    tasks[i] = { name = r.name, status = r.status, attempts = r.attempts, seconds = r.seconds,
      error = r.error and require("lode.sql").redact(r.error) or nil, reason = r.reason, rows = r.rows }
  end
  local doc = {
    pipeline = summary.pipeline, run_id = run_id,
    status = summary.cancelled and "cancelled" or (summary.ok and "ok" or "failed"),
    cancelled_by = summary.cancelled, seconds = summary.seconds, tasks = tasks,
  }
  local f, err = io.open(path, "w")
  if not f then
    core.log("error", ("cannot write the run summary: %s"):format(err))
    return
  end
  f:write(json.encode(doc), "\n")
  f:close()
end

local function new_run_id()
  local t = math.floor(core.time())
  return os.date("!%Y%m%dT%H%M%SZ", t) .. "-" .. ("%04x"):format(math.random(0, 0xffff))
end

local function script_dir(path)
  return path:match("^(.*)/[^/]*$") or "."
end

-- The text of the pipeline's sources: its script, and the .lua and .sql
-- files beside it and one folder down (sources/orders.lua, sql/*.sql).
local function source_text(file)
  local fs = require "lode.fs"
  local texts = {}
  local function add(path)
    local st = fs.stat(path)
    if st and st.type == "file" and st.size <= 4 * 1024 * 1024 then
      local f = io.open(path, "r")
      if f then
        texts[#texts + 1] = f:read("a")
        f:close()
      end
    end
  end
  add(file)
  local function walk(dir, depth)
    for _, e in ipairs(fs.scandir(dir) or {}) do
      local path = dir .. "/" .. e.name
      if e.type == "directory" and depth > 0 and not e.name:match("^%.") then
        walk(path, depth - 1)
      elseif e.type == "file" and (e.name:match("%.lua$") or e.name:match("%.sql$")) and path ~= file then
        add(path)
      end
    end
  end
  walk(script_dir(file), 1)
  return table.concat(texts, "\n")
end

-- At the first use of each warehouse the script opens (at its top level or
-- inside a task), before any statement of its own: the Glue databases
-- mirrored by the external schemas the pipeline names are mirrored as they
-- are now, as `lode sql` does for a script (one GetTables page and one
-- GetPartitions page per partitioned table).
local function refresh_catalog(file, wh, text)
  if wh:get_dialect() ~= "postgres" then
    return
  end
  require("lode.spectrum").refresh_referenced(wh, text)
end

function M.execute(command, opts, positional)
  local file = positional[1]
  if not file then
    args.usage_error(command, ("lode %s needs a pipeline script: lode %s FILE"):format(command, command))
  end
  if #positional > 1 then
    args.usage_error(command, ("unexpected argument '%s' (parameters are passed as --param KEY=VALUE)")
      :format(positional[2]))
  end
  if file:match("%.sql$") then
    -- a Redshift SQL script: `lode run|plan FILE.sql` is `lode sql FILE.sql [--plan]`
    return require("lode.cli.sql").execute(file, { plan = command == "plan" })
  end
  local params = {}
  for _, kv in ipairs(opts.param) do
    local k, v = kv:match("^([^=]+)=(.*)$")
    if not k then
      args.usage_error(command, ("--param needs KEY=VALUE (got '%s')"):format(kv))
    end
    params[k] = v
  end
  local lode = require "lode"
  lode._set_params(params)
  if command == "plan" then
    core.set_dry_run(true)
  end
  local dir = script_dir(file)
  package.path = dir .. "/?.lua;" .. dir .. "/?/init.lua;" .. package.path
  local chunk, err = loadfile(file)
  if not chunk then
    error(core.error({ op = command, code = "script", exit_code = 2,
                       message = ("cannot load %s"):format(err) }), 0)
  end
  local run_id = opts.run_id or new_run_id()
  require("lode.state").current_run_id = run_id   -- lode.load_history rows carry it
  core.configure_log({ run_id = run_id })
  arg = { [0] = file }
  if command == "run" then
    local text
    require("lode.warehouse").on_first_use = function(wh)
      text = text or source_text(file)
      refresh_catalog(file, wh, text)
    end
  end
  local result = chunk()
  if not pipeline.is_pipeline(result) then
    if opts.task and #opts.task > 0 then
      args.usage_error(command, ("%s does not return a pipeline, so --task cannot select tasks"):format(file))
    end
    return 0
  end
  core.configure_log({ run_id = run_id, pipeline = result.name })
  -- A pipeline that declares `warehouse = wh` is recorded in lode.runs and
  -- locked against concurrent runs (not under `lode plan`: it writes nothing).
  local state_run
  local record_in = result.warehouse
  if record_in == nil then
    -- run history by default: the warehouse the script opened (lode.warehouse())
    record_in = require("lode.warehouse").first
  end
  if command == "run" and type(record_in) == "table" and record_in.conninfo and record_in.conninfo ~= "" then
    local state = require "lode.state"
    if result.warehouse ~= nil then
      state_run = state.begin(record_in, result.name, run_id, { wait = opts.wait })
    else
      -- recorded by default: a warehouse that cannot be reached fails the
      -- tasks that use it, not the bookkeeping; a held lock still stops the run
      local rok, r = pcall(state.begin, record_in, result.name, run_id, { wait = opts.wait })
      if rok then
        state_run = r
      elseif type(r) == "table" and r.code == "locked" then
        error(r, 0)
      else
        core.log("warn", "this run is not recorded in lode.runs: " .. tostring(r))
      end
    end
  end
  -- SIGINT/SIGTERM (schedulers stop jobs this way): start no more tasks,
  -- cancel the running ones, record the run as cancelled, print the summary,
  -- exit 128 + the signal. A second signal exits at once (lode.signal).
  local signal = require "lode.signal"
  if opts.shutdown_grace then
    local ms = math.tointeger(tonumber(opts.shutdown_grace))
    if not ms or ms < 1 then
      args.usage_error(command, "--shutdown-grace needs a positive number of milliseconds")
    end
    signal.configure({ grace_ms = ms })
  end
  local watcher = core.spawn(function()
    local name = signal.wait()
    core.log("warn", ("%s received: cancelling running tasks (a second signal exits at once)"):format(name))
    result:cancel(name)
  end)
  local good, summary, ok = pcall(result.run, result, { tasks = opts.task, params = params, run_id = run_id })
  watcher:cancel()
  if not good then
    if state_run then
      state_run:abandon()
    end
    error(summary, 0)
  end
  if state_run then
    state_run:finish(summary)
  end
  io.stderr:write(pipeline.format_summary(summary), "\n")
  if opts.summary_json then
    write_summary_json(opts.summary_json, summary, run_id)
  end
  local _, signum = signal.received()
  if signum then
    return 128 + signum
  end
  return ok and 0 or 1
end

function M.main(opts, positional)
  return M.execute("run", opts, positional)
end

return M
