local t = require "lode.test"
local rs = require "lode.redshift"

local function one(sql)
  local st = rs.statements(sql)
  t.eq(#st, 1)
  return st[1]
end

t.test("COPY parquet with an IAM role", function()
  local st = one([[COPY sales_fact FROM 's3://data-lake/silver/sales/'
    IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftRole' FORMAT AS PARQUET COMPUPDATE OFF STATUPDATE OFF;]])
  t.eq(st.kind, "copy")
  t.eq(st.table, { "sales_fact" })
  t.eq(st.from, "s3://data-lake/silver/sales/")
  t.eq(st.iam_role, "arn:aws:iam::123456789012:role/RedshiftRole")
  t.eq(st.format, "parquet")
  t.eq(st.compupdate, false)
  t.eq(st.statupdate, false)
end)

t.test("COPY CSV with every common option", function()
  local st = one([[copy public."Orders" (id, "Amount") from 's3://b/in/orders.csv.gz'
    credentials 'aws_access_key_id=AKIA;aws_secret_access_key=SECRET;token=TOK'
    region 'eu-west-1' csv quote as '"' delimiter ',' ignoreheader 1 null as '\\N'
    emptyasnull blanksasnull dateformat 'auto' timeformat 'epochsecs' gzip
    maxerror 5 truncatecolumns acceptinvchars '?' fillrecord]])
  t.eq(st.table, { "public", "Orders" })
  t.eq(st.columns, { "id", "Amount" })
  t.eq(st.access_key_id, "AKIA")
  t.eq(st.secret_access_key, "SECRET")
  t.eq(st.session_token, "TOK")
  t.eq(st.region, "eu-west-1")
  t.eq(st.format, "csv")
  t.eq(st.quote, '"')
  t.eq(st.delimiter, ",")
  t.eq(st.ignoreheader, 1)
  t.eq(st.null_as, "\\N")
  t.eq(st.emptyasnull, true)
  t.eq(st.blanksasnull, true)
  t.eq(st.dateformat, "auto")
  t.eq(st.timeformat, "epochsecs")
  t.eq(st.gzip, true)
  t.eq(st.maxerror, 5)
  t.eq(st.acceptinvchars, "?")
  t.eq(st.fillrecord, true)
end)

t.test("COPY into a #temp table keeps its name (never the permanent table stage)", function()
  t.eq(one("COPY #stage FROM 's3://b/x.csv' IAM_ROLE 'r' CSV").table, { "#stage" })
end)

t.test("COPY JSON auto and a manifest", function()
  local st = one([[COPY t FROM 's3://b/x.manifest' IAM_ROLE 'arn:r' FORMAT JSON 'auto ignorecase' MANIFEST]])
  t.eq(st.format, "json")
  t.eq(st.json, "auto ignorecase")
  t.eq(st.manifest, "s3://b/x.manifest")
  t.is_nil(st.from)
end)

t.test("MAXERROR with Parquet fails the way Redshift does", function()
  t.raises(function() one("COPY t FROM 's3://b/p/' IAM_ROLE 'r' FORMAT AS PARQUET MAXERROR 10") end,
    "MAXERROR is not supported with PARQUET")
end)

t.test("an unknown COPY option names itself", function()
  t.raises(function() one("COPY t FROM 's3://b/p/' IAM_ROLE 'r' FORMAT AS PARQUET FROBNICATE") end,
    "unknown or misplaced COPY option near 'FROBNICATE'")
end)

t.test("PostgreSQL's own COPY passes through", function()
  t.eq(one("copy t from stdin with (format csv)").kind, "sql")
end)

t.test("CREATE EXTERNAL SCHEMA", function()
  local st = one([[CREATE EXTERNAL SCHEMA IF NOT EXISTS spectrum_schema FROM DATA CATALOG
    DATABASE 'data_lake_db' IAM_ROLE 'arn:aws:iam::1:role/R' CREATE EXTERNAL DATABASE IF NOT EXISTS]])
  t.eq(st.kind, "create_external_schema")
  t.eq(st.name, "spectrum_schema")
  t.eq(st.database, "data_lake_db")
  t.eq(st.create_database, true)
  t.eq(st.if_not_exists, true)
end)

t.test("CREATE EXTERNAL TABLE with partitions and properties", function()
  local st = one([[CREATE EXTERNAL TABLE spectrum_schema.sales (
      sale_id BIGINT, customer_id INT, amount DECIMAL(12, 2), "Note" VARCHAR(200), sold_at TIMESTAMP)
    PARTITIONED BY (year INT, month VARCHAR(2))
    STORED AS PARQUET
    LOCATION 's3://lake/silver/sales/'
    TABLE PROPERTIES ('numRows'='1000')]])
  t.eq(st.kind, "create_external_table")
  t.eq(st.name, { "spectrum_schema", "sales" })
  t.eq(st.columns[3], { name = "amount", type = "decimal(12,2)" })
  t.eq(st.columns[4], { name = "Note", type = "varchar(200)" })
  t.eq(st.partitions, { { name = "year", type = "int" }, { name = "month", type = "varchar(2)" } })
  t.eq(st.stored_as, "parquet")
  t.eq(st.location, "s3://lake/silver/sales/")
  t.eq(st.properties, { numRows = "1000" })
end)

t.test("ALTER TABLE ADD PARTITION, several per statement, values kept exactly", function()
  local st = one([[ALTER TABLE spectrum_schema.sales ADD IF NOT EXISTS
    PARTITION (year='2024', month='01') LOCATION 's3://lake/sales/year=2024/month=01/'
    PARTITION (year='2024', month='02') LOCATION 's3://lake/sales/year=2024/month=02/']])
  t.eq(st.kind, "add_partitions")
  t.eq(#st.partitions, 2)
  t.eq(st.partitions[1].values, { year = "2024", month = "01" })
  t.eq(st.partitions[1].order, { "year", "month" })
  t.eq(st.partitions[2].location, "s3://lake/sales/year=2024/month=02/")
end)

t.test("more than 100 partitions in one statement is refused", function()
  local parts = {}
  for i = 1, 101 do
    parts[i] = ("PARTITION (d='%d') LOCATION 's3://b/d=%d/'"):format(i, i)
  end
  t.raises(function() one("ALTER TABLE s.t ADD " .. table.concat(parts, " ")) end, "at most 100 partitions")
end)

t.test("ALTER TABLE DROP PARTITION and DROP EXTERNAL TABLE", function()
  local st = one("ALTER TABLE s.t DROP PARTITION (year='2023', month='12')")
  t.eq(st.kind, "drop_partitions")
  t.eq(st.partitions[1].values, { year = "2023", month = "12" })
  st = one("DROP EXTERNAL TABLE IF EXISTS s.t")
  t.eq(st.kind, "drop_table")
  t.eq(st.external, true)
  t.eq(st.names, { { "s", "t" } })
end)

t.test("CREATE TABLE: Redshift attributes dropped, the rest kept", function()
  local st = one([[CREATE TABLE sales_fact (
      sale_id BIGINT IDENTITY(1, 1) ENCODE az64,
      customer_id INT DISTKEY,
      payload SUPER,
      note VARCHAR(MAX),
      amount NUMERIC(12,2) NOT NULL DEFAULT 0
    ) DISTSTYLE KEY COMPOUND SORTKEY (customer_id, sale_id)]])
  t.eq(st.kind, "create_table")
  t.eq(st.rewritten:gsub("%s+", " "), "CREATE TABLE sales_fact ( sale_id BIGINT GENERATED BY DEFAULT AS IDENTITY "
    .. "(START WITH 1 INCREMENT BY 1 MINVALUE 1) , customer_id INT , payload jsonb, note varchar, "
    .. "amount NUMERIC(12,2) NOT NULL DEFAULT 0 ) ")
end)

t.test("#temp tables become the temp tables \"#name\"", function()
  local st = one("CREATE TEMP TABLE #stage (LIKE sales_fact)")
  t.eq(st.rewritten, 'CREATE TEMP TABLE "#stage" (LIKE sales_fact)')
  st = one("create temp table #stage (like sales_fact including defaults)")
  t.eq(st.rewritten, 'create temp table "#stage" (like sales_fact INCLUDING DEFAULTS INCLUDING IDENTITY)')
  st = one("insert into sales_fact select * from #Stage")
  t.eq(st.rewritten, 'insert into sales_fact select * from "#stage"')
  t.eq(one("CREATE TABLE #fruit (LIKE fruit)").rewritten, 'CREATE TEMP TABLE "#fruit" (LIKE fruit)')
  t.eq(one("create table if not exists #f (a int)").rewritten, 'create TEMP table if not exists "#f" (a int)')
  t.eq(one("select a into #t from f").rewritten, 'select a into TEMP "#t" from f')
  t.eq(one("drop table #t").rewritten, 'drop table "#t"')
  t.eq(one("select 5 # 3 as x").rewritten, nil, "# alone is PostgreSQL's xor operator")
end)

t.test("GETDATE() and SYSDATE become PostgreSQL expressions", function()
  local st = one("create table t (x int, at timestamp default getdate())")
  t.eq(st.rewritten, "create table t (x int, at timestamp default "
    .. "pg_catalog.date_trunc('second', pg_catalog.statement_timestamp()::timestamp))")
  st = one("select sysdate, getdate() from t where 'getdate()' <> ''")
  t.eq(st.rewritten, "select LOCALTIMESTAMP, pg_catalog.date_trunc('second', pg_catalog.statement_timestamp()::timestamp) "
    .. "from t where 'getdate()' <> ''")
end)

t.test("JSON_PARSE becomes a jsonb cast", function()
  t.eq(one("insert into t values (json_parse('{\"a\": [1, 2]}'))").rewritten, "insert into t values (('{\"a\": [1, 2]}')::jsonb)")
end)

t.test("UNLOAD to CSV", function()
  local st = one([[UNLOAD ('select * from t where d = ''2024-01-01''') TO 's3://b/out/t_'
    IAM_ROLE 'arn:r' FORMAT AS CSV HEADER PARALLEL OFF]])
  t.eq(st.kind, "unload")
  t.eq(st.query, "select * from t where d = '2024-01-01'")
  t.eq(st.to, "s3://b/out/t_")
  t.eq(st.format, "csv")
  t.eq(st.header, true)
  t.eq(st.parallel, false)
end)

t.test("transaction control and TRUNCATE are recognised", function()
  local kinds = {}
  for _, st in ipairs(rs.statements("begin; truncate t; end; start transaction; abort")) do
    kinds[#kinds + 1] = st.kind
  end
  t.eq(kinds, { "begin", "truncate", "commit", "begin", "rollback" })
end)

t.test("decode_string: Redshift's backslash escapes in option strings", function()
  local d = require("lode.redshift").decode_string
  t.eq(d([[\t]]), "\t")
  t.eq(d([[\000]]), "\0")
  t.eq(d([[\0]]), "\0")
  t.eq(d([[\174]]), "|")
  t.eq(d([[\\]]), "\\")
  t.eq(d([[a\'b]]), "a'b")
  t.eq(d([[\r\n\b\f]]), "\r\n\b\f")
  t.eq(d([[\1234]]), "S4", "at most three octal digits")
  t.eq(d("plain"), "plain")
  for _, bad in ipairs { [[\N]], [[\x09]], [[\u0041]], [[\400]], [[ab\]] } do
    local v, why = d(bad)
    t.eq(v, nil, bad)
    t.ok(type(why) == "string" and #why > 0, bad)
  end
  t.eq(one([[COPY t FROM 's3://b/k' IAM_ROLE 'r' DELIMITER '\t' NULL AS '\\N']]).null_as, "\\N")
  t.eq(one([[COPY t FROM 's3://b/k' IAM_ROLE 'r' DELIMITER '\t']]).delimiter, "\t")
end)

t.test("string literals with backslashes: Redshift's escapes, passed to PostgreSQL as E'…'", function()
  -- Redshift reads '\\' as one backslash and '\'' as a quote; PostgreSQL
  -- (standard_conforming_strings on) only does so in E'…'
  local st = rs.statements([[INSERT INTO t VALUES ('a\\b', 'it\'s; ok', 'tab\there', 'plain');
SELECT x FROM y WHERE z LIKE'p\\_%']])
  t.eq(#st, 2, "the \\' inside a literal does not end it, its ; does not split")
  t.eq(st[1].rewritten, [[INSERT INTO t VALUES (E'a\\b', E'it\'s; ok', E'tab\there', 'plain')]])
  t.eq(st[2].rewritten, [[SELECT x FROM y WHERE z LIKE E'p\\_%']])
  t.eq(one([[CREATE TABLE z (a varchar(9) DEFAULT 'q\\r') DISTSTYLE EVEN]]).rewritten,
    [[CREATE TABLE z (a varchar(9) DEFAULT E'q\\r') ]])
  t.eq(one([[SELECT E'a\\b', $$c\d$$]]).rewritten, nil, "E'' and dollar quotes are already PostgreSQL's")
  -- refused at that statement on PostgreSQL; sent as written to Redshift
  local sts = rs.statements("SELECT 1;\nSELECT 'a\\d'")
  t.eq(sts[1].refused, nil)
  local e = sts[2].refused
  t.contains(e.message, "backslash escape in the string literal 'a\\d'")
  t.eq(e.code, "unsupported")
  t.eq(e.line, 2)
  t.eq(sts[2].sql, "SELECT 'a\\d'")
end)

t.test("Redshift-only statements PostgreSQL cannot run are refused naming the feature", function()
  local cases = {
    { "MERGE INTO t USING s ON t.id = s.id REMOVE DUPLICATES", "MERGE … REMOVE DUPLICATES" },
    { "ALTER TABLE t APPEND FROM s IGNOREEXTRA", "ALTER TABLE … APPEND FROM" },
    { "COPY favoritemovies FROM 'dynamodb://Movies' IAM_ROLE 'r' READRATIO 50", "COPY from DYNAMODB" },
    { "COPY sales FROM 'emr://j-SAMPLE2B500FC/myoutput/part-*' IAM_ROLE 'r' DELIMITER '\t'", "COPY from EMR" },
  }
  for _, c in ipairs(cases) do
    local st = one(c[1])
    t.eq(st.refused and st.refused.feature, c[2], c[1])
    t.contains(st.refused.message, c[2])
  end
  t.eq(one("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE").refused, nil)
  t.eq(one("ALTER TABLE t ADD COLUMN c int").refused, nil)
end)

t.test("COPY … CSV QUOTE AS '\\'' splits and reads a single quote", function()
  local st = rs.statements([[COPY t FROM 's3://b/k' IAM_ROLE 'r' CSV QUOTE AS '\'' DELIMITER '|'; SELECT 1]])
  t.eq(#st, 2)
  t.eq(st[1].quote, "'")
  t.eq(st[1].delimiter, "|")
end)

t.test("IDENTITY(seed, step): seed 0, negative seeds and steps keep their bounds", function()
  local function ident(spec)
    return one("CREATE TABLE t (id BIGINT " .. spec .. ")").rewritten:match("IDENTITY %((.-)%)")
  end
  t.eq(ident("IDENTITY(0, 1)"), "START WITH 0 INCREMENT BY 1 MINVALUE 0")
  t.eq(ident("IDENTITY(-10, 5)"), "START WITH -10 INCREMENT BY 5 MINVALUE -10")
  t.eq(ident("IDENTITY(100, -1)"), "START WITH 100 INCREMENT BY -1 MAXVALUE 100")
end)
