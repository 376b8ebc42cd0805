#!/usr/bin/env bash
# The lode command line: exit codes, error reports, JSON logs, parameters.
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
n=0; fails=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); echo "# output: $(head -c 600 /tmp/lode-cli-$$.out | tr '\n' '|')"; fi; }
out=/tmp/lode-cli-$$.out
trap 'rm -f $out' EXIT

$L version >$out 2>&1; rc=$?
check "lode version exits 0" "[ $rc -eq 0 ] && grep -q '^lode [0-9]' $out"

$L help run >$out 2>&1; rc=$?
check "lode help run shows usage and examples" "[ $rc -eq 0 ] && grep -q '^usage: lode run FILE' $out && grep -q examples $out"

$L >$out 2>&1; rc=$?
check "lode with no command is a usage error (2) listing commands" "[ $rc -eq 2 ] && grep -q 'commands:' $out"

$L frobnicate >$out 2>&1; rc=$?
check "an unknown command exits 2 and says so" "[ $rc -eq 2 ] && grep -q \"unknown command 'frobnicate'\" $out"

$L run >$out 2>&1; rc=$?
check "lode run without a file exits 2" "[ $rc -eq 2 ] && grep -q 'needs a pipeline script' $out"

$L run --bogus x.lua >$out 2>&1; rc=$?
check "an unknown option exits 2 and names it" "[ $rc -eq 2 ] && grep -q \"unknown option '--bogus'\" $out"

$L run tests/pipelines/missing-file.lua >$out 2>&1; rc=$?
check "a missing script exits 2 naming it" "[ $rc -eq 2 ] && grep -q 'missing-file.lua' $out"

$L run tests/pipelines/failing.lua >$out 2>&1; rc=$?
check "a failing task exits 1" "[ $rc -eq 1 ]"
check "its dependent is skipped in the summary" "grep -Eq '^load +skipped' $out"
check "the independent task still ran" "grep -Eq '^side +ok' $out"
check "the failure names file:line" "grep -q 'failing.lua:3: source is down' $out"

$L run tests/pipelines/cycle.lua >$out 2>&1; rc=$?
check "a cycle exits 2 with its names" "[ $rc -eq 2 ] && grep -q 'dependency cycle: a -> b -> a' $out"

$L run tests/pipelines/script_error.lua >$out 2>&1; rc=$?
check "a script error exits 1 with file:line, no traceback" "[ $rc -eq 1 ] && grep -q 'script_error.lua:2:' $out && ! grep -q 'stack traceback' $out"
$L --debug run tests/pipelines/script_error.lua >$out 2>&1; rc=$?
check "with --debug, a script error shows its traceback" "[ $rc -eq 1 ] && grep -q 'script_error.lua:2:' $out && grep -q 'stack traceback' $out"

$L run tests/pipelines/params.lua --param who=world >$out 2>&1; rc=$?
check "--param reaches lode.param and the script folder is on package.path" "[ $rc -eq 0 ] && grep -q 'hello world dry_run=false' $out"

LODE_PARAM_WHO=env $L run tests/pipelines/params.lua >$out 2>&1; rc=$?
check "parameters come from LODE_PARAM_* too" "[ $rc -eq 0 ] && grep -q 'hello env' $out"

$L run tests/pipelines/params.lua >$out 2>&1; rc=$?
check "a missing parameter exits 2 and says how to pass it" "[ $rc -eq 2 ] && grep -q -- '--param who=VALUE' $out"

$L plan tests/pipelines/params.lua --param who=x >$out 2>&1; rc=$?
check "lode plan runs with lode.dry_run() true" "[ $rc -eq 0 ] && grep -q 'dry_run=true' $out"

$L run --log-format json tests/pipelines/failing.lua 2>$out >/dev/null; rc=$?
check "--log-format json: every stderr line before the summary is a JSON object with the required keys" \
  "[ $rc -eq 1 ] && python3 -c '
import json, sys
lines = [l for l in open(sys.argv[1]) if l.startswith(\"{\")]
assert len(lines) >= 4, lines
for l in lines:
    o = json.loads(l)
    for k in (\"ts\", \"level\", \"task\", \"msg\", \"run_id\", \"pipeline\"):
        assert k in o, (k, o)
assert any(o.get(\"fields\", {}).get(\"rows\") == 3 for o in map(json.loads, lines))
' $out"

$L run tests/pipelines/unobserved.lua >$out 2>&1; rc=$?
check "a spawned task's failure that nothing awaits is logged, not lost" "grep -q 'a task failed and nothing awaited it: tests/pipelines/unobserved.lua:2: lost failure' $out"

$L --log-level bogus version >$out 2>&1; rc=$?
check "an unknown log level exits 2" "[ $rc -eq 2 ] && grep -q 'unknown log level' $out"

tmp=$(mktemp -d)
cat >$tmp/demo_test.lua <<'LUA'
local t = require "lode.test"
t.test("passes", function() t.eq({1, {a = 2}}, {1, {a = 2}}) end)
t.test("fails", function() t.eq({1, {a = 2}}, {1, {a = 3}}) end)
t.test("skips", function() t.skip("not today") end)
LUA
$L test $tmp >$out 2>&1; rc=$?
check "lode test exits 1 when a test fails" "[ $rc -eq 1 ]"
check "lode test prints TAP with a plan" "grep -q '^ok 1 - .*passes' $out && grep -q '^not ok 2 - .*fails' $out && grep -q '^1\.\.3' $out"
check "a failed deep equality names the path and both values" "grep -q 'value\[2\]\[\"a\"\]: expected 3, got 2' $out"
check "a skip is reported as TAP SKIP" "grep -q '^ok 3 - .*skips # SKIP not today' $out"
rm -rf $tmp

echo "1..$n"
[ $fails -eq 0 ]
