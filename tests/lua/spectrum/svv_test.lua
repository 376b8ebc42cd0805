-- Redshift's catalog views SVV_EXTERNAL_SCHEMAS, _TABLES, _COLUMNS and
-- _PARTITIONS on the PostgreSQL emulation, after the DDL of AWS's Spectrum
-- guide run through lode's SQL runner. Expectations: the columns AWS's
-- system-view pages list, and the values Redshift registers (Hive type
-- names, the TEXTFILE / Parquet formats and SerDes, partition values as a
-- JSON array, as the guide's SVV_EXTERNAL_PARTITIONS example prints them).
local t = require "lode.test"
local lode = require "lode"
local sqlrun = require "lode.sqlrun"

local pg_url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")

local function wh()
  return lode.warehouse({ url = pg_url, dialect = "postgres" })
end

-- the views are lode's (schema lode_redshift, where the dialect's functions live), never the user's public
local function columns_of(view, w)
  local out = {}
  for i, r in ipairs((w or wh()):query("SELECT column_name AS c FROM information_schema.columns "
      .. "WHERE table_schema = 'lode_redshift' AND table_name = $1 ORDER BY ordinal_position", view)) do
    out[i] = r.c
  end
  return out
end

t.test("SVV_EXTERNAL_* list the external schemas, tables, columns and partitions with Redshift's columns",
    { timeout = 120000 }, function()
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS svv_spectrum CASCADE")
  sqlrun.run(w, [==[
CREATE EXTERNAL SCHEMA svv_spectrum FROM DATA CATALOG DATABASE 'svvdb'
IAM_ROLE 'arn:aws:iam::123456789012:role/mySpectrumRole' CREATE EXTERNAL DATABASE IF NOT EXISTS;
CREATE EXTERNAL TABLE svv_spectrum.sales(
  salesid integer, listid integer, pricepaid decimal(8,2), note varchar(20), saletime timestamp)
PARTITIONED BY (saledate date, region varchar(10))
ROW FORMAT DELIMITED FIELDS TERMINATED BY '|'
STORED AS TEXTFILE
LOCATION 's3://svv-bucket/tickit/spectrum/sales_partition/'
TABLE PROPERTIES ('skip.header.line.count'='1');
ALTER TABLE svv_spectrum.sales ADD PARTITION (saledate='2008-01-01', region='east')
LOCATION 's3://svv-bucket/tickit/spectrum/sales_partition/saledate=2008-01/';
CREATE EXTERNAL TABLE svv_spectrum.events(eventid bigint, ratio double precision, flag boolean)
STORED AS PARQUET
LOCATION 's3://svv-bucket/events/';
]==], { file = "svv.sql" })
  t.eq(columns_of("svv_external_schemas"), { "esoid", "eskind", "schemaname", "esowner", "databasename", "esoptions" })
  t.eq(columns_of("svv_external_tables"), { "redshift_database_name", "schemaname", "tablename", "tabletype",
    "location", "input_format", "output_format", "serialization_lib", "serde_parameters", "compressed", "parameters" })
  t.eq(columns_of("svv_external_columns"), { "redshift_database_name", "schemaname", "tablename", "columnname",
    "external_type", "columnnum", "part_key", "is_nullable" })
  t.eq(columns_of("svv_external_partitions"), { "schemaname", "tablename", "values", "location", "input_format",
    "output_format", "serialization_lib", "serde_parameters", "compressed", "parameters" })

  local s = w:query("SELECT eskind, schemaname, databasename, esoptions, esoid = 'svv_spectrum'::regnamespace::oid AS oid_ok "
    .. "FROM svv_external_schemas WHERE schemaname = 'svv_spectrum'")
  t.eq(#s, 1)
  t.eq(tonumber(s[1].eskind), 1)
  t.eq(s[1].databasename, "svvdb")
  t.eq(require("lode.json").decode(s[1].esoptions), { IAM_ROLE = "arn:aws:iam::123456789012:role/mySpectrumRole" })
  t.eq(s[1].oid_ok, true)

  local tb = w:query("SELECT tablename, location, input_format, output_format, serialization_lib, serde_parameters, "
    .. "compressed, parameters FROM svv_external_tables WHERE schemaname = 'svv_spectrum' ORDER BY tablename")
  t.eq(#tb, 2)
  t.eq(tb[1].tablename, "events")
  t.eq(tb[1].input_format, "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat")
  t.eq(tb[1].output_format, "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat")
  t.eq(tb[1].serialization_lib, "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe")
  t.eq(tb[2].tablename, "sales")
  t.eq(tb[2].location, "s3://svv-bucket/tickit/spectrum/sales_partition/")
  t.eq(tb[2].input_format, "org.apache.hadoop.mapred.TextInputFormat")
  t.eq(tb[2].output_format, "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat")
  t.eq(tb[2].serialization_lib, "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe")
  t.eq(require("lode.json").decode(tb[2].serde_parameters), { ["field.delim"] = "|", ["serialization.format"] = "|" })
  t.eq(tonumber(tb[2].compressed), 0)
  t.eq(require("lode.json").decode(tb[2].parameters), { EXTERNAL = "TRUE", ["skip.header.line.count"] = "1" })

  local cols = {}
  for _, r in ipairs(w:query("SELECT columnname, external_type, columnnum, part_key FROM svv_external_columns "
      .. "WHERE schemaname = 'svv_spectrum' AND tablename = 'sales' ORDER BY columnnum")) do
    cols[#cols + 1] = ("%s %s %d %d"):format(r.columnname, r.external_type, r.columnnum, r.part_key)
  end
  t.eq(cols, { "salesid int 1 0", "listid int 2 0", "pricepaid decimal(8,2) 3 0", "note varchar(20) 4 0",
    "saletime timestamp 5 0", "saledate date 6 1", "region varchar(10) 7 2" })

  local p = w:query("SELECT tablename, \"values\", location, input_format FROM svv_external_partitions "
    .. "WHERE schemaname = 'svv_spectrum'")
  t.eq(#p, 1)
  t.eq(p[1].values, '["2008-01-01","east"]')
  t.eq(p[1].location, "s3://svv-bucket/tickit/spectrum/sales_partition/saledate=2008-01/")
  t.eq(p[1].input_format, "org.apache.hadoop.mapred.TextInputFormat")
  -- the guide's query of SVV_EXTERNAL_PARTITIONS runs as written
  local r = sqlrun.run(w, "select schemaname, tablename, values, location from svv_external_partitions "
    .. "where tablename = 'sales' and schemaname = 'svv_spectrum';\n", { file = "guide.sql" })
  t.eq(#r, 1)
  w:exec("DROP SCHEMA IF EXISTS svv_spectrum CASCADE")
  for _, tbl in ipairs({ "spectrum_external_schemas", "spectrum_tables", "spectrum_partitions" }) do
    w:exec("DELETE FROM lode." .. tbl .. " WHERE schema_name = 'svv_spectrum'")
  end
end)

-- the columns AWS's system-view pages list, in their order (r_SVV_EXTERNAL_SCHEMAS, _DATABASES, _TABLES, _COLUMNS,
-- _PARTITIONS)
local DOCUMENTED = {
  svv_external_schemas = { "esoid", "eskind", "schemaname", "esowner", "databasename", "esoptions" },
  svv_external_databases = { "eskind", "esoptions", "databasename", "location", "parameters" },
  svv_external_tables = { "redshift_database_name", "schemaname", "tablename", "tabletype", "location", "input_format",
    "output_format", "serialization_lib", "serde_parameters", "compressed", "parameters" },
  svv_external_columns = { "redshift_database_name", "schemaname", "tablename", "columnname", "external_type",
    "columnnum", "part_key", "is_nullable" },
  svv_external_partitions = { "schemaname", "tablename", "values", "location", "input_format", "output_format",
    "serialization_lib", "serde_parameters", "compressed", "parameters" },
}

-- a database of the test's own, so that schema public holds only what the test puts there
local function fresh_database(name)
  local admin = wh()
  admin:exec("DROP DATABASE IF EXISTS " .. name .. " WITH (FORCE)")
  admin:exec("CREATE DATABASE " .. name)
  admin:close()
  return lode.warehouse({ url = pg_url:gsub("/[^/?]*(%??[^/]*)$", "/" .. name .. "%1"), dialect = "postgres" })
end

local function public_relations(w)
  local out = {}
  for i, r in ipairs(w:query("SELECT c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
      .. "WHERE n.nspname = 'public' ORDER BY 1")) do
    out[i] = r.n
  end
  return out
end

t.test("schema public stays the user's: the SVV_EXTERNAL_* views are lode_redshift's, with the documented columns",
    { timeout = 120000 }, function()
  local w = fresh_database("svv_public_clean")
  -- read before any external DDL: Redshift's views exist, empty
  local r = sqlrun.run(w, "select count(*) as n from svv_external_tables;\nselect count(*) as n from svv_external_schemas;\n",
    { file = "empty.sql" })
  t.eq(tonumber(r[1].result[1].n), 0)
  t.eq(tonumber(r[2].result[1].n), 0)
  sqlrun.run(w, [==[
create external schema spectrum from data catalog database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole' create external database if not exists;
create external table spectrum.sales(salesid integer, pricepaid decimal(8,2)) partitioned by (saledate date)
row format delimited fields terminated by '|' stored as textfile location 's3://svv-bucket/sales/';
alter table spectrum.sales add partition(saledate='2008-01-01') location 's3://svv-bucket/sales/saledate=2008-01/';
]==], { file = "ddl.sql" })
  t.eq(public_relations(w), {})
  for view, cols in pairs(DOCUMENTED) do
    t.eq(columns_of(view, w), cols, view)
  end
  -- the guide's queries name them as on Redshift, through lode sql and a plain warehouse's query
  r = sqlrun.run(w, "select * from svv_external_schemas;\n", { file = "guide.sql" })
  t.eq(r[1].result[1].schemaname, "spectrum")
  -- r_CREATE_EXTERNAL_TABLE_examples: the external databases, with the options of the schema that names one
  local d = w:query("select eskind,databasename,esoptions from svv_external_databases order by databasename")
  t.eq(#d, 1)
  t.eq({ tonumber(d[1].eskind), d[1].databasename, d[1].esoptions },
    { 1, "spectrumdb", '{"IAM_ROLE":"arn:aws:iam::123456789012:role/mySpectrumRole"}' })
  t.eq(w:query("select values from svv_external_partitions where tablename = 'sales'")[1].values, '["2008-01-01"]')
  -- a user's own relation of that name in public is the user's, and stays out of the way
  w:exec("CREATE TABLE public.svv_external_tables (mine int)")
  t.eq(w:query("select tablename from svv_external_tables where schemaname = 'spectrum'")[1].tablename, "sales")
  t.eq(tonumber(w:query("select count(*) as n from public.svv_external_tables")[1].n), 0)
  w:close()
  wh():exec("DROP DATABASE svv_public_clean WITH (FORCE)")
end)

t.test("upgrade: the SVV_EXTERNAL_* views an earlier lode made in public leave it (moved when a view uses one)",
    { timeout = 120000 }, function()
  local w = fresh_database("svv_public_upgrade")
  require("lode.spectrum.catalog").create_registry(w)
  -- as an earlier lode made them, and a user's view over one of them
  for view, cols in pairs(DOCUMENTED) do
    if view == "svv_external_databases" then
      goto next       -- (an earlier lode had none)
    end
    local sel = {}
    for i, c in ipairs(cols) do
      sel[i] = ("NULL::%s AS %q"):format(c == "compressed" and "integer" or "text", c)
    end
    w:exec(("CREATE VIEW public.%s AS SELECT %s FROM lode.spectrum_tables"):format(view, table.concat(sel, ", ")))
    ::next::
  end
  w:exec("CREATE VIEW public.my_partitions AS SELECT tablename FROM public.svv_external_partitions")
  -- and a user's own view of that name, over no lode table: left alone
  w:exec("DROP VIEW public.svv_external_columns")
  w:exec("CREATE VIEW public.svv_external_columns AS SELECT 1 AS mine")
  sqlrun.run(w, [==[
create external schema spectrum from data catalog database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole' create external database if not exists;
create external table spectrum.sales(salesid integer) partitioned by (saledate date)
row format delimited fields terminated by '|' stored as textfile location 's3://svv-bucket/sales/';
alter table spectrum.sales add partition(saledate='2008-01-01') location 's3://svv-bucket/sales/saledate=2008-01/';
]==], { file = "ddl.sql" })
  t.eq(public_relations(w), { "my_partitions", "svv_external_columns" })
  for view, cols in pairs(DOCUMENTED) do
    t.eq(columns_of(view, w), cols, view)
  end
  -- the user's view now reads lode_redshift's, replaced with the current definition
  t.eq(w:query("SELECT tablename FROM public.my_partitions")[1].tablename, "sales")
  w:close()
  wh():exec("DROP DATABASE svv_public_upgrade WITH (FORCE)")
end)

t.test("a warehouse whose every text is Redshift SQL (emulate = 'redshift') sets up the registry with its keys",
    { timeout = 120000 }, function()
  -- the registry was created through the dialect, which drops PRIMARY KEYs as informational: the
  -- first CREATE EXTERNAL SCHEMA then failed ("no unique or exclusion constraint matching the ON CONFLICT");
  -- the set-up's own catalog query then failed the first CREATE EXTERNAL TABLE (its LIKE 'rs\_cmp\_%'
  -- read as a Redshift literal: "a backslash escape … is not emulated")
  fresh_database("svv_emulated"):close()
  local url = pg_url:gsub("/[^/?]*(%??[^/]*)$", "/svv_emulated%1")
  local w = lode.warehouse({ url = url, emulate = "redshift" })
  sqlrun.run(w, [==[
create external schema spectrum_schema
from data catalog
database 'spectrum_db'
iam_role 'arn:aws:iam::123456789012:role/MySpectrumRole'
create external database if not exists;
create external table spectrum_schema.events(eventid bigint) stored as parquet location 's3://svv-bucket/events/';
]==], { file = "emulated.sql" })
  t.eq(w:query("select databasename from svv_external_schemas where schemaname = 'spectrum_schema'")[1].databasename,
    "spectrum_db")
  t.eq(w:query("select tablename from svv_external_tables where schemaname = 'spectrum_schema'")[1].tablename, "events")
  t.eq(tonumber(w:query("select count(*) as n from pg_constraint where contype = 'p' "
    .. "and connamespace = 'lode'::regnamespace")[1].n), 4)
  w:close()
  wh():exec("DROP DATABASE svv_emulated WITH (FORCE)")
end)
