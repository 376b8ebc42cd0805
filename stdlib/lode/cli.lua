-- lode.cli — the `lode` command: global options, then a subcommand from
-- stdlib/lode/cli/<name>.lua. Each subcommand module returns
--   { summary = "...", spec = <lode.args spec>, main = function(opts, positional) -> exit code }
-- so new commands are new files, not edits here.

local core = require "lode.core"
local args = require "lode.args"

local M = {}

local COMMANDS = { "run", "plan", "test", "version", "help" }
local EXTRA = { "s3", "parquet", "sql", "runs", "cursor", "new", "dev" }   -- present when their modules exist

local function load_command(name)
  if not name:match("^[%w_]+$") then
    return nil
  end
  local ok, mod = pcall(require, "lode.cli." .. name)
  if ok then
    return mod
  end
  if tostring(mod):find("module 'lode.cli." .. name .. "' not found", 1, true) then
    return nil
  end
  error(mod, 0)
end

local function available()
  local list = {}
  for _, n in ipairs(COMMANDS) do
    list[#list + 1] = n
  end
  for _, n in ipairs(EXTRA) do
    if load_command(n) then
      list[#list + 1] = n
    end
  end
  return list
end

function M.overview()
  local out = {
    "lode " .. core.version .. " — ELT pipelines in Lua, from S3 into Redshift or PostgreSQL",
    "",
    "usage: lode [--debug] [--log-format text|json] [--log-level LEVEL] COMMAND [ARGS]",
    "",
    "commands:",
  }
  for _, n in ipairs(available()) do
    local mod = n == "help" and { summary = "show help for a command" } or load_command(n)
    out[#out + 1] = ("  %-10s %s"):format(n, mod and mod.summary or "")
  end
  out[#out + 1] = ""
  out[#out + 1] = "Run `lode help COMMAND` for a command's options and examples."
  out[#out + 1] = "Exit codes: 0 success, 1 pipeline or test failure, 2 usage or configuration error."
  return table.concat(out, "\n") .. "\n"
end

local function help(name)
  if not name then
    io.stdout:write(M.overview())
    return 0
  end
  local mod = load_command(name)
  if not mod or not mod.spec then
    io.stderr:write(("lode: no command '%s'\n"):format(name))
    io.stderr:write(M.overview())
    return 2
  end
  io.stdout:write(args.help(mod.spec))
  return 0
end

-- Print an error the way a person needs it: structured errors with an exit
-- code are one clear message; anything else gets its traceback.
-- Debugging output (Lua tracebacks) only on request: --debug or LODE_DEBUG=1.
local function debugging()
  local v = os.getenv("LODE_DEBUG")
  return M.debug or (v ~= nil and v ~= "" and v ~= "0")
end
M.debugging = debugging

-- One clear message for a person; the traceback only when debugging.
local function report(err, tb)
  if type(err) == "table" and err.exit_code then
    io.stderr:write("lode: " .. tostring(err.message or err) .. "\n")
    return err.exit_code
  end
  if debugging() and tb then
    io.stderr:write("lode: " .. tb .. "\n")
  else
    local msg = tostring(err)
    if type(err) ~= "table" and not msg:find("\n") then
      msg = msg .. "\n(a Lua error: run with --debug or LODE_DEBUG=1 for a traceback)"
    end
    io.stderr:write("lode: " .. msg .. "\n")
  end
  return 1
end
M.report = report

function M.main(argv)
  local i = 1
  local log = {}
  while argv[i] and argv[i]:sub(1, 2) == "--" do
    local a = argv[i]
    local k, v = a:match("^%-%-(log%-[a-z]+)=(.*)$")
    if not k and (a == "--log-format" or a == "--log-level") then
      k, v = a:sub(3), argv[i + 1]
      i = i + 1
    end
    if a == "--help" then
      return help()
    elseif a == "--debug" then
      M.debug = true
    elseif a == "--version" then
      io.stdout:write("lode " .. core.version .. "\n")
      return 0
    elseif k == "log-format" then
      log.format = v
    elseif k == "log-level" then
      log.level = v
    else
      io.stderr:write(("lode: unknown option '%s'\nrun `lode help` for usage\n"):format(a))
      return 2
    end
    i = i + 1
  end
  local ok, err = pcall(core.configure_log, log)
  if not ok then
    io.stderr:write("lode: " .. tostring(err):gsub("^[^:]*:%d+: ", "") .. "\n")
    return 2
  end
  local name = argv[i]
  if not name then
    io.stderr:write(M.overview())
    return 2
  end
  local rest = {}
  for j = i + 1, #argv do
    rest[#rest + 1] = argv[j]
  end
  if name == "help" then
    return help(rest[1])
  end
  if name == "version" then
    io.stdout:write("lode " .. core.version .. "\n")
    return 0
  end
  local mod = load_command(name)
  if not mod then
    io.stderr:write(("lode: unknown command '%s'\nrun `lode help` for the list of commands\n"):format(name))
    return 2
  end
  local tb
  local ok2, code = xpcall(function()
    local opts, positional = args.parse(mod.spec, rest)
    if opts.help then
      io.stdout:write(args.help(mod.spec))
      return 0
    end
    if opts.log_format or opts.log_level then
      local lok, lerr = pcall(core.configure_log, { format = opts.log_format, level = opts.log_level })
      if not lok then
        args.usage_error(name, (tostring(lerr):gsub("^[^:]*:%d+: ", "")))
      end
    end
    return mod.main(opts, positional)
  end, function(e)
    tb = debug.traceback(tostring(e), 2)
    return e
  end)
  if not ok2 then
    return report(code, tb)
  end
  return code or 0
end

return M
