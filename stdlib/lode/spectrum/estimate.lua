-- lode.spectrum.estimate — what a query over an external table would scan
-- (and cost), from the registered partitions and the Parquet footers, or
-- the object sizes of a text table.

local core = require "lode.core"
local common = require "lode.spectrum.common"
local catalog = require "lode.spectrum.catalog"
local discover = require "lode.spectrum.discover"

local usage = common.usage

local M = {}

--- Spectrum's price: dollars per terabyte (10^12 bytes) scanned.
M.dollars_per_tb = 5

-- Scan estimates -------------------------------------------------------------------

--- estimate_files(files, columns) -> bytes, per_file: the compressed size of
--- the column chunks of those top-level columns (all when columns is nil) in
--- those Parquet files, from their footers — what Spectrum scans.
function M.estimate_files(files, columns)
  local parquet = require "lode.parquet"
  local want
  if columns then
    want = {}
    for _, c in ipairs(columns) do
      want[c:lower()] = true
    end
  end
  local urls = {}
  for i, f in ipairs(files) do
    urls[i] = type(f) == "table" and f.url or f
  end
  local per_file, total = {}, 0
  parquet.each(urls, function(i, m)
    local bytes = 0
    for _, rg in ipairs(m.row_groups) do
      for j, cc in ipairs(rg.columns) do
        local path = cc.path or (m.columns[j] and m.columns[j].path) or ""
        local top = path:match("^[^.]+") or path
        if not want or want[top:lower()] then
          bytes = bytes + (cc.total_compressed_size or 0)
        end
      end
    end
    per_file[i] = bytes
  end)
  for i = 1, #urls do
    total = total + per_file[i]
  end
  return total, per_file
end

--- dollars(bytes) -> what Spectrum charges for scanning them ($5 per TB)
function M.dollars(bytes)
  return bytes / 1e12 * M.dollars_per_tb
end


local function value_matches(v, want, ptype)
  if type(want) == "table" then
    for _, w in ipairs(want) do
      if value_matches(v, w, ptype) then
        return true
      end
    end
    return false
  end
  local numeric = ptype:lower():match("^(%a+)")
  numeric = ({ int = 1, integer = 1, bigint = 1, smallint = 1, tinyint = 1, decimal = 1, numeric = 1,
               real = 1, float = 1, double = 1 })[numeric]
  if numeric or type(want) == "number" then
    local a, b = tonumber(v), tonumber(want)
    if a and b then
      return a == b
    end
  end
  return v == tostring(want)
end

local NUMERIC = { int = 1, integer = 1, bigint = 1, smallint = 1, tinyint = 1, decimal = 1, numeric = 1,
  real = 1, float = 1, double = 1 }

-- Glue's partition filter (GetPartitions Expression) for where.
local function glue_expression(def, where)
  local terms = {}
  for _, c in ipairs(def.partitions) do
    local w = where[c.name] or where[c.name:lower()]
    if w ~= nil then
      local numeric = NUMERIC[c.type:lower():match("^(%a+)")]
      local function lit(v)
        if numeric and tonumber(v) then
          return tostring(v)
        end
        return "'" .. tostring(v):gsub("'", "''") .. "'"
      end
      if type(w) == "table" then
        local vals = {}
        for i, v in ipairs(w) do
          vals[i] = lit(v)
        end
        terms[#terms + 1] = c.name .. " IN (" .. table.concat(vals, ", ") .. ")"
      else
        terms[#terms + 1] = c.name .. " = " .. lit(w)
      end
    end
  end
  return #terms > 0 and table.concat(terms, " AND ") or nil
end
M._glue_expression = glue_expression

-- The Glue table behind name, or nil: opts.catalog = "glue" names it
-- DATABASE.TABLE (or SCHEMA.TABLE of a schema mirroring a Glue database);
-- without it, a table of a mirrored schema is read from Glue too.
local function glue_def(wh, name, opts)
  local glue = require "lode.spectrum.glue"
  local schema, tbl = catalog.name_parts(name)
  local db = wh and require("lode.spectrum")._glue_database(wh, schema)
  if not db and opts.catalog ~= "glue" then
    return nil
  end
  db = db or schema
  local t = glue.get_table(db, tbl)
  if not t then
    common.fail("not_found", ("no Glue table %s.%s"):format(db, tbl), { database = db, table = tbl })
  end
  local def = glue.def_from_table(schema, t)
  def.database = db
  return def
end

--- estimate(wh, table, {columns = {...}, where = {col = value | {values}}, catalog=}) ->
--- {bytes=, dollars=, files=, partitions=}: what Spectrum would scan — the
--- compressed column chunks of just those columns in just the registered
--- partitions matching where, from the Parquet footers. A table in Glue
--- (catalog = "glue", wh may then be nil, or a schema mirroring a Glue
--- database) takes Glue's partitions, filtered by Glue (GetPartitions
--- Expression). Under `lode plan` the estimate is printed.
function M.estimate(wh, name, opts)
  opts = opts or {}
  local dialect = wh and wh:get_dialect()
  local def = glue_def(wh, name, opts) or catalog._read_table(wh, dialect, name)
  local where = opts.where or {}
  local ptypes = {}
  for _, p in ipairs(def.partitions) do
    ptypes[p.name:lower()] = p.type
  end
  for k in pairs(where) do
    if not ptypes[k:lower()] then
      usage(("where: %s is not a partition column of %s (only partition columns prune)"):format(k, def.qname))
    end
  end
  local folders = {}
  if #def.partitions == 0 then
    folders[1] = def.location
  else
    local parts
    if def.database then
      parts = require("lode.spectrum.glue").partitions(def.database, def.glue.Name,
        { expression = glue_expression(def, where) })
    else
      parts = catalog._registered(wh, dialect, def)
    end
    for _, p in ipairs(parts) do
      local ok = true
      for i, c in ipairs(def.partitions) do
        local w = where[c.name] or where[c.name:lower()]
        if w ~= nil and not value_matches(p.values[i], w, c.type) then
          ok = false
        end
      end
      if ok then
        folders[#folders + 1] = p.location
      end
    end
  end
  local files = {}
  for _, f in ipairs(folders) do
    for _, x in ipairs(discover.list_files(f)) do
      files[#files + 1] = x
    end
  end
  local bytes
  if require("lode.spectrum.textfmt").TEXT[def.format] then
    -- text, CSV and JSON objects are read whole, whatever the columns: their
    -- sizes as listed (compressed objects count compressed, as Spectrum bills)
    bytes = 0
    for _, f in ipairs(files) do
      bytes = bytes + (f.size or 0)
    end
  else
    bytes = M.estimate_files(files, opts.columns)
  end
  local r = { bytes = bytes, dollars = M.dollars(bytes), files = #files, partitions = #folders, table = def.qname }
  local text = ("spectrum estimate: %s scans %d bytes in %d files of %d partitions, $%.6f at $%d/TB")
    :format(def.qname, bytes, #files, #folders, r.dollars, M.dollars_per_tb)
  if core.dry_run() then
    io.stdout:write("-- ", text, "\n")
    io.stdout:flush()
  else
    require("lode").log.info(text, { table = def.qname, bytes = bytes, files = #files, partitions = #folders })
  end
  return r
end

--- query(wh, sql, {table=, columns=, where=}, ...) -> rows: runs a query over
--- an external table after estimating (and, under `lode plan`, printing)
--- what it scans; r.estimate holds the estimate.
function M.query(wh, q, opts, ...)
  local est = M.estimate(wh, opts.table, opts)
  local r = wh:query(q, ...)
  r.estimate = est
  return r
end

return M
