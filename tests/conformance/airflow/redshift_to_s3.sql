-- source: apache/airflow, providers/amazon/aws/transfers/redshift_to_s3.py (RedshiftToS3Operator,
--   unload_options=['CSV', 'HEADER', 'PARALLEL OFF'], table_as_file_name=True):
--   _build_unload_query rendered by hand, then the file loaded back by S3ToRedshiftOperator's COPY.
-- data: gen.py airflow/fruit/day1.csv
CREATE TABLE public.fruit (id INT, name VARCHAR(20), qty INT);
COPY public.fruit FROM 's3://lode-conformance/airflow/fruit/day1.csv'
credentials 'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
csv;

                    UNLOAD ($$SELECT * FROM public.fruit$$)
                    TO 's3://lode-conformance/airflow/unload/fruit_'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
                    CSV
HEADER
PARALLEL OFF;

CREATE TABLE fruit_copy (LIKE public.fruit);
COPY fruit_copy FROM 's3://lode-conformance/airflow/unload/fruit_000'
credentials 'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
csv ignoreheader 1;
