-- source: apache/airflow, providers/amazon/aws/transfers/s3_to_redshift.py (S3ToRedshiftOperator,
--   method='UPSERT', upsert_keys=['id']): CREATE TABLE #fruit (LIKE … INCLUDING DEFAULTS), the
--   COPY into #fruit, DELETE … USING #fruit WHERE fruit.id = #fruit.id, INSERT … SELECT *,
--   rendered by hand for day1 into an empty table, then day2 (an update and an insert).
-- data: gen.py airflow/fruit/day1.csv, day2.csv
CREATE TABLE public.fruit (id INT, name VARCHAR(20), qty INT);
CREATE TABLE #fruit (LIKE public.fruit INCLUDING DEFAULTS);

                COPY #fruit
                FROM 's3://lode-conformance/airflow/fruit/day1.csv'
                credentials
                'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                csv;
BEGIN;
DELETE FROM public.fruit USING #fruit WHERE fruit.id = #fruit.id;
INSERT INTO public.fruit SELECT * FROM #fruit;
COMMIT;
DROP TABLE #fruit;
CREATE TABLE #fruit (LIKE public.fruit INCLUDING DEFAULTS);

                COPY #fruit
                FROM 's3://lode-conformance/airflow/fruit/day2.csv'
                credentials
                'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                csv;
BEGIN;
DELETE FROM public.fruit USING #fruit WHERE fruit.id = #fruit.id;
INSERT INTO public.fruit SELECT * FROM #fruit;
COMMIT;
