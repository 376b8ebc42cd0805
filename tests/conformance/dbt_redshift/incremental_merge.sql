-- source: dbt-labs/dbt-redshift, incremental materialization with incremental_strategy 'merge'
--   and unique_key 'id' (redshift__get_merge_sql: only the source is aliased,
--   DBT_INTERNAL_SOURCE), rendered by hand.
-- database: conformance_dbt
-- data: gen.py dbt/raw_orders.csv, dbt/raw_orders_later.csv
create schema if not exists "analytics";
create table "conformance_dbt"."analytics"."orders_merge" (id integer, customer varchar(10), amount numeric(10,2), ordered_on date);
copy "conformance_dbt"."analytics"."orders_merge" from 's3://lode-conformance/dbt/raw_orders.csv'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole' csv;
create table "conformance_dbt"."analytics"."raw_orders_later" (like "conformance_dbt"."analytics"."orders_merge");
copy "conformance_dbt"."analytics"."raw_orders_later" from 's3://lode-conformance/dbt/raw_orders_later.csv'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole' csv;

create temporary table "orders_merge__dbt_tmp20240201093000123456"
  as (
    select * from "conformance_dbt"."analytics"."raw_orders_later"
  );

merge into "conformance_dbt"."analytics"."orders_merge"
using "orders_merge__dbt_tmp20240201093000123456" as DBT_INTERNAL_SOURCE
on (DBT_INTERNAL_SOURCE.id = "conformance_dbt"."analytics"."orders_merge".id)
when matched then update set
    "id" = DBT_INTERNAL_SOURCE."id", "customer" = DBT_INTERNAL_SOURCE."customer", "amount" = DBT_INTERNAL_SOURCE."amount", "ordered_on" = DBT_INTERNAL_SOURCE."ordered_on"
when not matched then insert
    ("id", "customer", "amount", "ordered_on")
values
    (DBT_INTERNAL_SOURCE."id", DBT_INTERNAL_SOURCE."customer", DBT_INTERNAL_SOURCE."amount", DBT_INTERNAL_SOURCE."ordered_on");
