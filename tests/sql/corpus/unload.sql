-- UNLOAD a query to S3 as CSV, then COPY it back.
CREATE TABLE src (id INT, note VARCHAR(20));
INSERT INTO src VALUES (1, 'one'), (2, 'two, with comma'), (3, NULL);
UNLOAD ('SELECT id, note FROM src WHERE id <= 3 ORDER BY id') TO 's3://sqlcorpus/unload/src_'
IAM_ROLE 'arn:aws:iam::123456789012:role/R' FORMAT AS CSV NULL AS '\\N' PARALLEL OFF;
CREATE TABLE back (id INT, note VARCHAR(20));
COPY back FROM 's3://sqlcorpus/unload/src_' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV NULL AS '\\N';

-- expect: SELECT count(*) FROM back => 3
-- expect: SELECT note FROM back WHERE id = 2 => two, with comma
-- expect: SELECT count(*) FROM back WHERE note IS NULL => 1
