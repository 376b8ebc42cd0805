-- Parquet COPY maps columns by position, from a prefix of several files.
CREATE TABLE events (event_id BIGINT, kind VARCHAR(16), value DOUBLE PRECISION, at TIMESTAMP)
  DISTKEY (event_id) COMPOUND SORTKEY (at, event_id);

COPY events FROM 's3://sqlcorpus/parquet/events/'
IAM_ROLE 'arn:aws:iam::123456789012:role/R' FORMAT AS PARQUET;

-- expect: SELECT count(*) FROM events => 200
-- expect: SELECT count(DISTINCT kind) FROM events => 4
-- expect: SELECT max(event_id) FROM events => 200
