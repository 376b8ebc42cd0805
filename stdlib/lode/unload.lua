-- lode.unload — Redshift's UNLOAD carried out on PostgreSQL: the query's rows
-- written to S3 with the bytes, object names and manifest Redshift would
-- write.
--
--   local unload = require "lode.unload"
--   unload.run(s, st)   -- st: a parsed UNLOAD (lode.redshift), s: a session
--                       -- or transaction; -> { rowcount =, files = {url, ...} }
--
-- What it writes (AWS's UNLOAD reference, "Parameters" and "UNLOAD examples"):
--   * text (no FORMAT): fields joined by DELIMITER ('|'), no quoting; with
--     ESCAPE a backslash before LF, CR, the delimiter, backslash and (with
--     ADDQUOTES) '"'; ADDQUOTES wraps every field in '"'; NULL is the empty
--     field unless NULL AS gives a string; HEADER is the column names.
--   * CSV: a field holding the delimiter, '"', LF or CR is quoted, '"' doubled.
--   * JSON: one object per line, keys the column names, NULL as null,
--     booleans as "t"/"f", numbers bare.
--   * names: <prefix><slice>_part_<nn> (one slice here: 0000) with PARALLEL
--     ON, <prefix><nnn> with PARALLEL OFF; a new part when MAXFILESIZE would
--     be passed; then EXTENSION, else .gz/.bz2/.zst for GZIP/BZIP2/ZSTD.
--   * PARTITION BY (cols) [INCLUDE]: <prefix>/col=value/… folders, NULL as
--     __HIVE_DEFAULT_PARTITION__, the columns left out of the files unless
--     INCLUDE.
--   * MANIFEST [VERBOSE]: <prefix>manifest listing every file with its
--     content_length (VERBOSE: record_count, schema, totals and author).
--   * without ALLOWOVERWRITE or CLEANPATH, a prefix that already holds
--     objects fails the statement before anything is written; CLEANPATH
--     deletes them first.
--   * PARQUET: Parquet 1.0, SNAPPY pages, row groups of ROWGROUPSIZE (32 MB),
--     <name>.parquet; booleans, integers, real/double, numeric(p<=18, s),
--     char/varchar/text, date and timestamp columns (others fail the
--     statement naming the column).
--   * FIXEDWIDTH 'label:width,…': one width (in characters) per column, in
--     order; every value left-aligned and padded with blanks to its width,
--     no delimiter. A longer value fails the statement ("UNLOAD fails rather
--     than truncate data"); NULL is blanks, or NULL AS padded — a NULL AS
--     wider than the column is blanks for a non-character column and fails
--     the statement for a character one (the NULL AS parameter's rules).
-- Options lode cannot reproduce (client-side encryption; ESCAPE or ADDQUOTES
-- with FIXEDWIDTH, and a line break in a fixed-width value, whose output AWS
-- does not document) fail at the statement, naming the option.
--
-- Memory: the rows stream through COPY (query) TO STDOUT (its reader pauses
-- the server past a high-water mark) into one local part file per open
-- partition, each uploaded and deleted as soon as it is complete, so the
-- disk holds at most MAXFILESIZE per open partition (32 open; 4 for Parquet,
-- whose writer keeps one row group, ROWGROUPSIZE, in memory).

local core = require "lode.core"

local M = {}

local MB = 1024 * 1024
local MIN_FILE = 5 * MB
local MAX_FILE = math.floor(6.2 * 1024 * MB)   -- Redshift's default and largest file
local MAX_OPEN_PARTITIONS = 32                 -- part files open at once with PARTITION BY
local MAX_OPEN_PARQUET = 4                     -- … for Parquet, each holding a row group in memory

local function fail(code, msg, extra)
  local e = { op = "unload", code = code, message = msg, retryable = false }
  for k, v in pairs(extra or {}) do
    e[k] = v
  end
  error(core.error(e), 0)
end

-- Checks -----------------------------------------------------------------------------

-- The options each format refuses, as Redshift does.
local REFUSED_WITH = {
  json = { "delimiter", "header", "fixedwidth", "addquotes", "escape", "null_as" },
  parquet = { "delimiter", "fixedwidth", "addquotes", "escape", "null_as", "header", "gzip", "bzip2", "zstd" },
  csv = { "fixedwidth" },
}

local OPTION_NAMES = {
  delimiter = "DELIMITER", header = "HEADER", fixedwidth = "FIXEDWIDTH", addquotes = "ADDQUOTES",
  escape = "ESCAPE", null_as = "NULL AS", gzip = "GZIP", bzip2 = "BZIP2", zstd = "ZSTD",
}

-- FIXEDWIDTH 'label:width,…' -> { width, … }: labels are free text (Redshift
-- ignores them), the pairs follow the query's columns in order.
local function fixed_widths(spec)
  local widths = {}
  for pair in (spec .. ","):gmatch("([^,]*),") do
    local label, w = pair:match("^%s*([^:]-)%s*:%s*(%d+)%s*$")
    w = tonumber(w)
    if not label or label == "" or not w or w < 1 or w > 0xFFFFFF then
      fail("invalid", ("UNLOAD: FIXEDWIDTH '%s': '%s' is not label:width (a positive width)"):format(spec, pair))
    end
    widths[#widths + 1] = math.tointeger(w)
  end
  return widths
end

local function check(st)
  for _, opt in ipairs(REFUSED_WITH[st.format] or {}) do
    if st[opt] then
      fail("invalid", ("UNLOAD: %s cannot be used with FORMAT %s"):format(OPTION_NAMES[opt], st.format:upper()))
    end
  end
  if st.fixedwidth and (st.delimiter or st.header) then
    fail("invalid", "UNLOAD: FIXEDWIDTH cannot be used with " .. (st.delimiter and "DELIMITER" or "HEADER"))
  end
  local n = (st.gzip and 1 or 0) + (st.bzip2 and 1 or 0) + (st.zstd and 1 or 0)
  if n > 1 then
    fail("invalid", "UNLOAD: only one of GZIP, BZIP2 and ZSTD")
  end
  if st.cleanpath and st.allowoverwrite then
    fail("invalid", "UNLOAD: CLEANPATH cannot be used with ALLOWOVERWRITE")
  end
  if st.maxfilesize and (st.maxfilesize < MIN_FILE or st.maxfilesize > MAX_FILE) then
    fail("invalid", "UNLOAD: MAXFILESIZE must be between 5 MB and 6.2 GB")
  end
  if st.escape and st.format == "csv" then
    fail("invalid", "UNLOAD: ESCAPE cannot be used with FORMAT CSV")
  end
  -- what lode does not reproduce: refused here, never written differently
  if st.fixedwidth and (st.escape or st.addquotes) then
    -- AWS documents ESCAPE for delimited files only, and ADDQUOTES for data
    -- holding the delimiter: what Redshift writes with FIXEDWIDTH is unknown
    fail("unsupported", ("UNLOAD … FIXEDWIDTH with %s is not emulated locally by lode (AWS documents it for "
      .. "delimited files only)"):format(st.escape and "ESCAPE" or "ADDQUOTES"))
  end
  if st.encrypted or st.kms_key_id or st.master_symmetric_key then
    fail("unsupported", "UNLOAD … ENCRYPTED / KMS_KEY_ID / MASTER_SYMMETRIC_KEY is not emulated locally by lode")
  end
  if st.addquotes and st.format == "csv" then
    fail("invalid", "UNLOAD: ADDQUOTES is not supported for UNLOAD to CSV")
  end
  if st.parallel == "preset" then
    fail("invalid", "UNLOAD: PARALLEL takes ON, OFF, TRUE or FALSE")
  end
  if st.rowgroupsize and st.format ~= "parquet" then
    fail("invalid", "UNLOAD: ROWGROUPSIZE needs FORMAT PARQUET")
  end
  if st.rowgroupsize and (st.rowgroupsize < 32 * MB or st.rowgroupsize > 128 * MB) then
    fail("invalid", "UNLOAD: ROWGROUPSIZE must be between 32 MB and 128 MB")
  end
  if st.fixedwidth then
    st.widths = st.widths or fixed_widths(st.fixedwidth)
  end
  if st.delimiter then
    local d = st.delimiter      -- already decoded by lode.redshift ('\t' is a tab)
    if #d ~= 1 or d:byte() > 127 then
      fail("invalid", ("UNLOAD: DELIMITER must be a single ASCII character, got %q"):format(st.delimiter))
    end
  end
end

-- Values -------------------------------------------------------------------------------

-- PostgreSQL's text COPY output: \N for NULL, backslash escapes for the rest.
local COPY_ESCAPES = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v", ["\\"] = "\\" }

local function copy_fields(line, out)
  local n = 0
  for f in (line .. "\t"):gmatch("([^\t]*)\t") do
    n = n + 1
    if f == "\\N" then
      out[n] = false
    elseif f:find("\\", 1, true) then
      out[n] = f:gsub("\\(.)", COPY_ESCAPES)
    else
      out[n] = f
    end
  end
  return n
end

local NUMERIC_OIDS = { [20] = true, [21] = true, [23] = true, [26] = true, [700] = true, [701] = true, [1700] = true }
local JSON_OIDS = { [114] = true, [3802] = true }

-- JSON's own escapes for '"', '\\' and the C0 controls; everything else,
-- UTF-8 included, as it is.
local JSON_ESCAPES = { ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f", ["\n"] = "\\n",
                       ["\r"] = "\\r", ["\t"] = "\\t" }

local function json_string(s)
  return '"' .. s:gsub('[%z\1-\31"\\]', function(c)
    return JSON_ESCAPES[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

-- Character types: a NULL AS wider than their width fails the statement.
local CHAR_OIDS = { [18] = true, [19] = true, [25] = true, [1042] = true, [1043] = true }

-- FIXEDWIDTH: every field padded with blanks to its width in characters.
local function fixed_writer(st, cols)
  local n, widths = #cols, st.widths
  local pad = {}
  for i = 1, n do
    pad[i] = (" "):rep(widths[i])
  end
  -- NULL's field per column: blanks without NULL AS; NULL AS padded when it
  -- fits; blanks (non-character) or an error (character) when it does not
  local nulls = {}
  for i, c in ipairs(cols) do
    if not st.null_as then
      nulls[i] = pad[i]
    else
      local len = utf8.len(st.null_as) or #st.null_as
      if len <= widths[i] then
        nulls[i] = st.null_as .. pad[i]:sub(len + 1)
      elseif not CHAR_OIDS[c.oid] then
        nulls[i] = pad[i]
      end
    end
  end
  local row = 0
  return function(v)
    row = row + 1
    local parts = {}
    for i = 1, n do
      local x, w = v[i], widths[i]
      if x == false then
        x = nulls[i]
        if not x then
          fail("bad_input", ("UNLOAD … FIXEDWIDTH: NULL AS '%s' is wider than the width %d of character column %s "
            .. "(row %d holds NULL there); Redshift reports an error"):format(st.null_as, w, cols[i].name, row),
            { column = cols[i].name, row = row })
        end
      else
        if x:find("[\n\r]") then
          fail("unsupported", ("UNLOAD … FIXEDWIDTH: row %d, column %s holds a line break; how Redshift writes it "
            .. "in a fixed-width file is not documented, so lode does not emulate it"):format(row, cols[i].name),
            { column = cols[i].name, row = row })
        end
        local len = utf8.len(x) or #x
        if len > w then
          fail("bad_input", ("UNLOAD … FIXEDWIDTH: row %d, column %s holds %d characters, more than its width %d "
            .. "(Redshift fails rather than truncate)"):format(row, cols[i].name, len, w),
            { column = cols[i].name, row = row })
        end
        if len < w then
          x = x .. pad[i]:sub(len + 1)
        end
      end
      parts[i] = x
    end
    return table.concat(parts) .. "\n"
  end
end

-- A function(values) -> line for st's format and the result's columns.
local function line_writer(st, cols)
  if st.fixedwidth then
    return fixed_writer(st, cols)
  end
  local n = #cols
  if st.format == "json" then
    local keys, kinds = {}, {}
    for i, c in ipairs(cols) do
      keys[i] = json_string(c.name) .. ":"
      kinds[i] = (c.oid == 16 and "bool") or (NUMERIC_OIDS[c.oid] and "number") or (JSON_OIDS[c.oid] and "json")
        or "string"
    end
    return function(v)
      local parts = {}
      for i = 1, n do
        local x, k = v[i], kinds[i]
        if x == false then
          x = "null"
        elseif k == "number" then
          if not x:match("^%-?%d") then   -- NaN, Infinity: not JSON numbers
            x = json_string(x)
          end
        elseif k ~= "json" then
          x = json_string(x)
        end
        parts[i] = keys[i] .. x
      end
      return "{" .. table.concat(parts, ",") .. "}\n"
    end
  end
  local delim = st.delimiter or (st.format == "csv" and "," or "|")
  local null = st.null_as or ""
  local field
  if st.format == "csv" then
    local special = "[" .. delim:gsub("%p", "%%%0") .. '"\n\r]'
    field = function(x)
      if x == false then
        return null
      end
      if x:find(special) then
        return '"' .. x:gsub('"', '""') .. '"'
      end
      return x
    end
  else
    local escape
    if st.escape then
      local set = "[\n\r\\" .. delim:gsub("%p", "%%%0") .. (st.addquotes and '"' or "") .. "]"
      escape = function(x)
        return (x:gsub(set, "\\%0"))
      end
    end
    local q = st.addquotes and '"' or ""
    -- Redshift applies ESCAPE to the NULL AS string as well (a known quirk:
    -- NULL AS '\\N' ESCAPE writes \\N), so the same text comes out here
    if escape then
      null = escape(null)
    end
    field = function(x)
      if x == false then
        return q .. null .. q
      end
      if escape then
        x = escape(x)
      end
      return q .. x .. q
    end
  end
  return function(v)
    local parts = {}
    for i = 1, n do
      parts[i] = field(v[i])
    end
    return table.concat(parts, delim) .. "\n"
  end
end

-- Destinations --------------------------------------------------------------------------

local function split_url(url)
  local bucket, key = url:match("^s3://([^/]+)/?(.*)$")
  if not bucket then
    fail("invalid", ("UNLOAD: TO must be an s3://bucket/prefix URL, got '%s'"):format(url))
  end
  return bucket, key
end

local function extension(st)
  if st.extension and st.extension ~= "" then
    return "." .. st.extension:gsub("^%.", "")
  end
  return (st.format == "parquet" and ".parquet") or (st.gzip and ".gz") or (st.bzip2 and ".bz2")
    or (st.zstd and ".zst") or ""
end

-- The name of part `part` (0-based) under `base`.
local function part_name(st, base, part)
  if st.parallel == false then
    return ("%s%03d%s"):format(base, part, extension(st))
  end
  return ("%s0000_part_%02d%s"):format(base, part, extension(st))
end

local function partition_value(x)
  if x == false or x == "" then
    return "__HIVE_DEFAULT_PARTITION__"
  end
  -- Hive escapes the characters a path segment cannot hold
  return (x:gsub('[%c"#%%\'*/:=?\\{}%[%]^]', function(c) return ("%%%02X"):format(c:byte()) end))
end

-- One part file being written: a local temp file (compressed on the way in),
-- uploaded when full or at the end.
local function open_part(ctx, base, part)
  local path = ("%s/p%d"):format(ctx.dir, ctx.seq)
  ctx.seq = ctx.seq + 1
  local f, err = io.open(path, "wb")
  if not f then
    fail("io", ("UNLOAD: cannot write the temporary file %s: %s"):format(path, err))
  end
  local w = { f = f, path = path, base = base, part = part, bytes = 0, records = 0,
              url = part_name(ctx.st, base, part) }
  if ctx.parquet then
    f:close()
    w.f = nil
    w.pq = require("lode.parquetwrite").open(path, ctx.parquet, { row_group_size = ctx.row_group_size })
  elseif ctx.codec then
    w.z = require("lode.compress").new(ctx.codec)
  end
  return w
end

local function write_part(w, s)
  if w.z then
    s = w.z:write(s)
  end
  if #s > 0 then
    assert(w.f:write(s))
    w.bytes = w.bytes + #s
  end
end

local function close_part(ctx, w)
  if w.pq then
    w.pq:close()
    w.bytes = require("lode.fs").stat(w.path).size
  elseif w.z then
    local tail = w.z:finish()
    assert(w.f:write(tail))
    w.bytes = w.bytes + #tail
    w.z:close()
  end
  if w.f then
    w.f:close()
  end
  require("lode.s3").upload(w.path, w.url)
  os.remove(w.path)
  ctx.files[#ctx.files + 1] = { url = w.url, content_length = w.bytes, record_count = w.records }
end

-- S3 listing and cleaning ------------------------------------------------------------------

local function has_objects(s3, url)
  local page = s3.list_page(url, { max_keys = 1 })
  return #(page.objects or {}) > 0
end

local function clean(s3, url)
  local bucket = url:match("^s3://([^/]+)/")
  local urls = {}
  for _, obj in ipairs((s3.list(url, { recursive = true }))) do
    urls[#urls + 1] = ("s3://%s/%s"):format(bucket, obj.key)
  end
  if #urls > 0 then
    s3.delete(urls)
  end
end

-- The query's columns with their types and dimensions (a temporary view
-- over the query, read back from pg_attribute).
local function column_info(s, query)
  local view = ("lode_unload_%d"):format(math.random(1, 1e9))
  s:query_raw(("CREATE TEMP VIEW %s AS %s"):format(view, query))
  local ok, r = pcall(s.query_raw, s, ([[
    SELECT attname AS name, atttypid::int AS oid, format_type(atttypid, NULL) AS base,
           CASE WHEN atttypid IN (1042, 1043) AND atttypmod > 4 THEN atttypmod - 4 END AS byte_length,
           CASE WHEN atttypid = 1700 AND atttypmod > 4 THEN ((atttypmod - 4) >> 16) & 65535 END AS precision,
           CASE WHEN atttypid = 1700 AND atttypmod > 4 THEN (atttypmod - 4) & 65535 END AS scale
    FROM pg_attribute WHERE attrelid = 'pg_temp.%s'::regclass AND attnum > 0 AND NOT attisdropped
    ORDER BY attnum]]):format(view))
  pcall(s.query_raw, s, "DROP VIEW IF EXISTS pg_temp." .. view)
  if not ok then
    error(r, 0)
  end
  for _, row in ipairs(r) do
    for _, k in ipairs { "byte_length", "precision", "scale" } do
      if row[k] == core.null then
        row[k] = nil
      end
    end
  end
  return r
end

-- Schema for MANIFEST VERBOSE: Redshift's type names with their dimensions.
local function verbose_schema(info)
  local elements = {}
  for i, row in ipairs(info) do
    local base = row.base
    if base == "bpchar" then
      base = "character"
    elseif base == "jsonb" then
      base = "super"
    end
    local ty = { ("\"base\": %s"):format(json_string(base)) }
    if row.byte_length then
      ty[#ty + 1] = ("\"byte_length\": %d"):format(row.byte_length)
    end
    if row.precision then
      ty[#ty + 1] = ("\"precision\": %d, \"scale\": %d"):format(row.precision, row.scale)
    end
    elements[i] = ("      {\"name\": %s, \"type\": {%s}}"):format(json_string(row.name), table.concat(ty, ", "))
  end
  return elements
end

-- Parquet column types by PostgreSQL type oid.
local PARQUET_TYPES = {
  [16] = "boolean", [21] = "int32", [23] = "int32", [20] = "int64", [700] = "float", [701] = "double",
  [25] = "string", [1042] = "string", [1043] = "string", [1082] = "date", [1114] = "timestamp",
}

local function parquet_columns(info, keep)
  local out = {}
  for j, i in ipairs(keep) do
    local c = info[i]
    local ty = PARQUET_TYPES[c.oid]
    if c.oid == 1700 and c.precision and c.precision <= 18 then
      ty = "decimal"
    end
    if not ty then
      fail("unsupported", ("UNLOAD … FORMAT PARQUET: column %s of type %s is not written by lode's Parquet writer "
        .. "(booleans, integers, real/double, numeric(p<=18,s), char/varchar/text, date, timestamp are)")
        :format(c.name, c.base .. (c.oid == 1700 and not c.precision and " without precision" or "")))
    end
    out[j] = { name = c.name, type = ty, precision = c.precision, scale = c.scale }
  end
  return out
end

local function manifest(ctx, url, schema)
  local st = ctx.st
  local lines = { "{", "  \"entries\": [" }
  local total, records = 0, 0
  for i, f in ipairs(ctx.files) do
    local meta = ("\"content_length\": %d"):format(f.content_length)
    if st.manifest_verbose then
      meta = meta .. (", \"record_count\": %d"):format(f.record_count)
    end
    lines[#lines + 1] = ("    {\"url\":%s, \"meta\": { %s }}%s"):format(json_string(f.url), meta,
      i < #ctx.files and "," or "")
    total, records = total + f.content_length, records + f.record_count
  end
  if st.manifest_verbose then
    lines[#lines + 1] = "  ],"
    lines[#lines + 1] = "  \"schema\": {"
    lines[#lines + 1] = "    \"elements\": ["
    lines[#lines + 1] = table.concat(schema, ",\n")
    lines[#lines + 1] = "    ]"
    lines[#lines + 1] = "  },"
    lines[#lines + 1] = "  \"meta\": {"
    lines[#lines + 1] = ("    \"content_length\": %d,"):format(total)
    lines[#lines + 1] = ("    \"record_count\": %d"):format(records)
    lines[#lines + 1] = "  },"
    lines[#lines + 1] = "  \"author\": {"
    lines[#lines + 1] = "    \"name\": \"Amazon Redshift\","
    lines[#lines + 1] = "    \"version\": \"1.0.0\""
    lines[#lines + 1] = "  }"
  else
    lines[#lines + 1] = "  ]"
  end
  lines[#lines + 1] = "}"
  require("lode.s3").put(url, table.concat(lines, "\n") .. "\n", { content_type = "application/json" })
end

-- The run ----------------------------------------------------------------------------------

-- The query as PostgreSQL runs it: without a trailing ';', and with the
-- Redshift spellings other statements get rewritten too (#temp names,
-- GETDATE(), SYSDATE).
local function pg_query(q)
  q = q:gsub("[%s;]+$", "")
  local ok, stmts = pcall(require("lode.redshift").statements, q)
  if ok and #stmts == 1 and stmts[1].rewritten then
    return stmts[1].rewritten
  end
  return q
end

--- run(s, st) -> { rowcount =, files = { url, ... } }: carry out a parsed
--- UNLOAD on the session or transaction s (its own connection, so the query
--- sees the script's temp tables and open transaction).
function M.run(s, st)
  check(st)
  local query = pg_query(st.query)
  local bucket, key = split_url(st.to)
  if st.partition_by and key ~= "" and key:sub(-1) ~= "/" then
    key = key .. "/"      -- Redshift adds the slash PARTITION BY needs
  end
  local prefix = ("s3://%s/%s"):format(bucket, key)
  local copy_sql = ("COPY (%s) TO STDOUT"):format(query)
  if core.dry_run() then
    -- the note after the statement's ";": a comment before it would hide the ";"
    require("lode.warehouse")._plan_print(copy_sql)
    io.stdout:write(("-- (then written as UNLOAD files under %s)\n"):format(prefix))
    return { rowcount = 0, files = {} }
  end
  local s3 = require "lode.s3"
  local fs = require "lode.fs"

  -- the result's columns, before anything is written
  local cols = s:query_raw(("SELECT * FROM (%s) AS lode_unload LIMIT 0"):format(query)).columns
  local keep, part_cols = {}, {}
  if st.partition_by then
    local index = {}
    for i, c in ipairs(cols) do
      index[c.name] = i
    end
    local is_part = {}
    for _, name in ipairs(st.partition_by) do
      if not index[name] then
        fail("invalid", ("UNLOAD: PARTITION BY column %s is not a column of the query"):format(name))
      end
      part_cols[#part_cols + 1] = { name = name, index = index[name] }
      is_part[index[name]] = true
    end
    for i, c in ipairs(cols) do
      if st.partition_include or not is_part[i] then
        keep[#keep + 1] = i
      end
    end
    if #keep == 0 then
      fail("invalid", "UNLOAD: PARTITION BY needs at least one column that is not a partition column")
    end
  else
    for i = 1, #cols do
      keep[i] = i
    end
  end
  local out_cols, seen = {}, {}
  for j, i in ipairs(keep) do
    out_cols[j] = cols[i]
    if st.format == "json" and seen[cols[i].name] then
      fail("invalid", ("UNLOAD … FORMAT JSON: column name %s appears twice; each key of a JSON object must be unique")
        :format(cols[i].name))
    end
    seen[cols[i].name] = true
  end

  if st.fixedwidth and #st.widths ~= #out_cols then
    fail("invalid", ("UNLOAD: FIXEDWIDTH '%s' has %d widths for the query's %d columns (they must match)")
      :format(st.fixedwidth, #st.widths, #out_cols))
  end

  -- types checked before anything in S3 is touched
  local info = (st.manifest_verbose or st.format == "parquet") and column_info(s, query)
  local schema = st.manifest_verbose and verbose_schema(info)
  local pq_cols = st.format == "parquet" and parquet_columns(info, keep)

  if st.cleanpath and not st.partition_by then
    clean(s3, prefix)
  elseif not st.allowoverwrite and not st.cleanpath and has_objects(s3, prefix) then
    fail("not_empty", ("UNLOAD: Specified unload destination on S3 is not empty (%s). Consider using a different "
      .. "bucket / prefix, manually removing the target files in S3, or using the ALLOWOVERWRITE option."):format(prefix),
      { key = prefix })
  end
  local format_line = st.format ~= "parquet" and line_writer(st, out_cols)
  local header
  if st.header then
    local names = {}
    for j, c in ipairs(out_cols) do
      names[j] = c.name
    end
    header = format_line(names)
  end
  local max = st.maxfilesize or MAX_FILE
  local ctx = { st = st, dir = fs.mkdtemp("lode-unload"), seq = 0, files = {},
                codec = (st.gzip and "gzip") or (st.bzip2 and "bzip2") or (st.zstd and "zstd") }
  if st.format == "parquet" then
    ctx.parquet = pq_cols
    ctx.row_group_size = math.min(st.rowgroupsize or 32 * MB, max)
  end
  local open, order, parts, cleaned = {}, {}, {}, {}
  local rows = 0

  local function start(base)
    if st.cleanpath and st.partition_by and not cleaned[base] then
      cleaned[base] = true
      clean(s3, base)
    end
    local w = open_part(ctx, base, parts[base] or 0)
    parts[base] = (parts[base] or 0) + 1
    if header then
      write_part(w, header)
      w.records = w.records + 1     -- VERBOSE counts the header line too
    end
    return w
  end

  local function writer_for(base)
    local w = open[base]
    if w then
      return w
    end
    local n = 0
    for _ in pairs(open) do
      n = n + 1
    end
    if n >= (ctx.parquet and MAX_OPEN_PARQUET or MAX_OPEN_PARTITIONS) then
      -- the least recently written partition finishes its part; a later row
      -- for it starts the next part number
      local oldest, at = nil, math.huge
      for b, x in pairs(open) do
        if x.last < at then
          oldest, at = b, x.last
        end
      end
      close_part(ctx, open[oldest])
      open[oldest] = nil
    end
    w = start(base)
    open[base] = w
    order[#order + 1] = base
    return w
  end

  local values, outv = {}, {}
  local function row(line)
    copy_fields(line, values)
    local base = prefix
    if st.partition_by then
      local segs = {}
      for k, pc in ipairs(part_cols) do
        segs[k] = pc.name .. "=" .. partition_value(values[pc.index])
      end
      base = prefix .. table.concat(segs, "/") .. "/"
    end
    for j, i in ipairs(keep) do
      outv[j] = values[i]
    end
    local w = writer_for(base)
    if w.pq then
      local n = 0
      for j = 1, #keep do
        n = n + (outv[j] and #outv[j] or 0)
      end
      if w.records > 0 and w.pq:size() + n > max then
        close_part(ctx, w)
        w = start(base)
        open[base] = w
      end
      local ok, err = pcall(w.pq.write, w.pq, outv)
      if not ok then
        fail("invalid", ("UNLOAD … FORMAT PARQUET: %s"):format(tostring(err):gsub("^parquet: ", "")))
      end
    else
      local text = format_line(outv)
      if w.records > (header and 1 or 0) and w.bytes + #text > max then
        close_part(ctx, w)
        w = start(base)
        open[base] = w
      end
      write_part(w, text)
    end
    w.records = w.records + 1
    rows = rows + 1
    w.last = rows
  end

  local ok, err = pcall(function()
    local pending = ""
    s:copy_out(copy_sql, function(chunk)
      local data = pending .. chunk
      local pos = 1
      while true do
        local nl = data:find("\n", pos, true)
        if not nl then
          break
        end
        row(data:sub(pos, nl - 1))
        pos = nl + 1
      end
      pending = data:sub(pos)
    end)
    if not st.partition_by and not open[prefix] and st.format ~= "parquet" then
      writer_for(prefix)          -- no rows: one empty (or header-only) file, as Redshift writes
    end
    for _, base in ipairs(order) do
      if open[base] then
        close_part(ctx, open[base])
        open[base] = nil
      end
    end
    if st.manifest then
      manifest(ctx, prefix .. "manifest", schema)
    end
  end)
  for _, w in pairs(open) do
    pcall(function()
      if w.z then
        w.z:close()
      end
      if w.pq then
        w.pq:close()
      end
      if w.f then
        w.f:close()
      end
    end)
  end
  fs.rmtree(ctx.dir)
  if not ok then
    error(err, 0)
  end
  local urls = {}
  for i, f in ipairs(ctx.files) do
    urls[i] = f.url
  end
  return { rowcount = rows, files = urls }
end

return M
