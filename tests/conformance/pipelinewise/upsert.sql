-- source: transferwise/pipelinewise-target-redshift, target_redshift/db_sync.py (load_csv:
--   the stage table, COPY … ACCESS_KEY_ID/SECRET_ACCESS_KEY with the default copy_options
--   "EMPTYASNULL BLANKSASNULL TRIMBLANKS TRUNCATECOLUMNS TIMEFORMAT 'auto' COMPUPDATE OFF
--   STATUPDATE OFF" then DELIMITER ',' REMOVEQUOTES ESCAPE BLANKSASNULL TIMEFORMAT 'auto' GZIP;
--   UPDATE … FROM stage, INSERT … LEFT JOIN, DROP stage), rendered by hand for stream CUSTOMERS.
-- data: gen.py pipelinewise/customers.csv.gz
CREATE SCHEMA IF NOT EXISTS tap_shop;
CREATE TABLE IF NOT EXISTS tap_shop."CUSTOMERS" ("ID" numeric NOT NULL, "NAME" character varying(10000), "NOTE" character varying(10000), PRIMARY KEY ("ID"));
INSERT INTO tap_shop."CUSTOMERS" VALUES (1, 'old name', 'old note');
CREATE TABLE IF NOT EXISTS tap_shop."STG_CUSTOMERS" ("ID" numeric NOT NULL, "NAME" character varying(10000), "NOTE" character varying(10000), PRIMARY KEY ("ID"));
COPY tap_shop."STG_CUSTOMERS" ("ID", "NAME", "NOTE") FROM 's3://lode-conformance/pipelinewise/customers.csv.gz'
                    ACCESS_KEY_ID 'AKIAIOSFODNN7EXAMPLE' SECRET_ACCESS_KEY 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
                    EMPTYASNULL BLANKSASNULL TRIMBLANKS TRUNCATECOLUMNS TIMEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF
                    DELIMITER ',' REMOVEQUOTES ESCAPE
                    BLANKSASNULL TIMEFORMAT 'auto'
                    GZIP;
UPDATE tap_shop."CUSTOMERS"
                    SET "NAME"=s."NAME", "NOTE"=s."NOTE"
                    FROM tap_shop."STG_CUSTOMERS" s
                    WHERE tap_shop."CUSTOMERS"."ID" = s."ID";
INSERT INTO tap_shop."CUSTOMERS" ("ID", "NAME", "NOTE")
                    SELECT s."ID", s."NAME", s."NOTE"
                    FROM tap_shop."STG_CUSTOMERS" s LEFT JOIN tap_shop."CUSTOMERS"
                    ON tap_shop."CUSTOMERS"."ID" = s."ID"
                    WHERE tap_shop."CUSTOMERS"."ID" IS NULL;
DROP TABLE tap_shop."STG_CUSTOMERS";
