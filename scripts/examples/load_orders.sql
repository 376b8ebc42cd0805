-- Plain Redshift SQL, run unchanged by `lode sql` (emulated on PostgreSQL,
-- native on Redshift): stage the day's CSV orders, upsert them, and expose
-- the partitioned sales history as an external table.

CREATE TABLE IF NOT EXISTS orders (
  order_id   BIGINT NOT NULL ENCODE az64,
  customer   VARCHAR(64) ENCODE lzo,
  amount     DECIMAL(10,2),
  ordered_on DATE,
  loaded_at  TIMESTAMP DEFAULT GETDATE()
) DISTKEY (customer) SORTKEY (ordered_on);

CREATE TEMP TABLE #orders_stage (LIKE orders INCLUDING DEFAULTS);

COPY #orders_stage (order_id, customer, amount, ordered_on)
FROM 's3://lake/raw/orders/'
IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftLoad'
FORMAT AS CSV IGNOREHEADER 1 GZIP DATEFORMAT 'auto' COMPUPDATE OFF STATUPDATE OFF;

BEGIN;
DELETE FROM orders USING #orders_stage WHERE orders.order_id = #orders_stage.order_id;
INSERT INTO orders (order_id, customer, amount, ordered_on)
  SELECT order_id, customer, amount, ordered_on FROM #orders_stage;
COMMIT;

CREATE EXTERNAL SCHEMA IF NOT EXISTS spectrum_sql
FROM DATA CATALOG DATABASE 'lake_db' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftLoad'
CREATE EXTERNAL DATABASE IF NOT EXISTS;

CREATE EXTERNAL TABLE spectrum_sql.sales (
  sale_id BIGINT, customer_id INT, amount DECIMAL(10,2), sold_at TIMESTAMP
)
PARTITIONED BY (year INT, month VARCHAR(2))
STORED AS PARQUET
LOCATION 's3://lake/silver/sales/';

ALTER TABLE spectrum_sql.sales ADD IF NOT EXISTS
  PARTITION (year=2024, month='11') LOCATION 's3://lake/silver/sales/year=2024/month=11/'
  PARTITION (year=2024, month='12') LOCATION 's3://lake/silver/sales/year=2024/month=12/';

SELECT ordered_on, count(*) AS orders, sum(amount) AS total FROM orders GROUP BY 1 ORDER BY 1;

SELECT month, count(*) AS sales, sum(amount) AS total
FROM spectrum_sql.sales WHERE year = 2024 AND month = '12' GROUP BY 1;
