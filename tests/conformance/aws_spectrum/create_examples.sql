-- source: AWS, Amazon Redshift Database Developer Guide, CREATE EXTERNAL TABLE "Examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_TABLE_examples.html): the
--   external schema; SALES with saledate date, tab-delimited (adapted: its own folder, where the
--   sixth field is a date); SALES_PART partitioned by a date key, three partitions, and the page's
--   count; CLOUDTRAIL_JSON read by the OpenX JsonSerDe with dots.in.keys and a mapping.
-- data: gen_spectrum.py (tickit/spectrum/sales_date/, tickit/spectrum/sales_partition/, json/cloudtrail/)
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

create external table spectrum.cloudtrail_json (
event_version int,
event_id bigint,
event_time timestamp,
event_type varchar(10),
awsregion varchar(20),
event_name varchar(max),
event_source varchar(max),
requesttime timestamp,
useragent varchar(max),
recipientaccountid bigint)
row format serde 'org.openx.data.jsonserde.JsonSerDe'
with serdeproperties (
'dots.in.keys' = 'true',
'mapping.requesttime' = 'requesttimestamp'
) location 's3://lode-conformance/json/cloudtrail';

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

alter table spectrum.sales_part add
partition(saledate='2008-01-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-01/'
partition(saledate='2008-03-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-03/'
partition(saledate='2008-04-01')
location 's3://lode-conformance/tickit/spectrum/sales_partition/saledate=2008-04/';

select count(*) from spectrum.sales_part;

select * from spectrum.sales;

select awsregion, count(*), max(requesttime), count(useragent) from spectrum.cloudtrail_json group by awsregion;
