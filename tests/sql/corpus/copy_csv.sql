-- COPY variants from S3: CSV with a header and quotes, pipe-delimited text
-- with NULL AS, gzip, explicit columns, a manifest with an optional missing file.
CREATE TABLE orders (id INT, customer VARCHAR(32), amount DECIMAL(10,2), ordered_on DATE) DISTSTYLE EVEN;

COPY orders FROM 's3://sqlcorpus/csv/orders.csv'
IAM_ROLE 'arn:aws:iam::123456789012:role/R' FORMAT AS CSV IGNOREHEADER 1;

COPY orders (id, customer, amount, ordered_on) FROM 's3://sqlcorpus/text/orders.txt'
CREDENTIALS 'aws_access_key_id=AKIAEXAMPLE;aws_secret_access_key=SECRETEXAMPLE'
DELIMITER '|' NULL AS 'NULL' DATEFORMAT 'YYYY-MM-DD';

COPY orders FROM 's3://sqlcorpus/gz/' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV GZIP;

COPY orders FROM 's3://sqlcorpus/manifests/orders.manifest'
IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV MANIFEST;

-- expect: SELECT count(*) FROM orders => 9
-- expect: SELECT customer FROM orders WHERE id = 2 => Smith, "Jo"
-- expect: SELECT count(*) FROM orders WHERE customer IS NULL => 1
-- expect: SELECT sum(amount) FROM orders WHERE id >= 20 => 30.00
