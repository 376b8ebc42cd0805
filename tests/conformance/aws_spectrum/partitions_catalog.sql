-- source: AWS, Amazon Redshift Database Developer Guide, "Partitioning Redshift Spectrum external tables"
--   (https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html#c-spectrum-external-tables-partitioning):
--   the page's query of SVV_EXTERNAL_PARTITIONS after registering SALES_PART's three partitions.
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
partitioned by (saledate char(10))
row format delimited
fields terminated by '|'
stored as textfile
location 's3://lode-conformance/tickit/spectrum/sales_partition/'
table properties ('numRows'='172000');

alter table spectrum.sales_part add
partition(saledate='2008-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-01/'

partition(saledate='2008-02')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-02/'

partition(saledate='2008-03')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-03/';

select schemaname, tablename, values, location from svv_external_partitions
where tablename = 'sales_part';
