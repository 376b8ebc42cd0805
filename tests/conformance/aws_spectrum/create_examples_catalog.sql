-- source: AWS, Amazon Redshift Database Developer Guide, CREATE EXTERNAL TABLE "Examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_TABLE_examples.html): the SALES
--   table (saledate date, tab-delimited), the "Partitioning examples" (SALES_PART by a date key, its
--   twelve ALTER TABLE … ADD IF NOT EXISTS PARTITION statements one by one, the page's SELECT TOP 10 for
--   December joined with EVENT), the catalog queries of SVV_EXTERNAL_DATABASES, _TABLES, _COLUMNS and
--   _PARTITIONS, and the pseudocolumn queries of that page and of "External tables for Redshift Spectrum"
--   (https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html#c-spectrum-external-tables-pseudocolumns).
--   Adapted: bucket ours; the external schema is the partitioning example's; EVENT is loaded as the
--   Getting started guide loads it (the page assumes the TICKIT tables).
-- data: gen_spectrum.py (tickit/spectrum/sales_date/, tickit/spectrum/sales_partition/saledate=2008-01 … 12/,
--   tickit/spectrum/allevents_pipe.txt); expectations: the page's printed catalog rows (gen.py), DuckDB for the queries
create external schema spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/myspectrumrole'
create external database if not exists;

create external table spectrum.sales(
salesid integer,
listid integer,
sellerid integer,
buyerid integer,
eventid integer,
saledate date,
qtysold smallint,
pricepaid decimal(8,2),
commission decimal(8,2),
saletime timestamp)
row format delimited
fields terminated by '\t'
stored as textfile
location 's3://lode-conformance/tickit/spectrum/sales_date/'
table properties ('numRows'='170000');

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
add if not exists partition (saledate='2008-01-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-01/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-02-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-02/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-03-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-03/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-04-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-04/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-05-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-05/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-06-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-06/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-07-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-07/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-08-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-08/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-09-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-09/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-10-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-10/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-11-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-11/';
alter table spectrum.sales_part
add if not exists partition (saledate='2008-12-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-12/';

select eskind,databasename,esoptions from svv_external_databases order by databasename;

select schemaname, tablename, location from svv_external_tables;

select * from svv_external_columns where schemaname like 'spectrum%' and tablename ='sales';

select schemaname, tablename, values, location
from svv_external_partitions
where tablename = 'sales_part';

select distinct "$path", "$size"
   from spectrum.sales_part;

select "$path", "$size"
from spectrum.sales_part
where saledate = '2008-12-01';

create table event(
eventid integer not null distkey,
venueid smallint not null,
catid smallint not null,
dateid smallint not null sortkey,
eventname varchar(200),
starttime timestamp);

copy event from 's3://lode-conformance/tickit/spectrum/allevents_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/myspectrumrole'
delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS'
region 'us-east-1';

select top 10 spectrum.sales_part.eventid, sum(spectrum.sales_part.pricepaid)
from spectrum.sales_part, event
where spectrum.sales_part.eventid = event.eventid
  and spectrum.sales_part.pricepaid > 30
  and saledate = '2008-12-01'
group by spectrum.sales_part.eventid
order by 2 desc;
