-- lode.parquet — Parquet files from Lua: footers (metadata, schema), a
-- summary across many files, and (from the data reader) rows.
--
--   local parquet = require "lode.parquet"
--   local m = parquet.metadata("s3://bucket/sales/part-0.parquet")
--   for _, c in ipairs(m.columns) do print(c.path, c.type) end
--   local s = parquet.summary("data/sales/")     -- every file under the prefix, concurrently
--
-- Decoding is C (lode.parquetmeta); listing files, grouping schemas and
-- adding sizes is policy, here.

local meta = require "lode.parquetmeta"

local M = {}

--- parquet.metadata(path_or_url [, {speculative = bytes}]) -> the whole footer:
--- {path, size, num_rows, version, created_by, key_value_metadata, schema (tree),
---  columns (leaves, dotted `path`), row_groups (with per-column chunks and
---  statistics as Lua values), footer_length, requests}
M.metadata = meta.metadata
--- parquet.schema(path_or_url) -> {path, size, num_rows, schema, columns}
M.schema = meta.schema
M.SPECULATIVE_DEFAULT = meta.SPECULATIVE_DEFAULT

-- Spark, Hive and friends leave _SUCCESS, _metadata, .crc files beside data.
local function is_data_file(name)
  return not name:match("^[_.]")
end

local function list_local(prefix, out)
  local fs = require "lode.fs"
  local st = fs.stat(prefix)
  if not st then
    error(require("lode.core").error({ op = "parquet.summary", code = "not_found",
      message = ("no such file or directory: %s"):format(prefix), file = prefix }), 0)
  end
  if st.type == "file" then
    out[#out + 1] = prefix
    return out
  end
  local function walk(dir)
    local entries, err = fs.scandir(dir)
    if not entries then
      error(require("lode.core").error({ op = "parquet.summary", code = "io", message = err, file = dir }), 0)
    end
    for _, e in ipairs(entries) do
      local p = dir:gsub("/$", "") .. "/" .. e.name
      if e.type == "directory" then
        walk(p)
      elseif e.type == "file" and is_data_file(e.name) then
        out[#out + 1] = p
      end
    end
  end
  walk(prefix)
  return out
end

local function list_s3(prefix, out)
  local ok, s3 = pcall(require, "lode.s3")
  if not ok or not s3.list then
    error(require("lode.core").error({ op = "parquet.summary", code = "unsupported",
      message = "s3:// prefixes need lode.s3, which is not available", file = prefix }), 0)
  end
  local bucket = prefix:match("^(s3://[^/]+/)") or (prefix .. "/")
  for _, obj in ipairs((s3.list(prefix))) do
    local name = obj.key:match("([^/]*)$")
    if is_data_file(name) and (obj.size or 1) > 0 then
      out[#out + 1] = bucket .. obj.key
    end
  end
  return out
end

--- parquet.files(prefix) -> sorted list of the data files under a local
--- directory or an s3:// prefix (a single file is returned as itself).
function M.files(prefix)
  local out = {}
  if prefix:match("^s3://") then
    list_s3(prefix, out)
  else
    list_local(prefix, out)
  end
  table.sort(out)
  return out
end

--- parquet.each(files, fn [, {concurrency = 32, speculative = bytes, on_error = fn}]):
--- fn(i, metadata) for every file, reading footers concurrently with at most
--- `concurrency` in flight. The first error is raised after the workers stop,
--- unless on_error(i, err) is given: then it is called and the walk goes on.
function M.each(files, fn, opts)
  opts = opts or {}
  local lode = require "lode"
  local n = math.min(opts.concurrency or 32, math.max(#files, 1))
  local next_i, failure = 0, nil
  local read_opts = opts.speculative and { speculative = opts.speculative } or nil
  local workers = {}
  for w = 1, n do
    workers[w] = function()
      while not failure do
        next_i = next_i + 1
        local i = next_i
        if i > #files then
          return
        end
        local ok, m = pcall(meta.metadata, files[i], read_opts)
        if ok then
          ok, m = pcall(fn, i, m)
        elseif opts.on_error then
          ok, m = pcall(opts.on_error, i, m)
        end
        if not ok then
          failure = failure or m
          return
        end
      end
    end
  end
  lode.all(workers)
  if failure then
    error(failure, 0)
  end
end

local function logical_name(c)
  local lt = c.logical_type
  if not lt then
    if c.converted_type == "DECIMAL" then
      return ("DECIMAL(%d,%d)"):format(c.precision or 0, c.scale or 0)
    end
    return c.converted_type or ""
  end
  if lt.type == "DECIMAL" then
    return ("DECIMAL(%d,%d)"):format(lt.precision, lt.scale)
  elseif lt.type == "TIMESTAMP" or lt.type == "TIME" then
    return ("%s(%s,%s)"):format(lt.type, lt.unit, lt.is_adjusted_to_utc and "UTC" or "local")
  elseif lt.type == "INTEGER" then
    return ("INTEGER(%d,%s)"):format(lt.bit_width, lt.is_signed and "signed" or "unsigned")
  end
  return lt.type
end
M.logical_name = logical_name

--- parquet.signature(columns) -> one string naming every leaf's path, physical and logical type
function M.signature(columns)
  local parts = {}
  for i, c in ipairs(columns) do
    parts[i] = ("%s:%s:%s:%s"):format(c.path, c.type, logical_name(c), c.repetition or "")
  end
  return table.concat(parts, ";")
end

--- parquet.summary(prefix_or_files [, {concurrency=, speculative=, on_error="collect"}]) ->
--- {files, total_rows, total_bytes (compressed column data), file_bytes,
---  columns = {{path, type, logical, compressed, uncompressed, values, nulls}},
---  schemas = {{columns, files}} (more than one when files disagree),
---  schemas_agree, errors = {{file, message, code}} (with on_error = "collect";
---  otherwise the first unreadable file raises)}
function M.summary(prefix, opts)
  opts = opts or {}
  local files = type(prefix) == "table" and prefix or M.files(prefix)
  local metas, errors = {}, {}
  local each_opts = { concurrency = opts.concurrency, speculative = opts.speculative }
  if opts.on_error == "collect" then
    each_opts.on_error = function(i, err)
      errors[#errors + 1] = { index = i, file = files[i], code = type(err) == "table" and err.code or nil,
                              message = type(err) == "table" and err.message or tostring(err) }
    end
  end
  M.each(files, function(i, m)
    -- keep only what the summary needs, so memory is per file, not per footer
    local cols = {}
    for j, c in ipairs(m.columns) do
      cols[j] = { path = c.path, type = c.type, repetition = c.repetition, logical_type = c.logical_type,
                  converted_type = c.converted_type, compressed = 0, uncompressed = 0, values = 0, nulls = 0 }
    end
    for _, rg in ipairs(m.row_groups) do
      for j, cc in ipairs(rg.columns) do
        local c = cols[j]
        c.compressed = c.compressed + (cc.total_compressed_size or 0)
        c.uncompressed = c.uncompressed + (cc.total_uncompressed_size or 0)
        c.values = c.values + (cc.num_values or 0)
        local nc = cc.statistics and cc.statistics.null_count
        if nc and c.nulls then
          c.nulls = c.nulls + nc
        else
          c.nulls = nil -- unknown for at least one chunk
        end
      end
    end
    metas[i] = { path = m.path, size = m.size, rows = m.num_rows, columns = cols }
  end, each_opts)
  table.sort(errors, function(a, b) return a.index < b.index end)

  local out = { files = #files, errors = errors, total_rows = 0, total_bytes = 0, file_bytes = 0, columns = {}, schemas = {} }
  local by_sig, by_path = {}, {}
  for i = 1, #files do
    local fm = metas[i]
    if not fm then
      goto continue
    end
    out.total_rows = out.total_rows + fm.rows
    out.file_bytes = out.file_bytes + fm.size
    local sig = M.signature(fm.columns)
    local group = by_sig[sig]
    if not group then
      group = { columns = {}, files = {} }
      for j, c in ipairs(fm.columns) do
        group.columns[j] = { path = c.path, type = c.type, logical = logical_name(c), repetition = c.repetition }
      end
      by_sig[sig] = group
      out.schemas[#out.schemas + 1] = group
    end
    group.files[#group.files + 1] = fm.path
    for _, c in ipairs(fm.columns) do
      local key = c.path .. "\0" .. c.type
      local agg = by_path[key]
      if not agg then
        agg = { path = c.path, type = c.type, logical = logical_name(c), compressed = 0, uncompressed = 0,
                values = 0, nulls = 0, files = 0 }
        by_path[key] = agg
        out.columns[#out.columns + 1] = agg
      end
      agg.compressed = agg.compressed + c.compressed
      agg.uncompressed = agg.uncompressed + c.uncompressed
      agg.values = agg.values + c.values
      agg.files = agg.files + 1
      if agg.nulls and c.nulls then
        agg.nulls = agg.nulls + c.nulls
      else
        agg.nulls = nil
      end
      out.total_bytes = out.total_bytes + c.compressed
    end
    ::continue::
  end
  out.schemas_agree = #out.schemas <= 1
  return out
end

-- Room for the data reader: parquet.rows and friends come from its own module.
do
  local ok, rows = pcall(require, "lode.parquetrows")
  if ok and type(rows) == "table" then
    for k, v in pairs(rows) do
      if M[k] == nil then
        M[k] = v
      end
    end
  elseif not ok and not tostring(rows):find("module 'lode.parquetrows' not found", 1, true) then
    error(rows, 0)
  end
end

--- parquet.rows(path, {columns = {...}}) -> iterator of row tables keyed by
--- column name (lode.null for NULL; integers and floats as numbers, booleans,
--- strings, bytea as raw bytes, decimals/dates/timestamps as text, nested
--- columns as JSON text). Decoded by lode.parquetrows, one row group in memory.
function M.rows(path, opts)
  local rd = require("lode.parquetrows").open(path, opts)
  return function()
    local row = rd:next()
    if row == nil then
      rd:close()
    end
    return row
  end
end

--- parquet.writer(path_or_url, opts) -> a writer of typed Lua rows (lode.parquet.writer)
function M.writer(target, opts)
  return require("lode.parquet.writer").new(target, opts)
end

return M
