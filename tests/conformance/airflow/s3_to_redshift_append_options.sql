-- source: apache/airflow, providers/amazon/aws/transfers/s3_to_redshift.py (S3ToRedshiftOperator,
--   method='APPEND', schema='analytics', table='events', column_list=['id', 'kind', 'at'],
--   copy_options=['CSV', 'IGNOREHEADER 1', "TIMEFORMAT 'auto'", 'GZIP'], an aws connection whose
--   extras hold role_arn and region): _build_copy_query rendered by hand (credentials
--   'aws_iam_role=…', region '…', the options joined by newline-tabs), run for two daily files.
-- data: gen.py airflow/events/day1.csv.gz, day2.csv.gz (a header line, a quoted comma, timestamps
--   with and without a fraction and with a 'T')
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE TABLE analytics.events (id INT, kind VARCHAR(30), at TIMESTAMP, loaded_by VARCHAR(10) DEFAULT 'airflow');

                    COPY analytics.events (id, kind, at)
                    FROM 's3://lode-conformance/airflow/events/day1.csv.gz'
                    credentials
                    'aws_iam_role=arn:aws:iam::123456789012:role/AirflowRedshift'
                    region 'us-east-1'
                    CSV
			IGNOREHEADER 1
			TIMEFORMAT 'auto'
			GZIP;

                    COPY analytics.events (id, kind, at)
                    FROM 's3://lode-conformance/airflow/events/day2.csv.gz'
                    credentials
                    'aws_iam_role=arn:aws:iam::123456789012:role/AirflowRedshift'
                    region 'us-east-1'
                    CSV
			IGNOREHEADER 1
			TIMEFORMAT 'auto'
			GZIP;
