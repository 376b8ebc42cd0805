-- source: apache/airflow, providers/amazon/aws/transfers/s3_to_redshift.py (S3ToRedshiftOperator,
--   method='REPLACE': ["BEGIN;", "DELETE FROM {destination};", copy_statement, "COMMIT"],
--   copy_options=["FORMAT AS JSON 'auto'", "TIMEFORMAT 'auto'"], s3_key a prefix),
--   rendered by hand for the snapshot of day1 then of day2 (the table holds day2's only).
-- data: gen.py airflow/accounts/day1/*.json, airflow/accounts/day2/*.json (JSON lines, keys in
--   another order than the columns, one key absent, one extra key)
CREATE TABLE public.accounts (id BIGINT, owner VARCHAR(40), balance NUMERIC(12,2), active BOOLEAN, updated TIMESTAMP);
BEGIN;
DELETE FROM public.accounts;

                    COPY public.accounts
                    FROM 's3://lode-conformance/airflow/accounts/day1/'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                    FORMAT AS JSON 'auto'
			TIMEFORMAT 'auto';
COMMIT;
BEGIN;
DELETE FROM public.accounts;

                    COPY public.accounts
                    FROM 's3://lode-conformance/airflow/accounts/day2/'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'

                    FORMAT AS JSON 'auto'
			TIMEFORMAT 'auto';
COMMIT;
