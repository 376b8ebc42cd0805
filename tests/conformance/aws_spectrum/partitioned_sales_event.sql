-- source: AWS, Amazon Redshift Database Developer Guide, "Partitioning Redshift Spectrum external tables"
--   (https://docs.aws.amazon.com/redshift/latest/dg/c-spectrum-external-tables.html#c-spectrum-external-tables-partitioning,
--   "Example 2: Partitioning with a multiple partition column"): SALES_EVENT partitioned by
--   salesmonth char(10) and event integer, nine partitions in one ALTER TABLE, and the page's query.
-- data: gen_spectrum.py (tickit/spectrum/salesevent/salesmonth=2008-MM/event=NNN/, tickit/spectrum/allevents_hi_pipe.txt)
create external schema if not exists spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;

create external table spectrum.sales_event(
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
partitioned by (salesmonth char(10), event integer)
row format delimited fields terminated by '|'
stored as textfile
location 's3://lode-conformance/tickit/spectrum/salesevent/'
table properties ('numRows'='172000');

alter table spectrum.sales_event add
partition(salesmonth='2008-01', event='101')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-01/event=101/'

partition(salesmonth='2008-01', event='102')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-01/event=102/'

partition(salesmonth='2008-01', event='103')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-01/event=103/'

partition(salesmonth='2008-02', event='101')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-02/event=101/'

partition(salesmonth='2008-02', event='102')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-02/event=102/'

partition(salesmonth='2008-02', event='103')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-02/event=103/'

partition(salesmonth='2008-03', event='101')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-03/event=101/'

partition(salesmonth='2008-03', event='102')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-03/event=102/'

partition(salesmonth='2008-03', event='103')
location 's3://lode-conformance/tickit/spectrum/salesevent/salesmonth=2008-03/event=103/';

create table event(
eventid integer not null distkey,
venueid smallint not null,
catid smallint not null,
dateid smallint not null sortkey,
eventname varchar(200),
starttime timestamp);

copy event from 's3://lode-conformance/tickit/spectrum/allevents_hi_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS'
region 'us-east-1';

select spectrum.sales_event.salesmonth, event.eventname, sum(spectrum.sales_event.pricepaid)
from spectrum.sales_event, event
where spectrum.sales_event.eventid = event.eventid
  and salesmonth = '2008-02'
	and (event = '101'
	or event = '102'
	or event = '103')
	group by event.eventname, spectrum.sales_event.salesmonth
order by 3 desc;
