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

-- The parts live in lode/spectrum/: common (errors, URLs, columns), ddl
-- (statement builders), discover (S3 folders, files, footers), catalog
-- (existing tables and partitions), emulate (PostgreSQL: file_fdw, the
-- registry, the env file), estimate (what a scan costs) and scan (the
-- program the emulated partitions run). This file is the public entry: the
-- warehouse operations, and every part's public functions re-exported.

local core = require "lode.core"
local sql = require "lode.sql"
local common = require "lode.spectrum.common"
local ddl = require "lode.spectrum.ddl"
local discover = require "lode.spectrum.discover"
local catalog = require "lode.spectrum.catalog"
local emulate = require "lode.spectrum.emulate"
local estimate = require "lode.spectrum.estimate"
local scan = require "lode.spectrum.scan"
local textfmt = require "lode.spectrum.textfmt"

local fail, usage = common.fail, common.usage

local M = {}

for _, part in ipairs({ common, ddl, discover, catalog, emulate, estimate, scan }) do
  for k, v in pairs(part) do
    M[k] = v
  end
end
-- internal to the parts, not part of lode.spectrum's interface
M.fail, M.usage, M.check_dialect, M.name_parts, M.pg_catalog = nil, nil, nil, nil, nil
M.register_table, M.add_partition, M.drop_partition = nil, nil, nil
M.plan_table, M.plan_partitions = nil, nil

-- Warehouse operations --------------------------------------------------------------------

local function run_all(wh, stmts)
  for _, s in ipairs(stmts) do
    wh:exec(s)
  end
end

--- schema(wh, {name, database, iam_role, region, create_database}) -> statements run
function M.schema(wh, opts)
  local dialect = wh:get_dialect()
  local stmts = ddl.schema_sql(opts, dialect)
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
      k = k and discover.unescape_path(k):lower()
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

-- Whether SVV_EXTERNAL_TABLES lists the table (Redshift). Under `lode plan`
-- a table the plan created counts, and a catalog that cannot be read (a
-- warehouse told to speak Redshift that is not one) counts as no table.
local function external_exists(wh, schema, tbl)
  local q = "SELECT 1 AS x FROM svv_external_tables WHERE schemaname = $1 AND tablename = $2"
  if not core.dry_run() then
    return wh:query(q, schema, tbl)[1] ~= nil
  end
  local ok, r = pcall(wh.query, wh, q, schema, tbl)
  return ok and r[1] ~= nil
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
  local location = common.dir_url(opts.location or usage("table needs location = \"s3://bucket/prefix/\""))
  local files
  local o = {}
  for k, v in pairs(opts) do
    o[k] = v
  end
  if type(o.partitions) == "table" and #o.partitions == 0 and next(o.partitions)
      and next(o.partitions, (next(o.partitions))) then
    files = discover.list_files(location)
    o.partitions = order_partitions(o.partitions, files, location)
  end
  local report
  if not o.columns then
    if (o.format or "parquet"):lower() ~= "parquet" then
      usage("columns can only be inferred for format parquet; give columns for " .. o.format)
    end
    files = files or discover.list_files(location)
    local pnames = {}
    for i, p in ipairs(common.columns(o.partitions, "partitions")) do
      pnames[i] = p.name
    end
    o.columns, report = discover.infer_columns(files, { dialect = dialect, schema = o.schema, sample = o.sample,
      exclude = pnames, location = location, types = o.types })
  end
  local def = ddl._table_def(o)
  local stmts
  if dialect == "postgres" then
    local serde = def.row_format and def.row_format.serde
    if textfmt.TEXT[def.format] then
      textfmt.scan_options(def)   -- refused now, not at the table's first query
    elseif def.format ~= "parquet" or (serde and not serde:lower():find("parquet", 1, true)) then
      -- refused now, not at the table's first query
      fail("unsupported", ("%s: format %s is not emulated on PostgreSQL: lode's local Spectrum scans Parquet, "
        .. "text, CSV and JSON"):format(def.qname, serde and ("'" .. serde .. "'") or def.format:upper()))
    end
    def.env_file = emulate._pg_setup(wh)
    if def.replace then
      wh:exec("DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2", def.schema, def.table)
    end
    stmts = emulate._pg_table_sql(def)
    wh:exec("CREATE SCHEMA IF NOT EXISTS " .. sql.ident(def.schema))
    run_all(wh, stmts)
    emulate.register_table(wh, def)
    catalog.plan_table(def)
  else
    stmts = ddl.table_sql(def, dialect)
    if not def.replace and external_exists(wh, def.schema, def.table) then
      core.log("info", "spectrum: the external table exists; left as it is (replace = true recreates it)",
        { table = def.qname })
      stmts = {}
    else
      run_all(wh, stmts)
      catalog.plan_table(def)
    end
  end
  return { columns = def.columns, partitions = def.partitions, statements = stmts, files = files and #files or nil,
           schemas = report and report.schemas }
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
    out[i] = { values = values, location = p.location and common.dir_url(p.location) }
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
  local def = catalog._read_table(wh, dialect, name)
  if #def.partitions == 0 then
    usage(("%s is not partitioned"):format(def.qname))
  end
  local given = given_partitions(def, parts, true)
  if #given > ddl.max_partitions_per_statement and opts.statement then
    usage(("at most %d partitions per ALTER TABLE … ADD PARTITION"):format(ddl.max_partitions_per_statement))
  end
  local registered = catalog._registered(wh, dialect, def)
  local added = discover.diff(given, registered)
  if not opts.if_not_exists and #added < #given then
    fail("exists", ("a partition of %s already exists (use ADD IF NOT EXISTS)"):format(def.qname))
  end
  if dialect == "redshift" then
    run_all(wh, ddl.add_partitions_sql(def.qname, def.partitions, added))
  else
    def.env_file = emulate._pg_setup(wh)
    for _, p in ipairs(added) do
      emulate.add_partition(wh, def, p)
    end
  end
  catalog.plan_partitions(def, added)
  return added
end

--- spectrum.drop_partitions(wh, name, parts) -> dropped: unregister the
--- partitions given ({values = {k = v}}, ...); absent ones are an error.
function M.drop_partitions(wh, name, parts)
  local dialect = wh:get_dialect()
  local def = catalog._read_table(wh, dialect, name)
  local given = given_partitions(def, parts, false)
  local registered = catalog._registered(wh, dialect, def)
  local have = {}
  for _, p in ipairs(registered) do
    have[common.partition_key(p.values)] = p
  end
  local drop = {}
  for _, p in ipairs(given) do
    local r = have[common.partition_key(p.values)]
    if not r then
      fail("not_found", ("%s has no partition %s"):format(def.qname, common.values_json(p.values)))
    end
    drop[#drop + 1] = r
  end
  if dialect == "redshift" then
    run_all(wh, ddl.drop_partitions_sql(def.qname, def.partitions, drop))
  else
    for _, p in ipairs(drop) do
      emulate.drop_partition(wh, def, p)
    end
  end
  catalog.plan_partitions(def, nil, drop)
  return drop
end

--- spectrum.is_external(wh, name) -> whether name is an external table
function M.is_external(wh, name)
  local ok, parts = pcall(sql.split_name, name)
  if not ok or #parts ~= 2 then
    return false
  end
  local plan = require("lode.warehouse").plan()
  local planned = plan and plan:get("spectrum.table", sql.qualified(parts))
  if planned ~= nil then
    return planned ~= false
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
  local schema, tbl = catalog.name_parts(name)
  local qname = sql.qualified(schema, tbl)
  if not M.is_external(wh, { schema, tbl }) then
    if opts.if_exists then
      return false
    end
    fail("not_found", ("no external table %s"):format(qname))
  end
  catalog.plan_table({ schema = schema, table = tbl, qname = qname }, true)
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
  local def = catalog._read_table(wh, dialect, name)
  if #def.partitions == 0 then
    return { added = {}, dropped = {}, skipped = {}, found = 0 }
  end
  local found, skipped = discover.discover(def.location, def.partitions, discover.list_folders, opts)
  local registered = catalog._registered(wh, dialect, def)
  local added, dropped = discover.diff(found, registered)
  if not opts.prune then
    dropped = {}
  end
  if dialect == "redshift" then
    run_all(wh, ddl.add_partitions_sql(def.qname, def.partitions, added))
    run_all(wh, ddl.drop_partitions_sql(def.qname, def.partitions, dropped))
  else
    def.env_file = emulate._pg_setup(wh)
    for _, p in ipairs(added) do
      emulate.add_partition(wh, def, p)
    end
    for _, p in ipairs(dropped) do
      emulate.drop_partition(wh, def, p)
    end
  end
  catalog.plan_partitions(def, added, dropped)
  local lode = require "lode"
  lode.log.info(("spectrum: %s: %d partitions found, %d added, %d dropped"):format(def.qname, #found, #added, #dropped),
    { table = def.qname, found = #found, added = #added, dropped = #dropped, skipped = #skipped })
  return { added = added, dropped = dropped, skipped = skipped, found = #found }
end

return M
