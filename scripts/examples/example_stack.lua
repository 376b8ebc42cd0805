-- Shared by the examples' tests: a private database on the local stack
-- (tests/run.sh, or `eval "$(lode dev up)"`) and the lake make_lake.lua writes.
--   local stack = require "example_stack"
--   local e = stack.up()          -- e.wh, e.LODE_WAREHOUSE (skips when no stack)
--   local r = stack.lode("run", "scripts/examples/x.lua")   -- lode in a child process
local t = require "lode.test"
local lode = require "lode"
local proc = require "lode.proc"

local M = {}

-- where the examples are: this file's folder, so the tests run from any
-- folder; the lode that runs them is the one running this test (or LODE_BIN)
local function this_dir()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  if dir:sub(1, 1) ~= "/" then
    dir = (os.getenv("PWD") or ".") .. "/" .. dir
  end
  return (dir:gsub("/%./", "/"):gsub("/%.$", ""))
end

M.here = this_dir()
M.root = os.getenv("LODE_ROOT") or (M.here .. "/../..")   -- the source tree: tests/tools/
M.bin = os.getenv("LODE_BIN") or require("lode.core").exepath() or "lode"

local env

--- up() -> {wh=, LODE_WAREHOUSE=}: a new database, and the lake in s3://lake/
function M.up()
  if env then
    return env
  end
  -- tests/run.sh's stack, or the one `eval "$(lode dev up)"` exported
  local url = os.getenv("LODE_TEST_PG_URL") or t.env("LODE_WAREHOUSE", "the local stack provides PostgreSQL")
  t.env("AWS_ENDPOINT_URL", "the local stack provides S3")
  -- unique across test files started at the same moment
  local db = ("examples_%d_%d"):format(require("lode.core").hrtime() % 1000000000, math.random(1, 1e6))
  lode.warehouse({ url = url, pool = 1 }):exec("CREATE DATABASE " .. db)
  env = { LODE_WAREHOUSE = url:gsub("/[^/]*$", "/" .. db) }
  env.wh = lode.warehouse({ url = env.LODE_WAREHOUSE, pool = 2 })
  local r = proc.run({ M.bin, "run", M.here .. "/make_lake.lua" }, { env = { LODE_ROOT = M.root }, timeout = 120000 })
  t.eq(r.status, 0, r.stderr)
  return env
end

--- lode(args...) -> proc result of `lode --log-level warn args...` against the private database
function M.lode(...)
  local e = M.up()
  return proc.run({ M.bin, "--log-level", "warn", ... },
    { env = { LODE_WAREHOUSE = e.LODE_WAREHOUSE, LODE_ROOT = M.root }, timeout = 180000 })
end

return M
