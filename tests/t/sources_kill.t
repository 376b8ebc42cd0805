#!/usr/bin/env bash
# An incremental load (lode.sources.postgres -> Parquet in S3 -> merge.upsert
# with cursor = { c, max }) is crash-safe: 20 trials of SIGKILL at a random
# event of the run (see below), each checked right after the kill (the
# cursor equals the greatest id in the target, never ahead of the rows; the
# target holds ids 1..cursor exactly once), then a re-run to completion
# (every source row exactly once, the cursor at the source's maximum). Needs PostgreSQL + s3rver (tests/run.sh).
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
if [ -z "${LODE_TEST_PG_URL:-}" ] || [ -z "${LODE_TEST_S3_ENDPOINT:-}" ]; then
  echo "1..0 # SKIP PostgreSQL and s3rver are not running (tests/run.sh starts them)"; exit 0
fi
n=0
# on failure, both logs of the trial (the killed run's and the re-run's) as diagnostics
check() {
  n=$((n+1))
  if eval "$2"; then echo "ok $n - $1"; return; fi
  echo "not ok $n - $1"
  for f in killed.log run.log; do
    [ -e "$dir/$f" ] && { echo "# --- $f"; tail -c 4000 "$dir/$f" | sed 's/^/#   /'; }
  done
}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bucket=lode-srckill-$RANDOM$RANDOM
rows=6000
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$LODE_TEST_PG_URL" -Atc "$1"; }
aws s3 mb "s3://$bucket" >/dev/null
psql "$LODE_TEST_PG_URL" -qc "DROP TABLE IF EXISTS srckill_src, srckill_dst;
  CREATE TABLE srckill_src (id bigint PRIMARY KEY, amount numeric(12,2), note text);
  INSERT INTO srckill_src SELECT g, g / 100.0, 'n' || g FROM generate_series(1, $rows) g;
  CREATE TABLE srckill_dst (id bigint PRIMARY KEY, amount numeric(12,2), note text)"
cat > "$dir/load.lua" <<LUA
local lode = require "lode"
local merge = require "lode.merge"
local pgsrc = require "lode.sources.postgres"
local wh = lode.warehouse()
local c = lode.cursor(wh, "srckill.id", 0, { pipeline = "srckill" })
while true do
  local since = c:get()
  local prefix = "s3://$bucket/stage/" .. since .. "/"
  local r = pgsrc.extract(wh, { table = "srckill_src", cursor_column = "id", since = since, limit = 500,
                                chunk_rows = 250, to = prefix })
  if r.rows == 0 then break end
  merge.upsert(wh, { target = "srckill_dst", from = prefix, format = "parquet", key = { "id" },
                     cursor = { c, r.max } })
  io.stderr:write("batch committed up to ", r.max, "\n")
end
print("done at " .. c:get())
LUA
cursor() { q "SELECT coalesce((SELECT value FROM lode.cursors WHERE pipeline = 'srckill' AND name = 'srckill.id'), '0')" 2>/dev/null || echo 0; }
reset_state() {
  q "TRUNCATE srckill_dst" >/dev/null
  q "DELETE FROM lode.cursors WHERE pipeline = 'srckill'" >/dev/null 2>&1
  q "DELETE FROM lode.load_history WHERE table_name LIKE '%srckill_dst%'" >/dev/null 2>&1
}
# The kill point is an event, not a time: the run's debug log (merge steps,
# files loaded, chunks extracted, cursor set, "batch committed") is read
# line by line from a FIFO and the run is SIGKILLed right after its m-th
# line. m is drawn from the lines an uninterrupted run prints before its
# last batch starts, so at least one whole batch is still to run when the
# kill lands, on a machine of any speed.
reset_state
$L run "$dir/load.lua" --log-level debug >"$dir/run.log" 2>&1
events=$(grep -n 'batch committed up to' "$dir/run.log" | tail -2 | head -1 | cut -d: -f1)
echo "# an uninterrupted load prints $(wc -l <"$dir/run.log") lines; kills land after one of the first ${events:-0}"
check "the uninterrupted load commits $((rows / 500)) batches" \
  "[ \$(grep -c 'batch committed up to' $dir/run.log) -eq $((rows / 500)) ] && grep -q 'done at $rows' $dir/run.log"
mkfifo "$dir/events"
killed=0
for trial in $(seq 1 20); do
  reset_state
  rm -f "$dir/run.log" "$dir/killed.log"
  m=$(( RANDOM % events + 1 ))
  $L run "$dir/load.lua" --log-level debug >"$dir/events" 2>&1 &
  pid=$!
  seen=0
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$dir/killed.log"
    seen=$((seen + 1))
    # a run that logs fewer lines than the timed one is killed before its last batch at the latest
    [ $seen -eq $m ] || { [ $seen -lt $m ] && [ "$line" = "batch committed up to $((rows - 500))" ]; } && kill -9 $pid
  done <"$dir/events" 2>/dev/null # (bash reports the SIGKILLed job on stderr)
  wait $pid 2>/dev/null; st=$?
  [ $st -eq 137 ] && ! grep -q '^done at' "$dir/killed.log" && killed=$((killed+1))
  # one statement, one snapshot: the cursor and the rows it covers
  res=$(q "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0), coalesce(sum(id), 0),
             coalesce((SELECT value FROM lode.cursors WHERE pipeline = 'srckill' AND name = 'srckill.id'), '0')
           FROM srckill_dst")
  cur=${res##*|}
  check "trial $trial after SIGKILL at event $m: target = ids 1..cursor once ($res)" \
    "[ '$res' = '$cur|$cur|$cur|$((cur*(cur+1)/2))|$cur' ]"
  $L run "$dir/load.lua" --log-level debug >"$dir/run.log" 2>&1; rc=$?
  cur=$(cursor)
  res=$(q "SELECT count(*) FROM (SELECT * FROM srckill_src EXCEPT SELECT * FROM srckill_dst) a")/$(q "SELECT count(*), count(DISTINCT id) FROM srckill_dst")
  check "trial $trial re-run: every source row once, cursor at the maximum ($res, cursor $cur)" \
    "[ $rc -eq 0 ] && [ '$res' = '0/$rows|$rows' ] && [ '$cur' = '$rows' ]"
done
echo "# $killed of 20 runs were killed while running"
check "every run was killed mid-load" "[ $killed -eq 20 ]"
psql "$LODE_TEST_PG_URL" -qc "DROP TABLE srckill_src, srckill_dst; DELETE FROM lode.cursors WHERE pipeline = 'srckill'"
echo "1..$n"
