-- Spectrum DDL: an external schema and a partitioned table, partitions added
-- and dropped by hand, queried live from S3, then dropped.
CREATE EXTERNAL SCHEMA IF NOT EXISTS corpus_ext
FROM DATA CATALOG DATABASE 'corpus_db' IAM_ROLE 'arn:aws:iam::123456789012:role/R'
CREATE EXTERNAL DATABASE IF NOT EXISTS;

CREATE EXTERNAL TABLE corpus_ext.events (event_id BIGINT, kind VARCHAR(16), value DOUBLE PRECISION, at TIMESTAMP)
PARTITIONED BY (day VARCHAR(10))
STORED AS PARQUET
LOCATION 's3://sqlcorpus/lake/events/';

ALTER TABLE corpus_ext.events ADD IF NOT EXISTS
  PARTITION (day='2024-01-01') LOCATION 's3://sqlcorpus/lake/events/day=2024-01-01/'
  PARTITION (day='2024-01-02') LOCATION 's3://sqlcorpus/lake/events/day=2024-01-02/';

ALTER TABLE corpus_ext.events ADD IF NOT EXISTS
  PARTITION (day='2024-01-01') LOCATION 's3://sqlcorpus/lake/events/day=2024-01-01/';

CREATE TABLE day_counts AS SELECT day, count(*) AS n FROM corpus_ext.events GROUP BY day;

ALTER TABLE corpus_ext.events DROP PARTITION (day='2024-01-02');

CREATE TABLE after_drop AS SELECT count(*) AS n FROM corpus_ext.events;

DROP EXTERNAL TABLE corpus_ext.events;

-- expect: SELECT count(*) FROM day_counts => 2
-- expect: SELECT n FROM day_counts WHERE day = '2024-01-02' => 100
-- expect: SELECT n FROM after_drop => 100
-- expect: SELECT count(*) FROM lode.spectrum_partitions WHERE schema_name = 'corpus_ext' => 0
