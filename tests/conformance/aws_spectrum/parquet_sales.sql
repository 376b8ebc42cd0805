-- source: AWS, Amazon Redshift Database Developer Guide, "Creating external tables for Redshift Spectrum"
--   and "Partitioning Redshift Spectrum external tables"
--   (https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html): the guide's
--   SALES and SALES_PART tables in their Parquet variant (STORED AS PARQUET, and the Hive
--   INPUTFORMAT/OUTPUTFORMAT spelling with ParquetHiveSerDe that Glue and Athena write), objects
--   written by DuckDB from the same rows as the text cases.
-- data: gen_spectrum.py (tickit/spectrum/sales_parquet/, tickit/spectrum/sales_parquet_part/saledate=2008-MM/)
create external schema spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;

create external table spectrum.sales(
salesid integer,
listid integer,
sellerid integer,
buyerid integer,
eventid integer,
dateid smallint,
qtysold smallint,
pricepaid decimal(8,2),
commission decimal(8,2),
saletime timestamp)
stored as parquet
location 's3://lode-conformance/tickit/spectrum/sales_parquet/'
table properties ('numRows'='172000');

create external table spectrum.sales_part(
salesid integer,
listid integer,
sellerid integer,
buyerid integer,
eventid integer,
dateid smallint,
qtysold smallint,
pricepaid decimal(8,2),
commission decimal(8,2),
saletime timestamp)
partitioned by (saledate char(10))
row format serde 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
stored as inputformat 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'
outputformat 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat'
location 's3://lode-conformance/tickit/spectrum/sales_parquet_part/';

alter table spectrum.sales_part add if not exists
partition(saledate='2008-01')
location 's3://lode-conformance/tickit/spectrum/sales_parquet_part/saledate=2008-01/'
partition(saledate='2008-02')
location 's3://lode-conformance/tickit/spectrum/sales_parquet_part/saledate=2008-02/'
partition(saledate='2008-03')
location 's3://lode-conformance/tickit/spectrum/sales_parquet_part/saledate=2008-03/';

select count(*) from spectrum.sales;

select saledate, count(*), sum(pricepaid), max(saletime) from spectrum.sales_part
where saledate in ('2008-02', '2008-03') group by saledate;
