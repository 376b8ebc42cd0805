#!/usr/bin/env bash
# Parquet footers: metadata of 1,000 local files (DuckDB-written, 24 columns,
# 4 row groups each), lode.parquet vs DuckDB parquet_metadata() over the same
# files. Both are timed inside their process (no start-up cost).
set -euo pipefail
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
N=${PARQUET_META_FILES:-1000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/lode-bench-pqmeta-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cols=""
for c in $(seq 1 8); do
  cols="$cols, i * $c AS i$c, 'v' || (i * $c) AS s$c, (i / $c)::DOUBLE AS d$c"
done
node tests/tools/duckdb.js "COPY (SELECT i $cols FROM range(8192) t(i)) TO '$dir/base.parquet' (ROW_GROUP_SIZE 2048)" >/dev/null
for i in $(seq -w 1 "$N"); do cp "$dir/base.parquet" "$dir/part-$i.parquet"; done
rm "$dir/base.parquet"
read -r lode_ms files chunks rss < <("$L" run tests/bench/parquet_meta.lua --param "dir=$dir")
read -r duck_ms duck_rows < <(node tests/tools/duckdb_time.js "SELECT * FROM parquet_metadata('$dir/*.parquet')")
awk -v f="$files" -v c="$chunks" -v l="$lode_ms" -v d="$duck_ms" -v dr="$duck_rows" -v r="$rss" 'BEGIN {
  printf "parquet_meta.files: %d\n", f
  printf "parquet_meta.column_chunks: %d (duckdb rows %d)\n", c, dr
  printf "parquet_meta.lode_ms: %.1f\n", l
  printf "parquet_meta.duckdb_ms: %.1f\n", d
  printf "parquet_meta.lode_files_per_s: %.0f\n", f / (l / 1000)
  printf "parquet_meta.lode_peak_rss_kib: %d\n", r
  printf "ratio: duckdb/lode time %.2f (goal >= 1.0)\n", d / l
}'
