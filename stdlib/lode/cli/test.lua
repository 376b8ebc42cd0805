-- `lode test [PATH...]` — run *_test.lua files inside the runtime, TAP on stdout.

local args = require "lode.args"
local T = require "lode.test"

local M = {}

M.summary = "run *_test.lua files (TAP output, for prove and CI)"

M.spec = {
  command = "test",
  usage = "lode test [PATH...] [--filter TEXT] [--timeout MS] [--min-timeout MS]",
  summary = "Run the tests in PATH (files, or folders searched for *_test.lua; default: the current folder).",
  description = "Each test is a task in the real runtime, so tests can use S3, the warehouse and timers.\n"
    .. "Output is TAP (run it under `prove` or read it directly); the exit code is 1 when a test fails.\n"
    .. "Write tests with:  local t = require \"lode.test\"; t.test(\"name\", function() t.eq(1 + 1, 2) end)",
  options = {
    { "--filter", arg = "TEXT", help = "run only tests whose 'file: name' contains TEXT" },
    { "--timeout", arg = "MS", integer = true, help = "default per-test timeout (60000)" },
    { "--min-timeout", arg = "MS", integer = true,
      help = "no test times out sooner, whatever its own timeout (a guard against hangs only: slow builds, loaded machines)" },
    { "--verbose", short = "-v", help = "show each test's duration" },
    { "--log-format", arg = "FMT", choices = { "text", "json" }, help = "log format on stderr" },
    { "--log-level", arg = "LEVEL", choices = { "debug", "info", "warn", "error", "off" }, help = "minimum level logged (default warn in tests)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = { "lode test", "lode test tests/lua --filter pipeline" },
}

function M.main(opts, positional)
  if not opts.log_level then
    require("lode.core").configure_log({ level = "warn" })
  end
  local paths = #positional > 0 and positional or { "." }
  local files = {}
  for _, p in ipairs(paths) do
    local ok, err = T.find_tests(p, files)
    if not ok then
      args.usage_error("test", err)
    end
  end
  if #files == 0 then
    io.stdout:write("1..0 # SKIP no *_test.lua files under " .. table.concat(paths, " ") .. "\n")
    return 0
  end
  local _, failed = T.run_files(files, { filter = opts.filter, timeout = opts.timeout, min_timeout = opts.min_timeout,
                                          verbose = opts.verbose })
  return failed > 0 and 1 or 0
end

return M
