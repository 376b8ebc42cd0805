-- source: dbt-labs/dbt-redshift (dbt-adapters' postgres/redshift macros): materializations
--   "table" (create table …__dbt_tmp as (…), rename the old one to …__dbt_backup, rename the new
--   one in, drop the backup) and "view", rendered by hand for database conformance_dbt, schema
--   analytics; the seed-like raw table is loaded with a plain COPY.
-- database: conformance_dbt
-- data: gen.py dbt/raw_orders.csv
create schema if not exists "analytics";
create table "conformance_dbt"."analytics"."raw_orders" (id integer, customer varchar(10), amount numeric(10,2), ordered_on date);
copy "conformance_dbt"."analytics"."raw_orders" from 's3://lode-conformance/dbt/raw_orders.csv'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole' csv;

-- first run: the relation does not exist yet
begin;
  create  table
    "conformance_dbt"."analytics"."customer_orders__dbt_tmp"
  as (
    select customer, count(*) as n, sum(amount) as total
from "conformance_dbt"."analytics"."raw_orders"
where false
group by customer
  );
  alter table "conformance_dbt"."analytics"."customer_orders__dbt_tmp" rename to "customer_orders";
commit;

-- second run: build, swap, drop the backup
begin;
  create  table
    "conformance_dbt"."analytics"."customer_orders__dbt_tmp"
    diststyle even
    compound sortkey(customer)
  as (
    select customer, count(*) as n, sum(amount) as total
from "conformance_dbt"."analytics"."raw_orders"
group by customer
  );
  alter table "conformance_dbt"."analytics"."customer_orders" rename to "customer_orders__dbt_backup";
  alter table "conformance_dbt"."analytics"."customer_orders__dbt_tmp" rename to "customer_orders";
commit;
drop table if exists "conformance_dbt"."analytics"."customer_orders__dbt_backup" cascade;

begin;
  create view "conformance_dbt"."analytics"."big_orders__dbt_tmp" as (
    select id from "conformance_dbt"."analytics"."raw_orders" where amount >= 15
  );
  alter table "conformance_dbt"."analytics"."big_orders__dbt_tmp" rename to "big_orders";
commit;
