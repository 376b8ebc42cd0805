-- Exact DDL of the Redshift dialect, and that it round-trips through
-- lode.redshift's parser.
local t = require "lode.test"
local spectrum = require "lode.spectrum"
local rs = require "lode.redshift"

local function one(text)
  local st = rs.statements(text)
  t.eq(#st, 1, "statements in " .. text)
  return st[1]
end

t.test("schema: exact DDL and round trip", function()
  local s = spectrum.schema_sql({ name = "spectrum_schema", database = "data_lake_db",
    iam_role = "arn:aws:iam::123456789012:role/RedshiftRole", region = "us-east-1", create_database = true })
  t.eq(s, { [[CREATE EXTERNAL SCHEMA IF NOT EXISTS spectrum_schema
FROM DATA CATALOG
DATABASE 'data_lake_db'
REGION 'us-east-1'
IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftRole'
CREATE EXTERNAL DATABASE IF NOT EXISTS]] })
  local st = one(s[1])
  t.eq(st.kind, "create_external_schema")
  t.eq(st.name, "spectrum_schema")
  t.eq(st.database, "data_lake_db")
  t.eq(st.region, "us-east-1")
  t.eq(st.iam_role, "arn:aws:iam::123456789012:role/RedshiftRole")
  t.eq(st.create_database, true)
  t.eq(st.if_not_exists, true)
end)

t.test("schema: default role, hostile names quoted", function()
  local s = spectrum.schema_sql({ name = 'Lake"; drop', database = "it's", iam_role = "default" })
  t.eq(s, { [[CREATE EXTERNAL SCHEMA IF NOT EXISTS "Lake""; drop"
FROM DATA CATALOG
DATABASE 'it''s'
IAM_ROLE default]] })
  local st = one(s[1])
  t.eq(st.name, 'Lake"; drop')
  t.eq(st.database, "it's")
  t.eq(st.iam_role, "default")
  t.raises(function() spectrum.schema_sql({ name = "x" }) end, "iam_role")
  t.eq(spectrum.schema_sql({ name = "Lake" }, "postgres"), { 'CREATE SCHEMA IF NOT EXISTS "Lake"' })
end)

local SALES = {
  name = "spectrum_schema.sales", location = "s3://data-lake/silver/sales",
  columns = { { "sale_id", "bigint" }, { "customer_id", "int" }, { "amount", "decimal(12,2)" },
              { name = "Sold At", type = "timestamp" }, { 'a"b;--', "varchar(10)" }, { "select", "boolean" } },
  partitions = { { "year", "int" }, { "month", "int" } },
}

t.test("table: exact DDL with partitions, hostile column names quoted (no IF NOT EXISTS: Redshift documents none)", function()
  local s = spectrum.table_sql(SALES)
  t.eq(s, { [[CREATE EXTERNAL TABLE spectrum_schema.sales (
  sale_id bigint,
  customer_id int,
  amount decimal(12,2),
  "Sold At" timestamp,
  "a""b;--" varchar(10),
  "select" boolean
)
PARTITIONED BY (year int, month int)
STORED AS PARQUET
LOCATION 's3://data-lake/silver/sales/']] })
  local st = one(s[1])
  t.eq(st.kind, "create_external_table")
  t.eq(st.name, { "spectrum_schema", "sales" })
  t.eq(st.if_not_exists, false)
  t.eq(st.columns, {
    { name = "sale_id", type = "bigint" }, { name = "customer_id", type = "int" },
    { name = "amount", type = "decimal(12,2)" }, { name = "Sold At", type = "timestamp" },
    { name = 'a"b;--', type = "varchar(10)" }, { name = "select", type = "boolean" } })
  t.eq(st.partitions, { { name = "year", type = "int" }, { name = "month", type = "int" } })
  t.eq(st.stored_as, "parquet")
  t.eq(st.location, "s3://data-lake/silver/sales/")
end)

t.test("table: replace drops and creates; properties and row formats", function()
  local s = spectrum.table_sql({ name = "s.t", location = "s3://b/p/", format = "textfile", replace = true,
    columns = { { "a", "int" } }, row_format = { delimiter = "|" },
    properties = { ["skip.header.line.count"] = "1", numRows = 10 } })
  t.eq(s, { "DROP TABLE IF EXISTS s.t", [[CREATE EXTERNAL TABLE s.t (
  a int
)
ROW FORMAT DELIMITED
FIELDS TERMINATED BY '|'
STORED AS TEXTFILE
LOCATION 's3://b/p/'
TABLE PROPERTIES ('numRows'='10', 'skip.header.line.count'='1')]] })
  t.eq(one(s[1]).kind, "drop_table")
  local st = one(s[2])
  t.eq(st.if_not_exists, false)
  t.eq(st.row_format, { delimited = true, fields = "|" })
  t.eq(st.properties, { numRows = "10", ["skip.header.line.count"] = "1" })
  t.eq(st.stored_as, "textfile")

  local j = spectrum.table_sql({ name = "s.j", location = "s3://b/j/", format = "json", columns = { { "a", "int" } } })
  t.eq(one(j[1]).row_format, { serde = "org.openx.data.jsonserde.JsonSerDe" })
  local c = spectrum.table_sql({ name = "s.c", location = "s3://b/c/", format = "csv", columns = { { "a", "int" } },
    row_format = { properties = { separatorChar = ";" } } })
  t.contains(c[1], "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\nWITH SERDEPROPERTIES ('separatorChar'=';')")
  t.eq(one(c[1]).row_format.serde, "org.apache.hadoop.hive.serde2.OpenCSVSerde")
end)

t.test("table: bad input is refused with a clear message", function()
  t.raises(function() spectrum.table_sql({ name = "t", location = "s3://b/p/", columns = { { "a", "int" } } }) end,
    "schema and a table")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "/tmp/x", columns = { { "a", "int" } } }) end,
    "not an s3:// URL")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "s3://b/", columns = { { "a", "int); drop table x; --" } } }) end,
    "invalid column type")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "s3://b/", columns = { { "a", "int" }, { "A", "int" } } }) end,
    "appears twice")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "s3://b/", columns = { { "year", "int" } },
    partitions = { { "year", "int" } } }) end, "also a data column")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "s3://b/", columns = { { "a", "int" } },
    partitions = { year = "int", month = "int" } }) end, "have no order")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "s3://b/" }) end, "no columns")
  t.raises(function() spectrum.table_sql({ name = "s.t", location = "s3://b/", format = "xls", columns = { { "a", "int" } } }) end,
    "unknown format")
end)

local function parts_of(values_list)
  local out = {}
  for i, v in ipairs(values_list) do
    local loc = ("s3://data-lake/silver/sales/year=%s/month=%s/"):format(v[1], v[2])
    out[i] = { values = v, location = loc }
  end
  return out
end

t.test("partitions: ADD batched at 100, values kept as written", function()
  local vals = {}
  for y = 2001, 2021 do
    for m = 1, 12 do
      vals[#vals + 1] = { tostring(y), ("%02d"):format(m) }
    end
  end
  t.eq(#vals, 252)
  local stmts = spectrum.add_partitions_sql("spectrum_schema.sales", SALES.partitions, parts_of(vals))
  t.eq(#stmts, 3)
  local total = 0
  for i, s in ipairs(stmts) do
    local st = one(s)
    t.eq(st.kind, "add_partitions")
    t.eq(st.if_not_exists, true)
    t.eq(st.table, { "spectrum_schema", "sales" })
    t.eq(#st.partitions, i < 3 and 100 or 52)
    total = total + #st.partitions
  end
  t.eq(total, 252)
  local first = one(stmts[1]).partitions[1]
  t.eq(first.values, { year = "2001", month = "01" })
  t.eq(first.location, "s3://data-lake/silver/sales/year=2001/month=01/")
  t.eq(stmts[3]:match("^[^\n]*\n[^\n]*"), "ALTER TABLE spectrum_schema.sales ADD IF NOT EXISTS\n"
    .. "PARTITION (year='2017', month='09') LOCATION 's3://data-lake/silver/sales/year=2017/month=09/'")
end)

t.test("partitions: spaces, quotes, backslashes and hostile partition names", function()
  local cols = { { "City Name", "varchar(20)" }, { "x'y", "varchar(5)" } }
  local s = spectrum.add_partitions_sql("s.t", cols, {
    { values = { "New York", "it's" }, location = "s3://b/t/City Name=New York/x'y=it%27s" } })
  t.eq(s, { "ALTER TABLE s.t ADD IF NOT EXISTS\n"
    .. [[PARTITION ("City Name"='New York', "x'y"='it''s') LOCATION 's3://b/t/City Name=New York/x''y=it%27s/']] })
  local st = one(s[1])
  t.eq(st.partitions[1].values, { ["City Name"] = "New York", ["x'y"] = "it's" })
  t.eq(st.partitions[1].location, "s3://b/t/City Name=New York/x'y=it%27s/")
  -- Redshift reads backslash escapes in literals: they are doubled
  t.eq(spectrum.drop_partitions_sql("s.t", { { "p", "varchar(9)" } }, { { values = { [[a\b]] } } }),
    { [[ALTER TABLE s.t DROP PARTITION (p='a\\b')]] })
end)

t.test("partitions: DROP, one statement each", function()
  local s = spectrum.drop_partitions_sql("spectrum_schema.sales", SALES.partitions, parts_of({ { "2024", "01" }, { "2024", "02" } }))
  t.eq(s, { "ALTER TABLE spectrum_schema.sales DROP PARTITION (year='2024', month='01')",
            "ALTER TABLE spectrum_schema.sales DROP PARTITION (year='2024', month='02')" })
  local st = one(s[2])
  t.eq(st.kind, "drop_partitions")
  t.eq(st.partitions[1].values, { year = "2024", month = "02" })
end)

t.test("SVV_EXTERNAL_PARTITIONS values are read", function()
  t.eq(spectrum.parse_values('["2024","01"]'), { "2024", "01" })
  t.eq(spectrum.parse_values(' [ "a \\"b\\"" , "x\\\\y", "\\u00e9" ] '), { 'a "b"', "x\\y", "é" })
  t.eq(spectrum.parse_values("[]"), {})
  t.raises(function() spectrum.parse_values("2024,01") end, "cannot read partition values")
end)

t.test("redshift: spectrum.table looks in SVV_EXTERNAL_TABLES and leaves an existing table alone", function()
  -- PostgreSQL stands in for the cluster's catalog view; the warehouse speaks the redshift dialect
  local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
  local lode = require "lode"
  local wh = lode.warehouse({ url = url, dialect = "redshift" })
  -- (the emulation's own view, with Redshift's columns, makes way for the stand-in)
  wh:exec("DROP VIEW IF EXISTS public.svv_external_tables")
  wh:exec("CREATE OR REPLACE VIEW public.svv_external_tables AS "
    .. "SELECT 'spectrum_schema'::text AS schemaname, 'sales'::text AS tablename")
  local opts = { name = "spectrum_schema.sales", location = "s3://data-lake/silver/sales/", columns = { { "a", "int" } } }
  local ok, r = pcall(spectrum.table, wh, opts)
  t.ok(ok, tostring(r))
  t.eq(r.statements, {}, "nothing run for an existing table")
  -- absent: the CREATE EXTERNAL TABLE is sent (which PostgreSQL itself cannot parse)
  wh:exec("CREATE OR REPLACE VIEW public.svv_external_tables AS "
    .. "SELECT 'x'::text AS schemaname, 'y'::text AS tablename WHERE false")
  t.raises(function() spectrum.table(wh, opts) end, "EXTERNAL")
  wh:exec("DROP VIEW public.svv_external_tables")
  wh:close()
end)
