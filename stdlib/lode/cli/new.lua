-- `lode new source NAME` — scaffold sources/NAME.lua (a source module, see
-- lode.source) and sources/NAME_test.lua (a test against the local stack).

local args = require "lode.args"

local spec = {
  command = "new",
  usage = "lode new source NAME [--dir DIR]",
  summary = "scaffold a source module and its test (sources/NAME.lua, sources/NAME_test.lua)",
  options = {
    { "--dir", arg = "DIR", help = "where sources/ goes (default: the current directory)" },
    { "--help", short = "-h", help = "show this help" },
  },
  examples = { "lode new source shop_orders" },
}

local MODULE = [[
-- sources/%s.lua — a lode source module (the contract: README, "Source modules").
-- Load it with:
--   require("lode.source").load(wh, require "sources.%s", { stage = "s3://bucket/staging/" })
local lode = require "lode"
local rest = require "lode.rest"

return {
  name = "%s",
  resources = {
    {
      name = "%s",                                   -- the target table
      columns = {                                    -- omit to infer from the first rows
        { name = "id", type = "bigint" },
        { name = "updated_at", type = "timestamp" },
      },
      primary_key = { "id" },
      cursor = { column = "updated_at", initial = "1970-01-01 00:00:00" },
      -- the rows newer than `since` (the cursor's committed value)
      rows = function(since)
        return rest.items(lode.param("%s_url", "http://127.0.0.1:8080/items"), {
          paginator = "cursor", items = "data", since = since,
        })
      end,
    },
  },
}
]]

local TEST = [[
-- sources/%s_test.lua — run with `lode test sources/` against `lode dev up`.
local t = require "lode.test"
local source = require "lode.source"

t.test("%s follows the source contract", function()
  local mod = dofile((debug.getinfo(1, "S").source:sub(2):gsub("_test%%.lua$", ".lua")))
  source.check(mod)
  t.eq(mod.name, "%s")
end)

t.test("%s loads incrementally into the local stack", function()
  local url = os.getenv("LODE_WAREHOUSE")
  if not url then
    t.skip("LODE_WAREHOUSE is not set (eval \"$(lode dev env)\")")
    return
  end
  -- point %s_url at a test API, then:
  -- local wh = require("lode").warehouse()
  -- local r = source.load(wh, mod, { stage = "s3://your-bucket/staging/" })
  -- t.eq(r.%s.rows, expected_rows)
end)
]]

local function write_new(path, text)
  local f = io.open(path, "r")
  if f then
    f:close()
    io.stderr:write(("lode: %s exists; not overwritten\n"):format(path))
    return false
  end
  f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  io.stdout:write("created " .. path .. "\n")
  return true
end

return {
  summary = spec.summary,
  spec = spec,
  main = function(opts, positional)
    if positional[1] ~= "source" or not positional[2] or positional[3] then
      args.usage_error("new", "usage: " .. spec.usage)
    end
    local name = positional[2]
    if not name:match("^[%a_][%w_]*$") then
      args.usage_error("new", ("'%s' is not a module name (letters, digits, _)"):format(name))
    end
    local dir = (opts.dir or ".") .. "/sources"
    require("lode.proc").run({ "mkdir", "-p", dir })
    local ok1 = write_new(("%s/%s.lua"):format(dir, name), MODULE:format(name, name, name, name, name))
    local ok2 = write_new(("%s/%s_test.lua"):format(dir, name), TEST:format(name, name, name, name, name, name))
    return (ok1 and ok2) and 0 or 1
  end,
}
