-- lode.spectrum.catalog — the definitions and partitions of existing
-- external tables, read from the warehouse: SVV_EXTERNAL_* on Redshift, the
-- registry lode.spectrum_tables / lode.spectrum_partitions on PostgreSQL.

local sql = require "lode.sql"
local common = require "lode.spectrum.common"

local fail, usage = common.fail, common.usage

local M = {}

-- Catalogs ---------------------------------------------------------------------------

-- The registry of the PostgreSQL emulation, created by emulate.setup.
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
  -- the text formats' ROW FORMAT and TABLE PROPERTIES, as JSON (NULL for Parquet)
  "ALTER TABLE lode.spectrum_tables ADD COLUMN IF NOT EXISTS format_options text",
  [[CREATE TABLE IF NOT EXISTS lode.spectrum_partitions (
  schema_name text NOT NULL,
  table_name text NOT NULL,
  "values" text NOT NULL,
  location text NOT NULL,
  relname text NOT NULL,
  PRIMARY KEY (schema_name, table_name, "values")
)]],
  -- external schemas backed by a Glue database (mirrored, written through)
  [[CREATE TABLE IF NOT EXISTS lode.spectrum_schemas (
  schema_name text PRIMARY KEY,
  database text NOT NULL
)]],
}

-- every external schema (CREATE EXTERNAL SCHEMA), Glue-backed or not, for SVV_EXTERNAL_SCHEMAS
PG_CATALOG[#PG_CATALOG + 1] = [[CREATE TABLE IF NOT EXISTS lode.spectrum_external_schemas (
  schema_name text PRIMARY KEY,
  database text NOT NULL,
  options text NOT NULL
)]]

M.pg_catalog = PG_CATALOG

-- Redshift's catalog views over the registry --------------------------------------------
--
-- SVV_EXTERNAL_SCHEMAS, _DATABASES, _TABLES, _COLUMNS and _PARTITIONS with the
-- columns AWS's system-view pages list, as views in lode's Redshift schema
-- lode_redshift, next to the dialect's functions: Redshift serves them from
-- its catalog, so a user's own schema public never gets them, and
-- lode.redshift.dialect rewrites a script's unqualified name to this one
-- (as it does pg_table_def). Types are shown as Glue
-- records them (Hive's names: int, string, decimal(8,2)); formats and SerDes
-- as Redshift registers them for each format.

local HIVE_TYPE_SQL = [[CREATE OR REPLACE FUNCTION lode.hive_type(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
SELECT CASE
  WHEN l IN ('int', 'integer', 'int4') THEN 'int'
  WHEN l IN ('bigint', 'int8') THEN 'bigint'
  WHEN l IN ('smallint', 'int2') THEN 'smallint'
  WHEN l IN ('real', 'float4') THEN 'float'
  WHEN l IN ('double precision', 'float8', 'float', 'double') THEN 'double'
  WHEN l IN ('boolean', 'bool') THEN 'boolean'
  WHEN l IN ('text', 'string', 'varchar(max)', 'character varying(max)') THEN 'string'
  WHEN l = 'varbyte' THEN 'binary'
  WHEN l IN ('numeric', 'decimal') THEN 'decimal(18,0)'
  WHEN l ~ '^(numeric|decimal) ?\(' THEN regexp_replace(replace(l, ' ', ''), '^(numeric|decimal)', 'decimal')
  WHEN l ~ '^(character varying|varchar|nvarchar) ?\(' THEN regexp_replace(replace(l, ' ', ''), '^(charactervarying|varchar|nvarchar)', 'varchar')
  WHEN l ~ '^(character|char|nchar|bpchar) ?\(' THEN regexp_replace(replace(l, ' ', ''), '^(character|char|nchar|bpchar)', 'char')
  ELSE replace(l, ' ', '') END
FROM (SELECT lower(btrim(regexp_replace(t, '\s+', ' ', 'g'))) AS l) x
$f$]]

-- the input format, output format and SerDe of a registry row, and its SerDe parameters
local FORMAT_SQL = [[CREATE OR REPLACE FUNCTION lode.spectrum_format(format text, options text, part text)
RETURNS text LANGUAGE sql IMMUTABLE AS $f$
SELECT CASE part
  WHEN 'input' THEN CASE WHEN format = 'parquet' THEN 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
    WHEN format IN ('textfile', 'csv', 'json') THEN 'org.apache.hadoop.mapred.TextInputFormat' ELSE '' END
  WHEN 'output' THEN CASE WHEN format = 'parquet' THEN 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
    WHEN format IN ('textfile', 'csv', 'json') THEN 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
    ELSE '' END
  WHEN 'serde' THEN coalesce(options::jsonb #>> '{row_format,serde}', CASE
    WHEN format = 'parquet' THEN 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
    WHEN format = 'textfile' THEN 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe'
    WHEN format = 'csv' THEN 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
    WHEN format = 'json' THEN 'org.openx.data.jsonserde.JsonSerDe' ELSE '' END)
  WHEN 'serde_parameters' THEN CASE
    WHEN options::jsonb #> '{row_format,properties}' IS NOT NULL
      AND options::jsonb #> '{row_format,properties}' <> '[]'::jsonb
      THEN (options::jsonb #> '{row_format,properties}')::text
    WHEN options::jsonb #>> '{row_format,fields}' IS NOT NULL
      THEN jsonb_build_object('field.delim', options::jsonb #>> '{row_format,fields}',
        'serialization.format', options::jsonb #>> '{row_format,fields}')::text
    WHEN format = 'parquet' THEN '{"serialization.format":"1"}'
    ELSE '{}' END
  WHEN 'parameters' THEN (jsonb_build_object('EXTERNAL', 'TRUE') || CASE
    WHEN jsonb_typeof(options::jsonb -> 'properties') = 'object' THEN options::jsonb -> 'properties'
    ELSE '{}'::jsonb END)::text
  END
$f$]]

local VIEWS = {
  [[CREATE OR REPLACE VIEW lode_redshift.svv_external_schemas AS
SELECT n.oid AS esoid, 1::smallint AS eskind, n.nspname AS schemaname, n.nspowner::integer AS esowner,
  s.database AS databasename, s.options AS esoptions
FROM (SELECT schema_name, database, options FROM lode.spectrum_external_schemas
      UNION ALL
      SELECT g.schema_name, g.database, '{}' FROM lode.spectrum_schemas g
      WHERE NOT EXISTS (SELECT 1 FROM lode.spectrum_external_schemas e WHERE e.schema_name = g.schema_name)
      UNION ALL
      SELECT DISTINCT t.schema_name, t.schema_name, '{}' FROM lode.spectrum_tables t
      WHERE NOT EXISTS (SELECT 1 FROM lode.spectrum_external_schemas e WHERE e.schema_name = t.schema_name)
        AND NOT EXISTS (SELECT 1 FROM lode.spectrum_schemas g WHERE g.schema_name = t.schema_name)) s
JOIN pg_namespace n ON n.nspname = s.schema_name]],
  -- the external databases the schemas name (r_SVV_EXTERNAL_DATABASES; lode's catalog is its registry)
  [[CREATE OR REPLACE VIEW lode_redshift.svv_external_databases AS
SELECT DISTINCT ON (s.databasename) 1::integer AS eskind, s.esoptions, s.databasename, ''::text AS location,
  '{}'::text AS parameters
FROM lode_redshift.svv_external_schemas s
ORDER BY s.databasename, s.schemaname]],
  [[CREATE OR REPLACE VIEW lode_redshift.svv_external_tables AS
SELECT current_database()::text AS redshift_database_name, t.schema_name AS schemaname, t.table_name AS tablename,
  ''::text AS tabletype, t.location,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'input') AS input_format,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'output') AS output_format,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'serde') AS serialization_lib,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'serde_parameters') AS serde_parameters,
  0 AS compressed,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'parameters') AS parameters
FROM lode.spectrum_tables t]],
  [[CREATE OR REPLACE VIEW lode_redshift.svv_external_columns AS
SELECT current_database()::text AS redshift_database_name, t.schema_name AS schemaname, t.table_name AS tablename,
  c.name AS columnname, lode.hive_type(c.type) AS external_type, c.num::integer AS columnnum, c.part_key::integer,
  ''::text AS is_nullable
FROM lode.spectrum_tables t
CROSS JOIN LATERAL (
  SELECT n.name, ty.type, n.i AS num, 0 AS part_key
  FROM jsonb_array_elements_text(t.column_names::jsonb) WITH ORDINALITY n(name, i)
  JOIN jsonb_array_elements_text(t.column_types::jsonb) WITH ORDINALITY ty(type, i) ON ty.i = n.i
  UNION ALL
  SELECT n.name, ty.type, jsonb_array_length(t.column_names::jsonb) + n.i, n.i
  FROM jsonb_array_elements_text(t.partition_names::jsonb) WITH ORDINALITY n(name, i)
  JOIN jsonb_array_elements_text(t.partition_types::jsonb) WITH ORDINALITY ty(type, i) ON ty.i = n.i) c]],
  [[CREATE OR REPLACE VIEW lode_redshift.svv_external_partitions AS
SELECT p.schema_name AS schemaname, p.table_name AS tablename, p."values", left(p.location, 128) AS location,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'input') AS input_format,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'output') AS output_format,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'serde') AS serialization_lib,
  lode.spectrum_format(t.format, coalesce(t.format_options, '{}'), 'serde_parameters') AS serde_parameters,
  0 AS compressed, '{}'::text AS parameters
FROM lode.spectrum_partitions p
JOIN lode.spectrum_tables t ON t.schema_name = p.schema_name AND t.table_name = p.table_name]],
}

--- pg_views(wh): Redshift's SVV_EXTERNAL_* views over the registry, created
--- when missing (never replaced while other sessions may read them).
--- create_registry(wh): the registry tables (pg_catalog above), once;
--- concurrent first setups (parallel scripts) take turns, since CREATE TABLE
--- IF NOT EXISTS alone races ("duplicate key … pg_type_typname_nsp_index").
function M.create_registry(wh)
  if require("lode.core").dry_run() then
    for _, s in ipairs(PG_CATALOG) do
      wh:exec(s)     -- printed by the plan
    end
    return
  end
  wh:transaction(function(tx)
    tx:query("SELECT pg_advisory_xact_lock(hashtext('lode.spectrum.registry'))")
    for _, s in ipairs(PG_CATALOG) do
      -- as written: on a warehouse whose every text is Redshift SQL (emulate = "redshift") the
      -- dialect would drop the PRIMARY KEYs as informational, and the registry's upserts need them
      tx:query_raw(s)
    end
  end)
end

-- The views an earlier lode created in schema public (over its registry,
-- not a user's own views of those names).
local OLD_PUBLIC_VIEWS_SQL = "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
  .. "WHERE n.nspname = 'public' AND c.relkind = 'v' AND c.relname IN ('svv_external_schemas', "
  .. "'svv_external_tables', 'svv_external_columns', 'svv_external_partitions') "
  .. "AND position('lode.spectrum_' in pg_get_viewdef(c.oid)) > 0"

function M.pg_views(wh)
  local have_sql = "SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    .. "WHERE n.nspname = 'lode_redshift' AND c.relname IN ('svv_external_schemas', 'svv_external_databases', "
    .. "'svv_external_tables', 'svv_external_columns', 'svv_external_partitions')"
  if tonumber(wh:query(have_sql)[1].n) == #VIEWS and not wh:query(OLD_PUBLIC_VIEWS_SQL)[1] then
    return
  end
  local ok, e = pcall(wh.transaction, wh, function(tx)
    -- concurrent first setups (parallel scripts) take turns; the later ones find them made
    tx:query("SELECT pg_advisory_xact_lock(hashtext('lode.spectrum.setup'))")
    local old = tx:query_raw(OLD_PUBLIC_VIEWS_SQL)
    if tonumber(tx:query_raw(have_sql)[1].n) == #VIEWS and not old[1] then
      return
    end
    tx:query_raw("CREATE SCHEMA IF NOT EXISTS lode_redshift")
    for _, r in ipairs(old) do
      -- one a user's view depends on moves (and is replaced below), so that view keeps working
      local moved = tx:query_raw("SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        .. "WHERE n.nspname = 'lode_redshift' AND c.relname = $1) AS taken, EXISTS (SELECT 1 FROM pg_depend d "
        .. "JOIN pg_rewrite w ON w.oid = d.objid WHERE d.refobjid = ('public.' || $1)::regclass "
        .. "AND w.ev_class <> d.refobjid) AS used", r.name)[1]
      if moved.used and not moved.taken then
        tx:query_raw(("ALTER VIEW public.%s SET SCHEMA lode_redshift"):format(r.name))
      elseif not moved.used then
        tx:query_raw(("DROP VIEW public.%s"):format(r.name))
      end
    end
    tx:query_raw(HIVE_TYPE_SQL)
    tx:query_raw(FORMAT_SQL)
    for _, v in ipairs(VIEWS) do
      tx:query_raw(v)
    end
  end)
  if not ok then
    require("lode.core").log("warn", "spectrum: the SVV_EXTERNAL_* views could not be created in schema lode_redshift",
      { error = type(e) == "table" and e.message or tostring(e) })
  end
end

--- ensure_views(wh): the registry and the SVV_EXTERNAL_* views, for a script
--- that reads the views before (or without) any external DDL: on Redshift
--- they always exist, empty when there are no external tables.
local views_ready = setmetatable({}, { __mode = "k" })   -- connections that have seen them, once committed

function M.ensure_views(wh)
  local c = wh.conn
  if require("lode.core").dry_run() or (c and views_ready[c]) then
    return
  end
  M.create_registry(wh)
  M.pg_views(wh)
  local st = c and c:transaction_status()
  if st and st ~= "intrans" and st ~= "inerror" then
    views_ready[c] = true
  end
end

--- name_parts(name) -> schema, table of an external table name ("schema.table" or {schema, table})
local function name_parts(name)
  local parts = sql.split_name(name)
  if #parts ~= 2 then
    usage(("an external table name has a schema and a table: %s"):format(tostring(name)))
  end
  return parts[1], parts[2]
end

M.name_parts = name_parts

local function zip_columns(names, types)
  local out = {}
  for i, n in ipairs(names) do
    out[i] = { name = n, type = types[i] }
  end
  return out
end

-- Under `lode plan` -----------------------------------------------------------------
--
-- The statements spectrum.table and the partition operations print are not
-- run, so the catalog read above would not show them: the plan state keeps
-- the definitions ("spectrum.table") and partition changes
-- ("spectrum.partitions") a run would have registered.

local function plan()
  local ok, warehouse = pcall(require, "lode.warehouse")
  return ok and warehouse.plan() or nil
end

local function copy_def(def)
  local out = {}
  for _, k in ipairs({ "schema", "table", "qname", "location", "format", "columns", "partitions", "row_format",
                       "properties" }) do
    out[k] = def[k]
  end
  return out
end

--- plan_table(def [, dropped]): under `lode plan`, remember the external table
--- a printed statement created (its partitions start empty when it replaced
--- one), or that it was dropped.
function M.plan_table(def, dropped)
  local p = plan()
  if not p then
    return
  end
  p:set("spectrum.table", def.qname, dropped and false or copy_def(def))
  if dropped or def.replace or not p:get("spectrum.partitions", def.qname) then
    p:set("spectrum.partitions", def.qname, { replaced = dropped or def.replace or false, changes = {} })
  end
end

--- plan_partitions(def, added, dropped): under `lode plan`, remember partitions
--- a run would have registered or dropped.
function M.plan_partitions(def, added, dropped)
  local p = plan()
  if not p then
    return
  end
  local f = p:get("spectrum.partitions", def.qname)
  if not f then
    f = { replaced = false, changes = {} }
    p:set("spectrum.partitions", def.qname, f)
  end
  for _, part in ipairs(added or {}) do
    f.changes[#f.changes + 1] = { add = true, part = part }
  end
  for _, part in ipairs(dropped or {}) do
    f.changes[#f.changes + 1] = { add = false, part = part }
  end
end

-- The definition of an existing external table, from the warehouse's catalog.
function M._read_table(wh, dialect, name)
  local schema, tbl = name_parts(name)
  local def = { schema = schema, table = tbl, qname = sql.qualified(schema, tbl) }
  local p = plan()
  local planned = p and p:get("spectrum.table", def.qname)
  if planned then
    return copy_def(planned)
  elseif planned == false then
    fail("not_found", ("no external table %s (dropped earlier in this plan)"):format(def.qname))
  end
  if dialect == "redshift" then
    local r = wh:query("SELECT location FROM svv_external_tables WHERE schemaname = $1 AND tablename = $2", schema, tbl)
    if not r[1] then
      fail("not_found", ("no external table %s (SVV_EXTERNAL_TABLES)"):format(def.qname))
    end
    def.location = common.dir_url(r[1].location)
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
  def.columns = zip_columns(common.parse_values(row.column_names), common.parse_values(row.column_types))
  def.partitions = zip_columns(common.parse_values(row.partition_names), common.parse_values(row.partition_types))
  if row.format_options and row.format_options ~= require("lode.core").null then
    local fo = require("lode.json").decode(row.format_options)
    def.row_format, def.properties = fo.row_format, fo.properties
  end
  return def
end

-- Partitions the catalog knows: {{values=, location=, relname=}}
function M._registered(wh, dialect, def)
  local out = {}
  if dialect == "redshift" then
    local r = wh:query("SELECT values, location FROM svv_external_partitions WHERE schemaname = $1 AND tablename = $2",
      def.schema, def.table)
    for i, row in ipairs(r) do
      out[i] = { values = common.parse_values(row.values), location = row.location }
    end
  else
    local r = wh:query('SELECT "values", location, relname FROM lode.spectrum_partitions '
      .. "WHERE schema_name = $1 AND table_name = $2", def.schema, def.table)
    for i, row in ipairs(r) do
      out[i] = { values = common.parse_values(row.values), location = row.location, relname = row.relname }
    end
  end
  local p = plan()
  local f = p and p:get("spectrum.partitions", def.qname)
  if f then
    local by_key, order = {}, {}
    for _, part in ipairs(f.replaced and {} or out) do
      local k = common.partition_key(part.values)
      by_key[k], order[#order + 1] = part, k
    end
    for _, c in ipairs(f.changes) do
      local k = common.partition_key(c.part.values)
      if c.add and not by_key[k] then
        order[#order + 1] = k
      end
      by_key[k] = c.add and c.part or nil
    end
    out = {}
    for _, k in ipairs(order) do
      if by_key[k] then
        out[#out + 1] = by_key[k]
        by_key[k] = nil
      end
    end
  end
  table.sort(out, function(a, b) return a.location < b.location end)
  return out
end

return M
