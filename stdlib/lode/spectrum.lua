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
    "CREATE EXTERNAL TABLE " .. (def.replace and "" or "IF NOT EXISTS ") .. def.qname .. " (",
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

return M
