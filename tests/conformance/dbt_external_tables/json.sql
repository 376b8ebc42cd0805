-- source: dbt-labs/dbt-external-tables, the Redshift plugin's macros rendered by hand
--   (macros/plugins/redshift/: get_external_build_plan.sql, helpers/dropif.sql,
--   create_external_table.sql, refresh_external_table.sql, helpers/add_partitions.sql;
--   integration_tests/macros/prep_external.sql) for the integration tests' JsonSerDe sources
--   (integration_tests/models/plugins/redshift/redshift_external.yml: people_json_unpartitioned,
--   people_json_partitioned by section with vals a-d and the key_value path macro), bucket ours.
--   dbt renders sources as "database"."schema"."table".
-- database: dbt_ext
-- data: gen_spectrum.py (dbt_ext/json_unpartitioned/, dbt_ext/json/section=X/)
create external schema if not exists
            dbt_ext_spectrum
            from data catalog
            database 'dbt_ext_spectrum'
            iam_role 'arn:aws:iam::123456789012:role/dbt'
            create external database if not exists;

drop table if exists "dbt_ext"."dbt_ext_spectrum"."people_json_unpartitioned" cascade;

create external table "dbt_ext"."dbt_ext_spectrum"."people_json_unpartitioned" (
            "id" int,
            "first_name" varchar(64),
            "last_name" varchar(64),
            "email" varchar(64)
    )
    row format serde 'org.openx.data.jsonserde.JsonSerDe'
            with serdeproperties (
                'strip.outer.array'='false'
            )
    location 's3://lode-conformance/dbt_ext/json_unpartitioned';

drop table if exists "dbt_ext"."dbt_ext_spectrum"."people_json_partitioned" cascade;

create external table "dbt_ext"."dbt_ext_spectrum"."people_json_partitioned" (
            "id" int,
            "first_name" varchar(64),
            "last_name" varchar(64),
            "email" varchar(64)
    )
    partitioned by ("section" varchar)
    row format serde 'org.openx.data.jsonserde.JsonSerDe'
            with serdeproperties (
                'strip.outer.array'='false'
            )
    location 's3://lode-conformance/dbt_ext/json';

alter table "dbt_ext"."dbt_ext_spectrum"."people_json_partitioned" add if not exists
partition (section='a')
        location 's3://lode-conformance/dbt_ext/json/section=a/'

    partition (section='b')
        location 's3://lode-conformance/dbt_ext/json/section=b/'

    partition (section='c')
        location 's3://lode-conformance/dbt_ext/json/section=c/'

    partition (section='d')
        location 's3://lode-conformance/dbt_ext/json/section=d/';

select * from "dbt_ext"."dbt_ext_spectrum"."people_json_partitioned" where section = 'b';
