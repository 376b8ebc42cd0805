-- source: AWS, Amazon Redshift Database Developer Guide, "ALTER EXTERNAL TABLE examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE_external-table.html): the page's
--   SET FILE FORMAT example. lode's emulation does not change an external table's file format:
--   the statement fails naming its line and the feature; the table stays as it was.
-- refuse: 29 SET FILE FORMAT
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
row format delimited
fields terminated by '\t'
stored as textfile
location 's3://lode-conformance/tickit/spectrum/sales/'
table properties ('numRows'='172000');

alter table spectrum.sales
set file format parquet;
