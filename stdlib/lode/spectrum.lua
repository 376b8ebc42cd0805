-- lode.spectrum — Redshift Spectrum external schemas and tables over
-- partitioned files in S3: the exact DDL, partition discovery by listing S3
-- level by level, and (on the postgres dialect) a local emulation whose
-- partitions read S3 live.
--
--   local spectrum = require "lode.spectrum"
--   spectrum.schema(wh, { name = "lake", database = "lake_db", iam_role = role })
--   spectrum.table(wh, { name = "lake.sales", location = "s3://b/sales/", format = "parquet",
--                        partitions = { { "year", "int" }, { "month", "int" } } })
--   local r = spectrum.sync_partitions(wh, "lake.sales", { prune = true })  -- r.added, r.dropped
--
-- The pure builders (schema_sql, table_sql, add_partitions_sql, ...) take a
-- dialect and return statement text, so plans and tests see exactly what runs.
-- Every name and value goes through lode.sql: partition values and column
-- names come from data.

local core = require "lode.core"
local sql = require "lode.sql"

local M = {}

--- At most this many partitions per ALTER TABLE … ADD PARTITION (Redshift's limit).
M.max_partitions_per_statement = 100
--- Spectrum's price: dollars per terabyte (10^12 bytes) scanned.
M.dollars_per_tb = 5

local function fail(code, message, fields, level)
  local e = { op = "spectrum", code = code, message = message }
  for k, v in pairs(fields or {}) do
    e[k] = v
  end
  error(core.error(e), level or 3)
end

local function usage(message)
  fail("usage", "lode.spectrum: " .. message, nil, 4)
end

local function check_dialect(dialect)
  dialect = dialect or "redshift"
  if dialect ~= "redshift" and dialect ~= "postgres" then
    usage(("unknown dialect '%s' (redshift or postgres)"):format(tostring(dialect)))
  end
  return dialect
end

-- S3 locations --------------------------------------------------------------------

--- split_url("s3://bucket/key") -> bucket, key
function M.split_url(url)
  if type(url) ~= "string" then
    usage("a location must be an s3:// URL string")
  end
  local bucket, key = url:match("^s3://([^/]+)/?(.*)$")
  if not bucket then
    usage(("not an s3:// URL: %s"):format(url))
  end
  return bucket, key
end

--- dir_url(url) -> the URL ending with exactly one "/" (a folder)
function M.dir_url(url)
  M.split_url(url)
  return (url:gsub("/*$", "/"))
end

-- Columns and types ----------------------------------------------------------------

-- Column types are SQL text we emit verbatim, so only the characters types
-- are made of are allowed: no quotes, semicolons or comments can ride along.
local function check_type(t, what)
  if type(t) ~= "string" or t == "" then
    usage(("%s: a column type must be a non-empty string"):format(what))
  end
  if not t:match("^[%w_ ,()<>:]+$") or t:find("--", 1, true) then
    usage(("%s: invalid column type %q"):format(what, t))
  end
  local depth = 0
  for c in t:gmatch("[()<>]") do
    depth = depth + ((c == "(" or c == "<") and 1 or -1)
    if depth < 0 then
      usage(("%s: unbalanced column type %q"):format(what, t))
    end
  end
  if depth ~= 0 then
    usage(("%s: unbalanced column type %q"):format(what, t))
  end
  return t
end

--- columns(spec, what) -> list of {name=, type=}: spec is a list of
--- {name=, type=} or {"name", "type"}, or a map {name = type} with one entry
--- (a map has no order, so several entries need the list form).
function M.columns(spec, what)
  what = what or "columns"
  if spec == nil then
    return {}
  end
  if type(spec) ~= "table" then
    usage(("%s must be a list of {name, type}"):format(what))
  end
  local out = {}
  if #spec == 0 and next(spec) ~= nil then
    for name, ty in pairs(spec) do
      out[#out + 1] = { name = name, type = ty }
    end
    if #out > 1 then
      usage(("%s given as a map have no order: give them as a list, e.g. { {\"year\", \"int\"}, {\"month\", \"int\"} }")
        :format(what))
    end
  else
    for i, c in ipairs(spec) do
      if type(c) == "string" then
        local n, ty = c:match("^%s*(%S+)%s+(.-)%s*$")
        if not n then
          usage(("%s[%d]: expected \"name type\", got %q"):format(what, i, c))
        end
        out[i] = { name = n, type = ty }
      elseif type(c) == "table" then
        out[i] = { name = c.name or c[1], type = c.type or c[2] }
      else
        usage(("%s[%d] must be a {name, type} pair"):format(what, i))
      end
    end
  end
  local seen = {}
  for i, c in ipairs(out) do
    if type(c.name) ~= "string" or c.name == "" then
      usage(("%s[%d] has no name"):format(what, i))
    end
    check_type(c.type, ("%s %s"):format(what, c.name))
    local lower = c.name:lower()
    if seen[lower] then
      usage(("%s: column %q appears twice"):format(what, c.name))
    end
    seen[lower] = true
  end
  return out
end

local function column_defs(cols, indent)
  local out = {}
  for i, c in ipairs(cols) do
    out[i] = indent .. sql.ident(c.name) .. " " .. c.type
  end
  return out
end

-- Schema -----------------------------------------------------------------------------

--- schema_sql({name, database, iam_role, region, create_database} [, dialect]) -> {statement}
--- redshift: CREATE EXTERNAL SCHEMA IF NOT EXISTS … FROM DATA CATALOG …; postgres: CREATE SCHEMA.
function M.schema_sql(opts, dialect)
  dialect = check_dialect(dialect)
  if type(opts) ~= "table" or type(opts.name) ~= "string" then
    usage("schema needs { name = \"schema\", ... }")
  end
  local name = sql.ident(opts.name)
  if dialect == "postgres" then
    return { "CREATE SCHEMA IF NOT EXISTS " .. name }
  end
  local role = opts.iam_role
  if type(role) ~= "string" or role == "" then
    usage("schema needs iam_role (an ARN, a comma-separated role chain, or \"default\") on redshift")
  end
  local parts = {
    "CREATE EXTERNAL SCHEMA IF NOT EXISTS " .. name,
    "FROM DATA CATALOG",
    "DATABASE " .. sql.literal(opts.database or opts.name, "redshift"),
  }
  if opts.region then
    parts[#parts + 1] = "REGION " .. sql.literal(opts.region, "redshift")
  end
  parts[#parts + 1] = "IAM_ROLE " .. (role == "default" and "default" or sql.literal(role, "redshift"))
  if opts.create_database then
    parts[#parts + 1] = "CREATE EXTERNAL DATABASE IF NOT EXISTS"
  end
  return { table.concat(parts, "\n") }
end

-- Table --------------------------------------------------------------------------------

local FORMATS = {
  parquet = { stored_as = "PARQUET" },
  orc = { stored_as = "ORC" },
  avro = { stored_as = "AVRO" },
  textfile = { stored_as = "TEXTFILE", delimited = "," },
  csv = { stored_as = "TEXTFILE", serde = "org.apache.hadoop.hive.serde2.OpenCSVSerde" },
  json = { stored_as = "TEXTFILE", serde = "org.openx.data.jsonserde.JsonSerDe" },
}

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) ~= "string" then
      usage("property names must be strings")
    end
    keys[#keys + 1] = k
  end
  table.sort(keys)
  return keys
end

local function properties_text(props)
  local out = {}
  for _, k in ipairs(sorted_keys(props)) do
    out[#out + 1] = sql.literal(k, "redshift") .. "=" .. sql.literal(tostring(props[k]), "redshift")
  end
  return "(" .. table.concat(out, ", ") .. ")"
end

-- Validate and normalise the options of table / table_sql.
function M._table_def(opts)
  if type(opts) ~= "table" then
    usage("table needs an options table")
  end
  if type(opts.name) ~= "string" and type(opts.name) ~= "table" then
    usage("table needs name = \"schema.table\"")
  end
  local parts = sql.split_name(opts.name)
  if #parts ~= 2 then
    usage(("an external table name has a schema and a table: %s"):format(sql.qname(opts.name)))
  end
  local format = (opts.format or "parquet"):lower()
  if not FORMATS[format] then
    usage(("unknown format '%s' (parquet, orc, avro, textfile, csv, json)"):format(format))
  end
  local def = {
    schema = parts[1], table = parts[2], qname = sql.qualified(parts),
    location = M.dir_url(opts.location or usage("table needs location = \"s3://bucket/prefix/\"")),
    format = format,
    columns = M.columns(opts.columns, "columns"),
    partitions = M.columns(opts.partitions, "partitions"),
    properties = opts.properties or {},
    row_format = opts.row_format,
    replace = opts.replace and true or false,
  }
  local names = {}
  for _, c in ipairs(def.columns) do
    names[c.name:lower()] = true
  end
  for _, p in ipairs(def.partitions) do
    if names[p.name:lower()] then
      usage(("partition column %q is also a data column; on Spectrum partition columns come from the folders, not the files")
        :format(p.name))
    end
  end
  return def
end

local function row_format_text(def)
  local f = FORMATS[def.format]
  local rf = def.row_format or {}
  if rf.serde or (f.serde and not rf.delimiter) then
    local s = "ROW FORMAT SERDE " .. sql.literal(rf.serde or f.serde, "redshift")
    if rf.properties and next(rf.properties) then
      s = s .. "\nWITH SERDEPROPERTIES " .. properties_text(rf.properties)
    end
    return s
  end
  if rf.delimiter or f.delimited then
    local s = "ROW FORMAT DELIMITED\nFIELDS TERMINATED BY " .. sql.literal(rf.delimiter or f.delimited, "redshift")
    if rf.lines then
      s = s .. "\nLINES TERMINATED BY " .. sql.literal(rf.lines, "redshift")
    end
    return s
  end
  return nil
end

--- table_sql(opts [, dialect]) -> {statement, ...}: the external table's DDL
--- (redshift), with DROP TABLE IF EXISTS first when opts.replace; columns
--- must be known (spectrum.table infers them). Never run inside a transaction.
function M.table_sql(opts, dialect)
  dialect = check_dialect(dialect)
  local def = opts.qname and opts or M._table_def(opts)
  if #def.columns == 0 then
    usage(("no columns for %s: give columns, or let spectrum.table infer them from the files"):format(def.qname))
  end
  if dialect == "postgres" then
    if not M._pg_table_sql then
      fail("unsupported", "the postgres emulation of external tables is not available yet")
    end
    return M._pg_table_sql(def)
  end
  local out = {}
  if def.replace then
    out[#out + 1] = "DROP TABLE IF EXISTS " .. def.qname
  end
  local lines = {
    -- Redshift documents no IF NOT EXISTS here: spectrum.table looks in
    -- SVV_EXTERNAL_TABLES first instead
    "CREATE EXTERNAL TABLE " .. def.qname .. " (",
    table.concat(column_defs(def.columns, "  "), ",\n"),
    ")",
  }
  if #def.partitions > 0 then
    local p = {}
    for i, c in ipairs(def.partitions) do
      p[i] = sql.ident(c.name) .. " " .. c.type
    end
    lines[#lines + 1] = "PARTITIONED BY (" .. table.concat(p, ", ") .. ")"
  end
  local rf = row_format_text(def)
  if rf then
    lines[#lines + 1] = rf
  end
  lines[#lines + 1] = "STORED AS " .. FORMATS[def.format].stored_as
  lines[#lines + 1] = "LOCATION " .. sql.literal(def.location, "redshift")
  if next(def.properties) then
    lines[#lines + 1] = "TABLE PROPERTIES " .. properties_text(def.properties)
  end
  out[#out + 1] = table.concat(lines, "\n")
  return out
end

-- Partition folders -------------------------------------------------------------------

local function hexval(h)
  return string.char(tonumber(h, 16))
end

--- unescape_path(s) -> s with %XX escapes decoded (how Hive and Spark write
--- special characters in partition folder names); anything else kept as is.
function M.unescape_path(s)
  return (s:gsub("%%(%x%x)", hexval))
end

-- A template segment like "{year}" or "y={year}" as a Lua pattern with one
-- capture per placeholder.
local function segment_matcher(seg, where)
  local names, pat, i = {}, { "^" }, 1
  while i <= #seg do
    local a, b, name = seg:find("{([%w_]+)}", i)
    if not a then
      pat[#pat + 1] = (seg:sub(i):gsub("%p", "%%%0"))
      break
    end
    pat[#pat + 1] = (seg:sub(i, a - 1):gsub("%p", "%%%0"))
    pat[#pat + 1] = "(.-)"
    names[#names + 1] = name
    i = b + 1
  end
  if #names == 0 then
    usage(("%s: segment %q has no {column} placeholder"):format(where, seg))
  end
  pat[#pat + 1] = "$"
  return { pattern = table.concat(pat), names = names }
end

--- layout(partitions, opts) -> the folder layout: one matcher per level.
--- opts.pattern ("{year}/{month}", "y{year}/m{month}") gives a value_only
--- layout; the default is Hive's key=value folders in partition order.
function M.layout(partitions, opts)
  opts = opts or {}
  local levels = {}
  if opts.pattern then
    local known = {}
    for i, p in ipairs(partitions) do
      known[p.name:lower()] = i
    end
    local seen = {}
    for seg in opts.pattern:gsub("^/+", ""):gsub("/+$", ""):gmatch("[^/]+") do
      local m = segment_matcher(seg, "pattern")
      m.index = {}
      for k, n in ipairs(m.names) do
        local idx = known[n:lower()]
        if not idx then
          usage(("pattern: {%s} is not a partition column"):format(n))
        end
        if seen[idx] then
          usage(("pattern: {%s} appears twice"):format(n))
        end
        seen[idx] = true
        m.index[k] = idx
      end
      levels[#levels + 1] = m
    end
    for i, p in ipairs(partitions) do
      if not seen[i] then
        usage(("pattern does not place partition column %s"):format(p.name))
      end
    end
  else
    for i, p in ipairs(partitions) do
      levels[i] = { hive = p.name:lower(), index = { i } }
    end
  end
  return levels
end

-- Values captured from one folder name at one level, or nil when the folder
-- does not belong to the layout (Spark's _temporary, .hive-staging, other keys).
local function match_level(level, folder)
  if level.hive then
    local k, v = folder:match("^([^=]+)=(.*)$")
    if not k or M.unescape_path(k):lower() ~= level.hive then
      return nil
    end
    return { M.unescape_path(v) }
  end
  local caps = { folder:match(level.pattern) }
  if #caps == 0 then
    return nil
  end
  for i, c in ipairs(caps) do
    if c == "" then
      return nil
    end
    caps[i] = M.unescape_path(c)
  end
  return caps
end

--- partition_key(values) -> a string identifying a partition by its values
function M.partition_key(values)
  local parts = {}
  for i, v in ipairs(values) do
    parts[i] = #v .. ":" .. v
  end
  return table.concat(parts, "|")
end

--- discover(location, partitions, list, opts) -> partitions found, sorted:
--- {{values = {"2024", "01"}, location = "s3://…/year=2024/month=01/"}, ...}.
--- list(url) returns the child folder URLs of a folder URL (S3 common
--- prefixes with delimiter "/"); it is called level by level, concurrently
--- (at most opts.concurrency, default 8). Values are kept exactly as written
--- apart from %XX escapes, which are decoded; folders that do not fit the
--- layout are skipped and reported in the second result.
function M.discover(location, partitions, list, opts)
  opts = opts or {}
  partitions = M.columns(partitions, "partitions")
  if #partitions == 0 then
    return {}, {}
  end
  local levels = M.layout(partitions, opts)
  local root = M.dir_url(location)
  local frontier = { { url = root, values = {} } }
  local skipped = {}
  local width = opts.concurrency or 8
  for depth, level in ipairs(levels) do
    local children = {}
    local function visit(node)
      local got = {}
      for _, child in ipairs(list(node.url)) do
        local name = child:sub(#node.url + 1):gsub("/$", "")
        if child:sub(1, #node.url) ~= node.url or name == "" or name:find("/", 1, true) then
          fail("bad_listing", ("listing %s returned %s, which is not a folder directly under it"):format(node.url, child))
        end
        local caps = match_level(level, name)
        if caps then
          local values = table.move(node.values, 1, #partitions, 1, {})
          for k, idx in ipairs(level.index) do
            values[idx] = caps[k]
          end
          got[#got + 1] = { url = node.url .. name .. "/", values = values }
        else
          skipped[#skipped + 1] = node.url .. name .. "/"
        end
      end
      return got
    end
    local results = {}
    if #frontier > 1 and core.in_task and core.in_task() then
      local sem_n = math.min(width, #frontier)
      local next_i = 0
      local workers = {}
      for w = 1, sem_n do
        workers[w] = core.spawn(function()
          while true do
            next_i = next_i + 1
            local i = next_i
            if i > #frontier then
              return
            end
            results[i] = visit(frontier[i])
          end
        end)
      end
      local failed = core.wait_all(workers)
      if failed then
        for _, h in ipairs(workers) do
          if not h:done() then
            h:cancel()
          end
        end
        workers[failed]:await()
      end
    else
      for i, node in ipairs(frontier) do
        results[i] = visit(node)
      end
    end
    for _, got in ipairs(results) do
      for _, c in ipairs(got) do
        children[#children + 1] = c
      end
    end
    frontier = children
    if depth == #levels then
      break
    end
  end
  local out = {}
  for _, node in ipairs(frontier) do
    out[#out + 1] = { values = node.values, location = node.url }
  end
  table.sort(out, function(a, b) return a.location < b.location end)
  table.sort(skipped)
  return out, skipped
end

--- diff(found, registered) -> added, dropped: partitions in found but not
--- registered, and registered ones whose folders are gone (by values).
function M.diff(found, registered)
  local have, seen = {}, {}
  for _, p in ipairs(registered) do
    have[M.partition_key(p.values)] = p
  end
  local added, dropped = {}, {}
  for _, p in ipairs(found) do
    local k = M.partition_key(p.values)
    seen[k] = true
    if not have[k] then
      added[#added + 1] = p
    end
  end
  for _, p in ipairs(registered) do
    if not seen[M.partition_key(p.values)] then
      dropped[#dropped + 1] = p
    end
  end
  return added, dropped
end

local function partition_spec(partitions, values, dialect)
  local out = {}
  for i, p in ipairs(partitions) do
    local v = values[i]
    if type(v) ~= "string" then
      usage(("partition %s has no value"):format(p.name))
    end
    out[i] = sql.ident(p.name) .. "=" .. sql.literal(v, dialect)
  end
  return "PARTITION (" .. table.concat(out, ", ") .. ")"
end

--- add_partitions_sql(qname, partition_columns, parts) -> {statement, ...}:
--- ALTER TABLE … ADD IF NOT EXISTS PARTITION (…) LOCATION '…', at most
--- max_partitions_per_statement per statement (redshift).
function M.add_partitions_sql(qname, columns, parts)
  columns = M.columns(columns, "partitions")
  local out = {}
  local n = M.max_partitions_per_statement
  for first = 1, #parts, n do
    local lines = { "ALTER TABLE " .. sql.qname(qname) .. " ADD IF NOT EXISTS" }
    for i = first, math.min(first + n - 1, #parts) do
      local p = parts[i]
      lines[#lines + 1] = partition_spec(columns, p.values, "redshift") .. " LOCATION "
        .. sql.literal(M.dir_url(p.location), "redshift")
    end
    out[#out + 1] = table.concat(lines, "\n")
  end
  return out
end

--- drop_partitions_sql(qname, partition_columns, parts) -> {statement, ...}:
--- one ALTER TABLE … DROP PARTITION (…) per partition (redshift).
function M.drop_partitions_sql(qname, columns, parts)
  columns = M.columns(columns, "partitions")
  local out = {}
  for i, p in ipairs(parts) do
    out[i] = "ALTER TABLE " .. sql.qname(qname) .. " DROP " .. partition_spec(columns, p.values, "redshift")
  end
  return out
end

--- parse_values('["2024","01"]') -> {"2024", "01"}: the values column of
--- SVV_EXTERNAL_PARTITIONS (a JSON array of strings).
function M.parse_values(s)
  local out, i, n = {}, 1, #s
  local function bad()
    fail("bad_catalog", ("cannot read partition values %q from SVV_EXTERNAL_PARTITIONS"):format(s))
  end
  i = s:find("%S", i) or bad()
  if s:sub(i, i) ~= "[" then
    bad()
  end
  i = s:find("%S", i + 1) or bad()
  if s:sub(i, i) == "]" then
    return out
  end
  while true do
    if s:sub(i, i) ~= '"' then
      bad()
    end
    local buf, j = {}, i + 1
    while true do
      local c = s:sub(j, j)
      if c == "" then
        bad()
      elseif c == '"' then
        break
      elseif c == "\\" then
        local e = s:sub(j + 1, j + 1)
        local simple = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if simple[e] then
          buf[#buf + 1] = simple[e]
          j = j + 2
        elseif e == "u" and s:sub(j + 2, j + 5):match("^%x%x%x%x$") then
          buf[#buf + 1] = utf8.char(tonumber(s:sub(j + 2, j + 5), 16))
          j = j + 6
        else
          bad()
        end
      else
        buf[#buf + 1] = c
        j = j + 1
      end
    end
    out[#out + 1] = table.concat(buf)
    i = s:find("%S", j + 1) or bad()
    local c = s:sub(i, i)
    if c == "]" then
      return out
    elseif c ~= "," then
      bad()
    end
    i = s:find("%S", i + 1) or bad()
  end
end

-- JSON text for the catalog (the format SVV_EXTERNAL_PARTITIONS uses) ------------------

local function json_string(v)
  return '"' .. v:gsub('[%c"\\]', function(c)
    local simple = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
    return simple[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

--- values_json({"2024", "01"}) -> '["2024","01"]' (read back by parse_values)
function M.values_json(values)
  local out = {}
  for i, v in ipairs(values) do
    out[i] = json_string(v)
  end
  return "[" .. table.concat(out, ",") .. "]"
end

-- S3 ---------------------------------------------------------------------------------

local function s3mod()
  local ok, s3 = pcall(require, "lode.s3")
  if not ok or type(s3) ~= "table" or not s3.list then
    fail("unsupported", "lode.spectrum needs lode.s3 to list S3, and it is not available")
  end
  return s3
end

local function as_url(bucket, p)
  return p:match("^s3://") and p or ("s3://" .. bucket .. "/" .. p)
end

--- list_folders(url) -> the child folder URLs of an S3 folder (delimiter "/")
function M.list_folders(url)
  local bucket = M.split_url(url)
  local _, prefixes = s3mod().list(url, { delimiter = "/" })
  local out = {}
  for i, p in ipairs(prefixes or {}) do
    out[i] = as_url(bucket, p)
  end
  if #out == 0 then
    -- Some S3 servers (s3rver) leave out common prefixes that hold only
    -- deeper folders; a recursive listing finds the children then.
    local _, prefix = M.split_url(M.dir_url(url))
    local seen = {}
    for _, o in ipairs(s3mod().list(M.dir_url(url)) or {}) do
      local key = o.key or select(2, M.split_url(o.url))
      local child = key:sub(#prefix + 1):match("^([^/]+/)")
      if key:sub(1, #prefix) == prefix and child and not seen[child] then
        seen[child] = true
        out[#out + 1] = as_url(bucket, prefix .. child)
      end
    end
    table.sort(out)
  end
  return out
end

-- Spark, Hive and friends leave _SUCCESS, _temporary/, .crc files beside data.
local function is_data_key(rest)
  for part in rest:gmatch("[^/]+") do
    if part:match("^[_.]") then
      return false
    end
  end
  return true
end

--- list_files(url) -> sorted {{url=, key=, size=}} of the data files under an
--- S3 folder, recursively (names starting with _ or . are not data).
function M.list_files(url)
  url = M.dir_url(url)
  local bucket, prefix = M.split_url(url)
  local objects = s3mod().list(url)
  local out = {}
  for _, o in ipairs(objects or {}) do
    local key = o.key or select(2, M.split_url(o.url))
    local rest = key:sub(#prefix + 1)
    if key:sub(1, #prefix) == prefix and rest ~= "" and rest:sub(-1) ~= "/" and is_data_key(rest)
        and (o.size or 1) > 0 then
      out[#out + 1] = { url = o.url or as_url(bucket, key), key = key, size = o.size }
    end
  end
  table.sort(out, function(a, b) return a.url < b.url end)
  return out
end

-- Column inference from Parquet footers ----------------------------------------------

local function short_schema(cols)
  local out = {}
  for i, c in ipairs(cols) do
    out[i] = c.name .. " " .. c.type
  end
  return table.concat(out, ", ")
end

--- infer_columns(files, {dialect=, schema="first"|"union", sample=n, exclude={names}})
--- -> columns {{name=, type=}}, report: the top-level columns of Parquet
--- files (footers only, read concurrently), mapped with lode.types. Files
--- whose schemas disagree are named in the error unless schema resolves it.
function M.infer_columns(files, opts)
  opts = opts or {}
  local parquet = require "lode.parquet"
  local types = require "lode.types"
  local dialect = check_dialect(opts.dialect)
  if #files == 0 then
    fail("no_files", ("no data files to infer columns from%s"):format(opts.location and (" under " .. opts.location) or ""))
  end
  local urls = {}
  local n = opts.sample and math.min(opts.sample, #files) or #files
  for i = 1, n do
    urls[i] = type(files[i]) == "table" and files[i].url or files[i]
  end
  local exclude = {}
  for _, e in ipairs(opts.exclude or {}) do
    exclude[e:lower()] = true
  end
  local per_file = {}
  parquet.each(urls, function(i, m)
    local cols = {}
    for _, c in ipairs(types.columns(m.schema, dialect, opts.types)) do
      if not exclude[c.name:lower()] then
        cols[#cols + 1] = c
      end
    end
    per_file[i] = cols
  end, { concurrency = opts.concurrency })
  local groups, by_sig = {}, {}
  for i = 1, n do
    local sig = short_schema(per_file[i])
    local g = by_sig[sig]
    if not g then
      g = { columns = per_file[i], files = {} }
      by_sig[sig] = g
      groups[#groups + 1] = g
    end
    g.files[#g.files + 1] = urls[i]
  end
  local report = { files = n, schemas = groups }
  if #groups == 1 or opts.schema == "first" then
    return groups[1].columns, report
  end
  if opts.schema == "union" then
    local out, where = {}, {}
    for _, g in ipairs(groups) do
      for _, c in ipairs(g.columns) do
        local k = c.name:lower()
        local prev = where[k]
        if not prev then
          out[#out + 1] = { name = c.name, type = c.type }
          where[k] = { col = out[#out], file = g.files[1] }
        elseif prev.col.type ~= c.type then
          fail("schema_mismatch", ("column %s is %s in %s but %s in %s: schema = 'union' cannot merge different types")
            :format(c.name, prev.col.type, prev.file, c.type, g.files[1]))
        end
      end
    end
    return out, report
  end
  local lines = {}
  for _, g in ipairs(groups) do
    local shown = {}
    for k = 1, math.min(3, #g.files) do
      shown[k] = g.files[k]
    end
    lines[#lines + 1] = ("  (%s) in %s%s"):format(short_schema(g.columns), table.concat(shown, ", "),
      #g.files > 3 and (" and %d more"):format(#g.files - 3) or "")
  end
  fail("schema_mismatch", ("the files%s disagree on their columns (%d schemas); choose schema = 'first' or 'union':\n%s")
    :format(opts.location and (" under " .. opts.location) or "", #groups, table.concat(lines, "\n")),
    { files = groups })
end

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

-- Catalogs ---------------------------------------------------------------------------

local PG_CATALOG = {
  "CREATE SCHEMA IF NOT EXISTS lode",
  [[CREATE TABLE IF NOT EXISTS lode.spectrum_tables (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  location text NOT NULL,
  format text NOT NULL,
  column_names text NOT NULL,
  column_types text NOT NULL,
  partition_names text NOT NULL,
  partition_types text NOT NULL,
  PRIMARY KEY (schema_name, table_name)
)]],
  [[CREATE TABLE IF NOT EXISTS lode.spectrum_partitions (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  "values" text NOT NULL,
  location text NOT NULL,
  relname text NOT NULL,
  PRIMARY KEY (schema_name, table_name, "values")
)]],
}

local function name_parts(name)
  local parts = sql.split_name(name)
  if #parts ~= 2 then
    usage(("an external table name has a schema and a table: %s"):format(tostring(name)))
  end
  return parts[1], parts[2]
end

local function zip_columns(names, types)
  local out = {}
  for i, n in ipairs(names) do
    out[i] = { name = n, type = types[i] }
  end
  return out
end

-- The definition of an existing external table, from the warehouse's catalog.
function M._read_table(wh, dialect, name)
  local schema, tbl = name_parts(name)
  local def = { schema = schema, table = tbl, qname = sql.qualified(schema, tbl) }
  if dialect == "redshift" then
    local r = wh:query("SELECT location FROM svv_external_tables WHERE schemaname = $1 AND tablename = $2", schema, tbl)
    if not r[1] then
      fail("not_found", ("no external table %s (SVV_EXTERNAL_TABLES)"):format(def.qname))
    end
    def.location = M.dir_url(r[1].location)
    local cols = wh:query("SELECT columnname, external_type, part_key, columnnum FROM svv_external_columns "
      .. "WHERE schemaname = $1 AND tablename = $2 ORDER BY part_key, columnnum", schema, tbl)
    def.columns, def.partitions = {}, {}
    for _, c in ipairs(cols) do
      local list = (tonumber(c.part_key) or 0) > 0 and def.partitions or def.columns
      list[#list + 1] = { name = c.columnname, type = c.external_type }
    end
    return def
  end
  local ok, r = pcall(wh.query, wh, "SELECT * FROM lode.spectrum_tables WHERE schema_name = $1 AND table_name = $2",
    schema, tbl)
  if not ok or not r[1] then
    fail("not_found", ("no external table %s (lode.spectrum_tables): create it with spectrum.table"):format(def.qname))
  end
  local row = r[1]
  def.location, def.format = row.location, row.format
  def.columns = zip_columns(M.parse_values(row.column_names), M.parse_values(row.column_types))
  def.partitions = zip_columns(M.parse_values(row.partition_names), M.parse_values(row.partition_types))
  return def
end

-- Partitions the catalog knows: {{values=, location=, relname=}}
function M._registered(wh, dialect, def)
  local out = {}
  if dialect == "redshift" then
    local r = wh:query("SELECT values, location FROM svv_external_partitions WHERE schemaname = $1 AND tablename = $2",
      def.schema, def.table)
    for i, row in ipairs(r) do
      out[i] = { values = M.parse_values(row.values), location = row.location }
    end
  else
    local r = wh:query('SELECT "values", location, relname FROM lode.spectrum_partitions '
      .. "WHERE schema_name = $1 AND table_name = $2", def.schema, def.table)
    for i, row in ipairs(r) do
      out[i] = { values = M.parse_values(row.values), location = row.location, relname = row.relname }
    end
  end
  table.sort(out, function(a, b) return a.location < b.location end)
  return out
end

-- PostgreSQL emulation --------------------------------------------------------------------
--
-- An external table is a table PARTITIONED BY LIST on its first partition
-- column, with one sub-table per value PARTITIONED BY LIST on the next, down
-- to leaves that are file_fdw foreign tables running
--   . <data dir>/lode_spectrum_aws.env && exec <lode> spectrum scan <folder> --column … --value …
-- so every query lists and reads S3 live and PostgreSQL prunes partitions
-- on the partition columns. The AWS settings (endpoint, region, keys) reach
-- the server's child process through that env file, written by the server
-- itself (COPY … FROM STDIN, then TO PROGRAM: mode 0600, owned by the
-- server's user), so no secret is ever part of a statement, a bind
-- parameter, a catalog row or an error message.

M.pg_server = "lode_spectrum"
M.env_file_name = "lode_spectrum_aws.env"

local PG_TYPES = { string = "text", ["varchar(max)"] = "varchar", super = "jsonb", float = "real",
  double = "double precision", tinyint = "smallint", ["varbyte"] = "bytea" }

local function pg_type(t)
  local l = t:lower()
  return PG_TYPES[l] or t
end

-- 64-bit FNV-1a of a string, as 16 hex digits: short stable partition names.
local function fnv1a(s)
  local h = -3750763034362895579 -- 0xcbf29ce484222325
  for i = 1, #s do
    h = h ~ s:byte(i)
    h = h * 1099511628211
  end
  return ("%016x"):format(h)
end

local function sub_name(def, level, values)
  local key = { tostring(level) }
  for i = 1, level do
    key[#key + 1] = values[i]
  end
  local base = def.table
  local limit = 40
  if #base > limit then
    base = sql.truncated_ident(base:sub(1, limit + 4), "postgres"):sub(1, limit)
    while #base > 0 and not utf8.len(base) do
      base = base:sub(1, -2)
    end
  end
  return ("%s_p%s"):format(base, fnv1a(M.partition_key(key)):sub(1, 12))
end

function M._pg_table_sql(def)
  local out = {}
  if def.replace then
    out[#out + 1] = "DROP TABLE IF EXISTS " .. def.qname .. " CASCADE"
  end
  local cols = {}
  for i, c in ipairs(def.columns) do
    cols[i] = "  " .. sql.ident(c.name) .. " " .. pg_type(c.type)
  end
  for _, p in ipairs(def.partitions) do
    cols[#cols + 1] = "  " .. sql.ident(p.name) .. " " .. pg_type(p.type)
  end
  local head = "CREATE TABLE IF NOT EXISTS " .. def.qname .. " (\n" .. table.concat(cols, ",\n") .. "\n)"
  if #def.partitions > 0 then
    out[#out + 1] = head .. "\nPARTITION BY LIST (" .. sql.ident(def.partitions[1].name) .. ")"
  else
    -- no partitions: the table itself reads the whole location
    out[#out + 1] = "CREATE FOREIGN TABLE IF NOT EXISTS " .. def.qname .. " (\n" .. table.concat(cols, ",\n")
      .. "\n) SERVER " .. M.pg_server .. " OPTIONS (" .. M._program_options(def, def.location, {}) .. ")"
  end
  return out
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end
M._shell_quote = shell_quote

-- The lode executable the server runs: an absolute path.
function M.lode_binary()
  local bin = M.lode_bin or os.getenv("LODE_BIN") or core.exepath()
  if not bin then
    bin = arg and arg[0] or "lode"
    if not bin:find("/", 1, true) then
      for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
        local f = io.open(dir .. "/" .. bin, "r")
        if f then
          f:close()
          bin = dir .. "/" .. bin
          break
        end
      end
    end
  end
  if bin:sub(1, 1) ~= "/" then
    bin = (os.getenv("PWD") or ".") .. "/" .. bin
  end
  return bin
end

function M._program(def, location, values)
  local argv = { M.lode_binary(), "spectrum", "scan", M.dir_url(location) }
  for _, c in ipairs(def.columns) do
    argv[#argv + 1] = "--column"
    argv[#argv + 1] = c.name
  end
  for _, v in ipairs(values) do
    argv[#argv + 1] = "--value"
    argv[#argv + 1] = v
  end
  for i, a in ipairs(argv) do
    argv[i] = shell_quote(a)
  end
  local env = def.env_file and (". " .. shell_quote(def.env_file) .. " && ") or ""
  return env .. "exec " .. table.concat(argv, " ")
end

function M._program_options(def, location, values)
  return "program " .. sql.literal(M._program(def, location, values)) .. ", format 'text'"
end

--- pg_partition_sql(def, part) -> statements creating the partition's
--- sub-tables (IF NOT EXISTS) and its file_fdw leaf.
function M.pg_partition_sql(def, part)
  local out = {}
  local parent = def.qname
  local n = #def.partitions
  for level = 1, n do
    local name = sql.qualified(def.schema, sub_name(def, level, part.values))
    local bound = " PARTITION OF " .. parent .. " FOR VALUES IN (" .. sql.literal(part.values[level]) .. ")"
    if level < n then
      out[#out + 1] = "CREATE TABLE IF NOT EXISTS " .. name .. bound
        .. " PARTITION BY LIST (" .. sql.ident(def.partitions[level + 1].name) .. ")"
    else
      out[#out + 1] = "CREATE FOREIGN TABLE " .. name .. bound .. " SERVER " .. M.pg_server
        .. " OPTIONS (" .. M._program_options(def, part.location, part.values) .. ")"
    end
    parent = name
  end
  return out, sub_name(def, n, part.values)
end

local function sqlstate(e)
  return type(e) == "table" and (e.sqlstate or e.code) or nil
end

-- The AWS settings of this process, for the scan programs the server runs.
local AWS_VARS = { "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE",
  "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN", "AWS_S3_ADDRESSING_STYLE" }

function M._env_lines()
  local lines = {}
  for _, k in ipairs(AWS_VARS) do
    local v = os.getenv(k)
    if v and v ~= "" then
      if v:find("[%c\\]") then
        fail("usage", ("%s contains a control character or a backslash; it cannot be passed to the emulation"):format(k))
      end
      lines[#lines + 1] = "export " .. k .. "=" .. shell_quote(v)
    end
  end
  return lines
end

local function privilege_error(e, what)
  local st = sqlstate(e)
  local msg = type(e) == "table" and tostring(e.message) or tostring(e)
  if st == "42501" then
    fail("privilege", ("the local Spectrum emulation needs %s: %s. Run as a superuser, or GRANT pg_execute_server_program, "
      .. "pg_write_server_files and pg_read_all_settings to this user (and have file_fdw installed by a superuser)")
      :format(what, msg), { sqlstate = st }, 4)
  elseif st == "58P01" or st == "0A000" or msg:find("file_fdw", 1, true) then
    fail("file_fdw_missing", ("the local Spectrum emulation needs the file_fdw extension (PostgreSQL contrib, e.g. Debian "
      .. "postgresql-15 ships it): %s"):format(msg), { sqlstate = st }, 4)
  end
  error(e, 0)
end

-- file_fdw, the server, the catalog and the env file: everything the
-- emulated tables need, created when missing.
function M._pg_setup(wh)
  for _, s in ipairs({ "CREATE EXTENSION IF NOT EXISTS file_fdw",
                       "CREATE SERVER IF NOT EXISTS " .. M.pg_server .. " FOREIGN DATA WRAPPER file_fdw" }) do
    local ok, e = pcall(wh.exec, wh, s)
    if not ok then
      privilege_error(e, "the file_fdw extension and a server for it")
    end
  end
  for _, s in ipairs(PG_CATALOG) do
    wh:exec(s)
  end
  local env_file
  local ok, e = pcall(function()
    local dir = wh:query("SELECT current_setting('data_directory') AS d")[1].d
    env_file = dir .. "/" .. M.env_file_name
    local lines = M._env_lines()
    if core.dry_run() then
      return
    end
    -- The lines reach the server as COPY data, which no log_statement
    -- setting logs (bind parameters are logged), and the server writes the
    -- file through a shell with umask 077: mode 0600, owned by its user
    -- (COPY … TO 'file' would make it 0644). A new file replaces the old
    -- one whole, so a scan never reads half of it.
    local program = ("umask 077 && t=$(mktemp %s) && cat > \"$t\" && mv -f \"$t\" %s")
      :format(shell_quote(dir .. "/.lode_spectrum_aws.XXXXXX"), shell_quote(env_file))
    wh:transaction(function(tx)
      tx:exec("CREATE TEMP TABLE lode_spectrum_env (n int, line text) ON COMMIT DROP")
      local w = tx:copy_in("COPY lode_spectrum_env (n, line) FROM STDIN", "text")
      for i, l in ipairs(lines) do
        w:write(("%d\t%s\n"):format(i, (l:gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))))
      end
      w:finish()
      tx:exec("COPY (SELECT line FROM lode_spectrum_env ORDER BY n) TO PROGRAM " .. sql.literal(program))
    end)
  end)
  if not ok then
    privilege_error(e, "to write the AWS settings for the scan program into the data directory")
  end
  return env_file
end

local function pg_register_table(wh, def)
  local names, types, pnames, ptypes = {}, {}, {}, {}
  for i, c in ipairs(def.columns) do
    names[i], types[i] = c.name, c.type
  end
  for i, c in ipairs(def.partitions) do
    pnames[i], ptypes[i] = c.name, c.type
  end
  wh:exec("INSERT INTO lode.spectrum_tables VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    .. "ON CONFLICT (schema_name, table_name) DO UPDATE SET location = EXCLUDED.location, format = EXCLUDED.format, "
    .. "column_names = EXCLUDED.column_names, column_types = EXCLUDED.column_types, "
    .. "partition_names = EXCLUDED.partition_names, partition_types = EXCLUDED.partition_types",
    def.schema, def.table, def.location, def.format, M.values_json(names), M.values_json(types),
    M.values_json(pnames), M.values_json(ptypes))
end

-- Warehouse operations --------------------------------------------------------------------

local function run_all(wh, stmts)
  for _, s in ipairs(stmts) do
    wh:exec(s)
  end
end

--- schema(wh, {name, database, iam_role, region, create_database}) -> statements run
function M.schema(wh, opts)
  local dialect = wh:get_dialect()
  local stmts = M.schema_sql(opts, dialect)
  run_all(wh, stmts)
  return stmts
end

-- Partition column order from the folders of the first data file, for the
-- map form partitions = {year = "int", month = "int"}.
local function order_partitions(spec, files, location)
  if type(spec) ~= "table" or #spec > 0 or next(spec) == nil then
    return spec
  end
  local lower = {}
  for k, v in pairs(spec) do
    lower[k:lower()] = { k, v }
  end
  local out = {}
  local first = files[1]
  if first then
    local rest = first.url:sub(#location + 1)
    for seg in rest:gmatch("([^/]+)/") do
      local k = seg:match("^([^=]+)=")
      k = k and M.unescape_path(k):lower()
      if k and lower[k] then
        out[#out + 1] = lower[k]
        lower[k] = nil
      end
    end
  end
  if next(lower) then
    usage("partitions given as a map: their order could not be read from the folders under " .. location
      .. "; give them as a list, e.g. { {\"year\", \"int\"}, {\"month\", \"int\"} }")
  end
  return out
end

--- table(wh, {name, location, format, columns?, partitions?, properties?,
--- replace?, schema = "first"|"union", sample = n}) -> {columns=, partitions=,
--- statements=, files=}: creates the external table (never in a
--- transaction); columns omitted are inferred from the Parquet footers.
function M.table(wh, opts)
  if type(opts) ~= "table" then
    usage("table needs an options table")
  end
  local dialect = wh:get_dialect()
  local location = M.dir_url(opts.location or usage("table needs location = \"s3://bucket/prefix/\""))
  local files
  local o = {}
  for k, v in pairs(opts) do
    o[k] = v
  end
  if type(o.partitions) == "table" and #o.partitions == 0 and next(o.partitions)
      and next(o.partitions, (next(o.partitions))) then
    files = M.list_files(location)
    o.partitions = order_partitions(o.partitions, files, location)
  end
  local report
  if not o.columns then
    if (o.format or "parquet"):lower() ~= "parquet" then
      usage("columns can only be inferred for format parquet; give columns for " .. o.format)
    end
    files = files or M.list_files(location)
    local pnames = {}
    for i, p in ipairs(M.columns(o.partitions, "partitions")) do
      pnames[i] = p.name
    end
    o.columns, report = M.infer_columns(files, { dialect = dialect, schema = o.schema, sample = o.sample,
      exclude = pnames, location = location, types = o.types })
  end
  local def = M._table_def(o)
  local stmts
  if dialect == "postgres" then
    local serde = def.row_format and def.row_format.serde
    if def.format ~= "parquet" or (serde and not serde:lower():find("parquet", 1, true)) then
      -- refused now, not at the table's first query
      fail("unsupported", ("%s: format %s is not emulated on PostgreSQL: lode's local Spectrum scans Parquet only")
        :format(def.qname, serde and ("'" .. serde .. "'") or def.format:upper()))
    end
    def.env_file = M._pg_setup(wh)
    if def.replace then
      wh:exec("DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2", def.schema, def.table)
    end
    stmts = M._pg_table_sql(def)
    wh:exec("CREATE SCHEMA IF NOT EXISTS " .. sql.ident(def.schema))
    run_all(wh, stmts)
    pg_register_table(wh, def)
  else
    stmts = M.table_sql(def, dialect)
    if not def.replace and not core.dry_run()
        and wh:query("SELECT 1 AS x FROM svv_external_tables WHERE schemaname = $1 AND tablename = $2",
          def.schema, def.table)[1] then
      core.log("info", "spectrum: the external table exists; left as it is (replace = true recreates it)",
        { table = def.qname })
      stmts = {}
    else
      run_all(wh, stmts)
    end
  end
  return { columns = def.columns, partitions = def.partitions, statements = stmts, files = files and #files or nil,
           schemas = report and report.schemas }
end

local function pg_drop_partition(wh, def, part)
  wh:exec("DROP FOREIGN TABLE IF EXISTS " .. sql.qualified(def.schema, part.relname or sub_name(def, #def.partitions, part.values)))
  wh:exec('DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2 AND "values" = $3',
    def.schema, def.table, M.values_json(part.values))
  -- sub-tables left without partitions go too
  for level = #def.partitions - 1, 1, -1 do
    local name = sub_name(def, level, part.values)
    local r = wh:query("SELECT count(*) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhparent "
      .. "JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1 AND c.relname = $2", def.schema, name)
    if tonumber(r[1] and r[1].n or 1) == 0 then
      wh:exec("DROP TABLE IF EXISTS " .. sql.qualified(def.schema, name))
    else
      break
    end
  end
end

-- Register one partition in the emulation: its file_fdw leaf and catalog row.
local function pg_add_partition(wh, def, p)
  local stmts, relname = M.pg_partition_sql(def, p)
  wh:transaction(function(tx)
    for _, st in ipairs(stmts) do
      tx:exec(st)
    end
    tx:exec('INSERT INTO lode.spectrum_partitions VALUES ($1, $2, $3, $4, $5)', def.schema, def.table,
      M.values_json(p.values), p.location, relname)
  end)
end

-- Partitions given by a caller ({values = {k = v}, location = url}) in the
-- internal form (values listed in partition-column order): every partition
-- column needs a value, kept as the string it is written as.
local function given_partitions(def, parts, need_location)
  local out = {}
  for i, p in ipairs(parts or {}) do
    local values = {}
    for k, c in ipairs(def.partitions) do
      local v = p.values and p.values[c.name]
      if v == nil then
        usage(("partition %d has no value for %s"):format(i, c.name))
      end
      values[k] = tostring(v)
    end
    if need_location and type(p.location) ~= "string" then
      usage(("partition %d needs location = \"s3://…\""):format(i))
    end
    out[i] = { values = values, location = p.location and M.dir_url(p.location) }
  end
  return out
end

--- spectrum.add_partitions(wh, name, parts, {if_not_exists=}) -> added: register
--- the partitions given ({values = {k = v}, location = url}, ...) — ALTER TABLE …
--- ADD PARTITION on Redshift (batched by 100), file_fdw leaves on PostgreSQL.
--- Without if_not_exists a partition that exists already is an error, as on Redshift.
function M.add_partitions(wh, name, parts, opts)
  opts = opts or {}
  local dialect = wh:get_dialect()
  local def = M._read_table(wh, dialect, name)
  if #def.partitions == 0 then
    usage(("%s is not partitioned"):format(def.qname))
  end
  local given = given_partitions(def, parts, true)
  if #given > M.max_partitions_per_statement and opts.statement then
    usage(("at most %d partitions per ALTER TABLE … ADD PARTITION"):format(M.max_partitions_per_statement))
  end
  local registered = M._registered(wh, dialect, def)
  local added = M.diff(given, registered)
  if not opts.if_not_exists and #added < #given then
    fail("exists", ("a partition of %s already exists (use ADD IF NOT EXISTS)"):format(def.qname))
  end
  if dialect == "redshift" then
    run_all(wh, M.add_partitions_sql(def.qname, def.partitions, added))
  else
    def.env_file = M._pg_setup(wh)
    for _, p in ipairs(added) do
      pg_add_partition(wh, def, p)
    end
  end
  return added
end

--- spectrum.drop_partitions(wh, name, parts) -> dropped: unregister the
--- partitions given ({values = {k = v}}, ...); absent ones are an error.
function M.drop_partitions(wh, name, parts)
  local dialect = wh:get_dialect()
  local def = M._read_table(wh, dialect, name)
  local given = given_partitions(def, parts, false)
  local registered = M._registered(wh, dialect, def)
  local have = {}
  for _, p in ipairs(registered) do
    have[M.partition_key(p.values)] = p
  end
  local drop = {}
  for _, p in ipairs(given) do
    local r = have[M.partition_key(p.values)]
    if not r then
      fail("not_found", ("%s has no partition %s"):format(def.qname, M.values_json(p.values)))
    end
    drop[#drop + 1] = r
  end
  if dialect == "redshift" then
    run_all(wh, M.drop_partitions_sql(def.qname, def.partitions, drop))
  else
    for _, p in ipairs(drop) do
      pg_drop_partition(wh, def, p)
    end
  end
  return drop
end

--- spectrum.is_external(wh, name) -> whether name is an external table
function M.is_external(wh, name)
  local ok, parts = pcall(sql.split_name, name)
  if not ok or #parts ~= 2 then
    return false
  end
  if wh:get_dialect() == "redshift" then
    return wh:query("SELECT 1 AS x FROM svv_external_tables WHERE schemaname = $1 AND tablename = $2",
      parts[1], parts[2])[1] ~= nil
  end
  local found = false
  pcall(function()
    found = wh:query("SELECT 1 AS x FROM lode.spectrum_tables WHERE schema_name = $1 AND table_name = $2",
      parts[1], parts[2])[1] ~= nil
  end)
  return found
end

--- spectrum.drop_table(wh, name, {if_exists=}): drop an external table and
--- (on PostgreSQL) its partitions and catalog rows.
function M.drop_table(wh, name, opts)
  opts = opts or {}
  local schema, tbl = name_parts(name)
  local qname = sql.qualified(schema, tbl)
  if not M.is_external(wh, { schema, tbl }) then
    if opts.if_exists then
      return false
    end
    fail("not_found", ("no external table %s"):format(qname))
  end
  if wh:get_dialect() == "redshift" then
    wh:exec("DROP TABLE " .. qname)
    return true
  end
  wh:transaction(function(tx)
    local kind = tx:query("SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      .. "WHERE n.nspname = $1 AND c.relname = $2", schema, tbl)[1]
    if kind then
      tx:exec((kind.relkind == "f" and "DROP FOREIGN TABLE " or "DROP TABLE ") .. qname .. " CASCADE")
    end
    tx:exec("DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2", schema, tbl)
    tx:exec("DELETE FROM lode.spectrum_tables WHERE schema_name = $1 AND table_name = $2", schema, tbl)
  end)
  return true
end


--- sync_partitions(wh, table, {prune = false, pattern = nil}) -> {added=,
--- dropped=, skipped=, found=}: lists the table's location level by level
--- and registers the partitions that are new (batches of ≤ 100 on
--- Redshift); with prune, drops those whose folders are gone.
function M.sync_partitions(wh, name, opts)
  opts = opts or {}
  local dialect = wh:get_dialect()
  local def = M._read_table(wh, dialect, name)
  if #def.partitions == 0 then
    return { added = {}, dropped = {}, skipped = {}, found = 0 }
  end
  local found, skipped = M.discover(def.location, def.partitions, M.list_folders, opts)
  local registered = M._registered(wh, dialect, def)
  local added, dropped = M.diff(found, registered)
  if not opts.prune then
    dropped = {}
  end
  if dialect == "redshift" then
    run_all(wh, M.add_partitions_sql(def.qname, def.partitions, added))
    run_all(wh, M.drop_partitions_sql(def.qname, def.partitions, dropped))
  else
    def.env_file = M._pg_setup(wh)
    for _, p in ipairs(added) do
      pg_add_partition(wh, def, p)
    end
    for _, p in ipairs(dropped) do
      pg_drop_partition(wh, def, p)
    end
  end
  local lode = require "lode"
  lode.log.info(("spectrum: %s: %d partitions found, %d added, %d dropped"):format(def.qname, #found, #added, #dropped),
    { table = def.qname, found = #found, added = #added, dropped = #dropped, skipped = #skipped })
  return { added = added, dropped = dropped, skipped = skipped, found = #found }
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

--- estimate(wh, table, {columns = {...}, where = {col = value | {values}}}) ->
--- {bytes=, dollars=, files=, partitions=}: what Spectrum would scan — the
--- compressed column chunks of just those columns in just the registered
--- partitions matching where, from the Parquet footers. Under `lode plan`
--- the estimate is printed.
function M.estimate(wh, name, opts)
  opts = opts or {}
  local dialect = wh:get_dialect()
  local def = M._read_table(wh, dialect, name)
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
    for _, p in ipairs(M._registered(wh, dialect, def)) do
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
    for _, x in ipairs(M.list_files(f)) do
      files[#files + 1] = x
    end
  end
  local bytes = M.estimate_files(files, opts.columns)
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

-- `lode spectrum scan`: the program the emulated partitions run -------------------------

local function copy_text(v)
  if v == nil or v == core.null then
    return "\\N"
  end
  local t = type(v)
  if t == "boolean" then
    return v and "t" or "f"
  elseif t == "number" then
    if math.type(v) == "integer" then
      return tostring(v)
    elseif v ~= v then
      return "NaN"
    elseif v == math.huge then
      return "Infinity"
    elseif v == -math.huge then
      return "-Infinity"
    end
    for digits = 15, 17 do
      local s = ("%." .. digits .. "g"):format(v)
      if tonumber(s) == v then
        return s
      end
    end
    return ("%.17g"):format(v)
  end
  return (tostring(v):gsub("[\\\t\n\r]", { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }))
end
M._copy_text = copy_text

--- scan(url, columns, values) -> rows: every data file under url on stdout as
--- PostgreSQL COPY text rows of the named columns (NULL where a file lacks
--- one) followed by the partition values. The rows are rendered in C
--- (lode.parquetrows.cat), straight from S3 or the file.
function M.scan(url, columns, values)
  local pr = require "lode.parquetrows"
  local suffix = {}
  for i, v in ipairs(values) do
    suffix[i] = "\t" .. copy_text(v)
  end
  suffix = table.concat(suffix)
  local rows = 0
  for _, f in ipairs(M.list_files(url)) do
    rows = rows + pr.cat(f.url, { columns = columns, format = "text", missing = "null", suffix = suffix })
  end
  return rows
end

return M
