#!/usr/bin/env bash
# COPY: a 12-column sales table (COPY_BENCH_ROWS rows, default 3 M) loaded
# into PostgreSQL four ways, each into a freshly truncated unlogged table:
#   lode  copy.into(format = "parquet") from s3rver (Parquet files written by DuckDB)
#   psql  \copy FROM a local CSV file, and \copy FROM a local binary COPY file
#   lode  copy.into(format = "csv") from s3rver, vs aws s3 cp … - | psql \copy FROM STDIN CSV
#   lode  copy.into(format = "parquet", streams = 2) vs streams = 1
#   the server's CPU per row for each step of an atomic multi-stream load, and
#   psql \copy binary in 2 concurrent sessions (the ceiling of streams)
# Goals: Parquet ≥ 1.5× psql's CSV rate and ≥ 0.9× psql's binary rate (the
# server's ingest limit); CSV from S3 ≥ 1.5× the aws | psql pipe (#21).
set -euo pipefail
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
N=${COPY_BENCH_ROWS:-3000000}   # the issue's 10 M: COPY_BENCH_ROWS=10000000 (about 9 minutes here)
FILES=${COPY_BENCH_FILES:-8}
REPEAT=${COPY_BENCH_REPEAT:-3}   # best of 3: the server's own times swing by 50% between runs
: "${LODE_WAREHOUSE:?the benchmark needs PostgreSQL (tests/bench/run.sh starts it)}"
: "${AWS_ENDPOINT_URL:?the benchmark needs s3rver (tests/bench/run.sh starts it)}"
dir=$(mktemp -d "${TMPDIR:-/tmp}/lode-bench-copy-XXXXXX")
chmod 755 "$dir"
bucket=lode-bench-copy-$$
trap 'rm -rf "$dir"; aws s3 rb "s3://$bucket" --force >/dev/null 2>&1 || true; psql "$LODE_WAREHOUSE" -qXc "drop table if exists bench_sales" >/dev/null 2>&1 || true' EXIT

psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
set client_min_messages = warning;
drop table if exists bench_sales;
create unlogged table bench_sales (sale_id bigint, order_id bigint, customer_id integer, product_id integer,
  store_id integer, quantity integer, unit_price numeric(10,2), discount numeric(4,2), amount numeric(12,2),
  sold_at timestamp, sale_date date, channel text);
SQL

# DuckDB writes the Parquet files (one per slice of ids) and the CSV file
per=$(( (N + FILES - 1) / FILES ))
gen="SELECT i::BIGINT AS sale_id, (i // 3)::BIGINT AS order_id, (i * 7919 % 1000003)::INTEGER AS customer_id,
  (i % 5000)::INTEGER AS product_id, (i % 300)::INTEGER AS store_id, (1 + i % 9)::INTEGER AS quantity,
  ((i % 10000) / 100.0)::DECIMAL(10,2) AS unit_price, ((i % 30) / 100.0)::DECIMAL(4,2) AS discount,
  ((i % 1000000) / 10.0)::DECIMAL(12,2) AS amount, TIMESTAMP '2024-01-01' + to_seconds(i) AS sold_at,
  (DATE '2024-01-01' + (i % 366)::INTEGER) AS sale_date, ['web', 'store', 'phone', 'partner'][1 + i % 4] AS channel
  FROM range(LO, HI) t(i)"
stmts=()
mkdir -p "$dir/pq"
for f in $(seq 0 $((FILES - 1))); do
  lo=$((f * per)); hi=$(( (f + 1) * per < N ? (f + 1) * per : N ))
  stmts+=("COPY (${gen//LO/$lo}) TO '$dir/pq/part-$(printf %03d "$f").parquet' (FORMAT parquet, COMPRESSION snappy)")
  stmts[-1]=${stmts[-1]//HI/$hi}
done
allgen=${gen//LO/0}
stmts+=("COPY (${allgen//HI/$N}) TO '$dir/sales.csv' (FORMAT csv, HEADER false)")
(cd tests && node tools/parquet_diff.js sql "SET threads = 2" "${stmts[@]}" >/dev/null)
aws s3 mb "s3://$bucket" >/dev/null
aws s3 cp --recursive --quiet "$dir/pq/" "s3://$bucket/pq/"
aws s3 cp --quiet "$dir/sales.csv" "s3://$bucket/csv/sales.csv"

now_ms() { date +%s%3N; }
truncate_table() { psql "$LODE_WAREHOUSE" -qX -c "truncate bench_sales" >/dev/null; }
check_rows() {
  local n
  n=$(psql "$LODE_WAREHOUSE" -qXAt -c "select count(*) from bench_sales")
  [ "$n" = "$N" ] || { echo "copy bench: $1 loaded $n rows, expected $N" >&2; exit 1; }
}
best() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN { exit !(a < b) }'; then echo "$2"; else echo "$1"; fi; }
lode_load() {   # format from [streams]
  "$L" run tests/bench/copy.lua --param table=bench_sales --param "format=$1" --param "from=$2" \
    ${3:+--param "streams=$3"} >"$dir/out"
  local rows rss
  read -r ms rows rss cpu srv <"$dir/out"
  [ "$rows" = "$N" ] || { echo "copy bench: lode reported $rows rows" >&2; exit 1; }
  if [ "${3:-1}" != 1 ]; then
    pq2_cpu=$(best "$pq2_cpu" "$cpu")
  elif [ "$1" = parquet ]; then
    [ "$rss" -gt "$pq_rss" ] && pq_rss=$rss
    pq_cpu=$(best "$pq_cpu" "$cpu")
    if [ -z "$pq_worst" ] || awk -v a="$ms" -v b="$pq_worst" 'BEGIN { exit !(a > b) }'; then pq_worst=$ms; fi
  else
    [ "$rss" -gt "$csv_rss" ] && csv_rss=$rss
    csv_cpu=$(best "$csv_cpu" "$cpu")
    csv_srv=$(best "$csv_srv" "$srv")
  fi
  return 0
}

# the binary file psql loads: written by psql from the CSV load
truncate_table
t0=$(now_ms)
psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales from '$dir/sales.csv' csv" >/dev/null
psql_csv=$(( $(now_ms) - t0 ))
check_rows "psql csv"
psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales to '$dir/sales.bin' (format binary)" >/dev/null
psql_bin="" lode_pq="" lode_pq2="" pq2_cpu="" lode_csv="" pipe="" pq_rss=0 csv_rss=0 pq_cpu="" pq_worst="" csv_cpu="" csv_srv=""
for round in $(seq 1 "$REPEAT"); do
  if [ "$round" -gt 1 ]; then
    truncate_table; t0=$(now_ms)
    psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales from '$dir/sales.csv' csv" >/dev/null
    psql_csv=$(best "$psql_csv" $(( $(now_ms) - t0 ))); check_rows "psql csv"
  fi
  truncate_table; t0=$(now_ms)
  psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales from '$dir/sales.bin' (format binary)" >/dev/null
  psql_bin=$(best "$psql_bin" $(( $(now_ms) - t0 ))); check_rows "psql binary"
  truncate_table; lode_load parquet "s3://$bucket/pq/" 1; lode_pq=$(best "$lode_pq" "$ms"); check_rows "lode parquet"
  truncate_table; lode_load parquet "s3://$bucket/pq/" 2; lode_pq2=$(best "$lode_pq2" "$ms"); check_rows "lode parquet, 2 streams"
  truncate_table; lode_load csv "s3://$bucket/csv/"; lode_csv=$(best "$lode_csv" "$ms"); check_rows "lode csv"
  truncate_table; t0=$(now_ms)
  aws s3 cp --quiet "s3://$bucket/csv/sales.csv" - | psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales from stdin csv" >/dev/null
  pipe=$(best "$pipe" $(( $(now_ms) - t0 ))); check_rows "aws | psql"
done
# The ceiling of parallel streams that stay all-or-nothing (copy.into's
# streams, docs/architecture.md): the CPU per row of the server backend for
# each step, from /proc/<backend>/stat around the statement in one psql
# session: (a) binary COPY into the target, (b) into an UNLOGGED stage, (c)
# INSERT INTO target SELECT FROM stage, into the bench table (unlogged) and
# into a logged copy of it; and, as the physical ceiling, two psql sessions
# each COPYing half into the target at once (not atomic).
backend_cpu() {   # sql: prints the backend's CPU seconds for it
  psql "$LODE_WAREHOUSE" -qXAt -v ON_ERROR_STOP=1 <<SQL | awk '$1 == "T" { t[++n] = $2 } END { printf "%.2f\n", (t[2] - t[1]) / 100 }'
select pg_backend_pid() as pid \gset
\setenv LODE_BENCH_PID :pid
\! awk '{ print "T", \$14 + \$15 }' /proc/\$LODE_BENCH_PID/stat
$1
\! awk '{ print "T", \$14 + \$15 }' /proc/\$LODE_BENCH_PID/stat
SQL
}
psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
set client_min_messages = warning;
drop table if exists bench_stage, bench_logged;
create unlogged table bench_stage (like bench_sales);
create table bench_logged (like bench_sales);
\copy (select * from bench_sales where sale_id % 2 = 0) to '$dir/half0.bin' (format binary)
\copy (select * from bench_sales where sale_id % 2 = 1) to '$dir/half1.bin' (format binary)
SQL
trap 'rm -rf "$dir"; aws s3 rb "s3://$bucket" --force >/dev/null 2>&1 || true; psql "$LODE_WAREHOUSE" -qXc "drop table if exists bench_sales, bench_stage, bench_logged" >/dev/null 2>&1 || true' EXIT
cpu_copy="" cpu_stage="" cpu_ins="" cpu_copy_l="" cpu_ins_l="" psql_bin2=""
for round in $(seq 1 "$REPEAT"); do
  psql "$LODE_WAREHOUSE" -qX -c "truncate bench_sales, bench_stage, bench_logged" >/dev/null
  cpu_copy=$(best "$cpu_copy" "$(backend_cpu "\\copy bench_sales from '$dir/sales.bin' (format binary)")")
  cpu_copy_l=$(best "$cpu_copy_l" "$(backend_cpu "\\copy bench_logged from '$dir/sales.bin' (format binary)")")
  cpu_stage=$(best "$cpu_stage" "$(backend_cpu "\\copy bench_stage from '$dir/sales.bin' (format binary)")")
  psql "$LODE_WAREHOUSE" -qX -c "truncate bench_sales, bench_logged" >/dev/null
  cpu_ins=$(best "$cpu_ins" "$(backend_cpu "begin; insert into bench_sales select * from bench_stage; commit;")")
  cpu_ins_l=$(best "$cpu_ins_l" "$(backend_cpu "begin; insert into bench_logged select * from bench_stage; commit;")")
  truncate_table; t0=$(now_ms)
  psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales from '$dir/half0.bin' (format binary)" >/dev/null &
  p0=$!
  psql "$LODE_WAREHOUSE" -qX -v ON_ERROR_STOP=1 -c "\\copy bench_sales from '$dir/half1.bin' (format binary)" >/dev/null &
  p1=$!
  wait "$p0" && wait "$p1" || { echo "copy bench: psql 2 streams failed" >&2; exit 1; }
  psql_bin2=$(best "$psql_bin2" $(( $(now_ms) - t0 ))); check_rows "psql binary, 2 streams"
done

pq_bytes=$(du -cb "$dir"/pq/*.parquet | tail -1 | cut -f1)
csv_bytes=$(stat -c %s "$dir/sales.csv")

awk -v n="$N" -v files="$FILES" -v pc="$psql_csv" -v pb="$psql_bin" -v lp="$lode_pq" -v lc="$lode_csv" \
    -v pp="$pipe" -v rss="$pq_rss" -v crss="$csv_rss" -v qb="$pq_bytes" -v cb="$csv_bytes" -v rep="$REPEAT" \
    -v pcpu="$pq_cpu" -v pw="$pq_worst" -v lp2="$lode_pq2" -v p2cpu="$pq2_cpu" -v ccpu="$csv_cpu" -v csrv="$csv_srv" 'BEGIN {
  printf "copy.rows: %d (12 columns; %d Parquet files, %d bytes; CSV %d bytes; best of %d)\n", n, files, qb, cb, rep
  printf "copy.psql_csv_local_ms: %d (%.0f rows/s)\n", pc, n / (pc / 1000)
  printf "copy.psql_binary_local_ms: %d (%.0f rows/s)\n", pb, n / (pb / 1000)
  printf "copy.lode_parquet_s3_ms: %.0f (%.0f rows/s; spread best..worst %.0f..%.0f ms)\n", lp, n / (lp / 1000), lp, pw
  printf "copy.lode_parquet_cpu_s: %.2f (best of %d; the lode process, all threads)\n", pcpu / 1000, rep
  printf "copy.lode_parquet_s3_2streams_ms: %.0f (%.0f rows/s; lode CPU %.2f s)\n", lp2, n / (lp2 / 1000), p2cpu / 1000
  printf "copy.lode_csv_s3_ms: %.0f (%.0f rows/s)\n", lc, n / (lc / 1000)
  printf "copy.lode_csv_cpu_s: %.2f (best of %d; the lode process)\n", ccpu / 1000, rep
  printf "copy.lode_csv_server_cpu_s: %.2f (best of %d; the processes of this PostgreSQL server during the load)\n", csrv / 1000, rep
  printf "copy.aws_pipe_psql_csv_ms: %d (%.0f rows/s)\n", pp, n / (pp / 1000)
  printf "copy.lode_parquet_peak_rss_kib: %d\n", rss
  printf "copy.lode_csv_peak_rss_kib: %d\n", crss
  printf "ratio: parquet-from-S3 vs psql CSV local %.2f (goal >= 1.5)\n", pc / lp
  printf "ratio: parquet-from-S3 vs psql binary local %.2f (goal >= 0.9)\n", pb / lp
  printf "ratio: lode CSV-from-S3 vs aws s3 cp | psql %.2f (goal >= 1.5)\n", pp / lc
  printf "ratio: parquet-from-S3 2 streams vs 1 stream %.2f\n", lp / lp2
  printf "copy.lode_parquet_cpu_us_per_row: %.3f (goal <= 0.40)\n", pcpu * 1000 / n
  printf "copy.lode_csv_cpu_us_per_row: %.3f (goal <= 0.7)\n", ccpu * 1000 / n
}'
awk -v n="$N" -v cc="$cpu_copy" -v cs="$cpu_stage" -v ci="$cpu_ins" -v ccl="$cpu_copy_l" -v cil="$cpu_ins_l" \
    -v pb="$psql_bin" -v pb2="$psql_bin2" -v lp="$lode_pq" -v lp2="$lode_pq2" 'BEGIN {
  us = 1e6 / n
  printf "copy.server_cpu_us_per_row.copy_target: %.3f (binary COPY into the bench table, unlogged; logged: %.3f)\n", cc * us, ccl * us
  printf "copy.server_cpu_us_per_row.copy_stage: %.3f (binary COPY into an UNLOGGED stage)\n", cs * us
  printf "copy.server_cpu_us_per_row.insert_select: %.3f (INSERT INTO target SELECT FROM stage; logged target: %.3f)\n", ci * us, cil * us
  printf "copy.psql_binary_2streams_ms: %d (two psql sessions, half each, at once: not atomic)\n", pb2
  # all-or-nothing: the committing backend inserts every row; with the files split
  # f : 1-f it COPYs f and INSERT ... SELECTs 1-f after the stage stream ends, so
  # its time is at best f*copy + (1-f)*insert_select with f = stage/(copy+stage)
  f = cs / (cc + cs); fl = cs / (ccl + cs)
  printf "ceiling: atomic 2 streams vs 1, backend-bound %.2f (unlogged target), %.2f (logged)\n", cc / (f * cc + (1 - f) * ci), ccl / (fl * ccl + (1 - fl) * cil)
  printf "ratio: psql binary 2 streams vs 1 %.2f (the physical ceiling, not atomic)\n", pb / pb2
  printf "ratio: parquet-from-S3 2 streams vs psql binary 2 streams %.2f (goal >= 0.9)\n", pb2 / lp2
}'
