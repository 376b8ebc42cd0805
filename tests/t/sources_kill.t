#!/usr/bin/env bash
# An incremental load (lode.sources.postgres -> Parquet in S3 -> merge.upsert
# with cursor = { c, max }) is crash-safe: 20 trials of SIGKILL at a random
# moment, each checked right after the kill (the cursor equals the greatest
# id in the target, never ahead of the rows; the target holds ids 1..cursor
# exactly once), then a re-run to completion (every source row exactly once,
# the cursor at the source's maximum). Needs PostgreSQL + s3rver (tests/run.sh).
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
# The kill lands at a random point of a whole load: time one first, so the
# points scale with this machine's speed (a fixed 0-1 s range killed nothing
# on a fast machine and everything on a slow one).
reset_state() {
  q "TRUNCATE srckill_dst" >/dev/null
  q "DELETE FROM lode.cursors WHERE pipeline = 'srckill'" >/dev/null 2>&1
  q "DELETE FROM lode.load_history WHERE table_name LIKE '%srckill_dst%'" >/dev/null 2>&1
}
reset_state
t0=$(date +%s%N); $L run "$dir/load.lua" >"$dir/run.log" 2>&1; t1=$(date +%s%N)
full_ms=$(( (t1 - t0) / 1000000 ))
echo "# an uninterrupted load takes $full_ms ms"
killed=0
for trial in $(seq 1 20); do
  q "TRUNCATE srckill_dst" >/dev/null
  q "DELETE FROM lode.cursors WHERE pipeline = 'srckill'" >/dev/null 2>&1
  q "DELETE FROM lode.load_history WHERE table_name LIKE '%srckill_dst%'" >/dev/null 2>&1
  $L run "$dir/load.lua" >"$dir/run.log" 2>&1 &
  pid=$!
  at_ms=$(( RANDOM * full_ms / 32768 ))
  sleep "$((at_ms / 1000)).$(printf %03d $((at_ms % 1000)))"
  kill -9 $pid 2>/dev/null && killed=$((killed+1)); wait $pid 2>/dev/null
  cur=$(cursor)
  res=$(q "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0), coalesce(sum(id), 0) FROM srckill_dst")
  check "trial $trial after SIGKILL: target = ids 1..cursor once ($res, cursor $cur)" \
    "[ '$res' = '$cur|$cur|$cur|$((cur*(cur+1)/2))' ]"
  $L run "$dir/load.lua" >"$dir/run.log" 2>&1; rc=$?
  cur=$(cursor)
  res=$(q "SELECT count(*) FROM (SELECT * FROM srckill_src EXCEPT SELECT * FROM srckill_dst) a")/$(q "SELECT count(*), count(DISTINCT id) FROM srckill_dst")
  check "trial $trial re-run: every source row once, cursor at the maximum ($res, cursor $cur)" \
    "[ $rc -eq 0 ] && [ '$res' = '0/$rows|$rows' ] && [ '$cur' = '$rows' ]"
done
echo "# $killed of 20 runs were killed while running"
check "most runs were killed mid-load" "[ $killed -ge 10 ]"
psql "$LODE_TEST_PG_URL" -qc "DROP TABLE srckill_src, srckill_dst; DELETE FROM lode.cursors WHERE pipeline = 'srckill'"
echo "1..$n"
