#!/usr/bin/env bash
# copy.into with streams = 3 stays all-or-nothing under SIGKILL: 20 trials
# killed at a random point of a timed whole load; right after each kill the
# target holds no rows or every row and the ledger agrees, and a re-run
# leaves exactly the source rows (count, distinct ids and sum from the
# generated data), one ledger row per file, and no stage behind. Needs
# PostgreSQL + s3rver (tests/run.sh).
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
if [ -z "${LODE_TEST_PG_URL:-}" ] || [ -z "${LODE_TEST_S3_ENDPOINT:-}" ]; then
  echo "1..0 # SKIP PostgreSQL and s3rver are not running (tests/run.sh starts them)"; exit 0
fi
n=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; echo "# $(tail -c 600 $dir/run.log | tr '\n' '|')"; fi; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bucket=lode-pkill-$RANDOM$RANDOM
files=12 rows=20000
total=$((files * rows))
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$LODE_TEST_PG_URL" -Atc "$1"; }
mkdir -p "$dir/data"
for f in $(seq 1 $files); do
  awk -v f=$f -v r=$rows 'BEGIN { for (i = 1; i <= r; i++) printf "%d,%d,\"name %d, %d\",%d.%02d\n", (f-1)*r+i, f, f, i, i, i%100 }' \
    > "$dir/data/part-$(printf %03d $f).csv"
done
aws s3 mb "s3://$bucket" >/dev/null && aws s3 cp --recursive --quiet "$dir/data" "s3://$bucket/sales/"
q "DROP TABLE IF EXISTS copy_pkill; CREATE TABLE copy_pkill (id bigint, f int, name text, amount numeric(12,2))" >/dev/null
cat > "$dir/load.lua" <<LUA
local lode = require "lode"
local copy = require "lode.copy"
local r = copy.into(lode.warehouse(), { table = "copy_pkill", from = "s3://$bucket/sales/", format = "csv",
                                        streams = 3 })
print(("loaded files=%d rows=%d skipped=%d streams=%d"):format(r.files, r.rows, r.skipped_files, r.streams))
LUA
reset_state() {
  q "TRUNCATE copy_pkill" >/dev/null
  q "DELETE FROM lode.load_history WHERE table_name = 'copy_pkill'" >/dev/null 2>&1
}
# stages of copy_pkill's loads only (pg_streams_test.lua may be loading its own tables at the same time)
stages() { q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'lode' AND left(c.relname, 28) = 'copy_stage_' || left(md5('lode.copy:copy_pkill'), 16) || '_'"; }
reset_state
t0=$(date +%s%N); $L run "$dir/load.lua" >"$dir/run.log" 2>&1; t1=$(date +%s%N)
full_ms=$(( (t1 - t0) / 1000000 ))
echo "# an uninterrupted load takes $full_ms ms"
check "the uninterrupted load runs 3 streams" "grep -q 'loaded files=$files rows=$total skipped=0 streams=3' $dir/run.log"
want="$total|$total|$(( total*(total+1)/2 ))"
killed=0
for trial in $(seq 1 20); do
  reset_state
  $L run "$dir/load.lua" >"$dir/run.log" 2>&1 &
  pid=$!
  at_ms=$(( RANDOM * full_ms / 32768 ))
  sleep "$((at_ms / 1000)).$(printf %03d $((at_ms % 1000)))"
  kill -9 $pid 2>/dev/null && killed=$((killed+1)); wait $pid 2>/dev/null
  res=$(q "SELECT count(*), count(DISTINCT id), coalesce(sum(id), 0) FROM copy_pkill")
  h=$(q "SELECT count(*) FROM lode.load_history WHERE table_name = 'copy_pkill'")
  check "trial $trial after SIGKILL at $at_ms ms: nothing or everything, the ledger agrees ($res, $h ledger rows)" \
    "[ '$res' = '0|0|0' -a '$h' = 0 ] || [ '$res' = '$want' -a '$h' = $files ]"
  $L run "$dir/load.lua" >"$dir/run.log" 2>&1; rc=$?
  res=$(q "SELECT count(*), count(DISTINCT id), sum(id) FROM copy_pkill")
  h=$(q "SELECT count(*), sum(rows) FROM lode.load_history WHERE table_name = 'copy_pkill'")
  check "trial $trial re-run: every source row once, one ledger row per file, no stage ($res, $h)" \
    "[ $rc -eq 0 ] && [ '$res' = '$want' ] && [ '$h' = '$files|$total' ] && [ $(stages) = 0 ]"
done
echo "# $killed of 20 runs were killed while running"
check "most runs were killed mid-load" "[ $killed -ge 10 ]"
q "DROP TABLE copy_pkill; DELETE FROM lode.load_history WHERE table_name = 'copy_pkill'" >/dev/null
echo "1..$n"
