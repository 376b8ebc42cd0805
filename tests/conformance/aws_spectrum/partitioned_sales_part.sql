-- source: AWS, Amazon Redshift Database Developer Guide, "Partitioning Redshift Spectrum external tables"
--   (https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html#c-spectrum-external-tables-partitioning,
--   "Example 1: Partitioning with a single partition column"): SALES_PART partitioned by
--   saledate char(10), '|'-delimited text, three months registered (April's folder exists but is
--   never added, so it is never read), and the page's query without its TOP 5.
-- data: gen_spectrum.py (tickit/spectrum/sales_partition/saledate=2008-MM/)
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

create table event(
eventid integer not null distkey,
venueid smallint not null,
catid smallint not null,
dateid smallint not null sortkey,
eventname varchar(200),
starttime timestamp);

copy event from 's3://lode-conformance/tickit/spectrum/allevents_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS'
region 'us-east-1';

select spectrum.sales_part.eventid, sum(spectrum.sales_part.pricepaid)
from spectrum.sales_part, event
where spectrum.sales_part.eventid = event.eventid
  and spectrum.sales_part.pricepaid > 30
  and saledate = '2008-01'
group by spectrum.sales_part.eventid
order by 2 desc;

select saledate, count(*), sum(pricepaid) from spectrum.sales_part group by saledate;
