-- source: apache/airflow, providers/amazon/aws/transfers/s3_to_redshift.py (S3ToRedshiftOperator,
--   method='APPEND', copy_options=['csv']): _build_copy_query rendered by hand for
--   schema='public', table='fruit', s3_key='airflow/fruit/day1.csv', run twice (a re-run
--   appends again on Redshift: no ledger).
-- data: gen.py airflow/fruit/day1.csv
CREATE TABLE public.fruit (id INT, name VARCHAR(20), qty INT);

                COPY public.fruit
                FROM 's3://lode-conformance/airflow/fruit/day1.csv'
                credentials
                'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                csv;

                COPY public.fruit
                FROM 's3://lode-conformance/airflow/fruit/day1.csv'
                credentials
                'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                csv;
