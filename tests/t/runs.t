#!/usr/bin/env bash
# Run history by default: every `lode run` against a warehouse is recorded in
# lode.runs (run and tasks) without the pipeline naming its warehouse;
# `lode runs` lists runs, `lode runs show ID` shows one; --summary-json
# writes the summary for CI artifacts.
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
if [ -z "${LODE_TEST_PG_URL:-}" ]; then
  echo "1..0 # SKIP PostgreSQL is not running (tests/run.sh starts it)"; exit 0
fi
n=0; fails=0
dir=$(mktemp -d /tmp/lode-runs.XXXXXX)
trap 'rm -rf "$dir"' EXIT
out=$dir/out
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); echo "# $(head -c 700 $out | tr '\n' '|')"; fi; }
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$LODE_TEST_PG_URL" -Atc "$1"; }
p=runs_$$
cat > "$dir/p.lua" <<LUA
local lode = require "lode"
local wh = lode.warehouse()
return lode.pipeline "$p" {
  lode.task "make" { function() wh:exec("CREATE TABLE IF NOT EXISTS $p (a int)") end },
  lode.task "fill" { after = "make", function() wh:exec("INSERT INTO $p VALUES (1), (2)") end },
  lode.task "broken" { function() wh:exec("SELECT * FROM no_such_$p") end },
}
LUA
$L run "$dir/p.lua" --run-id "r1-$p" --summary-json "$dir/summary.json" >"$out" 2>&1; rc=$?
check "the run fails (one task broken) with exit 1" "[ $rc -eq 1 ]"
check "lode.runs has the run, failed, though the pipeline names no warehouse" \
  "[ \"\$(q \"SELECT status FROM lode.runs WHERE run_id = 'r1-$p' AND task = ''\")\" = failed ]"
check "lode.runs has each task with its status" \
  "[ \"\$(q \"SELECT string_agg(task || '=' || status, ',' ORDER BY task) FROM lode.runs WHERE run_id = 'r1-$p' AND task <> ''\")\" = 'broken=failed,fill=ok,make=ok' ]"
check "the failed task's error is stored" \
  "q \"SELECT error FROM lode.runs WHERE run_id = 'r1-$p' AND task = 'broken'\" | grep -q 'no_such_$p'"
check "--summary-json wrote the summary" "python3 - '$dir/summary.json' <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d['run_id'] == 'r1-$p' and d['pipeline'] == '$p' and d['status'] == 'failed', d
t = {x['name']: x for x in d['tasks']}
assert t['fill']['status'] == 'ok' and t['broken']['status'] == 'failed' and 'no_such_$p' in t['broken']['error'], t
PY"
$L runs "$p" >"$out" 2>&1; rc=$?
check "lode runs PIPELINE lists the run" "[ $rc -eq 0 ] && grep -q 'r1-$p' $out && grep -q failed $out"
$L runs show "r1-$p" >"$out" 2>&1; rc=$?
check "lode runs show ID lists its tasks" "[ $rc -eq 0 ] && grep -Eq 'fill +\\| ok' $out && grep -Eq 'broken +\\| failed' $out"
$L runs show "no-such-run-$p" >"$out" 2>&1; rc=$?
check "lode runs show of an unknown id exits 1 and says so" "[ $rc -eq 1 ] && grep -q \"no run 'no-such-run-$p'\" $out"
# the files a run loads carry its run id in lode.load_history
if [ -n "${LODE_TEST_S3_ENDPOINT:-}" ]; then
  bucket=lode-runs-$$
  printf '1\n2\n3\n' > "$dir/ids.csv"
  aws s3 mb "s3://$bucket" >/dev/null && aws s3 cp --quiet "$dir/ids.csv" "s3://$bucket/in/ids.csv"
  cat > "$dir/load.lua" <<LUA
local lode, copy = require "lode", require "lode.copy"
local wh = lode.warehouse()
return lode.pipeline "${p}_load" {
  lode.task "load" { function() copy.into(wh, { table = "$p", from = "s3://$bucket/in/", format = "csv" }) end },
}
LUA
  q "TRUNCATE $p" >/dev/null
  $L run "$dir/load.lua" --run-id "r2-$p" >"$out" 2>&1; rc=$?
  check "a run's loaded file is in lode.load_history with its run id and URL" \
    "[ $rc -eq 0 ] && [ \"\$(q \"SELECT run || ' ' || key FROM lode.load_history WHERE table_name = '$p'\")\" = 'r2-$p s3://$bucket/in/ids.csv' ]"
  $L runs show "r2-$p" >"$out" 2>&1
  check "lode runs show lists the run's loaded files" "grep -q 's3://$bucket/in/ids.csv' $out"
  q "DELETE FROM lode.load_history WHERE table_name = '$p'" >/dev/null
fi
# A run killed without a chance to record its end (SIGKILL) stays `running`
# until the next run of the pipeline holds its lock: then its session, and so
# its process, is gone, and that run marks it `abandoned`. A live run holds
# the lock, so a concurrent run never marks it.
cat > "$dir/slow.lua" <<LUA
local lode = require "lode"
local wh = lode.warehouse()
local hold = lode.param("hold", "no") == "yes"
return lode.pipeline "${p}_slow" {
  lode.task "work" { function()
    if hold then wh:exec("SELECT pg_sleep(120) /* ${p}_held */") end
  end },
}
LUA
$L run "$dir/slow.lua" --param hold=yes --run-id "r3-$p" >"$dir/r3.log" 2>&1 &
r3=$!
# observed, not slept: the run is recorded and its statement is on the server
for _ in $(seq 1 400); do
  [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%${p}_held */' AND pid <> pg_backend_pid()")" = 1 ] && break
  sleep 0.05
done
check "a live run is recorded as running" "[ \"\$(q \"SELECT status FROM lode.runs WHERE run_id = 'r3-$p' AND task = ''\")\" = running ]"
$L run "$dir/slow.lua" --run-id "r4-$p" >"$out" 2>&1; rc=$?
check "a concurrent run of the pipeline is refused (exit 3) and does not mark the live one" \
  "[ $rc -eq 3 ] && [ \"\$(q \"SELECT status FROM lode.runs WHERE run_id = 'r3-$p' AND task = ''\")\" = running ]"
kill -KILL $r3; wait $r3 2>/dev/null
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%${p}_held */' AND pid <> pg_backend_pid()" >/dev/null
check "a run killed by SIGKILL is left running in lode.runs" "[ \"\$(q \"SELECT status FROM lode.runs WHERE run_id = 'r3-$p' AND task = ''\")\" = running ]"
# --wait: the lock is free once the server has ended the killed run's session
$L run "$dir/slow.lua" --wait --run-id "r5-$p" >"$out" 2>&1; rc=$?
check "the next run succeeds and marks the killed run abandoned" \
  "[ $rc -eq 0 ] && [ \"\$(q \"SELECT string_agg(run_id || '=' || status, ',' ORDER BY run_id) FROM lode.runs WHERE pipeline = '${p}_slow' AND task = ''\")\" = 'r3-$p=abandoned,r5-$p=ok' ] && grep -q 'marked abandoned' $out"
check "the abandoned run's error says why and which run found it" \
  "q \"SELECT error FROM lode.runs WHERE run_id = 'r3-$p' AND task = ''\" | grep -q 'ended without recording an outcome.*r5-$p'"
$L run "$dir/slow.lua" --run-id "r6-$p" >"$out" 2>&1; rc=$?
check "a later run marks nothing more" "[ $rc -eq 0 ] && ! grep -q 'abandoned' $out && [ \"\$(q \"SELECT count(*) FILTER (WHERE status = 'abandoned') FROM lode.runs WHERE pipeline = '${p}_slow'\")\" = 1 ]"
q "DROP TABLE IF EXISTS $p" >/dev/null
echo "1..$n"
[ $fails -eq 0 ]
