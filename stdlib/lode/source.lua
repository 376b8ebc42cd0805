-- lode.source — the source module convention and its loader.
--
-- A source is a Lua module returning { name =, resources = { … } }; each
-- resource is
--
--   { name = "orders",                          -- the target table (or target =)
--     columns = { {name = "id", type = "bigint"}, … },   -- omitted: inferred from the rows
--     primary_key = { "id" },                   -- the merge key
--     cursor = { column = "updated_at", initial = "1970-01-01 00:00:00" },  -- incremental (optional)
--     rows = function(since) return iterator of row tables end }  -- since = the cursor's value
--
-- source.load(wh, mod, { stage = "s3://bucket/staging/" }) runs each
-- resource: reads its cursor, writes the rows newer than it to Parquet under
-- the stage, and merges them into the target with merge.upsert, advancing
-- the cursor to the greatest value loaded in the merge's transaction — a
-- crash at any point neither skips nor duplicates rows. The target is
-- created from the columns when it does not exist.

local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

local function fail(message)
  error(core.error({ op = "source", code = "usage", message = message, retryable = false }), 0)
end

--- source.check(mod) -> mod, raising a usage error naming what is missing
function M.check(mod)
  if type(mod) ~= "table" or type(mod.name) ~= "string" or type(mod.resources) ~= "table" then
    fail("a source module returns { name = '…', resources = { … } }")
  end
  for i, r in ipairs(mod.resources) do
    local where = ("source %s, resource %d"):format(mod.name, i)
    if type(r.name) ~= "string" or r.name == "" then
      fail(where .. ": name is required")
    end
    if type(r.rows) ~= "function" then
      fail(where .. " (" .. r.name .. "): rows = function(since) … end is required")
    end
    if type(r.primary_key) ~= "table" or #r.primary_key == 0 then
      fail(where .. " (" .. r.name .. "): primary_key = { 'col', … } is required")
    end
    if r.cursor ~= nil and (type(r.cursor) ~= "table" or type(r.cursor.column) ~= "string") then
      fail(where .. " (" .. r.name .. "): cursor = { column = '…', initial = … }")
    end
  end
  return mod
end

local function safe(v)
  return (tostring(v):gsub("[^%w%-_.]", "_"))
end

-- CREATE TABLE IF NOT EXISTS from the writer's columns and the primary key
local function create_sql(target, cols, pk)
  local defs = {}
  for i, c in ipairs(cols) do
    defs[i] = sql.ident(c.name) .. " " .. c.type
  end
  return ("CREATE TABLE IF NOT EXISTS %s (%s, PRIMARY KEY (%s))"):format(sql.qname(target),
    table.concat(defs, ", "), sql.idents(pk))
end
M.create_sql = create_sql

--- source.load(wh, mod, opts) -> { [resource] = {rows=, cursor=, merged=} }
--- opts: stage (s3:// prefix or directory, required), run (a name for this
--- run's files, default LODE_RUN_ID or the time), resources (names to load).
function M.load(wh, mod, opts)
  M.check(mod)
  opts = opts or {}
  if type(opts.stage) ~= "string" then
    fail("source.load: opts.stage (an s3:// prefix) is required")
  end
  local lode = require "lode"
  local merge = require "lode.merge"
  local writer = require "lode.parquet.writer"
  local stage = opts.stage:sub(-1) == "/" and opts.stage or (opts.stage .. "/")
  local run = opts.run or os.getenv("LODE_RUN_ID") or tostring(os.time())
  local out = {}
  for _, r in ipairs(mod.resources) do
    local target = r.target or r.name
    local c = r.cursor and lode.cursor(wh, mod.name .. "." .. r.name .. "." .. r.cursor.column, r.cursor.initial,
      { pipeline = opts.pipeline })
    local since = c and c:get()
    -- a retry after a crash writes the same key again: the ledger then loads what the merge did not commit
    local prefix = ("%s%s/%s/%s/"):format(stage, safe(mod.name), safe(r.name), safe(since ~= nil and since or run))
    local w = writer.new(prefix .. "part-00001.parquet", { columns = r.columns, row_group_rows = r.row_group_rows })
    local max
    local ok, err = pcall(function()
      for row in r.rows(since) do
        w:write(row)
        local v = c and row[r.cursor.column]
        if v ~= nil and v ~= core.null and (max == nil or v > max) then
          max = v
        end
      end
    end)
    if not ok then
      w:abort()
      error(err, 0)
    end
    if w.rows == 0 and not w.pending or (w.pending and #w.pending == 0) then
      w:abort()
      out[r.name] = { rows = 0, cursor = since, merged = false }
    else
      local res = w:close()
      -- under `lode plan` the statement is shown and the plan knows the table
      wh:exec(create_sql(target, w:columns(), r.primary_key))
      merge.upsert(wh, { target = target, from = prefix, format = "parquet", key = r.primary_key,
                         cursor = c and max ~= nil and { c, max } or nil })
      out[r.name] = { rows = res.rows, cursor = max or since, merged = true }
    end
  end
  return out
end

return M
