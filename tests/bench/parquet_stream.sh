#!/usr/bin/env bash
# Bounded memory: a large Parquet file (2 GiB by default; PQ_STREAM_MB sets
# the size in MiB) written by DuckDB streams through
#   lode parquet cat --format text FILE | psql -c "\copy t FROM STDIN"
# into PostgreSQL; prints lode's peak RSS (from /usr/bin/time), the rows
# loaded and the time, and the same load by DuckDB's CSV -> psql for the
# ratio line. Needs LODE_TEST_PG_URL (tests/run.sh, or `lode dev up`); also
# run by tests/lua/parquet_read/stream_test.lua with a small size.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
LODE=${LODE_BIN:-$ROOT/$BUILD/lode}
MB=${PQ_STREAM_MB:-2048}
TOOL=$ROOT/tests/tools/parquet_diff.js
PG=${LODE_TEST_PG_URL:-${LODE_WAREHOUSE:-}}
if [ -z "$PG" ]; then
  echo "parquet_stream: skipped (no LODE_TEST_PG_URL: run through tests/run.sh or lode dev up)"
  exit 0
fi
if ! (cd "$ROOT/tests" && node -e "require('@duckdb/node-api')" 2>/dev/null); then
  echo "parquet_stream: skipped (node with @duckdb/node-api not installed in tests/)"
  exit 0
fi
DIR=$(mktemp -d)
TABLE=lode_pq_stream_$$
export PGOPTIONS="--client-min-messages=warning"
trap 'rm -rf "$DIR"; psql -q "$PG" -c "DROP TABLE IF EXISTS $TABLE" >/dev/null 2>&1 || true' EXIT
now() { date +%s.%N; }

# Incompressible-ish rows (md5 text, random doubles, timestamps, decimals);
# the row count comes from a 200,000-row sample's bytes per row.
SELECT="SELECT i AS id, md5(i::VARCHAR) AS h, random() AS r, (i % 100000 / 100.0)::DECIMAL(10,2) AS price,
  TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts, CASE WHEN i % 9 = 0 THEN NULL ELSE 'note ' || (i * 7919) END AS note"
(cd "$ROOT/tests" && node "$TOOL" sql \
  "COPY ($SELECT FROM range(200000) t(i)) TO '$DIR/sample.parquet' (FORMAT parquet, COMPRESSION snappy)" >/dev/null)
per_row=$(( $(stat -c %s "$DIR/sample.parquet") / 200000 ))
ROWS=$(( MB * 1048576 / per_row ))
(cd "$ROOT/tests" && node "$TOOL" sql "SET threads = 1" \
  "COPY ($SELECT FROM range($ROWS) t(i)) TO '$DIR/big.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 500000)" >/dev/null)
rm -f "$DIR/sample.parquet"

create="CREATE TABLE $TABLE (id bigint, h text, r double precision, price numeric(10,2), ts timestamp, note text)"
psql -q -v ON_ERROR_STOP=1 "$PG" -c "DROP TABLE IF EXISTS $TABLE" -c "$create" >/dev/null
s=$(now)
/usr/bin/time -o "$DIR/time.txt" -f "%M" "$LODE" parquet cat --format text "$DIR/big.parquet" \
  | psql -q -v ON_ERROR_STOP=1 "$PG" -c "\\copy $TABLE FROM STDIN" >/dev/null
tl=$(echo "$(now) - $s" | bc)
rss_kib=$(tail -1 "$DIR/time.txt")
loaded=$(psql -qtA "$PG" -c "SELECT count(*) FROM $TABLE")
check=$(psql -qtA "$PG" -c "SELECT sum(id) = $ROWS::numeric * ($ROWS - 1) / 2 AND count(note) = $ROWS - ($ROWS + 8) / 9 FROM $TABLE")

# the peer: DuckDB writes CSV (one thread), psql loads it
psql -q "$PG" -c "TRUNCATE $TABLE" >/dev/null
s=$(now)
(cd "$ROOT/tests" && node "$TOOL" sql "SET threads = 1" "COPY (FROM '$DIR/big.parquet') TO '$DIR/big.csv' (HEADER false)" >/dev/null)
psql -q -v ON_ERROR_STOP=1 "$PG" -c "\\copy $TABLE FROM '$DIR/big.csv' WITH (FORMAT csv)" >/dev/null
td=$(echo "$(now) - $s" | bc)

echo "parquet_stream file MiB: $(( $(stat -c %s "$DIR/big.parquet") / 1048576 ))"
echo "parquet_stream rows: $ROWS"
echo "parquet_stream rows loaded: $loaded"
echo "parquet_stream content ok: $check"
echo "parquet_stream lode peak RSS MiB: $(( rss_kib / 1024 ))"
echo "parquet_stream lode | psql s: $tl"
echo "parquet_stream duckdb csv + psql s: $td"
echo "ratio: $(echo "scale=2; $td / $tl" | bc)"
