-- source: dbt-labs/dbt-redshift, incremental materialization with incremental_strategy
--   'delete+insert' and unique_key 'id' (get_delete_insert_merge_sql), rendered by hand:
--   a temporary __dbt_tmp table, DELETE … WHERE (id) IN (…), INSERT … (SELECT …).
-- database: conformance_dbt
-- data: gen.py dbt/raw_orders.csv, dbt/raw_orders_later.csv
create schema if not exists "analytics";
create table "conformance_dbt"."analytics"."orders_inc" (id integer, customer varchar(10), amount numeric(10,2), ordered_on date);
copy "conformance_dbt"."analytics"."orders_inc" from 's3://lode-conformance/dbt/raw_orders.csv'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole' csv;
create table "conformance_dbt"."analytics"."raw_orders_later" (like "conformance_dbt"."analytics"."orders_inc");
copy "conformance_dbt"."analytics"."raw_orders_later" from 's3://lode-conformance/dbt/raw_orders_later.csv'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole' csv;

create temporary table "orders_inc__dbt_tmp20240201093000123456"
  as (
    select * from "conformance_dbt"."analytics"."raw_orders_later"
  );

begin;
    delete from "conformance_dbt"."analytics"."orders_inc"
    where (id) in (
        select (id)
        from "orders_inc__dbt_tmp20240201093000123456"
    );

    insert into "conformance_dbt"."analytics"."orders_inc" ("id", "customer", "amount", "ordered_on")
    (
        select "id", "customer", "amount", "ordered_on"
        from "orders_inc__dbt_tmp20240201093000123456"
    );
commit;
