#!/usr/bin/env bash
# Parquet -> CSV text on one core: `lode parquet cat --format csv` vs DuckDB
# (SET threads = 1; COPY (FROM 'f.parquet') TO 'out.csv'), on a wide table of
# mixed types written by DuckDB with SNAPPY and with ZSTD.
# PQ_BENCH_ROWS sets the size (default 10000000), PQ_BENCH_RUNS the runs
# (best of 3). Prints name: value lines, the CPU-time ratio (robust on a
# busy machine) and ratio: (DuckDB wall seconds / lode wall seconds; >= 1.0
# means lode is as fast).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
LODE=$ROOT/$BUILD/lode
ROWS=${PQ_BENCH_ROWS:-10000000}
TOOL=$ROOT/tests/tools/parquet_diff.js
if ! (cd "$ROOT/tests" && node -e "require('@duckdb/node-api')" 2>/dev/null); then
  echo "parquet_read: skipped (node with @duckdb/node-api not installed in tests/)"
  exit 0
fi
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
SELECT="SELECT i AS id, i % 1000 AS small, (i * 2654435761) % 4294967296 AS big, i / 7.0 AS dbl,
  (i % 10000 / 100.0)::DECIMAL(10,2) AS price, 'customer_' || (i % 50000) AS name,
  DATE '2020-01-01' + (i % 1000)::INTEGER AS day, TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts,
  i % 3 = 0 AS flag, CASE WHEN i % 10 = 0 THEN NULL ELSE 'note ' || i END AS note
  FROM range($ROWS) t(i)"
now() { date +%s.%N; }
RUNS=${PQ_BENCH_RUNS:-3}
# best wall-clock seconds of $RUNS runs of "$@" (the machine is shared: the
# best run is the one least disturbed by others)
best() {
  local b="" s t
  for _ in $(seq "$RUNS"); do
    s=$(now); "$@" >/dev/null; t=$(echo "$(now) - $s" | bc)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}
lode_cat() { taskset -c 0 "$LODE" parquet cat --format csv "$1" > "$DIR/lode.csv"; }
duck_copy() { (cd "$ROOT/tests" && taskset -c 0 node "$TOOL" sql "SET threads = 1" "COPY (FROM '$1') TO '$DIR/duck.csv'"); }
duck_start() { (cd "$ROOT/tests" && taskset -c 0 node "$TOOL" sql "SET threads = 1"); }
(cd "$ROOT/tests" && node "$TOOL" sql "CREATE TABLE t AS $SELECT" \
  "COPY t TO '$DIR/snappy.parquet' (FORMAT parquet, COMPRESSION snappy)" \
  "COPY t TO '$DIR/zstd.parquet' (FORMAT parquet, COMPRESSION zstd)" >/dev/null)
echo "parquet_read rows: $ROWS (10 columns, mixed types; best of $RUNS runs)"
total_l=0; total_d=0; cpu_l=0; cpu_d=0
for codec in snappy zstd; do
  f=$DIR/$codec.parquet
  tl=$(best lode_cat "$f")
  cpu=$( { /usr/bin/time -f "%U %S %M" taskset -c 0 "$LODE" parquet cat --format csv "$f" > /dev/null; } 2>&1 | tail -1)
  # includes node's start-up (~0.3 s), measured the same way and subtracted
  t0=$(best duck_start)
  td=$(echo "$(best duck_copy "$f") - $t0" | bc)
  echo "parquet_read $codec file MiB: $(( $(stat -c %s "$f") / 1048576 ))"
  echo "parquet_read $codec lode s: $tl (cpu $(echo "$cpu" | awk '{print $1 + $2}') s, peak RSS $(echo "$cpu" | awk '{print $3}') KiB)"
  # CPU seconds (user + sys) tell the same story when the machine is busy
  cl=$(echo "$cpu" | awk '{print $1 + $2}')
  TIMEFORMAT='%U %S'
  c0=$( { time duck_start >/dev/null 2>&1; } 2>&1 | tail -1 | awk '{print $1 + $2}')
  cd_=$( { time duck_copy "$f" >/dev/null 2>&1; } 2>&1 | tail -1 | awk -v z="$c0" '{print $1 + $2 - z}')
  echo "parquet_read $codec duckdb s: $td (cpu $cd_ s)"
  total_l=$(echo "$total_l + $tl" | bc); total_d=$(echo "$total_d + $td" | bc)
  cpu_l=$(echo "$cpu_l + $cl" | bc); cpu_d=$(echo "$cpu_d + $cd_" | bc)
done
echo "parquet_read cpu ratio: $(echo "scale=2; $cpu_d / $cpu_l" | bc)"
echo "ratio: $(echo "scale=2; $total_d / $total_l" | bc)"
