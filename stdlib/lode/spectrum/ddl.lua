-- lode.spectrum.ddl — the statements for external schemas, tables and
-- partitions: pure builders that take a dialect and return statement text,
-- so plans and tests see exactly what runs.

local sql = require "lode.sql"
local common = require "lode.spectrum.common"

local usage, check_dialect = common.usage, common.check_dialect

local M = {}

--- At most this many partitions per ALTER TABLE … ADD PARTITION (Redshift's limit).
M.max_partitions_per_statement = 100

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
    location = common.dir_url(opts.location or usage("table needs location = \"s3://bucket/prefix/\"")),
    format = format,
    columns = common.columns(opts.columns, "columns"),
    partitions = common.columns(opts.partitions, "partitions"),
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
    return require("lode.spectrum.emulate")._pg_table_sql(def)
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
  columns = common.columns(columns, "partitions")
  local out = {}
  local n = M.max_partitions_per_statement
  for first = 1, #parts, n do
    local lines = { "ALTER TABLE " .. sql.qname(qname) .. " ADD IF NOT EXISTS" }
    for i = first, math.min(first + n - 1, #parts) do
      local p = parts[i]
      lines[#lines + 1] = partition_spec(columns, p.values, "redshift") .. " LOCATION "
        .. sql.literal(common.dir_url(p.location), "redshift")
    end
    out[#out + 1] = table.concat(lines, "\n")
  end
  return out
end

--- drop_partitions_sql(qname, partition_columns, parts) -> {statement, ...}:
--- one ALTER TABLE … DROP PARTITION (…) per partition (redshift).
function M.drop_partitions_sql(qname, columns, parts)
  columns = common.columns(columns, "partitions")
  local out = {}
  for i, p in ipairs(parts) do
    out[i] = "ALTER TABLE " .. sql.qname(qname) .. " DROP " .. partition_spec(columns, p.values, "redshift")
  end
  return out
end

return M
