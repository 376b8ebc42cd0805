#!/usr/bin/env bash
# lode.parquet.writer streaming to S3 leaves no multipart upload behind, seen
# by the aws CLI's ListMultipartUploads on moto (s3rver implements neither
# that nor AbortMultipartUpload): when every part fails, and when the run
# gets SIGTERM while a part is in flight (held by a proxy, an observed
# state, never a sleep); then a re-run writes the whole file.
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
L=$(cd "$(dirname "$L")" && pwd)/$(basename "$L")
if [ -z "${LODE_TEST_PG_URL:-}" ]; then
  echo "1..0 # SKIP PostgreSQL is not running (tests/run.sh starts it)"; exit 0
fi
n=0; fails=0
dir=$(mktemp -d /tmp/lode-pqstream.XXXXXX)
chmod 755 "$dir"
cleanup() { "$L" dev down --dir "$dir/moto" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); echo "# $(tail -c 700 "$dir/run.log" 2>/dev/null | tr '\n' '|')"; fi; }

# moto as the S3 peer, in the environment of everything below
if ! exports=$("$L" dev up --dir "$dir/moto" --no-pg --aws moto 2>"$dir/dev.log"); then
  echo "1..0 # SKIP moto is not available: $(tail -1 "$dir/dev.log")"; exit 0
fi
unset AWS_ENDPOINT_URL_S3
eval "$exports"
moto=$AWS_ENDPOINT_URL
bucket=lode-pqstream-$$
aws s3 mb "s3://$bucket" >/dev/null
uploads() { aws s3api list-multipart-uploads --bucket "$bucket" --output json | python3 -c 'import json,sys; t=sys.stdin.read().strip(); print(len(json.loads(t).get("Uploads", [])) if t else 0)'; }
started() { aws s3api list-multipart-uploads --bucket "$bucket" --output json >/dev/null; }

cat > "$dir/write.lua" <<'LUA'
local lode, parquet, s3 = require "lode", require "lode.parquet", require "lode.s3"
local url = lode.param("url")
return lode.pipeline "pqstream" {
  lode.task "write" { function()
    s3.configure{ backoff_base = 5, max_attempts = 2 }
    local w <close> = parquet.writer(url, { columns = { { name = "id", type = "bigint" }, { name = "note", type = "varchar" } },
      compression = "none", row_group_rows = 10000, part_size = 5 * 1024 * 1024 })
    for i = 1, 130000 do
      w:write({ id = i, note = ("%08d"):format(i) .. ("n"):rep(92) })
    end
    local r = w:close()
    print("wrote", r.rows, r.parts)
  end },
}
LUA

# --- 1. every part fails --------------------------------------------------------
port=$(python3 tests/lua/s3/fault_proxy.py "${moto##*:}" part500 -1 "$dir/proxy1.log" 120)
AWS_ENDPOINT_URL="http://127.0.0.1:${port//[^0-9]/}" "$L" run "$dir/write.lua" --param "url=s3://$bucket/fail.parquet" >"$dir/run.log" 2>&1; rc=$?
check "failing parts: the run fails with S3's error" "[ $rc -ne 0 ] && grep -q 'InternalError' $dir/run.log"
check "failing parts: an upload was begun and its parts tried" "grep -q 'POST /$bucket/fail.parquet?uploads' $dir/proxy1.log && grep -q 'partNumber=1' $dir/proxy1.log"
check "failing parts: ListMultipartUploads shows none open (aws CLI)" "[ \"\$(uploads)\" = 0 ]"
check "failing parts: no object (aws CLI)" "! aws s3api head-object --bucket $bucket --key fail.parquet >/dev/null 2>&1"

# --- 2. SIGTERM while part 2 is in flight ---------------------------------------------
port=$(python3 tests/lua/s3/fault_proxy.py "${moto##*:}" hold -1 "$dir/proxy2.log" 120 "partNumber=2")
AWS_ENDPOINT_URL="http://127.0.0.1:${port//[^0-9]/}" "$L" run "$dir/write.lua" --param "url=s3://$bucket/term.parquet" >"$dir/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 1200); do grep -q 'partNumber=2' "$dir/proxy2.log" 2>/dev/null && break; sleep 0.05; done
check "SIGTERM: part 2 is in flight (held by the proxy)" "grep -q 'partNumber=2' $dir/proxy2.log"
check "SIGTERM: the upload is open before the signal (aws CLI)" "[ \"\$(uploads)\" = 1 ]"
kill -TERM $pid; wait $pid; rc=$?
check "SIGTERM: exit 143, the task cancelled" "[ $rc -eq 143 ] && grep -q 'CANCELLED by SIGTERM' $dir/run.log"
check "SIGTERM: ListMultipartUploads shows none open (aws CLI)" "[ \"\$(uploads)\" = 0 ]"
check "SIGTERM: no object (aws CLI)" "! aws s3api head-object --bucket $bucket --key term.parquet >/dev/null 2>&1"

# --- 3. the re-run ----------------------------------------------------------------------
"$L" run "$dir/write.lua" --param "url=s3://$bucket/term.parquet" >"$dir/run.log" 2>&1; rc=$?
check "re-run: writes the file in three parts" "[ $rc -eq 0 ] && grep -Eq 'wrote\s+130000\s+3' $dir/run.log"
aws s3 cp --quiet "s3://$bucket/term.parquet" "$dir/term.parquet"
check "re-run: DuckDB reads every row" "[ \"\$(node tests/tools/duckdb.js \"SELECT count(*)::VARCHAR AS n, sum(id)::VARCHAR AS s FROM read_parquet('$dir/term.parquet')\")\" = '[{\"n\":\"130000\",\"s\":\"8450065000\"}]' ]"
check "re-run: no upload left open" "[ \"\$(uploads)\" = 0 ]"

echo "1..$n"
[ $fails -eq 0 ]
