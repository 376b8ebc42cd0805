-- source: AWS, Amazon Redshift Database Developer Guide, "ALTER EXTERNAL TABLE examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE_external-table.html): SET TABLE
--   PROPERTIES ('numRows'), SET LOCATION of SPECTRUM.SALES, and a partition's SET LOCATION on
--   SPECTRUM.SALES_PART, on the text tables of the CREATE EXTERNAL TABLE examples.
-- data: gen_spectrum.py (tickit/spectrum/sales/, tickit/spectrum/sales_moved/, tickit/spectrum/sales_partition/)
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
partitioned by (saledate date)
row format delimited
fields terminated by '|'
stored as textfile
location 's3://lode-conformance/tickit/spectrum/sales_partition/'
table properties ('numRows'='170000');

alter table spectrum.sales_part add if not exists
partition(saledate='2008-01-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-01/';

alter table spectrum.sales
set table properties ('numRows'='170000');

alter table spectrum.sales
set location 's3://lode-conformance/tickit/spectrum/sales_moved/';

alter table spectrum.sales_part
partition(saledate='2008-01-01')
set location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-02/';
