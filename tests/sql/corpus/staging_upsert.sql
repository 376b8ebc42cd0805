-- staging and upsert in plain Redshift SQL
CREATE TABLE IF NOT EXISTS sales_fact (
  sale_id BIGINT IDENTITY(1,1) ENCODE az64, customer_id INT DISTKEY, amount NUMERIC(12,2), note VARCHAR(MAX)
) DISTSTYLE KEY SORTKEY (customer_id);
CREATE TEMP TABLE #stage (LIKE sales_fact INCLUDING DEFAULTS);
INSERT INTO #stage (customer_id, amount, note) VALUES (1, 10.5, 'a;b'), (2, 20, 'it''s');
BEGIN;
DELETE FROM sales_fact USING #stage WHERE sales_fact.customer_id = #stage.customer_id;
INSERT INTO sales_fact (customer_id, amount, note) SELECT customer_id, amount, note FROM #stage;
COMMIT;
SELECT customer_id, amount, note FROM sales_fact ORDER BY 1;
-- expect: SELECT count(*) FROM sales_fact => 2
-- expect: SELECT note FROM sales_fact WHERE customer_id = 2 => it's
