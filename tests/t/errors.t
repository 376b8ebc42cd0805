#!/usr/bin/env bash
# Errors for people: a failed statement or task prints one clear message naming
# what failed (statement line, SQLSTATE, S3 code, file) and no Lua traceback
# unless --debug / LODE_DEBUG=1; JSON logs carry the structured fields.
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
n=0; fails=0
tmp=$(mktemp -d /tmp/lode-errors.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
out=$tmp/out
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); echo "# output: $(head -c 800 $out | tr '\n' '|')"; fi; }
no_traceback() { ! grep -q 'stack traceback' "$out"; }
lines() { grep -c . "$out"; }
unset LODE_DEBUG

db=errors_$$
psql "$LODE_TEST_PG_URL" -qc "SET client_min_messages = warning; DROP TABLE IF EXISTS $db; CREATE TABLE $db (id int, name text)"

# a missing table
printf 'SELECT 1;\n\nSELECT * FROM no_such_table_%s;\n' "$db" > "$tmp/missing.sql"
$L sql "$tmp/missing.sql" >/dev/null 2>"$out"; rc=$?
check "missing table: exit 1" "[ $rc -eq 1 ]"
check "missing table: one line naming file:line, the server's words and the SQLSTATE" \
  "[ \$(lines) -eq 1 ] && grep -q \"missing.sql:3: relation \\\"no_such_table_$db\\\" does not exist (sqlstate 42P01)\" $out"
check "missing table: no traceback" no_traceback

$L --debug sql "$tmp/missing.sql" >/dev/null 2>"$out"
check "--debug adds the traceback" "grep -q 'stack traceback' $out"
LODE_DEBUG=1 $L sql "$tmp/missing.sql" >/dev/null 2>"$out"
check "LODE_DEBUG=1 adds the traceback" "grep -q 'stack traceback' $out"

# a refused connection (a port nothing listens on: bind one, note it, close it)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
LODE_WAREHOUSE="postgresql://nobody@127.0.0.1:$port/nodb" $L sql "$tmp/missing.sql" >/dev/null 2>"$out"; rc=$?
check "refused connection: exit 1, names the address, no traceback" \
  "[ $rc -eq 1 ] && grep -q \"port $port failed: Connection refused\" $out && no_traceback && [ \$(lines) -le 2 ]"

# NoSuchBucket
printf "COPY %s FROM 's3://no-such-bucket-%s/x.csv' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV;\n" "$db" "$db" > "$tmp/nobucket.sql"
$L sql "$tmp/nobucket.sql" >/dev/null 2>"$out"; rc=$?
check "NoSuchBucket: exit 1, one line with the S3 code and statement line, no traceback" \
  "[ $rc -eq 1 ] && [ \$(lines) -eq 1 ] && grep -q 'nobucket.sql:1:' $out && grep -q 'NoSuchBucket' $out && no_traceback"

# a bad CSV row
bucket=lode-errors-$$
printf '1,ok\nnot-a-number,bad\n' > "$tmp/bad.csv"
aws s3 mb "s3://$bucket" >/dev/null && aws s3 cp --quiet "$tmp/bad.csv" "s3://$bucket/in/bad.csv"
printf -- "-- load\nCOPY %s FROM 's3://%s/in/' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV;\n" "$db" "$bucket" > "$tmp/badrow.sql"
$L sql "$tmp/badrow.sql" >/dev/null 2>"$out"; rc=$?
check "bad CSV row: exit 1, names the key, the line and the column, no traceback" \
  "[ $rc -eq 1 ] && grep -q 'badrow.sql:2:' $out && grep -q 'in/bad.csv' $out && grep -Eq 'line 2|:2[^0-9]' $out && grep -q 'id' $out && no_traceback && [ \$(lines) -le 3 ]"
check "bad CSV row: nothing loaded" "[ \"\$(psql \"$LODE_TEST_PG_URL\" -Atc 'SELECT count(*) FROM $db')\" = 0 ]"

# the same failures in a pipeline, as JSON log fields
cat > "$tmp/p.lua" <<LUA
local lode = require "lode"
local wh = lode.warehouse()
return lode.pipeline "errors" {
  lode.task "missing" { function() wh:exec("SELECT * FROM no_such_table_$db") end },
  lode.task "nobucket" { function() wh:exec("COPY $db FROM 's3://no-such-bucket-$db/x.csv' IAM_ROLE 'arn:aws:iam::123456789012:role/R' CSV") end },
}
LUA
$L --log-format json run "$tmp/p.lua" >/dev/null 2>"$out"; rc=$?
check "pipeline: exit 1, no traceback" "[ $rc -eq 1 ] && no_traceback"
check "JSON log: the SQL failure carries sqlstate, code, op, retryable and task as fields" "python3 - '$out' <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
e = [r for r in recs if r.get('level') == 'error' and r.get('task') == 'missing']
f = e[0]['fields']
assert f['sqlstate'] == '42P01' and f['op'] == 'pg.query' and f['retryable'] is False, f
PY"
check "JSON log: the S3 failure carries its code and HTTP status as fields" "python3 - '$out' <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
e = [r for r in recs if r.get('level') == 'error' and r.get('task') == 'nobucket']
f = e[0]['fields']
assert f['code'] == 'NoSuchBucket' and int(f['status']) == 404, f
PY"

psql "$LODE_TEST_PG_URL" -qc "DROP TABLE IF EXISTS $db"
echo "1..$n"
[ $fails -eq 0 ]
