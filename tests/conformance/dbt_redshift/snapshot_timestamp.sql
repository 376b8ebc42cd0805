-- source: dbt-redshift snapshots, timestamp strategy, as dbt renders them on Redshift: dbt-core's
--   snapshot materialization and macros (snapshot_staging_table, build_snapshot_table,
--   snapshot_timestamp_strategy, snapshot_merge_sql as dbt-postgres defines it and dbt-redshift
--   inherits; https://docs.getdbt.com/docs/build/snapshots and dbt-labs/dbt-adapters
--   materializations/snapshots/helpers.sql, snapshot_merge.sql), for
--   {% snapshot orders_snapshot %} {{ config(target_schema='snapshots', unique_key='id',
--   strategy='timestamp', updated_at='updated_at') }} select * from raw.orders. Three runs: the
--   first builds the table, the next two stage changes and merge them (an update closes the old
--   version, a new row opens; a row deleted at the source stays open: no hard-delete tracking).
-- database: conformance_dbt_snap
create schema if not exists "raw";
create table "conformance_dbt_snap"."raw"."orders" (id integer, status varchar(20), amount numeric(10,2), updated_at timestamp);
insert into "conformance_dbt_snap"."raw"."orders" values
    (1, 'placed', 10.00, '2024-01-01 10:00:00'),
    (2, 'placed', 20.50, '2024-01-01 11:00:00'),
    (3, 'placed', 30.25, '2024-01-02 09:30:00'),
    (4, 'placed', 40.00, '2024-01-02 12:00:00');

-- run 1: build_snapshot_table
create schema if not exists "snapshots";
begin;
create table "conformance_dbt_snap"."snapshots"."orders_snapshot"
  as (
    select *,
        md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(updated_at as varchar ), '')) as dbt_scd_id,
        updated_at as dbt_updated_at,
        updated_at as dbt_valid_from,
        nullif(updated_at, updated_at) as dbt_valid_to
    from (
        select * from "conformance_dbt_snap"."raw"."orders"
    ) sbq
  );
commit;

-- the source changes
update "conformance_dbt_snap"."raw"."orders" set status = 'shipped', updated_at = '2024-01-03 08:00:00' where id = 2;
insert into "conformance_dbt_snap"."raw"."orders" values (5, 'placed', 55.00, '2024-01-03 09:00:00');

-- run 2
begin;
create temporary table "orders_snapshot__dbt_tmp20240103090500"
  as (
    with snapshot_query as (

        select * from "conformance_dbt_snap"."raw"."orders"

    ),

    snapshotted_data as (

        select *,
            id as dbt_unique_key

        from "conformance_dbt_snap"."snapshots"."orders_snapshot"
        where dbt_valid_to is null

    ),

    insertions_source_data as (

        select
            *,
            id as dbt_unique_key,
            updated_at as dbt_updated_at,
            updated_at as dbt_valid_from,
            nullif(updated_at, updated_at) as dbt_valid_to,
            md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(updated_at as varchar ), '')) as dbt_scd_id

        from snapshot_query
    ),

    updates_source_data as (

        select
            *,
            id as dbt_unique_key,
            updated_at as dbt_updated_at,
            updated_at as dbt_valid_from,
            updated_at as dbt_valid_to

        from snapshot_query
    ),

    insertions as (

        select
            'insert' as dbt_change_type,
            source_data.*

        from insertions_source_data as source_data
        left outer join snapshotted_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where snapshotted_data.dbt_unique_key is null
           or (
                snapshotted_data.dbt_unique_key is not null
            and (
                (snapshotted_data.dbt_valid_from < source_data.updated_at)
            )
        )

    ),

    updates as (

        select
            'update' as dbt_change_type,
            source_data.*,
            snapshotted_data.dbt_scd_id

        from updates_source_data as source_data
        join snapshotted_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where (
            (snapshotted_data.dbt_valid_from < source_data.updated_at)
        )
    )

    select * from insertions
    union all
    select * from updates

  );
update "conformance_dbt_snap"."snapshots"."orders_snapshot"
    set dbt_valid_to = DBT_INTERNAL_SOURCE.dbt_valid_to
    from "orders_snapshot__dbt_tmp20240103090500" as DBT_INTERNAL_SOURCE
    where DBT_INTERNAL_SOURCE.dbt_scd_id::text = "conformance_dbt_snap"."snapshots"."orders_snapshot".dbt_scd_id::text
      and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update'::text, 'delete'::text)
      and "conformance_dbt_snap"."snapshots"."orders_snapshot".dbt_valid_to is null;

    insert into "conformance_dbt_snap"."snapshots"."orders_snapshot" ("id", "status", "amount", "updated_at", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_scd_id")
    select DBT_INTERNAL_SOURCE."id",DBT_INTERNAL_SOURCE."status",DBT_INTERNAL_SOURCE."amount",DBT_INTERNAL_SOURCE."updated_at",DBT_INTERNAL_SOURCE."dbt_updated_at",DBT_INTERNAL_SOURCE."dbt_valid_from",DBT_INTERNAL_SOURCE."dbt_valid_to",DBT_INTERNAL_SOURCE."dbt_scd_id"
    from "orders_snapshot__dbt_tmp20240103090500" as DBT_INTERNAL_SOURCE
    where DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert'::text;
commit;

-- the source changes again
update "conformance_dbt_snap"."raw"."orders" set status = 'delivered', updated_at = '2024-01-05 16:45:00' where id = 2;
update "conformance_dbt_snap"."raw"."orders" set amount = 12.00, updated_at = '2024-01-05 17:00:00' where id = 1;
delete from "conformance_dbt_snap"."raw"."orders" where id = 4;

-- run 3
begin;
create temporary table "orders_snapshot__dbt_tmp20240105170500"
  as (
    with snapshot_query as (

        select * from "conformance_dbt_snap"."raw"."orders"

    ),

    snapshotted_data as (

        select *,
            id as dbt_unique_key

        from "conformance_dbt_snap"."snapshots"."orders_snapshot"
        where dbt_valid_to is null

    ),

    insertions_source_data as (

        select
            *,
            id as dbt_unique_key,
            updated_at as dbt_updated_at,
            updated_at as dbt_valid_from,
            nullif(updated_at, updated_at) as dbt_valid_to,
            md5(coalesce(cast(id as varchar ), '') || '|' || coalesce(cast(updated_at as varchar ), '')) as dbt_scd_id

        from snapshot_query
    ),

    updates_source_data as (

        select
            *,
            id as dbt_unique_key,
            updated_at as dbt_updated_at,
            updated_at as dbt_valid_from,
            updated_at as dbt_valid_to

        from snapshot_query
    ),

    insertions as (

        select
            'insert' as dbt_change_type,
            source_data.*

        from insertions_source_data as source_data
        left outer join snapshotted_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where snapshotted_data.dbt_unique_key is null
           or (
                snapshotted_data.dbt_unique_key is not null
            and (
                (snapshotted_data.dbt_valid_from < source_data.updated_at)
            )
        )

    ),

    updates as (

        select
            'update' as dbt_change_type,
            source_data.*,
            snapshotted_data.dbt_scd_id

        from updates_source_data as source_data
        join snapshotted_data on snapshotted_data.dbt_unique_key = source_data.dbt_unique_key
        where (
            (snapshotted_data.dbt_valid_from < source_data.updated_at)
        )
    )

    select * from insertions
    union all
    select * from updates

  );
update "conformance_dbt_snap"."snapshots"."orders_snapshot"
    set dbt_valid_to = DBT_INTERNAL_SOURCE.dbt_valid_to
    from "orders_snapshot__dbt_tmp20240105170500" as DBT_INTERNAL_SOURCE
    where DBT_INTERNAL_SOURCE.dbt_scd_id::text = "conformance_dbt_snap"."snapshots"."orders_snapshot".dbt_scd_id::text
      and DBT_INTERNAL_SOURCE.dbt_change_type::text in ('update'::text, 'delete'::text)
      and "conformance_dbt_snap"."snapshots"."orders_snapshot".dbt_valid_to is null;

    insert into "conformance_dbt_snap"."snapshots"."orders_snapshot" ("id", "status", "amount", "updated_at", "dbt_updated_at", "dbt_valid_from", "dbt_valid_to", "dbt_scd_id")
    select DBT_INTERNAL_SOURCE."id",DBT_INTERNAL_SOURCE."status",DBT_INTERNAL_SOURCE."amount",DBT_INTERNAL_SOURCE."updated_at",DBT_INTERNAL_SOURCE."dbt_updated_at",DBT_INTERNAL_SOURCE."dbt_valid_from",DBT_INTERNAL_SOURCE."dbt_valid_to",DBT_INTERNAL_SOURCE."dbt_scd_id"
    from "orders_snapshot__dbt_tmp20240105170500" as DBT_INTERNAL_SOURCE
    where DBT_INTERNAL_SOURCE.dbt_change_type::text = 'insert'::text;
commit;
