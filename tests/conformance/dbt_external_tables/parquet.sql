-- source: dbt-labs/dbt-external-tables, the Redshift plugin's macros rendered by hand
--   (macros/plugins/redshift/: get_external_build_plan.sql, helpers/dropif.sql,
--   create_external_table.sql, refresh_external_table.sql, helpers/add_partitions.sql) for a
--   Parquet source as its README documents one (file_format: parquet, partitions by section with
--   vals and the key_value path macro), run twice: the second build finds the table and only
--   refreshes partitions (add if not exists), as get_external_build_plan does; and an unpartitioned
--   Parquet source (file_format: parquet, no partitions), whose refresh adds nothing.
-- database: dbt_ext
-- data: gen_spectrum.py (dbt_ext/parquet/section=X/people.parquet, dbt_ext/parquet_unpartitioned/people.parquet,
--   written by DuckDB)
create external schema if not exists
            dbt_ext_spectrum
            from data catalog
            database 'dbt_ext_spectrum'
            iam_role 'arn:aws:iam::123456789012:role/dbt'
            create external database if not exists;

drop table if exists "dbt_ext"."dbt_ext_spectrum"."people_parquet_partitioned" cascade;

create external table "dbt_ext"."dbt_ext_spectrum"."people_parquet_partitioned" (
            "id" int,
            "first_name" varchar(64),
            "last_name" varchar(64),
            "email" varchar(64)
    )
    partitioned by ("section" varchar)
    stored as parquet
    location 's3://lode-conformance/dbt_ext/parquet';

alter table "dbt_ext"."dbt_ext_spectrum"."people_parquet_partitioned" add if not exists
partition (section='a')
        location 's3://lode-conformance/dbt_ext/parquet/section=a/'

    partition (section='b')
        location 's3://lode-conformance/dbt_ext/parquet/section=b/';

alter table "dbt_ext"."dbt_ext_spectrum"."people_parquet_partitioned" add if not exists
partition (section='a')
        location 's3://lode-conformance/dbt_ext/parquet/section=a/'

    partition (section='b')
        location 's3://lode-conformance/dbt_ext/parquet/section=b/'

    partition (section='c')
        location 's3://lode-conformance/dbt_ext/parquet/section=c/'

    partition (section='d')
        location 's3://lode-conformance/dbt_ext/parquet/section=d/';

drop table if exists "dbt_ext"."dbt_ext_spectrum"."people_parquet_unpartitioned" cascade;

create external table "dbt_ext"."dbt_ext_spectrum"."people_parquet_unpartitioned" (
            "id" int,
            "first_name" varchar(64),
            "last_name" varchar(64),
            "email" varchar(64)
    )
    stored as parquet
    location 's3://lode-conformance/dbt_ext/parquet_unpartitioned';
