-- source: apache/airflow, providers/amazon/aws/transfers/redshift_to_s3.py (RedshiftToS3Operator,
--   select_query with a quoted literal, s3_key='airflow/export/active', table_as_file_name=False,
--   include_header=True, unload_options=['ALLOWOVERWRITE', 'PARALLEL OFF', 'ESCAPE']):
--   _build_unload_query rendered by hand ($$-quoted query, credentials block, the options
--   joined by newline-tabs, HEADER appended by include_header), run twice (the second run
--   overwrites the first's file: ALLOWOVERWRITE), then the file loaded back with COPY …
--   IGNOREHEADER 1 ESCAPE (Redshift's default pipe-delimited text).
CREATE TABLE public.members (id INT, name VARCHAR(40), status VARCHAR(10));
INSERT INTO public.members VALUES (1, 'pipe | name', 'active'), (2, 'back\\slash', 'active'),
  (3, 'gone', 'closed'), (4, 'line
break', 'active'), (5, NULL, 'active');

                    UNLOAD ($$SELECT id, name FROM public.members WHERE status = 'active'$$)
                    TO 's3://lode-conformance/airflow/export/active'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
                    ALLOWOVERWRITE
			PARALLEL OFF
			ESCAPE
			HEADER;

UPDATE public.members SET status = 'closed' WHERE id = 1;

                    UNLOAD ($$SELECT id, name FROM public.members WHERE status = 'active'$$)
                    TO 's3://lode-conformance/airflow/export/active'
                    credentials
                    'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
                    ALLOWOVERWRITE
			PARALLEL OFF
			ESCAPE
			HEADER;

CREATE TABLE active_back (id INT, name VARCHAR(40));
COPY active_back FROM 's3://lode-conformance/airflow/export/active000'
credentials 'aws_access_key_id=AKIAIOSFODNN7EXAMPLE;aws_secret_access_key=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'
IGNOREHEADER 1 ESCAPE;
