-- source: AWS, Amazon Redshift Database Developer Guide, "CREATE EXTERNAL TABLE" examples and
--   "Getting started with Redshift Spectrum" (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_TABLE_examples.html):
--   the schema and the TICKIT sales table, here with the page's STORED AS ORC file format
--   (adapted: the page's example is TEXTFILE, which lode now scans). lode's Spectrum
--   emulation does not read ORC: it refuses the table at CREATE EXTERNAL TABLE, naming line and format.
-- refuse: 13 STORED AS ORC
create external schema spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
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
stored as orc
location 's3://lode-conformance/tickit/spectrum/sales/'
table properties ('numRows'='172000');
