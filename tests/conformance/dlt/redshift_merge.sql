-- source: dlt-hub/dlt, dlt/destinations/impl/redshift/redshift.py (RedshiftCopyFileLoadJob:
--   COPY … FROM '<file>' CREDENTIALS '…' dateformat/timeformat 'auto' FORMAT AS JSON 'auto'
--   [GZIP]) and dlt/destinations/sql_jobs.py (merge, delete-insert: DELETE … WHERE EXISTS,
--   INSERT of the staging rows, in one transaction), rendered by hand for dataset "shop",
--   table "items", primary key "id".
-- data: gen.py dlt/items/1.jsonl, dlt/items/2.jsonl.gz
CREATE SCHEMA IF NOT EXISTS "shop";
CREATE SCHEMA IF NOT EXISTS "shop_staging";
CREATE TABLE "shop"."items" ("id" bigint NOT NULL, "name" varchar(65535), "price" double precision);
CREATE TABLE "shop_staging"."items" ("id" bigint NOT NULL, "name" varchar(65535), "price" double precision);
COPY "shop"."items"
FROM 's3://lode-conformance/dlt/items/1.jsonl'
CREDENTIALS 'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
DATEFORMAT 'auto' TIMEFORMAT 'auto'
FORMAT AS JSON 'auto'
;
COPY "shop_staging"."items"
FROM 's3://lode-conformance/dlt/items/2.jsonl.gz'
CREDENTIALS 'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
DATEFORMAT 'auto' TIMEFORMAT 'auto'
FORMAT AS JSON 'auto'
GZIP;
BEGIN TRANSACTION;
DELETE FROM "shop"."items" WHERE EXISTS (SELECT 1 FROM "shop_staging"."items" WHERE "shop"."items"."id" = "shop_staging"."items"."id");
INSERT INTO "shop"."items"("id", "name", "price") SELECT "id", "name", "price" FROM "shop_staging"."items";
COMMIT TRANSACTION;
TRUNCATE TABLE "shop_staging"."items";
