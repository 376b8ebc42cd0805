-- source: AWS, Amazon Redshift Database Developer Guide, "Tutorial: Tuning table design"
--   (https://docs.aws.amazon.com/redshift/latest/dg/tutorial-tuning-tables.html): "Create a test
--   data set" (the SSB tables without keys, loaded with COPY … GZIP COMPUPDATE OFF REGION from
--   the tutorial's ssbgz prefixes), "Recreate the test data set" (DROP … CASCADE, then the tables
--   with SORTKEY, DISTKEY, DISTSTYLE ALL and column ENCODE), and "Test system performance"
--   (queries 1-3, kept as written and saved with CREATE TABLE … AS so their results can be
--   checked). Bucket and role are the corpus's.
-- data: gen.py ssb/ssbgz/*
CREATE TABLE part
(
  p_partkey     INTEGER NOT NULL,
  p_name        VARCHAR(22) NOT NULL,
  p_mfgr        VARCHAR(6),
  p_category    VARCHAR(7) NOT NULL,
  p_brand1      VARCHAR(9) NOT NULL,
  p_color       VARCHAR(11) NOT NULL,
  p_type        VARCHAR(25) NOT NULL,
  p_size        INTEGER NOT NULL,
  p_container   VARCHAR(10) NOT NULL
);

CREATE TABLE supplier
(
  s_suppkey   INTEGER NOT NULL,
  s_name      VARCHAR(25) NOT NULL,
  s_address   VARCHAR(25) NOT NULL,
  s_city      VARCHAR(10) NOT NULL,
  s_nation    VARCHAR(15) NOT NULL,
  s_region    VARCHAR(12) NOT NULL,
  s_phone     VARCHAR(15) NOT NULL
);

CREATE TABLE customer
(
  c_custkey      INTEGER NOT NULL,
  c_name         VARCHAR(25) NOT NULL,
  c_address      VARCHAR(25) NOT NULL,
  c_city         VARCHAR(10) NOT NULL,
  c_nation       VARCHAR(15) NOT NULL,
  c_region       VARCHAR(12) NOT NULL,
  c_phone        VARCHAR(15) NOT NULL,
  c_mktsegment   VARCHAR(10) NOT NULL
);

CREATE TABLE dwdate
(
  d_datekey            INTEGER NOT NULL,
  d_date               VARCHAR(19) NOT NULL,
  d_dayofweek          VARCHAR(10) NOT NULL,
  d_month              VARCHAR(10) NOT NULL,
  d_year               INTEGER NOT NULL,
  d_yearmonthnum       INTEGER NOT NULL,
  d_yearmonth          VARCHAR(8) NOT NULL,
  d_daynuminweek       INTEGER NOT NULL,
  d_daynuminmonth      INTEGER NOT NULL,
  d_daynuminyear       INTEGER NOT NULL,
  d_monthnuminyear     INTEGER NOT NULL,
  d_weeknuminyear      INTEGER NOT NULL,
  d_sellingseason      VARCHAR(13) NOT NULL,
  d_lastdayinweekfl    VARCHAR(1) NOT NULL,
  d_lastdayinmonthfl   VARCHAR(1) NOT NULL,
  d_holidayfl          VARCHAR(1) NOT NULL,
  d_weekdayfl          VARCHAR(1) NOT NULL
);

CREATE TABLE lineorder
(
  lo_orderkey          INTEGER NOT NULL,
  lo_linenumber        INTEGER NOT NULL,
  lo_custkey           INTEGER NOT NULL,
  lo_partkey           INTEGER NOT NULL,
  lo_suppkey           INTEGER NOT NULL,
  lo_orderdate         INTEGER NOT NULL,
  lo_orderpriority     VARCHAR(15) NOT NULL,
  lo_shippriority      VARCHAR(1) NOT NULL,
  lo_quantity          INTEGER NOT NULL,
  lo_extendedprice     INTEGER NOT NULL,
  lo_ordertotalprice   INTEGER NOT NULL,
  lo_discount          INTEGER NOT NULL,
  lo_revenue           INTEGER NOT NULL,
  lo_supplycost        INTEGER NOT NULL,
  lo_tax               INTEGER NOT NULL,
  lo_commitdate        INTEGER NOT NULL,
  lo_shipmode          VARCHAR(10) NOT NULL
);

copy customer from 's3://lode-conformance/ssb/ssbgz/customer'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy dwdate from 's3://lode-conformance/ssb/ssbgz/dwdate'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy lineorder from 's3://lode-conformance/ssb/ssbgz/lineorder'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy part from 's3://lode-conformance/ssb/ssbgz/part'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy supplier from 's3://lode-conformance/ssb/ssbgz/supplier'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

drop table part cascade;
drop table supplier cascade;
drop table customer cascade;
drop table dwdate cascade;
drop table lineorder cascade;

create table part (
  p_partkey     	integer     	not null	sortkey distkey,
  p_name        	varchar(22) 	not null	encode zstd,
  p_mfgr        	varchar(6)  	encode zstd,
  p_category    	varchar(7)  	not null	encode zstd,
  p_brand1      	varchar(9)  	not null	encode zstd,
  p_color       	varchar(11) 	not null	encode zstd,
  p_type        	varchar(25) 	not null	encode zstd,
  p_size        	integer     	not null	encode az64,
  p_container   	varchar(10) 	not null	encode zstd
);

create table supplier (
  s_suppkey     	integer        not null sortkey,
  s_name        	varchar(25)    not null encode zstd,
  s_address     	varchar(25)    not null encode zstd,
  s_city        	varchar(10)    not null encode zstd,
  s_nation      	varchar(15)    not null encode zstd,
  s_region      	varchar(12)    not null encode zstd,
  s_phone       	varchar(15)    not null encode zstd)
diststyle all;

create table customer (
  c_custkey     	integer        not null sortkey,
  c_name        	varchar(25)    not null encode zstd,
  c_address     	varchar(25)    not null encode zstd,
  c_city        	varchar(10)    not null encode zstd,
  c_nation      	varchar(15)    not null encode zstd,
  c_region      	varchar(12)    not null encode zstd,
  c_phone       	varchar(15)    not null encode zstd,
  c_mktsegment      varchar(10)    not null encode zstd)
diststyle all;

create table dwdate (
  d_datekey            integer       not null sortkey,
  d_date               varchar(19)   not null encode zstd,
  d_dayofweek	      varchar(10)   not null encode zstd,
  d_month      	    varchar(10)   not null encode zstd,
  d_year               integer       not null encode az64,
  d_yearmonthnum       integer  	 not null encode az64,
  d_yearmonth          varchar(8)	not null encode zstd,
  d_daynuminweek       integer       not null encode az64,
  d_daynuminmonth      integer       not null encode az64,
  d_daynuminyear       integer       not null encode az64,
  d_monthnuminyear     integer       not null encode az64,
  d_weeknuminyear      integer       not null encode az64,
  d_sellingseason      varchar(13)    not null encode zstd,
  d_lastdayinweekfl    varchar(1)    not null encode zstd,
  d_lastdayinmonthfl   varchar(1)    not null encode zstd,
  d_holidayfl          varchar(1)    not null encode zstd,
  d_weekdayfl          varchar(1)    not null encode zstd)
diststyle all;

create table lineorder (
  lo_orderkey      	    integer     	not null encode az64,
  lo_linenumber        	integer     	not null encode az64,
  lo_custkey           	integer     	not null encode az64,
  lo_partkey           	integer     	not null distkey,
  lo_suppkey           	integer     	not null encode az64,
  lo_orderdate         	integer     	not null sortkey,
  lo_orderpriority     	varchar(15)     not null encode zstd,
  lo_shippriority      	varchar(1)      not null encode zstd,
  lo_quantity          	integer     	not null encode az64,
  lo_extendedprice     	integer     	not null encode az64,
  lo_ordertotalprice   	integer     	not null encode az64,
  lo_discount          	integer     	not null encode az64,
  lo_revenue           	integer     	not null encode az64,
  lo_supplycost        	integer     	not null encode az64,
  lo_tax               	integer     	not null encode az64,
  lo_commitdate         integer         not null encode az64,
  lo_shipmode          	varchar(10)     not null encode zstd
);

copy customer from 's3://lode-conformance/ssb/ssbgz/customer'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy dwdate from 's3://lode-conformance/ssb/ssbgz/dwdate'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy lineorder from 's3://lode-conformance/ssb/ssbgz/lineorder'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy part from 's3://lode-conformance/ssb/ssbgz/part'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

copy supplier from 's3://lode-conformance/ssb/ssbgz/supplier'
credentials 'aws_iam_role=arn:aws:iam::123456789012:role/myRedshiftRole'
gzip compupdate off region 'us-west-2';

-- Query 1
-- Restrictions on only one dimension.
create table ssb_q1 as
select sum(lo_extendedprice*lo_discount) as revenue
from lineorder, dwdate
where lo_orderdate = d_datekey
and d_year = 1997
and lo_discount between 1 and 3
and lo_quantity < 24;

-- Query 2
-- Restrictions on two dimensions
create table ssb_q2 as
select sum(lo_revenue), d_year, p_brand1
from lineorder, dwdate, part, supplier
where lo_orderdate = d_datekey
and lo_partkey = p_partkey
and lo_suppkey = s_suppkey
and p_category = 'MFGR#12'
and s_region = 'AMERICA'
group by d_year, p_brand1
order by d_year, p_brand1;

-- Query 3
-- Drill down in time to just one month
create table ssb_q3 as
select c_city, s_city, d_year, sum(lo_revenue) as revenue
from customer, lineorder, supplier, dwdate
where lo_custkey = c_custkey
and lo_suppkey = s_suppkey
and lo_orderdate = d_datekey
and (c_city='UNITED KI1' or
c_city='UNITED KI5')
and (s_city='UNITED KI1' or
s_city='UNITED KI5')
and d_yearmonth = 'Dec1997'
group by c_city, s_city, d_year
order by d_year asc, revenue desc;
