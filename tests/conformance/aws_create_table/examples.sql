-- source: AWS, Amazon Redshift Database Developer Guide, "CREATE TABLE examples" and
--   "CREATE TABLE AS examples" (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_examples.html,
--   https://docs.aws.amazon.com/redshift/latest/dg/r_CTAS_examples.html), written out by hand
--   (the SALES example without its foreign keys to tables this case does not create).
create table sales(
salesid integer not null,
listid integer not null,
sellerid integer not null,
buyerid integer not null,
eventid integer not null encode mostly16,
dateid smallint not null,
qtysold smallint not null encode mostly8,
pricepaid decimal(8,2) encode delta32k,
commission decimal(8,2) encode delta32k,
saletime timestamp,
primary key(salesid))
distkey(listid)
compound sortkey(listid,sellerid);

create table customer_interleaved (
  c_custkey     	integer        not null,
  c_name        	varchar(25)    not null,
  c_address     	varchar(25)    not null,
  c_city        	varchar(10)    not null,
  c_nation      	varchar(15)    not null,
  c_region      	varchar(12)    not null,
  c_phone       	varchar(15)    not null,
  c_mktsegment      varchar(10)    not null)
diststyle all
interleaved sortkey (c_custkey, c_city, c_mktsegment);

create table if not exists cities(
cityid integer not null,
city varchar(100) not null,
state char(2) not null);

create table if not exists cities(
cityid integer not null,
city varchar(100) not null,
state char(2) not null);

create table venue_ident(venueid bigint identity(0, 1),
venuename varchar(100),
venuecity varchar(30),
venuestate char(2),
venueseats integer,
primary key(venueid));

insert into venue_ident(venuename, venuecity, venuestate, venueseats)
values('AT&T Park', 'San Francisco', 'CA', 0),
('Shea Stadium', 'Flushing', 'NY', 0);

create table categorydef(
catid smallint not null default 0,
catgroup varchar(10) default 'Special',
catname varchar(10) default 'Other',
catdesc varchar(50) default 'Special events',
primary key(catid));

insert into categorydef values(default,default,default,default);

create table t1(col1 int distkey, col2 int) diststyle key;
create table t2(c0 int, c1 varchar) diststyle all;
create table t3(c0 int, c1 varchar) diststyle even;
create table t4(c0 int, c1 varchar) diststyle auto;
create table t5(c0 int encode az64, c1 varchar(max) encode zstd) backup no;
insert into t5 values (1, repeat('x', 70000));

create table event(eventid integer not null distkey, venueid smallint not null, catid smallint not null,
dateid smallint not null sortkey, eventname varchar(200), starttime timestamp);
insert into event values (1, 1, 1, 1827, 'Opening', '2008-01-01 19:00:00'), (2, 2, 9, 1828, 'Gala', '2008-01-02 20:00:00');

create table event_backup as select * from event;
create table eventdistsort
distkey (1)
sortkey (1,3)
as
select eventid, venueid, dateid, eventname
from event;
create table eventdisteven
diststyle even
as
select eventid, venueid, eventname
from event;
create temp table tempevent(like event);
insert into tempevent select * from event where catid = 9;
create table tempevent_count as select count(*) as n from tempevent;
