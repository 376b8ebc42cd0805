#!/usr/bin/env bash
# Clean shutdown on SIGTERM (how Airflow, Kubernetes, systemd and CI stop a
# job): during a Parquet COPY, a merge transaction and a multipart upload,
# lode cancels what runs, exits 143 within 10 s with its summary, records
# the run as cancelled in lode.runs, leaves the target tables unchanged and no
# multipart upload open; the re-run then completes with exact results.
# "Mid-run" is an observed state, never a sleep: a statement waiting on a
# lock another session holds (pg_stat_activity), an upload part a proxy holds.
set -u
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
if [ -z "${LODE_TEST_PG_URL:-}" ] || [ -z "${LODE_TEST_S3_ENDPOINT:-}" ]; then
  echo "1..0 # SKIP PostgreSQL and s3rver are not running (tests/run.sh starts them)"; exit 0
fi
n=0; fails=0
dir=$(mktemp -d /tmp/lode-signals.XXXXXX)
locker=
cleanup() { [ -n "$locker" ] && kill "$locker" 2>/dev/null; [ -n "${moto_stack:-}" ] && $L dev down --dir "$moto_stack" >/dev/null 2>&1; [ -n "${KEEP:-}" ] || rm -rf "$dir"; }
trap cleanup EXIT
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); echo "# $(tail -c 700 "$dir/run.log" | tr '\n' '|')"; [ -n "${KEEP:-}" ] && cp "$dir/run.log" "/tmp/signals-fail-$n.log"; fi; }
export PGOPTIONS="-c client_min_messages=warning"
q() { psql "$LODE_TEST_PG_URL" -Atc "$1"; }
sfx=$$
bucket=lode-signals-$sfx
aws s3 mb "s3://$bucket" >/dev/null

# Hold an ACCESS EXCLUSIVE lock on $1 in another session until $dir/unlock exists.
hold_lock() {
  rm -f "$dir/unlock" "$dir/locked"
  ( { echo "BEGIN; LOCK TABLE $1 IN ACCESS EXCLUSIVE MODE;"; echo '\o '"$dir/locked"; echo "SELECT 1;";
      while [ ! -e "$dir/unlock" ]; do sleep 0.05; done; echo "ROLLBACK;"; } | psql "$LODE_TEST_PG_URL" -q >/dev/null ) &
  locker=$!
  for _ in $(seq 1 400); do [ -s "$dir/locked" ] && break; sleep 0.05; done
}
release_lock() { touch "$dir/unlock"; wait "$locker" 2>/dev/null; locker=; }
# Wait (bounded) until a statement of `lode` waits for a lock on the server.
wait_blocked() {
  for _ in $(seq 1 400); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%$1%'")" -ge 1 ] && return 0
    sleep 0.05
  done
  return 1
}
# SIGTERM the run and time its exit.
term_and_wait() {
  local pid=$1 t0 t1
  t0=$(date +%s.%N); kill -TERM "$pid"; wait "$pid"; rc=$?; t1=$(date +%s.%N)
  secs=$(python3 -c "print(round($t1 - $t0, 2))")
}
run_status() { q "SELECT status || '|' || coalesce(error, '') FROM lode.runs WHERE pipeline = '$1' AND task = '' ORDER BY started_at DESC LIMIT 1"; }

# --- 1. a Parquet COPY --------------------------------------------------------
node tests/tools/duckdb.js "COPY (SELECT i::BIGINT AS id, 'name-' || i AS name FROM range(1, 20001) t(i)) TO '$dir/part.parquet' (FORMAT PARQUET)" >/dev/null
aws s3 cp --quiet "$dir/part.parquet" "s3://$bucket/copy/part.parquet"
q "DROP TABLE IF EXISTS sig_copy_$sfx; CREATE TABLE sig_copy_$sfx (id bigint, name text); INSERT INTO sig_copy_$sfx VALUES (0, 'before')" >/dev/null
cat > "$dir/copy.lua" <<LUA
local lode, copy = require "lode", require "lode.copy"
local wh = lode.warehouse()
return lode.pipeline "sig_copy_$sfx" {
  lode.task "load" { function()
    copy.into(wh, { table = "sig_copy_$sfx", from = "s3://$bucket/copy/", format = "parquet" })
  end },
}
LUA
hold_lock "sig_copy_$sfx"
$L run "$dir/copy.lua" >"$dir/run.log" 2>&1 &
pid=$!
wait_blocked "sig_copy_$sfx"; blocked=$?
term_and_wait $pid
release_lock
check "COPY: the load was mid-statement when SIGTERM came" "[ $blocked -eq 0 ]"
check "COPY: exit 143 within 10 s ($secs s)" "[ $rc -eq 143 ] && python3 -c 'import sys; sys.exit(0 if $secs < 10 else 1)'"
check "COPY: the summary is printed, the task cancelled" "grep -q 'CANCELLED by SIGTERM' $dir/run.log && grep -Eq '^load +cancelled' $dir/run.log"
check "COPY: lode.runs says cancelled by SIGTERM" "[ \"\$(run_status sig_copy_$sfx)\" = 'cancelled|cancelled by SIGTERM' ]"
check "COPY: the target is unchanged" "[ \"\$(q 'SELECT count(*), sum(id) FROM sig_copy_$sfx')\" = '1|0' ]"
check "COPY: no statement of the run is left on the server" "[ \"\$(q \"SELECT count(*) FROM pg_stat_activity WHERE query ILIKE '%sig_copy_$sfx%' AND pid <> pg_backend_pid()\")\" = 0 ]"
$L run "$dir/copy.lua" >"$dir/run.log" 2>&1; rc=$?
check "COPY: the re-run loads exactly the file's rows" "[ $rc -eq 0 ] && [ \"\$(q 'SELECT count(*), sum(id) FROM sig_copy_$sfx')\" = '20001|200010000' ]"

# --- 2. a merge transaction ---------------------------------------------------
q "DROP TABLE IF EXISTS sig_merge_$sfx; CREATE TABLE sig_merge_$sfx (id bigint PRIMARY KEY, name text); INSERT INTO sig_merge_$sfx SELECT i, 'old' FROM generate_series(1, 100) i" >/dev/null
node tests/tools/duckdb.js "COPY (SELECT i::BIGINT AS id, 'new' AS name FROM range(50, 151) t(i)) TO '$dir/upd.parquet' (FORMAT PARQUET)" >/dev/null
aws s3 cp --quiet "$dir/upd.parquet" "s3://$bucket/merge/upd.parquet"
cat > "$dir/merge.lua" <<LUA
local lode, merge = require "lode", require "lode.merge"
local wh = lode.warehouse()
return lode.pipeline "sig_merge_$sfx" {
  lode.task "upsert" { function()
    merge.upsert(wh, { target = "sig_merge_$sfx", from = "s3://$bucket/merge/", format = "parquet", key = { "id" } })
  end },
}
LUA
hold_lock "sig_merge_$sfx"
$L run "$dir/merge.lua" >"$dir/run.log" 2>&1 &
pid=$!
wait_blocked "sig_merge_$sfx"; blocked=$?
term_and_wait $pid
release_lock
check "merge: a statement of the merge was waiting when SIGTERM came" "[ $blocked -eq 0 ]"
check "merge: exit 143 within 10 s ($secs s)" "[ $rc -eq 143 ] && python3 -c 'import sys; sys.exit(0 if $secs < 10 else 1)'"
check "merge: the summary is printed, the task cancelled" "grep -q 'CANCELLED by SIGTERM' $dir/run.log && grep -Eq '^upsert +cancelled' $dir/run.log"
check "merge: lode.runs says cancelled by SIGTERM" "[ \"\$(run_status sig_merge_$sfx)\" = 'cancelled|cancelled by SIGTERM' ]"
check "merge: the target is unchanged" "[ \"\$(q \"SELECT count(*), count(*) FILTER (WHERE name = 'old') FROM sig_merge_$sfx\")\" = '100|100' ]"
$L run "$dir/merge.lua" >"$dir/run.log" 2>&1; rc=$?
check "merge: the re-run gives the exact upsert" "[ $rc -eq 0 ] && [ \"\$(q \"SELECT count(*), count(*) FILTER (WHERE name = 'new'), min(id), max(id) FROM sig_merge_$sfx\")\" = '150|101|1|150' ]"

# --- 3. a multipart upload ----------------------------------------------------
# Against moto's S3 (s3rver implements neither ListMultipartUploads nor
# AbortMultipartUpload), so "no upload left open" is proven by listing, with
# lode's s3.list_uploads and with botocore's list_multipart_uploads (the
# oracle). While part 2 is held both listings must show the upload: the
# listings can see an open upload, and the one they see is lode's.
moto_stack=$dir/moto
if ! moto_env=$($L dev up --dir "$moto_stack" --no-pg --s3 none --aws moto 2>"$dir/moto.log"); then
  echo "# moto did not start: $(tr '\n' '|' <"$dir/moto.log")"
  check "upload: moto (the S3 peer that lists multipart uploads) starts" false
else
moto=$(echo "$moto_env" | sed -n "s/^export AWS_ENDPOINT_URL='\(.*\)'$/\1/p")
# every S3 call of this section goes to moto (directly or through the proxy)
on_moto() { env -u AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL="$1" "${@:2}"; }
on_moto "$moto" aws s3 mb "s3://$bucket" >/dev/null
# open uploads under up/: "botocore" or "lode" lists them, one "key upload_id" a line
list_uploads() {
  if [ "$1" = botocore ]; then
    python3 -c '
import sys, botocore.session
c = botocore.session.get_session().create_client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
r = c.list_multipart_uploads(Bucket=sys.argv[2], Prefix="up/")
for u in r.get("Uploads", []): print(u["Key"], u["UploadId"])' "$moto" "$bucket"
  else
    on_moto "$moto" $L run "$dir/list_uploads.lua"
  fi
}
cat > "$dir/list_uploads.lua" <<LUA
for _, u in ipairs(require("lode.s3").list_uploads("s3://$bucket/up/")) do print(u.key, u.upload_id) end
LUA
head -c $((12 * 1024 * 1024)) /dev/urandom > "$dir/big.bin"
# the abort is slow (1 s): lode must wait for it before it exits, or the
# proxy drops it and the upload stays open
proxy_port=$(FAULT_PROXY_DELAY="DELETE :1" python3 tests/lua/s3/fault_proxy.py "${moto##*:}" hold -1 "$dir/proxy.log" 60 "partNumber=2")
cat > "$dir/upload.lua" <<LUA
local lode, s3 = require "lode", require "lode.s3"
local wh = lode.warehouse()   -- recorded in lode.runs
return lode.pipeline "sig_upload_$sfx" {
  lode.task "upload" { function()
    s3.upload("$dir/big.bin", "s3://$bucket/up/big.bin", { part_size = 5 * 1024 * 1024, concurrency = 1 })
  end },
}
LUA
env -u AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL="http://127.0.0.1:${proxy_port//[^0-9]/}" $L run "$dir/upload.lua" >"$dir/run.log" 2>&1 &
pid=$!
for _ in $(seq 1 400); do grep -q 'partNumber=2' "$dir/proxy.log" 2>/dev/null && break; sleep 0.05; done
check "upload: part 2 is in flight (held by the proxy)" "grep -q 'partNumber=2' $dir/proxy.log"
held=$(grep -o 'partNumber=2&uploadId=[^ ]*' "$dir/proxy.log" | head -1 | cut -d= -f3)
check "upload: while part 2 is held, botocore lists the run's upload as open" "[ -n '$held' ] && [ \"\$(list_uploads botocore)\" = 'up/big.bin $held' ]"
check "upload: while part 2 is held, s3.list_uploads lists it too" "[ -n '$held' ] && [ \"\$(list_uploads lode)\" = \"\$(printf 'up/big.bin\t%s' '$held')\" ]"
term_and_wait $pid
check "upload: exit 143 within 10 s ($secs s)" "[ $rc -eq 143 ] && python3 -c 'import sys; sys.exit(0 if $secs < 10 else 1)'"
check "upload: the summary is printed, the task cancelled" "grep -q 'CANCELLED by SIGTERM' $dir/run.log && grep -Eq '^upload +cancelled' $dir/run.log"
check "upload: lode.runs says cancelled by SIGTERM" "[ \"\$(run_status sig_upload_$sfx)\" = 'cancelled|cancelled by SIGTERM' ]"
check "upload: lode aborted the held upload and saw it done (DELETE ?uploadId= answered 204)" "grep -Eq \"^DELETE [^ ]*uploadId=$held -> 204\" $dir/proxy.log && ! grep -q 'could not abort' $dir/run.log"
check "upload: botocore lists no open multipart upload" "[ -z \"\$(list_uploads botocore)\" ]"
check "upload: s3.list_uploads lists none either" "out=\$(list_uploads lode) && [ -z \"\$out\" ]"
check "upload: no object was written" "! on_moto $moto aws s3 ls s3://$bucket/up/big.bin >/dev/null"
kill "$(cat "$dir/proxy.log.pid" 2>/dev/null)" 2>/dev/null
on_moto "$moto" $L run "$dir/upload.lua" >"$dir/run.log" 2>&1; rc=$?
on_moto "$moto" aws s3 cp --quiet "s3://$bucket/up/big.bin" "$dir/big.back"
check "upload: the re-run uploads the exact bytes" "[ $rc -eq 0 ] && cmp -s $dir/big.bin $dir/big.back && [ -z \"\$(list_uploads botocore)\" ]"
$L dev down --dir "$moto_stack" >/dev/null 2>&1
fi

# --- 4. however busy: a task that never yields ---------------------------------
# The loop cannot run while Lua spins, so a second signal and the grace period
# must work outside it (a signal handler and a watchdog thread).
cat > "$dir/busy.lua" <<LUA
local lode = require "lode"
io.stderr:write("spinning\n"); io.stderr:flush()
return lode.pipeline "sig_busy_$sfx" {
  lode.task "spin" { function() while true do end end },
}
LUA
spin_start() {
  $L run "$dir/busy.lua" "$@" >"$dir/run.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 400); do grep -q 'spin started' "$dir/run.log" && break; sleep 0.05; done
}
spin_start
kill -TERM $pid
for _ in $(seq 1 100); do grep -q 'spin' "$dir/run.log" && break; sleep 0.01; done
kill -INT $pid; wait $pid; rc=$?
check "a second signal exits at once with the first signal's code, however busy" "[ $rc -eq 143 ] && grep -q 'second signal (SIGINT)' $dir/run.log"
spin_start --shutdown-grace 1000
term_and_wait $pid
check "a run that does not stop is ended after the grace period ($secs s, rc $rc)" "[ $rc -eq 143 ] && grep -q 'did not stop in time after SIGTERM' $dir/run.log && python3 -c 'import sys; sys.exit(0 if 0.9 < $secs < 10 else 1)'"

q "DROP TABLE IF EXISTS sig_copy_$sfx, sig_merge_$sfx" >/dev/null
echo "1..$n"
[ $fails -eq 0 ]
