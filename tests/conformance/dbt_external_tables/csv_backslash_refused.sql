-- source: dbt-labs/dbt-external-tables, the Redshift plugin's create_external_table.sql rendered by
--   hand for the integration tests' people_csv_unpartitioned source (OpenCSVSerde, no
--   SERDEPROPERTIES: Hive's escapeChar '\' and quoteChar '"'), over a file whose fields hold a
--   backslash and a quote inside an unquoted field. OpenCSVSerde drops or unescapes those bytes;
--   lode does not reproduce that reading, so the query fails at its line, naming the object, rather
--   than return different strings.
-- refuse: 30 OpenCSVSerde's reading of a backslash
-- plan: shown (the scan runs only when the CREATE TABLE … AS SELECT runs)
-- database: dbt_ext
-- data: gen_spectrum.py (dbt_ext/csv_hostile/people.csv)
create external schema if not exists
            dbt_ext_spectrum
            from data catalog
            database 'dbt_ext_spectrum'
            iam_role 'arn:aws:iam::123456789012:role/dbt'
            create external database if not exists;

drop table if exists "dbt_ext"."dbt_ext_spectrum"."people_csv_unpartitioned" cascade;

create external table "dbt_ext"."dbt_ext_spectrum"."people_csv_unpartitioned" (
            "id" int,
            "first_name" varchar(64),
            "last_name" varchar(64),
            "email" varchar(64)
    )
    row format serde 'org.apache.hadoop.hive.serde2.OpenCSVSerde'
    location 's3://lode-conformance/dbt_ext/csv_hostile'
    table properties ('skip.header.line.count'='1');

create table people as select * from "dbt_ext"."dbt_ext_spectrum"."people_csv_unpartitioned";
