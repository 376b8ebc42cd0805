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
local glue = require "lode.spectrum.glue"
local textfmt = require "lode.spectrum.textfmt"

local fail, usage = common.fail, common.usage
local watermark, after_since -- partition sync from a watermark, defined with sync_glue

local M = {}

for _, part in ipairs({ common, ddl, discover, catalog, emulate, estimate, scan }) do
  for k, v in pairs(part) do
    M[k] = v
  end
end
-- internal to the parts, not part of lode.spectrum's interface
M.fail, M.usage, M.check_dialect, M.name_parts, M.pg_catalog = nil, nil, nil, nil, nil
M.register_table, M.add_partition, M.drop_partition = nil, nil, nil
M.plan_table, M.plan_partitions, M.pg_views, M.create_registry, M.ensure_views = nil, nil, nil, nil, nil

-- Warehouse operations --------------------------------------------------------------------

local function run_all(wh, stmts)
  for _, s in ipairs(stmts) do
    wh:exec(s)
  end
end

M.glue = glue

local function relation_exists(wh, qname)
  local v = wh:query("SELECT to_regclass($1) IS NOT NULL AS ok", qname)[1].ok
  return v == true or v == "t"
end

-- The Glue database a PostgreSQL schema mirrors (lode.spectrum_schemas), or nil.
local function glue_database(wh, schema)
  if wh:get_dialect() ~= "postgres" then
    return nil
  end
  local ok, r = pcall(function()
    if not relation_exists(wh, "lode.spectrum_schemas") then
      return nil
    end
    local row = wh:query("SELECT database FROM lode.spectrum_schemas WHERE schema_name = $1", schema)[1]
    return row and row.database
  end)
  if ok then
    return r
  end
  if core.dry_run() then
    return nil
  end
  error(r, 0)
end
M._glue_database = glue_database

-- Record an external schema in the emulation's registry (SVV_EXTERNAL_SCHEMAS).
local function register_schema(wh, opts)
  catalog.create_registry(wh)
  catalog.pg_views(wh)
  local options = {}
  if opts.iam_role then
    options.IAM_ROLE = opts.iam_role
  end
  if opts.region then
    options.REGION = opts.region
  end
  wh:exec("INSERT INTO lode.spectrum_external_schemas VALUES ($1, $2, $3) ON CONFLICT (schema_name) DO UPDATE "
    .. "SET database = EXCLUDED.database, options = EXCLUDED.options", opts.name, opts.database or opts.name,
    require("lode.json").encode(options))
end

--- schema(wh, {name, database, iam_role, region, create_database, catalog}) -> statements run.
--- On PostgreSQL with the Glue catalog (see lode.spectrum.glue.enabled), the
--- schema mirrors the Glue database `database` (created first with
--- create_database, as CREATE EXTERNAL DATABASE IF NOT EXISTS does).
function M.schema(wh, opts)
  local dialect = wh:get_dialect()
  local stmts = ddl.schema_sql(opts, dialect)
  if dialect == "postgres" and opts.database and glue.enabled(opts) and not core.dry_run() then
    local db = opts.database
    if not glue.get_database(db) then
      if not opts.create_database then
        fail("not_found", ("CREATE EXTERNAL SCHEMA %s: there is no Glue database %s (add CREATE EXTERNAL DATABASE "
          .. "IF NOT EXISTS to create it)"):format(opts.name, db), { database = db })
      end
      glue.create_database(db)
    end
    run_all(wh, stmts)
    emulate._pg_setup(wh)
    register_schema(wh, opts)
    wh:exec("INSERT INTO lode.spectrum_schemas VALUES ($1, $2) ON CONFLICT (schema_name) DO UPDATE "
      .. "SET database = EXCLUDED.database", opts.name, db)
    M.refresh(wh, opts.name)
    return stmts
  end
  run_all(wh, stmts)
  if dialect == "postgres" then
    register_schema(wh, opts)
  end
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
    else
      textfmt.scan_options(def)   -- Parquet: a data handling action it cannot take is refused now
    end
    def.env_file = emulate._pg_setup(wh)
    -- a DATA CATALOG schema's table is Glue's first, as on Redshift
    local db = glue_database(wh, def.schema)
    if opts.catalog == "glue" then
      db = opts.database or db or def.schema
    end
    if db and not core.dry_run() then
      glue.create_table(db, def, { replace = def.replace })
    end
    if def.replace then
      wh:exec("DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2", def.schema, def.table)
      wh:transaction(function(tx)
        -- an unpartitioned table is a foreign table, which the DROP TABLE of the statements below would refuse
        local kind = tx:query("SELECT c.relkind AS k FROM pg_catalog.pg_class c "
          .. "WHERE c.oid = pg_catalog.to_regclass($1)", def.qname)[1]
        if kind and kind.k == "f" then
          tx:exec("DROP FOREIGN TABLE " .. def.qname .. " CASCADE")
        end
        require("lode.spectrum.pseudo").drop_sibling(tx, def.schema, def.table)
      end)
    end
    stmts = emulate._pg_table_sql(def)
    wh:exec("CREATE SCHEMA IF NOT EXISTS " .. sql.ident(def.schema))
    run_all(wh, stmts)
    emulate.register_table(wh, def)
    catalog.plan_table(def)
  elseif opts.catalog == "glue" then
    -- straight into Glue: the external schema over that database sees it
    stmts = {}
    if not core.dry_run() then
      glue.create_table(opts.database or def.schema, def, { replace = def.replace })
    end
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

-- PostgreSQL's type of a query column as the Redshift type of an external
-- table column, or nil.
local function ctas_type(t)
  local simple = { integer = "int", bigint = "bigint", smallint = "smallint", real = "real",
    ["double precision"] = "double precision", boolean = "boolean", date = "date", text = "varchar(max)",
    ["timestamp without time zone"] = "timestamp", ["character varying"] = "varchar(max)" }
  if simple[t] then
    return simple[t]
  end
  local p, sc = t:match("^numeric%((%d+),(%d+)%)$")
  if p and tonumber(p) <= 38 then
    return ("decimal(%s,%s)"):format(p, sc)
  end
  local n = t:match("^character varying%((%d+)%)$")
  if n then
    return ("varchar(%s)"):format(n)
  end
  n = t:match("^character%((%d+)%)$")
  if n then
    return ("char(%s)"):format(n)
  end
  return nil
end

--- spectrum.create_table_as(wh, {name, location, format = "parquet"|"textfile",
--- row_format, partitions = {names}, properties, query}) -> {rowcount=,
--- files=, partitions=}: CREATE EXTERNAL TABLE … AS SELECT on PostgreSQL —
--- the query's rows written under location by UNLOAD's writers (Parquet, or
--- text with the table's delimiter, '\' escapes and \N for NULL; k=v
--- folders for the partition columns), then the table created (in Glue too
--- on a DATA CATALOG schema) and its partitions registered. As on Redshift
--- the location must hold no objects, and it never runs in a transaction.
function M.create_table_as(wh, opts)
  if wh:get_dialect() ~= "postgres" then
    usage("create_table_as emulates CREATE EXTERNAL TABLE … AS on PostgreSQL; on Redshift the statement runs as written")
  end
  local format = (opts.format or "parquet"):lower()
  -- CREATE EXTERNAL TABLE AS's usage notes: no ROW FORMAT SERDE, no LINES
  -- TERMINATED BY, no LIMIT in the outer query (refused as Redshift refuses them)
  local given = opts.row_format or {}
  if given.serde then
    fail("unsupported", ("CREATE EXTERNAL TABLE %s … AS: the ROW FORMAT SERDE '%s' clause isn't supported by CREATE "
      .. "EXTERNAL TABLE AS on Redshift (STORED AS PARQUET, or TEXTFILE with ROW FORMAT DELIMITED, are)")
      :format(sql.qname(opts.name), given.serde), { feature = "CREATE EXTERNAL TABLE AS … ROW FORMAT SERDE" })
  elseif given.lines then
    fail("unsupported", ("CREATE EXTERNAL TABLE %s … AS: the LINES TERMINATED BY clause isn't supported by CREATE "
      .. "EXTERNAL TABLE AS on Redshift"):format(sql.qname(opts.name)), { feature = "CREATE EXTERNAL TABLE AS … LINES TERMINATED BY" })
  end
  local depth = 0
  for _, t in ipairs(require("lode.sqltok").tokenize(opts.query or "")) do
    if t.type == "op" and t.text == "(" then
      depth = depth + 1
    elseif t.type == "op" and t.text == ")" then
      depth = depth - 1
    elseif depth == 0 and t.type == "word" and t.value == "limit" then
      fail("unsupported", ("CREATE EXTERNAL TABLE %s … AS: Redshift doesn't allow the LIMIT clause in the outer SELECT "
        .. "query of CREATE EXTERNAL TABLE AS; nest it (SELECT * FROM (SELECT … LIMIT n))"):format(sql.qname(opts.name)),
        { feature = "CREATE EXTERNAL TABLE AS … LIMIT" })
    end
  end
  if format ~= "parquet" and format ~= "textfile" then
    fail("unsupported", ("CREATE EXTERNAL TABLE %s … AS: STORED AS PARQUET or TEXTFILE (ROW FORMAT DELIMITED) "
      .. "only, as on Redshift, not %s"):format(sql.qname(opts.name), format:upper()))
  end
  local schema, tbl = catalog.name_parts(opts.name)
  local qname = sql.qualified(schema, tbl)
  local location = common.dir_url(opts.location or usage("create_table_as needs location"))
  if type(wh.session) == "function" then
    -- one connection throughout: the query's rows wait in a temp table
    return wh:session(function(s) return M.create_table_as(s, opts) end)
  end
  if core.dry_run() then
    require("lode.warehouse")._plan_print(("-- lode plan: CREATE EXTERNAL TABLE %s … AS: the query's rows written "
      .. "under %s, then the table and its partitions registered\n%s"):format(qname, location, opts.query))
    return { rowcount = 0, files = {}, partitions = 0 }
  end
  local temp = ("lode_ctas_%08x"):format(math.random(0, 0x7fffffff))
  local rf
  if format == "textfile" then
    rf = { delimited = true, fields = given.fields or "\1", escaped = "\\" }
  end
  local ok, r = pcall(function()
    wh:exec("CREATE TEMP TABLE " .. sql.ident(temp) .. " AS " .. opts.query)
    local cols = wh:query("SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a "
      .. "WHERE a.attrelid = ('pg_temp.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped "
      .. "ORDER BY a.attnum", temp)
    local pnames, is_part = {}, {}
    for i, p in ipairs(opts.partitions or {}) do
      pnames[i] = (type(p) == "table" and p.name or p):lower()
      is_part[pnames[i]] = true
    end
    local columns, by_name = {}, {}
    for _, c in ipairs(cols) do
      local ty = ctas_type(c.type)
      if not ty then
        fail("unsupported", ("CREATE EXTERNAL TABLE %s … AS: column %s is %s, which lode does not write to an "
          .. "external table; cast it (to varchar, decimal(p,s), timestamp …)"):format(qname, sql.ident(c.name), c.type))
      end
      by_name[c.name:lower()] = { name = c.name, type = ty }
      if not is_part[c.name:lower()] then
        columns[#columns + 1] = { name = c.name, type = ty }
      end
    end
    local partitions = {}
    for i, n in ipairs(pnames) do
      partitions[i] = by_name[n] or fail("invalid", ("CREATE EXTERNAL TABLE %s … AS: partition column %s is not a "
        .. "column of the query"):format(qname, n))
    end
    local out = require("lode.unload").run(wh, {
      kind = "unload", query = "SELECT * FROM pg_temp." .. sql.ident(temp), to = location,
      format = format == "parquet" and "parquet" or nil, partition_by = #pnames > 0 and pnames or nil,
      delimiter = rf and rf.fields or nil, escape = rf and true or nil, null_as = rf and "\\N" or nil })
    M.table(wh, { name = { schema, tbl }, location = location, format = format, row_format = rf, columns = columns,
      partitions = partitions, properties = opts.properties })
    local parts = {}
    if #partitions > 0 then
      for i, p in ipairs(discover.discover(location, partitions, discover.list_folders)) do
        local values = {}
        for k, c in ipairs(partitions) do
          values[c.name] = p.values[k]
        end
        parts[i] = { values = values, location = p.location }
      end
      if #parts > 0 then
        M.add_partitions(wh, { schema, tbl }, parts, { if_not_exists = true })
      end
    end
    return { rowcount = out.rowcount, files = out.files, partitions = #parts }
  end)
  pcall(wh.exec, wh, "DROP TABLE IF EXISTS pg_temp." .. sql.ident(temp))
  if not ok then
    error(r, 0)
  end
  return r
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
    local db = glue_database(wh, def.schema)
    if db and #added > 0 and not core.dry_run() then
      glue.create_partitions(db, def.table, def, added)
    end
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
    local db = glue_database(wh, def.schema)
    if db and #drop > 0 and not core.dry_run() then
      glue.delete_partitions(db, def.table, drop)
    end
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

--- spectrum.set_location(wh, name, location [, partition]): ALTER TABLE … SET
--- LOCATION — the table's location, or with partition = {values = {k = v}} that
--- partition's (Glue's UpdateTable / UpdatePartition too on a DATA CATALOG schema).
function M.set_location(wh, name, location, partition)
  local dialect = wh:get_dialect()
  local def = catalog._read_table(wh, dialect, name)
  location = common.dir_url(location)
  if dialect == "redshift" then
    local head = "ALTER TABLE " .. def.qname
    if partition then
      local p = given_partitions(def, { partition }, false)[1]
      local spec = {}
      for i, c in ipairs(def.partitions) do
        spec[i] = sql.ident(c.name) .. "=" .. sql.literal(p.values[i], "redshift")
      end
      head = head .. " PARTITION (" .. table.concat(spec, ", ") .. ")"
    end
    wh:exec(head .. " SET LOCATION " .. sql.literal(location, "redshift"))
    return
  end
  def.env_file = emulate._pg_setup(wh)
  local db = glue_database(wh, def.schema)
  if partition then
    local p = given_partitions(def, { partition }, false)[1]
    local have
    for _, r in ipairs(catalog._registered(wh, dialect, def)) do
      if common.partition_key(r.values) == common.partition_key(p.values) then
        have = r
      end
    end
    if not have then
      fail("not_found", ("%s has no partition %s"):format(def.qname, common.values_json(p.values)))
    end
    p.location = location
    if db and not core.dry_run() then
      local gt = glue.get_table(db, def.table) or fail("not_found", ("no Glue table %s.%s"):format(db, def.table))
      local input = glue.partition_input({ glue = gt }, p)
      core.log("debug", "glue: UpdatePartition", { database = db, table = def.table })
      glue.client():call("UpdatePartition", { DatabaseName = db, TableName = gt.Name, PartitionValueList = p.values,
        PartitionInput = input })
    end
    emulate.drop_partition(wh, def, have)
    emulate.add_partition(wh, def, p)
    return
  end
  if db and not core.dry_run() then
    glue.update_location(db, def.table, location)
  end
  wh:exec("UPDATE lode.spectrum_tables SET location = $3 WHERE schema_name = $1 AND table_name = $2",
    def.schema, def.table, location)
  if #def.partitions == 0 then
    -- the table itself reads its location
    wh:exec("ALTER FOREIGN TABLE " .. def.qname .. " OPTIONS (SET program " .. sql.literal(emulate._program(def, location, {})) .. ")")
  end
end

--- spectrum.set_table_properties(wh, name, {key = value}): ALTER TABLE … SET
--- TABLE PROPERTIES — merged into the table's properties (Glue's Parameters
--- too on a DATA CATALOG schema); on PostgreSQL a text table's partitions read
--- with them from the next query on. What the emulation cannot read exactly
--- is refused before anything changes.
function M.set_table_properties(wh, name, props)
  if type(props) ~= "table" or next(props) == nil then
    usage("set_table_properties needs { key = value, ... }")
  end
  local dialect = wh:get_dialect()
  local def = catalog._read_table(wh, dialect, name)
  if dialect == "redshift" then
    local list = {}
    for k, v in pairs(props) do
      list[#list + 1] = sql.literal(k, "redshift") .. "=" .. sql.literal(tostring(v), "redshift")
    end
    table.sort(list)
    wh:exec("ALTER TABLE " .. def.qname .. " SET TABLE PROPERTIES (" .. table.concat(list, ", ") .. ")")
    return
  end
  local merged = {}
  for k, v in pairs(def.properties or {}) do
    merged[k] = v
  end
  for k, v in pairs(props) do
    merged[k] = tostring(v)
  end
  def.properties = merged
  if textfmt.TEXT[def.format] or def.format == "parquet" then
    textfmt.scan_options(def) -- refused now, before anything changes
  end
  def.env_file = emulate._pg_setup(wh)
  local db = glue_database(wh, def.schema)
  if db and not core.dry_run() then
    glue.update_parameters(db, def.table, props)
  end
  emulate.register_table(wh, def)
  if #def.partitions == 0 then
    wh:exec("ALTER FOREIGN TABLE " .. def.qname .. " OPTIONS (SET program "
      .. sql.literal(emulate._program(def, def.location, {})) .. ")")
    return
  end
  for _, p in ipairs(catalog._registered(wh, dialect, def)) do
    if p.relname then
      wh:exec("ALTER FOREIGN TABLE " .. sql.qualified(def.schema, p.relname) .. " OPTIONS (SET program "
        .. sql.literal(emulate._program(def, p.location, p.values)) .. ")")
    end
  end
end

-- The emulated table, its partitions and registry rows (PostgreSQL).
local function local_drop(wh, schema, tbl)
  local qname = sql.qualified(schema, tbl)
  wh:transaction(function(tx)
    local kind = tx:query("SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      .. "WHERE n.nspname = $1 AND c.relname = $2", schema, tbl)[1]
    if kind then
      tx:exec((kind.relkind == "f" and "DROP FOREIGN TABLE " or "DROP TABLE ") .. qname .. " CASCADE")
    end
    tx:exec("DELETE FROM lode.spectrum_partitions WHERE schema_name = $1 AND table_name = $2", schema, tbl)
    tx:exec("DELETE FROM lode.spectrum_tables WHERE schema_name = $1 AND table_name = $2", schema, tbl)
    require("lode.spectrum.pseudo").drop_sibling(tx, schema, tbl)   -- "$path" / "$size"'s relation
  end)
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
  local db = glue_database(wh, schema)
  if db and not glue.delete_table(db, tbl, { if_exists = true }) then
    core.log("warn", "spectrum: the Glue table was gone already", { table = qname, database = db })
  end
  local_drop(wh, schema, tbl)
  return true
end


--- sync_partitions(wh, table, {prune = false, pattern = nil, since = nil}) ->
--- {added=, dropped=, skipped=, found=}: lists the table's location level by
--- level and registers the partitions that are new (batches of ≤ 100 on
--- Redshift); with prune, drops those whose folders are gone. since (see
--- sync_glue) lists only the folders at or after the watermark.
function M.sync_partitions(wh, name, opts)
  opts = opts or {}
  if opts.catalog == "glue" then
    -- name is DATABASE.TABLE in Glue, or SCHEMA.TABLE of a schema mirroring one
    local database, tbl = glue.split_name(name)
    local mirrored = wh and glue_database(wh, database)
    local r = M.sync_glue(mirrored or database, tbl, { location = opts.location, prune = opts.prune ~= false,
      pattern = opts.pattern, segments = opts.segments, since = opts.since })
    if mirrored then
      M.refresh(wh, database, { tables = { tbl } })
    end
    return r
  end
  local dialect = wh:get_dialect()
  local def = catalog._read_table(wh, dialect, name)
  if #def.partitions == 0 then
    return { added = {}, dropped = {}, skipped = {}, found = 0 }
  end
  local registered = catalog._registered(wh, dialect, def)
  local since = watermark(def, registered, opts.since)
  local found, skipped = discover.discover(def.location, def.partitions, discover.list_folders,
    { pattern = opts.pattern, concurrency = opts.concurrency, since = since })
  local added, dropped = discover.diff(found, since and after_since(registered, since) or registered)
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

-- Glue: mirroring and partition sync ------------------------------------------------------
--
-- A schema created FROM DATA CATALOG on PostgreSQL (with the Glue catalog)
-- mirrors its Glue database: every Glue table an emulated external table,
-- every Glue partition a file_fdw leaf reading its S3 location live. Text
-- tables (LazySimpleSerDe, OpenCSVSerde, the JsonSerDes) become the table
-- CREATE EXTERNAL TABLE would make (glue.text_def). A table lode cannot scan
-- (ORC, Avro; array/map/struct columns) is mirrored as a foreign table whose
-- scan fails naming the table and its format, so the rest of the database
-- stays queryable.

local function same_columns(a, b)
  if #a ~= #b then
    return false
  end
  for i = 1, #a do
    if a[i].name ~= b[i].name or a[i].type ~= b[i].type then
      return false
    end
  end
  return true
end

-- The text format options of a definition as one comparable string.
local function options_key(def)
  local parts = {}
  local function add(prefix, t)
    for k, v in pairs(t or {}) do
      if type(v) == "table" then
        add(prefix .. k .. ".", v)
      else
        parts[#parts + 1] = prefix .. k .. "=" .. tostring(v)
      end
    end
  end
  add("rf.", def.row_format)
  add("p.", def.properties)
  table.sort(parts)
  return table.concat(parts, "\0")
end

local function create_unscannable(wh, def, database)
  local cols = {}
  for _, c in ipairs(def.columns) do
    cols[#cols + 1] = c
  end
  for _, c in ipairs(def.partitions) do
    cols[#cols + 1] = c
  end
  local text = {}
  for i, c in ipairs(cols) do
    text[i] = "  " .. sql.ident(c.name) .. " " .. (emulate._pg_type and emulate._pg_type(c.type) or "text")
  end
  local msg = ("lode: %s (Glue table %s.%s) cannot be queried locally: %s"):format(def.qname, database,
    def.glue and def.glue.Name or def.table, def.unscannable)
  local program = "printf '%s\\n' " .. emulate._shell_quote(msg) .. " >&2; exit 1"
  wh:exec("CREATE FOREIGN TABLE " .. def.qname .. " (\n" .. table.concat(text, ",\n") .. "\n) SERVER "
    .. emulate.pg_server .. " OPTIONS (program " .. sql.literal(program) .. ", format 'text')")
  emulate.register_table(wh, def)
end

-- Mirror one Glue table (def from glue.def_from_table) into the emulation:
-- recreated when its definition changed, then its partitions diffed.
local function mirror_table(wh, database, def, opts)
  local ok, cur = pcall(catalog._read_table, wh, "postgres", { def.schema, def.table })
  ok = ok and relation_exists(wh, def.qname)
  local fresh = not (ok and cur.location == def.location and cur.format == def.format
    and same_columns(cur.columns, def.columns) and same_columns(cur.partitions, def.partitions)
    and (def.unscannable or not textfmt.TEXT[def.format] or options_key(cur) == options_key(def)))
  if fresh then
    local_drop(wh, def.schema, def.table)
    if def.unscannable then
      create_unscannable(wh, def, database)
      core.log("warn", ("spectrum: %s is mirrored from Glue but cannot be queried locally: %s")
        :format(def.qname, def.unscannable), { table = def.qname, database = database })
    else
      run_all(wh, emulate._pg_table_sql(def))
      emulate.register_table(wh, def)
    end
  end
  local r = { table = def.qname, added = 0, dropped = 0, recreated = fresh }
  if def.unscannable or #def.partitions == 0 then
    return r
  end
  local parts = glue.partitions(database, def.glue.Name, { segments = opts.segments })
  local registered = catalog._registered(wh, "postgres", def)
  local by_key = {}
  for _, p in ipairs(registered) do
    by_key[common.partition_key(p.values)] = p
  end
  local added, dropped = discover.diff(parts, registered)
  -- a partition whose location changed in Glue is replaced
  for _, p in ipairs(parts) do
    local have = by_key[common.partition_key(p.values)]
    if have and common.dir_url(have.location) ~= p.location then
      dropped[#dropped + 1] = have
      added[#added + 1] = p
    end
  end
  for _, p in ipairs(dropped) do
    emulate.drop_partition(wh, def, p)
  end
  for _, p in ipairs(added) do
    if #p.values ~= #def.partitions then
      fail("bad_catalog", ("Glue table %s.%s: partition %s has %d values for %d partition keys")
        :format(database, def.glue.Name, common.values_json(p.values), #p.values, #def.partitions))
    end
    emulate.add_partition(wh, def, p)
  end
  r.added, r.dropped = #added, #dropped
  return r
end

--- spectrum.refresh(wh, schema [, {tables = {names}, segments = n}]) -> {tables=, dropped=, partitions_added=,
--- partitions_dropped=}: mirror the schema's Glue database again (PostgreSQL):
--- new, changed and dropped Glue tables and partitions. Cheap when nothing changed
--- (one GetTables page and one GetPartitions page per partitioned table).
function M.refresh(wh, schema, opts)
  opts = opts or {}
  if wh:get_dialect() ~= "postgres" then
    usage("refresh mirrors a Glue database into PostgreSQL's emulation; Redshift reads Glue itself")
  end
  local db = glue_database(wh, schema)
  if not db then
    fail("not_found", ("%s is not an external schema mirroring a Glue database (CREATE EXTERNAL SCHEMA … FROM DATA "
      .. "CATALOG with the Glue catalog)"):format(schema), { schema = schema })
  end
  local env_file = emulate._pg_setup(wh)
  local out = { tables = 0, dropped = 0, partitions_added = 0, partitions_dropped = 0, database = db }
  local only
  if opts.tables then
    only = {}
    for _, n in ipairs(opts.tables) do
      only[n:lower()] = true
    end
  end
  local seen = {}
  for _, t in ipairs(glue.tables(db)) do
    if not only or only[t.Name:lower()] then
      local def = glue.def_from_table(schema, t)
      def.env_file = env_file
      seen[def.table] = true
      local r = mirror_table(wh, db, def, opts)
      out.tables = out.tables + 1
      out.partitions_added = out.partitions_added + r.added
      out.partitions_dropped = out.partitions_dropped + r.dropped
    end
  end
  for _, row in ipairs(wh:query("SELECT table_name FROM lode.spectrum_tables WHERE schema_name = $1", schema)) do
    if not seen[row.table_name] and (not only or only[row.table_name:lower()]) then
      local_drop(wh, schema, row.table_name)
      out.dropped = out.dropped + 1
    end
  end
  core.log("info", ("spectrum: %s mirrors Glue database %s: %d tables, %d partitions added, %d dropped, %d tables dropped")
    :format(schema, db, out.tables, out.partitions_added, out.partitions_dropped, out.dropped),
    { schema = schema, database = db })
  return out
end

--- spectrum.refresh_referenced(wh, text): refresh the Glue-backed schemas
--- the SQL text names (at the start of a `lode sql` script on PostgreSQL, at
--- the first use of a warehouse in `lode run`); first, the text/number
--- operators an earlier lode created in schema public are removed.
function M.refresh_referenced(wh, text)
  if core.dry_run() then
    return
  end
  local mok, merr = pcall(emulate.drop_public_operators, wh)
  if not mok then
    core.log("debug", "spectrum: the old operators in public were not checked", { error = tostring(merr) })
  end
  if not glue.enabled() then
    return
  end
  local ok, rows = pcall(function()
    if not relation_exists(wh, "lode.spectrum_schemas") then
      return {}
    end
    return wh:query("SELECT schema_name FROM lode.spectrum_schemas")
  end)
  if not ok then
    return
  end
  local lower = text:lower()
  for _, row in ipairs(rows) do
    local n = row.schema_name:lower()
    local pat = "%f[%w_\"]\"?" .. n:gsub("%p", "%%%0") .. "\"?%s*%."
    if lower:find(pat) then
      M.refresh(wh, row.schema_name)
    end
  end
end

-- The since watermark as values (discover.since_values); "latest" is the
-- newest partition registered (nil when there is none: everything is listed).
function watermark(def, registered, since)
  if since == "latest" then
    local best
    for _, p in ipairs(registered) do
      if not best or discover.before_since(best, p.values) then
        best = p.values
      end
    end
    return best
  end
  return discover.since_values(def.partitions, since)
end

-- The registered partitions at or after the watermark (the only ones a
-- listing from it can find, so the only ones it may prune).
function after_since(registered, since)
  local out = {}
  for _, p in ipairs(registered) do
    if not discover.before_since(p.values, since) then
      out[#out + 1] = p
    end
  end
  return out
end

--- spectrum.sync_glue(database, table, {location=, prune = true, pattern=, since=}) ->
--- {added=, dropped=, found=, create_calls=, delete_calls=}: list the S3
--- folders under the Glue table's location (or `location`) and add the
--- partitions Glue lacks (BatchCreatePartition, ≤ 100 per call), removing
--- those whose folders are gone (BatchDeletePartition, ≤ 25 per call) — no
--- crawler, no warehouse. With since ("2024/06", {year = 2024, month = 6} or
--- "latest", the newest partition Glue holds) only the folders at or after
--- that watermark are listed, and only partitions there are removed.
function M.sync_glue(database, name, opts)
  opts = opts or {}
  local t = glue.get_table(database, name)
  if not t then
    fail("not_found", ("no Glue table %s.%s"):format(database, name), { database = database, table = name })
  end
  local def = glue.def_from_table(database, t)
  if #def.partitions == 0 then
    usage(("Glue table %s.%s has no partition keys"):format(database, name))
  end
  local location = common.dir_url(opts.location or def.location)
  local registered = glue.partitions(database, t.Name, { segments = opts.segments })
  local since = watermark(def, registered, opts.since)
  local found, skipped = discover.discover(location, def.partitions, discover.list_folders,
    { pattern = opts.pattern, concurrency = opts.concurrency, since = since })
  local added, dropped = discover.diff(found, since and after_since(registered, since) or registered)
  if opts.prune == false then
    dropped = {}
  end
  local r = { added = added, dropped = dropped, skipped = skipped, found = #found, create_calls = 0, delete_calls = 0 }
  if #added > 0 then
    r.create_calls = glue.create_partitions(database, t.Name, def, added)
  end
  if #dropped > 0 then
    r.delete_calls = glue.delete_partitions(database, t.Name, dropped)
  end
  core.log("info", ("spectrum: Glue table %s.%s: %d partitions found, %d added, %d removed")
    :format(database, t.Name, #found, #added, #dropped),
    { database = database, table = t.Name, found = #found, added = #added, dropped = #dropped })
  return r
end

return M
