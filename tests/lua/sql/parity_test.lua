-- Plain Redshift SQL on PostgreSQL gets Redshift's semantics (issue #15):
-- a COPY appends whatever it reads (no load ledger unless asked for), and
-- #name tables are session temporary tables, distinct from name.
local t = require "lode.test"
local lode = require "lode"
local s3 = require "lode.s3"
local proc = require "lode.proc"
local sqlrun = require "lode.sqlrun"

local url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL")
t.env("AWS_ENDPOINT_URL", "tests/run.sh starts s3rver")
local root = os.getenv("LODE_ROOT") or "."
local bin = os.getenv("LODE_BIN") or (root .. "/build/lode")

local bucket = "sqlparity-" .. math.random(1, 1e9)
local B = "s3://" .. bucket .. "/"
assert(proc.run({ "aws", "s3", "mb", B }).status == 0)
local wh = lode.warehouse({ url = url, pool = 2 })

-- N rows "i,name-i" in one CSV object; the count is known from the generator
local N = 37
local lines = {}
for i = 1, N do
  lines[i] = ("%d,name-%d"):format(i, i)
end
s3.put(B .. "daily/part-0.csv", table.concat(lines, "\n") .. "\n")

local function count(tbl)
  return wh:query("SELECT count(*) AS n FROM " .. tbl)[1].n
end

local function fresh(tbl)
  wh:exec("DROP TABLE IF EXISTS " .. tbl)
  wh:exec("CREATE TABLE " .. tbl .. " (id int, name varchar(40))")
end

local function script_file(name, text)
  local path = t.tmpdir() .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

t.test("the REPLACE pattern (DELETE then COPY in one transaction) run twice leaves the file's rows", function()
  fresh("par_replace")
  local script = ([[
BEGIN;
DELETE FROM par_replace;
COPY par_replace FROM '%sdaily/' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV;
COMMIT;]]):format(B)
  sqlrun.run(wh, script, { file = "replace.sql" })
  t.eq(count("par_replace"), N)
  sqlrun.run(wh, script, { file = "replace.sql" })
  t.eq(count("par_replace"), N, "the second run reloads the file (Redshift has no ledger)")
  t.eq(wh:query("SELECT count(DISTINCT id) AS n FROM par_replace")[1].n, N)
end)

t.test("an APPEND COPY run twice holds every row twice, as on Redshift", function()
  fresh("par_append")
  local script = ("COPY par_append FROM '%sdaily/part-0.csv' IAM_ROLE 'r' CSV;"):format(B)
  sqlrun.run(wh, script, { file = "append.sql" })
  sqlrun.run(wh, script, { file = "append.sql" })
  t.eq(count("par_append"), 2 * N)
  t.eq(wh:query("SELECT count(*) AS n FROM par_append WHERE id = 7")[1].n, 2)
end)

t.test("wh:exec of a COPY appends on every call", function()
  fresh("par_exec")
  local q = ("COPY par_exec FROM '%sdaily/' IAM_ROLE 'r' CSV"):format(B)
  t.eq(wh:exec(q), N)
  t.eq(wh:exec(q), N)
  t.eq(count("par_exec"), 2 * N)
end)

t.test("lode sql --ledger opts in to the ledger: the second run loads nothing", function()
  fresh("par_ledger")
  pcall(wh.exec, wh, "DELETE FROM lode.load_history WHERE table_name = 'par_ledger'")
  local path = script_file("ledger.sql", ("COPY par_ledger FROM '%sdaily/' IAM_ROLE 'r' CSV;\n"):format(B))
  for _ = 1, 2 do
    local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", "--ledger", path }, { env = { LODE_WAREHOUSE = url } })
    t.eq(r.status, 0, r.stderr)
  end
  t.eq(count("par_ledger"), N)
  -- and without the flag the same script appends
  local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", path }, { env = { LODE_WAREHOUSE = url } })
  t.eq(r.status, 0, r.stderr)
  t.eq(count("par_ledger"), 2 * N)
  t.contains(proc.run({ bin, "help", "sql" }).stdout, "--ledger")
end)

-- Airflow's S3ToRedshiftOperator, method UPSERT: the staging table is named
-- #<target> and the statements use both names
-- (airflow/providers/amazon/aws/transfers/s3_to_redshift.py, rendered by hand)
local UPSERT = [[
CREATE TABLE #fruit (LIKE fruit);
COPY #fruit FROM '%sfruit/' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV;
BEGIN;
DELETE FROM fruit USING #fruit WHERE fruit.id = #fruit.id;
INSERT INTO fruit SELECT * FROM #fruit;
COMMIT;
]]

local function fruit_rows()
  local out = {}
  for _, r in ipairs(wh:query("SELECT id, name FROM fruit ORDER BY id")) do
    out[#out + 1] = r.id .. "=" .. r.name
  end
  return table.concat(out, ",")
end

-- which of these names are tables in public (other test files create
-- tables concurrently: never match by pattern)
local function public_tables(...)
  local out = {}
  local names = {}
  for i, n in ipairs({ ... }) do
    names[i] = require("lode.sql").literal(n)
  end
  for _, r in ipairs(wh:query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename IN ("
      .. table.concat(names, ", ") .. ") ORDER BY 1")) do
    out[#out + 1] = r.tablename
  end
  return table.concat(out, ",")
end

t.test("#fruit is a session temp table, not fruit: Airflow's UPSERT runs, and runs again", function()
  wh:exec("DROP TABLE IF EXISTS fruit")
  wh:exec("CREATE TABLE fruit (id int, name varchar(20))")
  wh:exec("INSERT INTO fruit VALUES (1, 'apple'), (2, 'banana')")
  s3.put(B .. "fruit/f.csv", "2,blueberry\n3,cherry\n")
  local path = script_file("upsert.sql", UPSERT:format(B))
  for run = 1, 2 do
    local r = proc.run({ bin, "--log-level", "warn", "sql", "--quiet", path }, { env = { LODE_WAREHOUSE = url } })
    t.eq(r.status, 0, r.stderr)
    t.eq(fruit_rows(), "1=apple,2=blueberry,3=cherry", "run " .. run)
    t.eq(public_tables("fruit", "#fruit"), "fruit", "no #fruit left in public after run " .. run)
  end
end)

t.test("CREATE TABLE #stage makes no permanent table; DROP TABLE #stage and SELECT INTO #t work", function()
  wh:exec("DROP TABLE IF EXISTS stage")
  wh:exec("DROP TABLE IF EXISTS fruit")
  wh:exec("CREATE TABLE fruit (id int, name varchar(20))")
  wh:exec("INSERT INTO fruit VALUES (1, 'apple'), (2, 'banana')")
  sqlrun.run(wh, [[
CREATE TABLE #stage (LIKE fruit);
INSERT INTO #stage SELECT * FROM fruit WHERE id = 2;
SELECT id, name INTO #picked FROM #stage;
INSERT INTO fruit SELECT id + 10, name FROM #picked;
DROP TABLE #stage;]], { file = "stage.sql" })
  t.eq(public_tables("stage", "#stage", "picked", "#picked"), "")
  t.eq(fruit_rows(), "1=apple,2=banana,12=banana")
end)

t.test("wh:exec with #temp tables: the call's temp tables end with it, the pool gets a clean connection", function()
  local one = lode.warehouse({ url = url, pool = 1 })
  one:exec("DROP TABLE IF EXISTS fruit")
  one:exec("CREATE TABLE fruit (id int, name varchar(20))")
  s3.put(B .. "fruit/f.csv", "2,blueberry\n3,cherry\n")
  for _ = 1, 2 do
    one:exec(UPSERT:format(B))
    t.eq(fruit_rows(), "2=blueberry,3=cherry")
    t.eq(one:query([[SELECT to_regclass('"#fruit"')::text AS r]])[1].r, lode.null, "no temp table left on the pooled connection")
  end
  one:close()
end)

-- External tables in formats the emulation cannot scan fail at CREATE (the
-- DDL shapes of AWS's "Creating external tables for Redshift Spectrum" page
-- and dbt-external-tables), never at the first query
t.test("CREATE EXTERNAL TABLE of a format lode cannot scan fails at the statement, naming line and format", function()
  local cases = {
    -- text, CSV and JSON are scanned (tests/lua/spectrum/text_test.lua); other serdes are not
    { "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe' WITH SERDEPROPERTIES ('input.regex' = '(.*)') "
      .. "STORED AS TEXTFILE", "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe' STORED AS TEXTFILE" },
    { "STORED AS SEQUENCEFILE", "STORED AS SEQUENCEFILE" },
    { "STORED AS ORC", "STORED AS ORC" },
    { "STORED AS AVRO", "STORED AS AVRO" },
    { "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.orc.OrcInputFormat' "
      .. "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat'",
      "INPUTFORMAT 'org.apache.hadoop.hive.ql.io.orc.OrcInputFormat'" },
  }
  for i, c in ipairs(cases) do
    local name = "par_ext.t" .. i
    pcall(wh.exec, wh, "DROP TABLE IF EXISTS " .. name .. " CASCADE")
    local err = t.raises(function()
      sqlrun.run(wh, ("-- an external table\n\nCREATE EXTERNAL TABLE %s (a int, b varchar(10))\n%s\nLOCATION '%stext/';")
        :format(name, c[1], B), { file = "ext.sql" })
    end, "ext.sql:3: CREATE EXTERNAL TABLE " .. name .. ": ")
    t.contains(err.message, c[2])
    t.eq(err.code, "unsupported")
    t.eq(err.line, 3)
    t.eq(wh:query("SELECT to_regclass($1)::text AS r", name)[1].r, lode.null, "no table was created: " .. c[2])
  end
  -- Parquet, also spelled with Hive's input format and serde, is created
  wh:exec("DROP TABLE IF EXISTS par_ext.pq CASCADE")
  sqlrun.run(wh, ("CREATE EXTERNAL TABLE par_ext.pq (a int) ROW FORMAT SERDE "
    .. "'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' STORED AS INPUTFORMAT "
    .. "'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat' OUTPUTFORMAT "
    .. "'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat' LOCATION '%spq/';"):format(B), { file = "pq.sql" })
  t.ok(wh:query("SELECT to_regclass('par_ext.pq')::text AS r")[1].r ~= lode.null)
  sqlrun.run(wh, "DROP EXTERNAL TABLE par_ext.pq;", { file = "drop.sql" })
  -- the API refuses the same at spectrum.table
  local spectrum = require "lode.spectrum"
  t.raises(function()
    spectrum.table(wh, { name = "par_ext.api", location = B .. "text/", format = "orc", columns = { { "a", "int" } } })
  end, "par_ext.api: format ORC is not emulated on PostgreSQL")
  t.eq(wh:query("SELECT to_regclass('par_ext.api')::text AS r")[1].r, lode.null)
end)

-- Option strings are decoded as Redshift reads its string literals
-- (AWS COPY reference: "DELIMITER … a tab ( \t ) … octal, using the format
-- '\ddd'"; "NULL AS '\0' or '\000'")
t.test("COPY option strings: DELIMITER '\\t', octal '\\174', NULL AS '\\000' and '\\\\' load as on Redshift", function()
  wh:exec("DROP TABLE IF EXISTS par_esc")
  wh:exec("CREATE TABLE par_esc (id int, a varchar(20), b varchar(20))")
  s3.put(B .. "esc/tab.txt", "1\tx|y\ta,b\n2\t\0\tz\n")
  s3.put(B .. "esc/pipe.txt", "3|p\tq|\\\n")
  sqlrun.run(wh, ([[
COPY par_esc FROM '%sesc/tab.txt' IAM_ROLE 'r' DELIMITER '\t' NULL AS '\000';
COPY par_esc FROM '%sesc/pipe.txt' IAM_ROLE 'r' DELIMITER AS '\174' NULL AS '\\';]]):format(B, B), { file = "esc.sql" })
  local got = {}
  for _, r in ipairs(wh:query("SELECT id, coalesce(a, '<null>') AS a, coalesce(b, '<null>') AS b FROM par_esc ORDER BY id")) do
    got[#got + 1] = ("%d[%s][%s]"):format(r.id, r.a, r.b)
  end
  t.eq(table.concat(got, " "), "1[x|y][a,b] 2[<null>][z] 3[p\tq][<null>]")
end)

t.test("an escape lode cannot decode exactly fails at the statement, naming line and option", function()
  wh:exec("DROP TABLE IF EXISTS par_esc2")
  wh:exec("CREATE TABLE par_esc2 (id int)")
  local err = t.raises(function()
    sqlrun.run(wh, ("SELECT 1;\nCOPY par_esc2 FROM '%sesc/tab.txt' IAM_ROLE 'r'\n NULL AS '\\N';"):format(B), { file = "bad.sql" })
  end, "bad.sql:3: NULL AS: the escape \\N")   -- at its statement, once SELECT 1 ran
  t.eq(err.code, "unsupported")
  err = t.raises(function()
    sqlrun.run(wh, ("COPY par_esc2 FROM '%sx' CREDENTIALS 'aws_access_key_id=AK;aws_secret_access_key=hush\\yhush';")
      :format(B), { file = "cred.sql" })
  end, "cred.sql:1: CREDENTIALS:")
  t.ok(not tostring(err):find("hush", 1, true), "no secret in the error")
end)

-- AVRO and ORC: lode has no decoder for either; a COPY naming one fails at
-- its statement with the reason, with or without AVRO's 'auto' argument
t.test("COPY … FORMAT AS AVRO | ORC fails at the statement, naming line, format and why; nothing is loaded", function()
  wh:exec("DROP TABLE IF EXISTS par_avro")
  wh:exec("CREATE TABLE par_avro (id int)")
  for _, c in ipairs {
    { "FORMAT AS AVRO 'auto'", "AVRO", "Avro" },
    { "FORMAT AVRO 'auto ignorecase'", "AVRO", "Avro" },
    { "AVRO 's3://b/jsonpaths.json'", "AVRO", "Avro" },
    { "FORMAT AS ORC", "ORC", "ORC" },
  } do
    local err = t.raises(function()
      sqlrun.run(wh, ("SELECT 1;\n\nCOPY par_avro FROM '%sx.avro' IAM_ROLE 'arn:aws:iam::1:role/R' %s;"):format(B, c[1]),
        { file = "avro.sql" })
    end, ("avro.sql:3: COPY … FORMAT AS %s is not emulated locally by lode: it has no %s decoder"):format(c[2], c[3]), c[1])
    t.eq(err.code, "unsupported")
    t.eq(err.line, 3)
  end
  t.eq(count("par_avro"), 0)
end)
