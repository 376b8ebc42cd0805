-- source: dlt-hub/dlt, dlt/destinations/impl/redshift/redshift.py (RedshiftCopyFileLoadJob: COPY
--   … FROM '<file>' FORMAT AS JSON 'auto' dateformat 'auto' timeformat 'auto' [GZIP] IAM_ROLE '…'
--   MAXERROR 0, and for parquet files COPY … PARQUET IAM_ROLE '…' MAXERROR 0, each inside a
--   transaction) and dlt/destinations/sql_jobs.py (SqlMergeFollowupJob, write_disposition
--   'merge', strategy delete-insert with a dedup_sort hint: DELETE … WHERE EXISTS against the
--   staging dataset, then INSERT of ROW_NUMBER() OVER (PARTITION BY key ORDER BY sort DESC) = 1
--   rows), rendered by hand for dataset "crm", table "contacts", primary key "id", dedup_sort
--   "updated_at" desc. The Parquet file is the one dlt's normalizer would stage: written here by
--   UNLOAD … FORMAT PARQUET from rows in the script.
-- data: gen.py dlt/contacts/1.jsonl, dlt/contacts/2.jsonl.gz
CREATE SCHEMA IF NOT EXISTS "crm";
CREATE SCHEMA IF NOT EXISTS "crm_staging";
CREATE TABLE "crm"."contacts" ("id" bigint NOT NULL, "email" varchar(65535), "score" bigint, "updated_at" timestamp, "_dlt_load_id" varchar(65535) NOT NULL);
CREATE TABLE "crm_staging"."contacts" ("id" bigint NOT NULL, "email" varchar(65535), "score" bigint, "updated_at" timestamp, "_dlt_load_id" varchar(65535) NOT NULL);
BEGIN TRANSACTION;

                COPY "crm"."contacts"
                FROM 's3://lode-conformance/dlt/contacts/1.jsonl'
                FORMAT AS JSON 'auto'
                dateformat 'auto' timeformat 'auto'

                IAM_ROLE 'arn:aws:iam::123456789012:role/dlt-loader'
                 MAXERROR 0;
COMMIT TRANSACTION;
BEGIN TRANSACTION;

                COPY "crm_staging"."contacts"
                FROM 's3://lode-conformance/dlt/contacts/2.jsonl.gz'
                FORMAT AS JSON 'auto'
                dateformat 'auto' timeformat 'auto'
                GZIP
                IAM_ROLE 'arn:aws:iam::123456789012:role/dlt-loader'
                 MAXERROR 0;
COMMIT TRANSACTION;
CREATE TABLE parquet_rows ("id" bigint, "email" varchar(100), "score" bigint, "updated_at" timestamp, "_dlt_load_id" varchar(20));
INSERT INTO parquet_rows VALUES (7, 'seven@new.example', 70, '2024-03-01 00:00:07', '1700000002'),
  (8, 'eight@example', NULL, '2024-03-01 00:00:08', '1700000002');
UNLOAD ('SELECT * FROM parquet_rows ORDER BY id') TO 's3://lode-conformance/dlt/contacts_pq/'
IAM_ROLE 'arn:aws:iam::123456789012:role/dlt-loader' FORMAT AS PARQUET PARALLEL OFF;
BEGIN TRANSACTION;

                COPY "crm_staging"."contacts"
                FROM 's3://lode-conformance/dlt/contacts_pq/000.parquet'
                PARQUET


                IAM_ROLE 'arn:aws:iam::123456789012:role/dlt-loader'
                 MAXERROR 0;
COMMIT TRANSACTION;
BEGIN TRANSACTION;
DELETE FROM "crm"."contacts" WHERE EXISTS (SELECT 1 FROM "crm_staging"."contacts" WHERE "crm"."contacts"."id" = "crm_staging"."contacts"."id");
INSERT INTO "crm"."contacts"("id", "email", "score", "updated_at", "_dlt_load_id")
  SELECT "id", "email", "score", "updated_at", "_dlt_load_id"
  FROM (SELECT ROW_NUMBER() OVER (partition BY "id" ORDER BY "updated_at" DESC) AS _dlt_dedup_rn, "id", "email", "score", "updated_at", "_dlt_load_id" FROM "crm_staging"."contacts") AS _dlt_dedup_numbered WHERE _dlt_dedup_rn = 1;
COMMIT TRANSACTION;
TRUNCATE TABLE "crm_staging"."contacts";
