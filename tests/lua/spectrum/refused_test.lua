-- The row formats of AWS's CREATE EXTERNAL TABLE examples ("Row format
-- examples") that lode's Spectrum emulation does not scan — Avro, RegexSerDe
-- (and the S3 server access log table), Grok, Ion — and the guide's Hudi and
-- Delta Lake tables, each refused at its
-- CREATE EXTERNAL TABLE on PostgreSQL, naming the script's line and the
-- SerDe, before anything is created.
local t = require "lode.test"
local lode = require "lode"
local sqlrun = require "lode.sqlrun"

local function wh()
  return lode.warehouse({ url = t.env("LODE_TEST_PG_URL", "tests/run.sh starts PostgreSQL"), dialect = "postgres" })
end

local SCHEMA = [[
create external schema spectrum_rf
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;
]]

-- the page's statements (its schema renamed spectrum_rf), and what the refusal names
local CASES = {
  { [[create external table spectrum_rf.sales(salesid int, listid int, sellerid int, buyerid int, eventid int, dateid int, qtysold int, pricepaid decimal(8,2), comment VARCHAR(255))
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.avro.AvroSerDe'
WITH SERDEPROPERTIES ('avro.schema.literal'='{"namespace": "dory.sample","name": "dory_avro","type": "record", "fields": [{"name":"salesid", "type":"int"}]}')
STORED AS AVRO
location 's3://mybucket/avro/sales' ;]], "AvroSerDe" },
  { [[create external table spectrum_rf.types(
cbigint bigint,
cbigint_null bigint,
cint int,
cint_null int)
row format serde 'org.apache.hadoop.hive.serde2.RegexSerDe'
with serdeproperties ('input.regex'='([^\\x01]+)\\x01([^\\x01]+)\\x01([^\\x01]+)\\x01([^\\x01]+)')
stored as textfile
location 's3://mybucket/regex/types';]], "RegexSerDe" },
  { [[create external table spectrum_rf.grok_log(
timestamp varchar(255),
pid varchar(255),
loglevel varchar(255),
progname varchar(255),
message varchar(255))
row format serde 'com.amazonaws.glue.serde.GrokSerDe'
with serdeproperties ('input.format'='[DFEWI], \\[%{TIMESTAMP_ISO8601:timestamp} #%{POSINT:pid:int}\\] *(?<loglevel>:DEBUG|FATAL|ERROR|WARN|INFO) -- +%{DATA:progname}: %{GREEDYDATA:message}')
stored as textfile
location 's3://mybucket/grok/logs';]], "GrokSerDe" },
  { [[CREATE EXTERNAL TABLE spectrum_rf.mybucket_s3_logs(
bucketowner varchar(255),
bucket varchar(255),
requestdatetime varchar(2000),
remoteip varchar(255),
requester varchar(255),
requested varchar(255),
operation varchar(255),
key varchar(255),
requesturi_operation varchar(255),
requesturi_key varchar(255),
requesturi_httpprotoversion varchar(255),
httpstatus varchar(255),
errorcode varchar(255),
bytessent bigint,
objectsize bigint,
totaltime varchar(255),
turnaroundtime varchar(255),
referrer varchar(255),
useragent varchar(255),
versionid varchar(255)
)
ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.RegexSerDe'
WITH SERDEPROPERTIES (
'input.regex' = '([^ ]*) ([^ ]*) \\[(.*?)\\] ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) \"([^ ]*)\\s*([^ ]*)\\s*([^ ]*)\" (- |[^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*) (\"[^\"]*\") ([^ ]*).*$')
LOCATION 's3://mybucket/s3logs';]], "RegexSerDe" },
  { [[CREATE EXTERNAL TABLE spectrum_rf.tbl_name (c1 int)
ROW FORMAT SERDE 'com.amazon.ionhiveserde.IonHiveSerDe'
STORED AS
INPUTFORMAT 'com.amazon.ionhiveserde.formats.IonInputFormat'
OUTPUTFORMAT 'com.amazon.ionhiveserde.formats.IonOutputFormat'
LOCATION 's3://s3-bucket/prefix']], "IonHiveSerDe" },
  -- "External tables for Redshift Spectrum": Apache Hudi Copy-on-Write and Delta Lake tables
  -- (c-spectrum-external-tables.html; tbl_name (columns) filled in). A Hudi table's Parquet files hold
  -- superseded versions of its rows: read as plain Parquet (its input format names Parquet) they
  -- would come back twice; a Delta Lake table is read through its manifest.
  { [[CREATE EXTERNAL TABLE spectrum_rf.tbl_name (c1 int)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS
INPUTFORMAT 'org.apache.hudi.hadoop.HoodieParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://s3-bucket/prefix']], "HoodieParquetInputFormat" },
  { [[CREATE EXTERNAL TABLE spectrum_rf.tbl_name (c1 int)
PARTITIONED BY (c2 int)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS
INPUTFORMAT 'org.apache.hudi.hadoop.HoodieParquetInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
LOCATION 's3://s3-bucket/prefix']], "HoodieParquetInputFormat" },
  { [[CREATE EXTERNAL TABLE spectrum_rf.tbl_name (c1 int)
ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
STORED AS
INPUTFORMAT 'org.apache.hadoop.hive.ql.io.SymlinkTextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://s3-bucket/delta_table_folder/_symlink_format_manifest']], "SymlinkTextInputFormat" },
}

t.test("AWS's row format examples lode does not scan are refused at CREATE EXTERNAL TABLE, naming line and SerDe",
    { timeout = 120000 }, function()
  local w = wh()
  w:exec("DROP SCHEMA IF EXISTS spectrum_rf CASCADE")
  sqlrun.run(w, SCHEMA, { file = "schema.sql" })
  for _, c in ipairs(CASES) do
    local ok, err = pcall(sqlrun.run, w, "select 1;\n\n" .. c[1], { file = "rf.sql" })
    t.ok(not ok, c[2])
    local msg = tostring(type(err) == "table" and err.message or err)
    t.contains(msg, "rf.sql:3", c[2])
    t.contains(msg, c[2], c[2])
    t.contains(msg, "not emulated", c[2])
    t.eq(err.code, "unsupported", c[2])
  end
  t.eq(w:query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'spectrum_rf'")[1].n, 0)
  w:exec("DROP SCHEMA IF EXISTS spectrum_rf CASCADE")
  w:exec("DELETE FROM lode.spectrum_external_schemas WHERE schema_name = 'spectrum_rf'")
end)
