-- source: AWS, Amazon Redshift Getting Started Guide, "Load data from Amazon S3"
--   (https://docs.aws.amazon.com/redshift/latest/gsg/rs-gsg-create-sample-db.html) — the TICKIT
--   tables and their COPY commands, written out by hand; bucket and role are the test's.
-- data: gen.py "TICKIT" (tickit/*_pipe.txt, tickit/sales_tab.txt)
create table users(
	userid integer not null distkey sortkey,
	username char(8),
	firstname varchar(30),
	lastname varchar(30),
	city varchar(30),
	state char(2),
	email varchar(100),
	phone char(14),
	likesports boolean,
	liketheatre boolean,
	likeconcerts boolean,
	likejazz boolean,
	likeclassical boolean,
	likeopera boolean,
	likerock boolean,
	likevegas boolean,
	likebroadway boolean,
	likemusicals boolean);

create table venue(
	venueid smallint not null distkey sortkey,
	venuename varchar(100),
	venuecity varchar(30),
	venuestate char(2),
	venueseats integer);

create table category(
	catid smallint not null distkey sortkey,
	catgroup varchar(10),
	catname varchar(10),
	catdesc varchar(50));

create table date(
	dateid smallint not null distkey sortkey,
	caldate date not null,
	day character(3) not null,
	week smallint not null,
	month character(5) not null,
	qtr character(5) not null,
	year smallint not null,
	holiday boolean default('N'));

create table event(
	eventid integer not null distkey,
	venueid smallint not null,
	catid smallint not null,
	dateid smallint not null sortkey,
	eventname varchar(200),
	starttime timestamp);

create table listing(
	listid integer not null distkey,
	sellerid integer not null,
	eventid integer not null,
	dateid smallint not null  sortkey,
	numtickets smallint not null,
	priceperticket decimal(8,2),
	totalprice decimal(8,2),
	listtime timestamp);

create table sales(
	salesid integer not null,
	listid integer not null distkey,
	sellerid integer not null,
	buyerid integer not null,
	eventid integer not null,
	dateid smallint not null sortkey,
	qtysold smallint not null,
	pricepaid decimal(8,2),
	commission decimal(8,2),
	saletime timestamp);

copy users from 's3://lode-conformance/tickit/allusers_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' region 'us-west-2';

copy venue from 's3://lode-conformance/tickit/venue_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' region 'us-west-2';

copy category from 's3://lode-conformance/tickit/category_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' region 'us-west-2';

copy date from 's3://lode-conformance/tickit/date2008_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' region 'us-west-2';

copy event from 's3://lode-conformance/tickit/allevents_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' timeformat 'YYYY-MM-DD HH:MI:SS' region 'us-west-2';

copy listing from 's3://lode-conformance/tickit/listings_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' region 'us-west-2';

copy sales from 's3://lode-conformance/tickit/sales_tab.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '\t' timeformat 'MM/DD/YYYY HH:MI:SS' region 'us-west-2';

-- the guide's "find top buyers" query, kept as a table for the check
create table tickit_top_buyer as
select buyerid, sum(qtysold) total
from sales
group by buyerid
order by total desc, buyerid
limit 1;
