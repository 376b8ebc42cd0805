-- source: apache/airflow, providers/amazon/aws/transfers/s3_to_redshift.py (S3ToRedshiftOperator,
--   method='UPSERT', schema='analytics', table='stock', upsert_keys=['store', 'sku'],
--   copy_options=['CSV', 'IGNOREHEADER 1']): CREATE TABLE #stock (LIKE analytics.stock INCLUDING
--   DEFAULTS), COPY #stock, DELETE … USING #stock WHERE stock.store = #stock.store AND stock.sku =
--   #stock.sku, INSERT … SELECT * FROM #stock — rendered by hand for two runs (each run is a new
--   session on Airflow; here the second run drops the first run's #stock first).
-- data: gen.py airflow/stock/run1.csv, run2.csv
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE TABLE analytics.stock (store VARCHAR(10), sku VARCHAR(10), qty INT, note VARCHAR(40) DEFAULT 'none');
INSERT INTO analytics.stock VALUES ('s1', 'a', 1, 'before'), ('s9', 'z', 9, 'untouched');
CREATE TABLE #stock (LIKE analytics.stock INCLUDING DEFAULTS);

                    COPY #stock
                    FROM 's3://lode-conformance/airflow/stock/run1.csv'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                    CSV
			IGNOREHEADER 1;
BEGIN;
DELETE FROM analytics.stock USING #stock WHERE stock.store = #stock.store AND stock.sku = #stock.sku;
INSERT INTO analytics.stock SELECT * FROM #stock;
COMMIT;
DROP TABLE #stock;
CREATE TABLE #stock (LIKE analytics.stock INCLUDING DEFAULTS);

                    COPY #stock
                    FROM 's3://lode-conformance/airflow/stock/run2.csv'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                    CSV
			IGNOREHEADER 1;
BEGIN;
DELETE FROM analytics.stock USING #stock WHERE stock.store = #stock.store AND stock.sku = #stock.sku;
INSERT INTO analytics.stock SELECT * FROM #stock;
COMMIT;
