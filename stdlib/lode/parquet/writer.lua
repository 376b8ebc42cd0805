-- lode.parquet.writer — Parquet files from Lua rows, typed with Redshift's
-- column types, to a local path or an s3:// URL:
--
--   local w = lode.parquet.writer("s3://bucket/orders/part-0.parquet", {
--     columns = { {name = "id", type = "bigint"}, {name = "amount", type = "numeric(12,2)"},
--                 {name = "updated_at", type = "timestamp"} },
--     row_group_rows = 100000, compression = "zstd" })      -- snappy (default), zstd, gzip, none
--   w:write({ id = 1, amount = "12.50", updated_at = "2024-01-01 00:00:00" })   -- lode.null for NULL
--   local r = w:close()   -- { rows =, bytes =, etag = }   (etag for s3:// only)
--
-- Built on lode.parquetwrite (C). An s3:// target is streamed: the C writer
-- keeps the file in memory, and every `part_size` bytes (the S3 client's,
-- at least 5 MiB) go out as the next part of a multipart upload while rows
-- are still written; the footer goes into the last part. Nothing touches
-- the disk, and memory is one row group plus one part. A file smaller than
-- one part is one PUT at close. Any failure, w:abort(), a task cancelled
-- (SIGTERM) or a writer dropped unclosed aborts the upload: no object and
-- no upload are left. A file:// S3 endpoint (local disk already) is
-- written to a temporary file and copied in at close. Without `columns`,
-- the first `infer_rows` rows (100) are held and the types inferred from
-- their Lua values.

local core = require "lode.core"

local M = {}

local Writer = { __name = "lode.parquet.writer" }
Writer.__index = Writer

local function fail(code, message, extra)
  local e = { op = "parquet.writer", code = code, message = message, retryable = false }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  error(core.error(e), 0)
end

-- Redshift type names (and their PostgreSQL aliases) -> lode.parquetwrite's
local SIMPLE = {
  smallint = "int32", int2 = "int32", integer = "int32", int = "int32", int4 = "int32",
  bigint = "int64", int8 = "int64",
  real = "float", float4 = "float",
  ["double precision"] = "double", double = "double", float8 = "double", float = "double",
  boolean = "boolean", bool = "boolean",
  date = "date",
  timestamp = "timestamp", ["timestamp without time zone"] = "timestamp",
  timestamptz = "timestamptz", ["timestamp with time zone"] = "timestamptz",
  time = "time", ["time without time zone"] = "time",
  text = "string", varchar = "string", ["character varying"] = "string", char = "string",
  character = "string", bpchar = "string", nchar = "string", nvarchar = "string",
}
local NOT_YET = { timetz = true, ["time with time zone"] = true }
local CODECS = { snappy = true, zstd = true, gzip = true, none = true }

--- writer.column_type(type) -> {type=, precision=, scale=} of lode.parquetwrite
function M.column_type(name, ty)
  if type(ty) ~= "string" then
    fail("usage", ("column %s: type must be a string such as 'bigint' or 'numeric(12,2)'"):format(name))
  end
  local t = ty:lower():gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s+", " ")
  local base, args = t:match("^([%a ]-)%s*%(([%d%s,]+)%)$")
  base = base or t
  if SIMPLE[base] then
    if args and SIMPLE[base] ~= "string" then
      fail("usage", ("column %s: type %s takes no length"):format(name, ty))
    end
    return { type = SIMPLE[base] }
  end
  if base == "numeric" or base == "decimal" then
    local p, s = 18, 0
    if args then
      p, s = args:match("^%s*(%d+)%s*,?%s*(%d*)%s*$")
      p, s = tonumber(p), tonumber(s) or 0
    end
    if not p or p < 1 or p > 38 or s > p then
      fail("usage", ("column %s: %s is not a numeric Redshift takes (precision 1-38, scale <= precision)")
        :format(name, ty))
    end
    return { type = "decimal", precision = p, scale = s }
  end
  if NOT_YET[base] then
    fail("unsupported", ("column %s: type %s is not written yet"):format(name, ty))
  end
  fail("usage", ("column %s: unknown type '%s'"):format(name, ty))
end

-- A Lua value as lode.parquetwrite takes it for the column: text, a number
-- (int and float columns), or false (NULL).
local function text_of(col, v)
  if v == nil or v == core.null then
    return false
  end
  local pt, tv = col.pq.type, type(v)
  if tv == "string" and (pt == "string" or pt == "date") then -- the common case first
    return v
  elseif pt == "boolean" then
    if tv == "boolean" then
      return v and "t" or "f"
    end
  elseif pt == "int32" or pt == "int64" then
    if math.type(v) == "integer" then
      return v -- the C writer checks an int32's range
    elseif tv == "string" and v:match("^%-?%d+$") then
      return v
    end
  elseif pt == "float" or pt == "double" then
    if tv == "number" then
      return v
    end
  elseif pt == "decimal" then
    if math.type(v) == "integer" then
      return col.pq.scale > 0 and (tostring(v) .. "." .. ("0"):rep(col.pq.scale)) or tostring(v)
    elseif tv == "string" then
      return v -- checked by the C writer against precision and scale
    end
  elseif pt == "timestamp" or pt == "timestamptz" then
    if tv == "string" then
      if #v > 10 and v:byte(11) ~= 84 then -- not 'T': as PostgreSQL prints it (the C writer parses it)
        return v
      end
      -- ISO 8601 'T' separator as PostgreSQL prints it, with a space
      if v:match("^%d%d%d%d%-%d%d%-%d%d$") then
        return v .. " 00:00:00" -- a date is its midnight
      end
      return (v:gsub("^(%d%d%d%d%-%d%d%-%d%d)T", "%1 "))
    end
  elseif tv == "string" then -- date, string
    return v
  end
  fail("invalid_value", ("column %s (%s): a Lua %s is not a value of this type"):format(col.name, col.type,
    math.type(v) or tv), { column = col.name })
end

-- Types of the columns of rows (Lua values): integer -> bigint, float ->
-- double, boolean, strings that look like dates / timestamps -> date /
-- timestamp, other strings -> varchar; all NULL -> varchar.
function M.infer(rows)
  local kinds, order = {}, {}
  for _, row in ipairs(rows) do
    local names = {}
    for k in pairs(row) do
      if type(k) == "string" then
        names[#names + 1] = k
      end
    end
    table.sort(names)
    for _, k in ipairs(names) do
      local v = row[k]
      if kinds[k] == nil then
        kinds[k] = false
        order[#order + 1] = k
      end
      local kind
      if v == core.null then
        kind = nil
      elseif math.type(v) == "integer" then
        kind = "bigint"
      elseif math.type(v) == "float" then
        kind = "double precision"
      elseif type(v) == "boolean" then
        kind = "boolean"
      elseif type(v) == "string" then
        if v:match("^%d%d%d%d%-%d%d%-%d%d$") then
          kind = "date"
        elseif v:match("^%d%d%d%d%-%d%d%-%d%d[T ]%d%d:%d%d:%d%d%.?%d*$") then
          kind = "timestamp"
        else
          kind = "varchar"
        end
      else
        fail("invalid_value", ("column %s: a Lua %s cannot be written to Parquet"):format(k, type(v)),
          { column = k })
      end
      local was = kinds[k]
      if kind and was and was ~= kind then
        if (was == "bigint" and kind == "double precision") or (was == "double precision" and kind == "bigint") then
          kind = "double precision"
        elseif (was == "date" or was == "timestamp") and (kind == "date" or kind == "timestamp") then
          kind = "timestamp"
        else
          kind = "varchar"
        end
      end
      kinds[k] = kind or was
    end
  end
  local cols = {}
  for i, k in ipairs(order) do
    cols[i] = { name = k, type = kinds[k] or "varchar" }
  end
  return cols
end

local function open_file(self, columns)
  local pq = {}
  self.cols, self.cols_out, self.vals = {}, {}, {}
  for i, c in ipairs(columns) do
    if type(c) ~= "table" or type(c.name) ~= "string" or c.name == "" then
      fail("usage", ("columns[%d] must be { name = 'col', type = 'bigint' }"):format(i))
    end
    local t = M.column_type(c.name, c.type)
    pq[i] = { name = c.name, type = t.type, precision = t.precision, scale = t.scale }
    self.cols[i] = { name = c.name, type = c.type, pq = t }
    self.cols_out[i] = { name = c.name, type = c.type }
  end
  local out = self.path
  if self.stream then
    out = false -- in memory, drained into the parts
  end
  local ok, w = pcall(require("lode.parquetwrite").open, out, pq,
    { row_group_size = self.row_group_bytes, compression = self.compression })
  if not ok then
    fail("io", tostring(w), { file = self.target })
  end
  self.pq = w
end

-- The size of the next part: part_size, doubled every 2,500 parts so that
-- S3's 10,000 parts hold 300 times part_size (2.3 TiB with 8 MiB parts).
local function next_part_size(st)
  return st.part_size << (#st.etags // 2500)
end

-- Streaming to S3: send the output in parts while it is written (every
-- part but the last must be >= 5 MiB); the rest waits. At close, output
-- of one part or less with no upload begun is one PUT; more goes in parts
-- (a PUT per part-sized piece would leave only the last piece).
local function ship_parts(self, final)
  local s3 = require "lode.s3"
  local st = self.stream
  while self.pq:pending() >= next_part_size(st) or (final and self.pq:pending() > 0) do
    local data = self.pq:take(next_part_size(st))
    self.bytes = self.bytes + #data
    if core.dry_run() then
      -- `lode plan`: nothing is sent (s3.put logs what would be)
    elseif final and not st.upload_id and self.pq:pending() == 0 then
      st.etag = s3.put(self.target, data, { content_type = "application/vnd.apache.parquet" }).etag
    else
      if not st.upload_id then
        st.upload_id = s3.create_upload(self.target, { content_type = "application/vnd.apache.parquet" })
      end
      st.etags[#st.etags + 1] = s3.upload_part(self.target, st.upload_id, #st.etags + 1, data)
    end
    data = nil -- luacheck: ignore (the part is garbage as soon as it is sent)
  end
  if final and core.dry_run() then
    s3.put(self.target, "") -- logs "plan: s3.put … (skipped in a dry run)"
  elseif final and st.upload_id then
    st.etag = s3.complete_upload(self.target, st.upload_id, st.etags, self.bytes).etag
    st.upload_id = nil -- complete: nothing left to abort
  end
end

-- Abort the multipart upload begun, if any: waits for S3 where it can, and
-- from a __close / __gc handler of a cancelled task sends it and goes on.
local function abort_stream(self)
  local st = self.stream
  if st and st.upload_id then
    local id = st.upload_id
    st.upload_id = nil
    pcall(require("lode.s3").abort_upload, self.target, id)
  end
end

local function put_row(self, row)
  local vals, cols = self.vals, self.cols -- one values table per writer: the C writer copies them
  for i = 1, #cols do
    local c = cols[i]
    vals[i] = text_of(c, row[c.name])
  end
  local ok, err = pcall(self.pq.write, self.pq, vals)
  if not ok then
    fail("invalid_value", ("%s, row %d"):format(tostring(err), self.rows + 1), { file = self.target })
  end
  self.rows = self.rows + 1
  self.group = self.group + 1
  if self.row_group_rows and self.group >= self.row_group_rows then
    self.pq:flush()
    self.group = 0
  end
  if self.stream and self.pq:pending() >= next_part_size(self.stream) then
    ship_parts(self, false)
  end
end

--- parquet.writer(target, opts) -> a writer (see the top of this file)
function M.new(target, opts)
  opts = opts or {}
  if type(target) ~= "string" or target == "" then
    fail("usage", "parquet.writer(target, opts): target must be a path or an s3:// URL")
  end
  local compression = opts.compression or "snappy"
  if not CODECS[compression] then
    fail("usage", ("compression '%s' is not one of snappy, zstd, gzip, none"):format(tostring(compression)))
  end
  local self = setmetatable({ target = target, rows = 0, group = 0, pending = nil, bytes = 0,
    compression = compression, row_group_rows = opts.row_group_rows, row_group_bytes = opts.row_group_bytes,
    infer_rows = opts.infer_rows or 100 }, Writer)
  if self.row_group_rows ~= nil and (math.type(self.row_group_rows) ~= "integer" or self.row_group_rows < 1) then
    fail("usage", "row_group_rows must be a positive integer")
  end
  if opts.part_size ~= nil and (math.type(opts.part_size) ~= "integer" or opts.part_size < 5 * 1024 * 1024) then
    fail("usage", "part_size must be an integer of at least 5 MiB (S3's smallest part)")
  end
  if target:match("^s3://") then
    local s3 = require "lode.s3"
    local settings = s3.configure({})
    if settings.addressing == "file" then
      local fs = require "lode.fs"
      self.dir = fs.mkdtemp("lode-parquet")
      self.path = self.dir .. "/part.parquet"
    else
      self.stream = { part_size = math.max(opts.part_size or settings.part_size, 5 * 1024 * 1024), etags = {} }
    end
  else
    self.path = target:gsub("^file://", "")
  end
  if opts.columns then
    if type(opts.columns) ~= "table" or #opts.columns == 0 then
      fail("usage", "columns must be a non-empty list of { name =, type = }")
    end
    open_file(self, opts.columns)
  else
    self.pending = {}
  end
  return self
end

local function cleanup(self)
  if self.pq then
    pcall(self.pq.close, self.pq)
    self.pq = nil
  end
  if self.dir then
    require("lode.fs").rmtree(self.dir)
    self.dir = nil
  end
end

-- Run fn(self); on a failure abort the upload, drop the file, and raise.
local function guarded(self, fn, ...)
  local ok, err = pcall(fn, self, ...)
  if not ok then
    self.closed = true
    abort_stream(self)
    cleanup(self)
    error(err, 0)
  end
end

--- w:write(row): one row, a table keyed by column name (lode.null or nil for NULL)
function Writer:write(row)
  if self.closed then
    fail("closed", "parquet.writer: the writer is closed")
  end
  if type(row) ~= "table" then
    fail("usage", "w:write(row): row must be a table keyed by column name")
  end
  if self.pending then
    self.pending[#self.pending + 1] = row
    if #self.pending >= self.infer_rows then
      guarded(self, self._start)
    end
    return
  end
  guarded(self, put_row, row)
end

function Writer:_start()
  local rows = self.pending
  self.pending = nil
  local cols = M.infer(rows)
  if #cols == 0 then
    fail("usage", "parquet.writer: no columns given and none to infer from the rows")
  end
  open_file(self, cols)
  for _, r in ipairs(rows) do
    put_row(self, r)
  end
end

--- w:columns() -> the columns written ({name, type}), nil before inference
function Writer:columns()
  return self.cols_out
end

--- w:close() -> { rows =, bytes =, etag = } (the footer written, an s3:// target uploaded)
function Writer:close()
  if self.closed then
    return self.result
  end
  guarded(self, function()
    if self.pending then
      self:_start()
    end
    self.pq:close()
    local result = { rows = self.rows }
    if self.stream then
      ship_parts(self, true)
      result.bytes, result.etag, result.parts = self.bytes, self.stream.etag, math.max(#self.stream.etags, 1)
    else
      result.bytes = require("lode.fs").stat(self.path).size
      if self.dir then
        result.etag = require("lode.s3").upload(self.path, self.target).etag
      end
    end
    self.result = result
  end)
  self.closed = true
  cleanup(self)
  return self.result
end

--- w:abort(): drop the file (nothing is uploaded; a multipart upload begun is aborted)
function Writer:abort()
  if not self.closed then
    self.closed = true
    abort_stream(self)
    cleanup(self)
    if not self.dir and self.path then
      os.remove(self.path)
    end
  end
end

Writer.__close = Writer.abort
Writer.__gc = function(self)
  if not self.closed then
    abort_stream(self)
    if self.dir then
      pcall(require("lode.fs").rmtree, self.dir)
    end
  end
end

return M
