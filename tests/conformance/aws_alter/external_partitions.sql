-- source: AWS, Amazon Redshift Database Developer Guide, "ALTER EXTERNAL TABLE examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE_external-table.html): adding one
--   partition to SPECTRUM.SALES_PART, then three (IF NOT EXISTS: the first is already there), then
--   dropping one; the table is the CREATE EXTERNAL TABLE examples' SALES_PART (saledate date).
--   The page's SET TABLE PROPERTIES / SET LOCATION / SET FILE FORMAT examples are in
--   aws_alter/external_set_refused.
-- data: gen_spectrum.py (tickit/spectrum/sales_partition/)
create external schema spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;

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

alter table spectrum.sales_part
add if not exists partition(saledate='2008-01-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-01/';

alter table spectrum.sales_part add if not exists
partition(saledate='2008-01-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-01/'
partition(saledate='2008-02-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-02/'
partition(saledate='2008-03-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-03/';

alter table spectrum.sales_part
drop partition(saledate='2008-01-01');

select saledate, count(*), sum(qtysold) from spectrum.sales_part group by saledate;
