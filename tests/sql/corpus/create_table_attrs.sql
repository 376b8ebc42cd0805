-- Redshift table attributes PostgreSQL lacks: dropped, the rest kept.
CREATE TABLE IF NOT EXISTS attrs (
  id BIGINT IDENTITY(100, 5) ENCODE az64,
  name VARCHAR(MAX) ENCODE zstd,
  payload SUPER,
  flag BOOLEAN DEFAULT FALSE ENCODE raw,
  created TIMESTAMP DEFAULT SYSDATE
) BACKUP NO DISTSTYLE ALL INTERLEAVED SORTKEY (name, created);

CREATE TEMP TABLE #t (LIKE attrs INCLUDING DEFAULTS);
INSERT INTO #t (name, payload) VALUES ('a', JSON_PARSE('{"k": 1}'));
INSERT INTO attrs (name, payload) SELECT name, payload FROM #t;
INSERT INTO attrs (name) VALUES ('b');

-- expect: SELECT min(id) FROM attrs => 100
-- expect: SELECT max(id) FROM attrs => 105
-- expect: SELECT payload->>'k' FROM attrs WHERE name = 'a' => 1
-- expect: SELECT count(*) FROM attrs WHERE flag = FALSE AND created IS NOT NULL => 2
