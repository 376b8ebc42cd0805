-- lode.spectrum.glue — the AWS Glue Data Catalog behind DATA CATALOG
-- schemas: reading databases, tables and partitions (paginated, partitions
-- by segments concurrently), the TableInput / PartitionInput Redshift
-- Spectrum registers, and batched partition writes (BatchCreatePartition by
-- 100, BatchDeletePartition by 25, Glue's limits).
--
-- Which catalog the PostgreSQL emulation uses: opts.catalog, else
-- LODE_SPECTRUM_CATALOG ("glue" or "local"), else Glue when a Glue endpoint
-- is configured (AWS_ENDPOINT_URL_GLUE, e.g. moto), else local only.

local core = require "lode.core"
local common = require "lode.spectrum.common"

local fail, usage = common.fail, common.usage

local M = {}

--- Glue's limits per call.
M.max_create_per_call = 100
M.max_delete_per_call = 25

--- The SerDe and formats Redshift Spectrum (and Athena) register for Parquet.
M.PARQUET = {
  serde = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
  input = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
  output = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
}

--- enabled(opts) -> whether the Glue catalog backs DATA CATALOG schemas
function M.enabled(opts)
  local c = opts and opts.catalog or os.getenv("LODE_SPECTRUM_CATALOG")
  if c == "glue" then
    return true
  elseif c == "local" or c == false then
    return false
  elseif c ~= nil and c ~= "" then
    usage(("catalog must be \"glue\" or \"local\", not %q"):format(tostring(c)))
  end
  local ep = os.getenv("AWS_ENDPOINT_URL_GLUE")
  return ep ~= nil and ep ~= ""
end

local client_cache

--- client() -> the lode.aws Glue client (one per process)
function M.client()
  if not client_cache then
    client_cache = require("lode.aws").client("glue")
  end
  return client_cache
end

local function call(op, params, what)
  local ok, r = pcall(M.client().call, M.client(), op, params)
  if ok then
    return r
  end
  if type(r) == "table" and r.code == "EntityNotFoundException" then
    return nil, r
  end
  if type(r) == "table" then
    r.message = ("%s: %s"):format(what, tostring(r.message))
  end
  error(r, 0)
end

-- Reading ------------------------------------------------------------------------------

--- get_database(name) -> the Glue Database, or nil when there is none
function M.get_database(name)
  local r = call("GetDatabase", { Name = name }, ("Glue database %s"):format(name))
  return r and r.Database
end

--- create_database(name): CreateDatabase (CREATE EXTERNAL DATABASE IF NOT EXISTS)
function M.create_database(name)
  core.log("debug", "glue: CreateDatabase", { database = name })
  local ok, e = pcall(M.client().call, M.client(), "CreateDatabase", { DatabaseInput = { Name = name } })
  if not ok and not (type(e) == "table" and e.code == "AlreadyExistsException") then
    error(e, 0)
  end
end

--- tables(database) -> every Glue Table of the database (GetTables, all pages)
function M.tables(database)
  local out, token = {}, nil
  repeat
    local r, e = call("GetTables", { DatabaseName = database, NextToken = token },
      ("Glue database %s: GetTables"):format(database))
    if not r then
      fail("not_found", ("no Glue database %s"):format(database), { database = database, cause = e })
    end
    for _, t in ipairs(r.TableList or {}) do
      out[#out + 1] = t
    end
    token = r.NextToken
  until token == nil or token == ""
  return out
end

--- get_table(database, name) -> the Glue Table, or nil when there is none
function M.get_table(database, name)
  local r = call("GetTable", { DatabaseName = database, Name = name },
    ("Glue table %s.%s: GetTable"):format(database, name))
  return r and r.Table
end

local function partitions_segment(database, name, opts, segment)
  local out, token = {}, nil
  repeat
    local r, e = call("GetPartitions", { DatabaseName = database, TableName = name, Expression = opts.expression,
      Segment = segment, NextToken = token }, ("Glue table %s.%s: GetPartitions"):format(database, name))
    if not r then
      fail("not_found", ("no Glue table %s.%s"):format(database, name), { database = database, table = name,
        cause = e })
    end
    for _, p in ipairs(r.Partitions or {}) do
      out[#out + 1] = p
    end
    token = r.NextToken
  until token == nil or token == ""
  return out
end

--- partitions(database, name, {expression=, segments=n}) -> the table's Glue
--- partitions as {values=, location=}, sorted by location: GetPartitions,
--- every page, in n segments read concurrently (default 1; Glue allows 10).
function M.partitions(database, name, opts)
  opts = opts or {}
  local n = opts.segments or 1
  local lists = {}
  if n > 1 then
    local jobs = {}
    for i = 1, n do
      jobs[i] = function()
        lists[i] = partitions_segment(database, name, opts, { SegmentNumber = i - 1, TotalSegments = n })
      end
    end
    require("lode").all(jobs)
  else
    lists[1] = partitions_segment(database, name, opts, nil)
  end
  local out = {}
  for _, l in ipairs(lists) do
    for _, p in ipairs(l) do
      local loc = p.StorageDescriptor and p.StorageDescriptor.Location
      out[#out + 1] = { values = p.Values or {}, location = loc and common.dir_url(loc) or "" }
    end
  end
  table.sort(out, function(a, b) return a.location < b.location end)
  return out
end

-- Types -----------------------------------------------------------------------------------

-- Hive / Glue type names as Redshift Spectrum reads them (SVV_EXTERNAL_COLUMNS
-- keeps Hive's names; these are the ones lode's emulation and DDL take).
local HIVE_TYPES = { int = "int", integer = "int", bigint = "bigint", long = "bigint", smallint = "smallint",
  tinyint = "smallint", float = "real", double = "double precision", boolean = "boolean", string = "varchar(max)",
  date = "date", timestamp = "timestamp", binary = "varbyte" }

--- redshift_type(hive_type) -> the Redshift type of a Glue column, or nil
--- and the reason when Spectrum's emulation cannot read it (array, map, struct).
function M.redshift_type(t)
  local l = (t or ""):lower():gsub("%s+", "")
  if HIVE_TYPES[l] then
    return HIVE_TYPES[l]
  end
  local p, s = l:match("^decimal%((%d+),(%d+)%)$")
  if p then
    return ("decimal(%s,%s)"):format(p, s)
  end
  if l == "decimal" then
    return "decimal(10,0)" -- Hive's default precision
  end
  local n = l:match("^varchar%((%d+)%)$")
  if n then
    return ("varchar(%s)"):format(n)
  end
  n = l:match("^char%((%d+)%)$")
  if n then
    return ("char(%s)"):format(n)
  end
  return nil, ("type %s is not read by lode's local Spectrum"):format(t)
end

-- Redshift's type names as Glue stores them for a table Redshift creates.
local TO_HIVE = { int = "int", integer = "int", int4 = "int", bigint = "bigint", int8 = "bigint",
  smallint = "smallint", int2 = "smallint", real = "float", float4 = "float", ["double precision"] = "double",
  float8 = "double", float = "double", boolean = "boolean", bool = "boolean", date = "date", timestamp = "timestamp",
  text = "string", string = "string", ["varchar(max)"] = "string", varbyte = "binary" }

--- hive_type(redshift_type) -> the type Glue records for a column of that type
function M.hive_type(t)
  local l = t:lower():gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
  if TO_HIVE[l] then
    return TO_HIVE[l]
  end
  local p, s = l:gsub(" ", ""):match("^[dn][eu][cm][a-z]*%((%d+),(%d+)%)$")
  if p then
    return ("decimal(%s,%s)"):format(p, s)
  end
  local n = l:gsub(" ", ""):match("^varchar%((%d+)%)$") or l:gsub(" ", ""):match("^charactervarying%((%d+)%)$")
  if n then
    return ("varchar(%s)"):format(n)
  end
  n = l:gsub(" ", ""):match("^char%((%d+)%)$") or l:gsub(" ", ""):match("^character%((%d+)%)$")
  if n then
    return ("char(%s)"):format(n)
  end
  if l == "numeric" or l == "decimal" then
    return "decimal(18,0)" -- Redshift's default
  end
  return (l:gsub(" ", ""))
end

-- Tables ---------------------------------------------------------------------------------

local function is_parquet(sd, params)
  local serde = sd.SerdeInfo and sd.SerdeInfo.SerializationLibrary or ""
  local input = sd.InputFormat or ""
  local class = params and params.classification or ""
  return serde:lower():find("parquet", 1, true) or input:lower():find("parquet", 1, true)
    or class:lower() == "parquet"
end

local function format_name(sd, params)
  local serde = sd.SerdeInfo and sd.SerdeInfo.SerializationLibrary
  local class = params and params.classification
  if class and class ~= "" then
    return class:lower(), serde
  end
  if serde then
    local l = serde:lower()
    if l:find("csv") then return "csv", serde end
    if l:find("json") then return "json", serde end
    if l:find("orc") then return "orc", serde end
    if l:find("avro") then return "avro", serde end
    if l:find("lazysimpleserde") then return "textfile", serde end
  end
  local input = (sd.InputFormat or ""):lower()
  if input:find("orc") then return "orc", serde end
  if input:find("avro") then return "avro", serde end
  return "unknown", serde
end

-- The text SerDes Spectrum reads, by SerializationLibrary (lower case).
local TEXT_SERDES = {
  ["org.apache.hadoop.hive.serde2.lazy.lazysimpleserde"] = "textfile",
  ["org.apache.hadoop.hive.serde2.opencsvserde"] = "csv",
  ["org.openx.data.jsonserde.jsonserde"] = "json",
  ["org.apache.hive.hcatalog.data.jsonserde"] = "json",
}

-- The table properties Spectrum reads from a Glue table's Parameters (a
-- crawler's own bookkeeping, e.g. sizeKey or UPDATED_BY_CRAWLER, is not one).
local TEXT_PROPERTIES = { "skip.header.line.count", "serialization.null.format", "compression_type", "numRows",
  "data_cleansing_enabled", "invalid_char_handling", "replacement_char", "numeric_overflow_handling",
  "surplus_char_handling", "surplus_bytes_handling", "column_count_mismatch_handling" }

-- A LazySimpleSerDe separator as Hive reads it (LazyUtils.getByte): a number
-- is the byte of that value ("1" is \001, Glue's serialization.format), any
-- other text its first byte.
local function hive_byte(v)
  if v == nil or v == "" then
    return nil
  end
  local n = tonumber(v:match("^%-?%d+$") or "")
  if n then
    return string.char(n % 256)
  end
  return v:sub(1, 1)
end

--- text_def(sd, params) -> format, row_format, properties: the text format of
--- a Glue StorageDescriptor as CREATE EXTERNAL TABLE would define it locally
--- (ROW FORMAT DELIMITED for LazySimpleSerDe, ROW FORMAT SERDE with its
--- SERDEPROPERTIES for OpenCSVSerde and the JsonSerDes), or nil when it is
--- not one of the text formats Spectrum reads.
function M.text_def(sd, params)
  local si = sd.SerdeInfo or {}
  local lib = si.SerializationLibrary
  local sp = si.Parameters or {}
  local format = lib and TEXT_SERDES[lib:lower()]
  if not format and not lib and (sd.InputFormat or ""):lower() == "org.apache.hadoop.mapred.textinputformat" then
    format = "textfile" -- no SerDe: Hive's default, LazySimpleSerDe
  end
  if not format then
    return nil
  end
  local rf
  if format == "textfile" then
    rf = { delimited = true, fields = hive_byte(sp["field.delim"] or sp["serialization.format"]) or "\1" }
    rf.escaped = hive_byte(sp["escape.delim"])
    rf.lines = hive_byte(sp["line.delim"])
  else
    local p = {}
    for k, v in pairs(sp) do
      if k ~= "serialization.format" and k ~= "serialization.null.format" then
        p[k] = v
      end
    end
    rf = { serde = lib, properties = p }
  end
  local props = {}
  for _, k in ipairs(TEXT_PROPERTIES) do
    props[k] = (params or {})[k]
  end
  -- Hive reads the NULL text from the SerDe's parameters; Athena writes it there
  props["serialization.null.format"] = props["serialization.null.format"] or sp["serialization.null.format"]
  return format, rf, props
end

--- def_from_table(schema, t) -> the external table definition lode's
--- emulation takes ({schema, table, qname, location, format, row_format,
--- columns, partitions, properties}), with def.unscannable naming the format
--- or type lode cannot read (ORC, Avro; array, map, struct columns): the
--- table is then mirrored so that only a query of it fails.
function M.def_from_table(schema, t)
  local sql = require "lode.sql"
  local sd = t.StorageDescriptor or {}
  local params = t.Parameters or {}
  local def = { schema = schema, table = t.Name, qname = sql.qualified(schema, t.Name), columns = {}, partitions = {},
    properties = params, glue = t }
  if sd.Location and sd.Location ~= "" then
    def.location = common.dir_url(sd.Location)
  else
    def.location = "s3://lode-no-location/"
    def.unscannable = "it has no S3 location"
  end
  local text, rf, props = M.text_def(sd, params)
  local input = (sd.InputFormat or ""):lower()
  if input:find("hoodie", 1, true) or input:find("symlinktextinputformat", 1, true) then
    -- a Hudi table's Parquet files hold superseded versions of its rows, and a Delta Lake table
    -- is read through its manifest: neither is a plain Parquet folder
    def.format = "parquet"
    def.unscannable = ("its input format is %s (a Hudi or Delta Lake table), which lode's local Spectrum does not "
      .. "read"):format(sd.InputFormat)
  elseif text then
    def.format, def.row_format, def.properties = text, rf, props
  elseif is_parquet(sd, params) then
    def.format = "parquet"
  else
    local f, serde = format_name(sd, params)
    def.format = f
    def.unscannable = def.unscannable or ("its format is %s%s, and lode's local Spectrum scans Parquet, text, CSV "
      .. "and JSON"):format(f:upper(), serde and (" (" .. serde .. ")") or "")
  end
  local function convert(list, out)
    for _, c in ipairs(list or {}) do
      local ty, why = M.redshift_type(c.Type)
      if not ty then
        def.unscannable = def.unscannable or ("column %s: %s"):format(c.Name, why)
        ty = "varchar(max)"
      end
      out[#out + 1] = { name = c.Name, type = ty }
    end
  end
  convert(sd.Columns, def.columns)
  convert(t.PartitionKeys, def.partitions)
  local skip = tonumber(params["skip.header.line.count"] or "0")
  if def.format == "parquet" and skip and skip > 0 and not def.unscannable then
    def.unscannable = ("skip.header.line.count = %d applies to text files only"):format(skip)
  end
  if text and not def.unscannable then
    -- what the text scan cannot read exactly fails here, naming the table
    local ok, e = pcall(require("lode.spectrum.textfmt").scan_options, def)
    if not ok then
      def.unscannable = type(e) == "table" and tostring(e.message) or tostring(e)
    end
  end
  return def
end

local function glue_columns(cols)
  local out = {}
  for i, c in ipairs(cols) do
    out[i] = { Name = c.name:lower(), Type = M.hive_type(c.type) }
  end
  return out
end

--- table_input(def) -> the TableInput Redshift Spectrum registers for CREATE
--- EXTERNAL TABLE … STORED AS PARQUET: EXTERNAL_TABLE, Parameters EXTERNAL=TRUE
--- (and the table properties), the Parquet SerDe and formats, Location, PartitionKeys.
function M.table_input(def)
  local params = { EXTERNAL = "TRUE" }
  for k, v in pairs(def.properties or {}) do
    params[k] = tostring(v)
  end
  if def.format ~= "parquet" then
    usage(("%s: only Parquet tables are written to Glue by lode (format %s)"):format(def.qname, tostring(def.format)))
  end
  return {
    Name = def.table:lower(),
    TableType = "EXTERNAL_TABLE",
    Parameters = params,
    PartitionKeys = glue_columns(def.partitions),
    StorageDescriptor = {
      Columns = glue_columns(def.columns),
      Location = def.location,
      InputFormat = M.PARQUET.input,
      OutputFormat = M.PARQUET.output,
      SerdeInfo = { SerializationLibrary = M.PARQUET.serde, Parameters = { ["serialization.format"] = "1" } },
      Compressed = false,
      StoredAsSubDirectories = false,
    },
  }
end

--- partition_input(def, part) -> the PartitionInput of one partition: the
--- Glue table's own StorageDescriptor when def came from Glue (as Athena's
--- MSCK REPAIR writes them), with the partition's Location.
function M.partition_input(def, part)
  if def.glue and def.glue.StorageDescriptor then
    local sd = {}
    for k, v in pairs(def.glue.StorageDescriptor) do
      sd[k] = v
    end
    sd.Location = common.dir_url(part.location)
    return { Values = part.values, StorageDescriptor = sd }
  end
  return {
    Values = part.values,
    StorageDescriptor = {
      Columns = glue_columns(def.columns),
      Location = common.dir_url(part.location),
      InputFormat = M.PARQUET.input,
      OutputFormat = M.PARQUET.output,
      SerdeInfo = { SerializationLibrary = M.PARQUET.serde, Parameters = { ["serialization.format"] = "1" } },
    },
  }
end

-- Writing --------------------------------------------------------------------------------

--- create_table(database, def, {replace=}): CreateTable (DeleteTable first with replace)
function M.create_table(database, def, opts)
  if opts and opts.replace then
    M.delete_table(database, def.table, { if_exists = true })
  end
  core.log("debug", "glue: CreateTable", { database = database, table = def.table })
  local ok, e = pcall(M.client().call, M.client(), "CreateTable", { DatabaseName = database,
    TableInput = M.table_input(def) })
  if not ok then
    if type(e) == "table" and e.code == "AlreadyExistsException" then
      fail("exists", ("Glue table %s.%s already exists"):format(database, def.table),
        { database = database, table = def.table })
    end
    error(e, 0)
  end
end

--- update_location(database, name, location): UpdateTable with a new Location (SET LOCATION)
function M.update_location(database, name, location)
  local t = M.get_table(database, name) or fail("not_found", ("no Glue table %s.%s"):format(database, name))
  local input = { Name = t.Name, TableType = t.TableType, Parameters = t.Parameters, PartitionKeys = t.PartitionKeys,
    StorageDescriptor = t.StorageDescriptor }
  input.StorageDescriptor.Location = common.dir_url(location)
  core.log("debug", "glue: UpdateTable", { database = database, table = name })
  M.client():call("UpdateTable", { DatabaseName = database, TableInput = input })
end

--- update_parameters(database, name, {key = value}): UpdateTable with the
--- properties merged into the table's Parameters (SET TABLE PROPERTIES)
function M.update_parameters(database, name, props)
  local t = M.get_table(database, name) or fail("not_found", ("no Glue table %s.%s"):format(database, name))
  local params = {}
  for k, v in pairs(t.Parameters or {}) do
    params[k] = v
  end
  for k, v in pairs(props) do
    params[k] = tostring(v)
  end
  local input = { Name = t.Name, TableType = t.TableType, Parameters = params, PartitionKeys = t.PartitionKeys,
    StorageDescriptor = t.StorageDescriptor }
  core.log("debug", "glue: UpdateTable", { database = database, table = name })
  M.client():call("UpdateTable", { DatabaseName = database, TableInput = input })
end

--- delete_table(database, name, {if_exists=}) -> whether it was deleted
function M.delete_table(database, name, opts)
  core.log("debug", "glue: DeleteTable", { database = database, table = name })
  local ok, e = pcall(M.client().call, M.client(), "DeleteTable", { DatabaseName = database, Name = name:lower() })
  if ok then
    return true
  end
  if type(e) == "table" and e.code == "EntityNotFoundException" then
    if opts and opts.if_exists then
      return false
    end
    fail("not_found", ("no Glue table %s.%s"):format(database, name), { database = database, table = name })
  end
  error(e, 0)
end

local function batch_errors(r, what, database, name)
  local errs = r and r.Errors or {}
  if #errs > 0 then
    local e = errs[1]
    local detail = e.ErrorDetail or {}
    fail(detail.ErrorCode == "AlreadyExistsException" and "exists" or "glue",
      ("%s on Glue table %s.%s: %d partitions failed, the first %s: %s"):format(what, database, name, #errs,
        common.values_json(e.PartitionValues or {}), tostring(detail.ErrorMessage or detail.ErrorCode)),
      { database = database, table = name, errors = #errs })
  end
end

--- create_partitions(database, name, def, parts) -> calls: BatchCreatePartition,
--- at most 100 partitions per call (one debug log line per call).
function M.create_partitions(database, name, def, parts)
  local calls = 0
  for first = 1, #parts, M.max_create_per_call do
    local inputs = {}
    for i = first, math.min(first + M.max_create_per_call - 1, #parts) do
      inputs[#inputs + 1] = M.partition_input(def, parts[i])
    end
    core.log("debug", "glue: BatchCreatePartition", { database = database, table = name, partitions = #inputs })
    local r = M.client():call("BatchCreatePartition", { DatabaseName = database, TableName = name:lower(),
      PartitionInputList = inputs })
    batch_errors(r, "BatchCreatePartition", database, name)
    calls = calls + 1
  end
  return calls
end

--- delete_partitions(database, name, parts) -> calls: BatchDeletePartition,
--- at most 25 partitions per call (one debug log line per call).
function M.delete_partitions(database, name, parts)
  local calls = 0
  for first = 1, #parts, M.max_delete_per_call do
    local list = {}
    for i = first, math.min(first + M.max_delete_per_call - 1, #parts) do
      list[#list + 1] = { Values = parts[i].values }
    end
    core.log("debug", "glue: BatchDeletePartition", { database = database, table = name, partitions = #list })
    local r = M.client():call("BatchDeletePartition", { DatabaseName = database, TableName = name:lower(),
      PartitionsToDelete = list })
    batch_errors(r, "BatchDeletePartition", database, name)
    calls = calls + 1
  end
  return calls
end

--- split_name("db.table") -> database, table of a Glue table name
function M.split_name(name)
  local parts = require("lode.sql").split_name(name)
  if #parts ~= 2 then
    usage(("a Glue table is named DATABASE.TABLE: %s"):format(tostring(name)))
  end
  return parts[1], parts[2]
end

return M
