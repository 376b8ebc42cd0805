-- source: apache/airflow, providers/amazon/aws/transfers/s3_to_redshift.py (S3ToRedshiftOperator,
--   method='REPLACE': ["BEGIN;", "DELETE FROM {destination};", copy_statement, "COMMIT"]),
--   rendered by hand for day1 then day2 (the table holds day2 only).
-- data: gen.py airflow/fruit/day1.csv, day2.csv
CREATE TABLE public.fruit (id INT, name VARCHAR(20), qty INT);
BEGIN;
DELETE FROM public.fruit;

                COPY public.fruit
                FROM 's3://lode-conformance/airflow/fruit/day1.csv'
                credentials
                'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                csv;
COMMIT;
BEGIN;
DELETE FROM public.fruit;

                COPY public.fruit
                FROM 's3://lode-conformance/airflow/fruit/day2.csv'
                credentials
                'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                csv;
COMMIT;
