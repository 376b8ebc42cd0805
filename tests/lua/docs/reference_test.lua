-- Every function a lode module exports is documented in docs/reference.md
-- (as `lode.name(` or `module.name(`), so the reference cannot fall behind.
local t = require "lode.test"

local root = os.getenv("LODE_ROOT") or "."
local f = assert(io.open(root .. "/docs/reference.md"))
local doc = f:read("a")
f:close()

-- module name -> how the reference spells it
local MODULES = {
  { "lode", "lode." },
  { "lode.s3", "s3." },
  { "lode.http", "http." },
  { "lode.aws", "aws." },
  { "lode.parquet", "parquet." },
  { "lode.copy", "copy." },
  { "lode.spectrum", "spectrum." },
  { "lode.merge", "merge." },
  { "lode.mv", "mv." },
  { "lode.sql", "sql." },
  { "lode.redshift", "redshift." },
  { "lode.sqlrun", "sqlrun." },
  { "lode.unload", "unload." },
  { "lode.compress", "compress." },
  { "lode.parquetwrite", "parquetwrite." },
  { "lode.json", "json." },
  { "lode.awscreds", "awscreds." },
  { "lode.dev", "dev." },
  { "lode.proc", "proc." },
  { "lode.fs", "fs." },
  { "lode.signal", "signal." },
  { "lode.test", "t." },
  { "lode.warehouse", "lode.warehouse." },
}

for _, m in ipairs(MODULES) do
  local name, prefix = m[1], m[2]
  t.test(name .. ": every exported function is in docs/reference.md", function()
    local ok, mod = pcall(require, name)
    if not ok then
      t.skip(name .. " is not built yet")
    end
    local missing = {}
    if type(mod) == "table" then
      for k, v in pairs(mod) do
        if type(k) == "string" and type(v) == "function" and k:sub(1, 1) ~= "_" then
          if not doc:find(prefix .. k .. "(", 1, true) then
            missing[#missing + 1] = prefix .. k
          end
        end
      end
    end
    table.sort(missing)
    t.eq(missing, {}, "undocumented functions")
  end)
end
