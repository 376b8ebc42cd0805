-- source: transferwise/pipelinewise-target-redshift, target_redshift/db_sync.py (record_to_csv_line:
--   each value json.dumps'd, an empty string or NULL as an empty field; load_csv: COPY into the
--   stage table with the default copy_options "EMPTYASNULL BLANKSASNULL TRIMBLANKS
--   TRUNCATECOLUMNS TIMEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF", then "DELIMITER ','
--   REMOVEQUOTES ESCAPE" and " BZIP2" for compression='bzip2'; the merge UPDATE … FROM stage,
--   INSERT … LEFT JOIN, DROP stage), rendered by hand for stream ORDERS, two batches.
--   JSON's escapes meet Redshift's ESCAPE: \" is a quote, \\ a backslash, and \n an 'n'.
-- data: gen.py pipelinewise/orders_1.csv.bz2, orders_2.csv.bz2
CREATE SCHEMA IF NOT EXISTS tap_shop;
CREATE TABLE IF NOT EXISTS tap_shop."ORDERS" ("ID" numeric NOT NULL, "CUSTOMER" character varying(10000), "NOTE" character varying(12), "CREATED_AT" timestamp without time zone, "_SDC_DELETED_AT" character varying(10000), PRIMARY KEY ("ID"));
CREATE TABLE IF NOT EXISTS tap_shop."STG_ORDERS" ("ID" numeric NOT NULL, "CUSTOMER" character varying(10000), "NOTE" character varying(12), "CREATED_AT" timestamp without time zone, "_SDC_DELETED_AT" character varying(10000), PRIMARY KEY ("ID"));
COPY tap_shop."STG_ORDERS" ("ID", "CUSTOMER", "NOTE", "CREATED_AT", "_SDC_DELETED_AT") FROM 's3://lode-conformance/pipelinewise/orders_1.csv.bz2'
                    ACCESS_KEY_ID 'AKIAIOSFODNN7EXAMPLE'
            SECRET_ACCESS_KEY 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
                    EMPTYASNULL BLANKSASNULL TRIMBLANKS TRUNCATECOLUMNS
            TIMEFORMAT 'auto'
            COMPUPDATE OFF STATUPDATE OFF
                    DELIMITER ',' REMOVEQUOTES ESCAPE BZIP2
                ;
UPDATE tap_shop."ORDERS"
                    SET "CUSTOMER"=s."CUSTOMER", "NOTE"=s."NOTE", "CREATED_AT"=s."CREATED_AT", "_SDC_DELETED_AT"=s."_SDC_DELETED_AT"
                    FROM tap_shop."STG_ORDERS" s
                    WHERE tap_shop."ORDERS"."ID" = s."ID";
INSERT INTO tap_shop."ORDERS" ("ID", "CUSTOMER", "NOTE", "CREATED_AT", "_SDC_DELETED_AT")
                    SELECT s."ID", s."CUSTOMER", s."NOTE", s."CREATED_AT", s."_SDC_DELETED_AT"
                    FROM tap_shop."STG_ORDERS" s LEFT JOIN tap_shop."ORDERS"
                    ON tap_shop."ORDERS"."ID" = s."ID"
                    WHERE tap_shop."ORDERS"."ID" IS NULL;
DROP TABLE tap_shop."STG_ORDERS";
CREATE TABLE IF NOT EXISTS tap_shop."STG_ORDERS" ("ID" numeric NOT NULL, "CUSTOMER" character varying(10000), "NOTE" character varying(12), "CREATED_AT" timestamp without time zone, "_SDC_DELETED_AT" character varying(10000), PRIMARY KEY ("ID"));
COPY tap_shop."STG_ORDERS" ("ID", "CUSTOMER", "NOTE", "CREATED_AT", "_SDC_DELETED_AT") FROM 's3://lode-conformance/pipelinewise/orders_2.csv.bz2'
                    ACCESS_KEY_ID 'AKIAIOSFODNN7EXAMPLE'
            SECRET_ACCESS_KEY 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
                    EMPTYASNULL BLANKSASNULL TRIMBLANKS TRUNCATECOLUMNS
            TIMEFORMAT 'auto'
            COMPUPDATE OFF STATUPDATE OFF
                    DELIMITER ',' REMOVEQUOTES ESCAPE BZIP2
                ;
UPDATE tap_shop."ORDERS"
                    SET "CUSTOMER"=s."CUSTOMER", "NOTE"=s."NOTE", "CREATED_AT"=s."CREATED_AT", "_SDC_DELETED_AT"=s."_SDC_DELETED_AT"
                    FROM tap_shop."STG_ORDERS" s
                    WHERE tap_shop."ORDERS"."ID" = s."ID";
INSERT INTO tap_shop."ORDERS" ("ID", "CUSTOMER", "NOTE", "CREATED_AT", "_SDC_DELETED_AT")
                    SELECT s."ID", s."CUSTOMER", s."NOTE", s."CREATED_AT", s."_SDC_DELETED_AT"
                    FROM tap_shop."STG_ORDERS" s LEFT JOIN tap_shop."ORDERS"
                    ON tap_shop."ORDERS"."ID" = s."ID"
                    WHERE tap_shop."ORDERS"."ID" IS NULL;
DROP TABLE tap_shop."STG_ORDERS";
