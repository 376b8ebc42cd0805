#!/usr/bin/env bash
# copy.into is crash-safe: SIGKILL of `lode run` in the middle of a 50-file
# load, then a re-run, leaves exactly the source rows (the rows and the
# ledger are one transaction). Needs PostgreSQL + s3rver (tests/run.sh).
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
bucket=lode-kill-$RANDOM$RANDOM
files=50 rows=10000
export PGOPTIONS="-c client_min_messages=warning"
mkdir -p "$dir/data"
for f in $(seq 1 $files); do
  awk -v f=$f -v r=$rows 'BEGIN { for (i = 1; i <= r; i++) printf "%d,%d,name-%d-%d,%d.%02d\n", (f-1)*r+i, f, f, i, i, i%100 }' \
    > "$dir/data/part-$(printf %03d $f).csv"
done
aws s3 mb "s3://$bucket" >/dev/null && aws s3 cp --recursive --quiet "$dir/data" "s3://$bucket/sales/"
psql "$LODE_TEST_PG_URL" -qc "DROP TABLE IF EXISTS copy_kill; CREATE TABLE copy_kill (id bigint, f int, name text, amount numeric(12,2))"
cat > "$dir/load.lua" <<LUA
local lode = require "lode"
local copy = require "lode.copy"
local r = copy.into(lode.warehouse(), { table = "copy_kill", from = "s3://$bucket/sales/", format = "csv",
                                        concurrency = 2 })
print(("loaded files=%d rows=%d skipped=%d"):format(r.files, r.rows, r.skipped_files))
LUA

# 1. start the load and kill -9 it right after its 10th file went through
#    the COPY (its debug log's "file streamed" lines, read line by line from
#    a FIFO: an event, not a time)
mkfifo "$dir/events"
$L run "$dir/load.lua" --log-level debug >"$dir/events" 2>&1 &
pid=$!
: >"$dir/run.log"
seen=0
while IFS= read -r line; do
  printf '%s\n' "$line" >>"$dir/run.log"
  case $line in *'file streamed'*) seen=$((seen + 1)); [ $seen -eq 10 ] && kill -9 $pid ;; esac
done <"$dir/events" 2>/dev/null # (bash reports the SIGKILLed job on stderr)
wait $pid 2>/dev/null
loaded_before=$(grep -c 'file streamed' "$dir/run.log")
check "the run was killed mid-load ($loaded_before of $files files streamed)" "[ $loaded_before -ge 10 ] && [ $loaded_before -lt $files ]"
c=$(psql "$LODE_TEST_PG_URL" -Atc "SELECT count(*) FROM copy_kill")
check "nothing of the killed load is visible" "[ $c -eq 0 ]"

# 2. re-run to completion: exactly the source rows, once
$L run "$dir/load.lua" >"$dir/run.log" 2>&1; rc=$?
check "the re-run succeeds" "[ $rc -eq 0 ] && grep -q 'loaded files=$files rows=$((files*rows))' $dir/run.log"
res=$(psql "$LODE_TEST_PG_URL" -Atc "SELECT count(*), count(DISTINCT id), sum(id), min(id), max(id) FROM copy_kill")
want="$((files*rows))|$((files*rows))|$(( (files*rows)*(files*rows+1)/2 ))|1|$((files*rows))"
check "exactly the source rows: $res" "[ '$res' = '$want' ]"
h=$(psql "$LODE_TEST_PG_URL" -Atc "SELECT count(*), sum(rows) FROM lode.load_history WHERE table_name = 'copy_kill'")
check "the ledger has one row per file" "[ '$h' = '$files|$((files*rows))' ]"

# 3. and a third run loads nothing
$L run "$dir/load.lua" >"$dir/run.log" 2>&1
check "a third run skips every file" "grep -q 'loaded files=0 rows=0 skipped=$files' $dir/run.log"
psql "$LODE_TEST_PG_URL" -qc "DROP TABLE copy_kill; DELETE FROM lode.load_history WHERE table_name = 'copy_kill'"
echo "1..$n"
