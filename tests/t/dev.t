#!/usr/bin/env bash
# lode dev up|env|down: a stack that answers, reports its environment, and leaves nothing behind.
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
n=0; fails=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); fi; }
base=$(mktemp -d /tmp/lode-devt.XXXXXX); chmod 755 "$base"; dir=$base/stack
trap '"$L" dev down --dir "$dir" >/dev/null 2>&1; rm -rf "$base"' EXIT
out=$("$L" dev up --dir "$dir" --s3 s3rver 2>/dev/null); rc=$?
check "dev up exits 0 and prints exports" "[ $rc -eq 0 ] && echo \"\$out\" | grep -q '^export LODE_WAREHOUSE='"
( eval "$out"; psql -Atc 'select 40 + 2' ) >"$base/q" 2>&1
check "the PostgreSQL it started answers" "grep -qx 42 '$base/q'"
( eval "$out"; curl -s -o /dev/null -w '%{http_code}' "$AWS_ENDPOINT_URL/" ) >"$base/s" 2>&1
check "the s3rver it started answers" "grep -qx 200 '$base/s'"
env2=$("$L" dev env --dir "$dir" 2>/dev/null)
check "dev env prints the same environment" "[ \"\$env2\" = \"\$out\" ]"
again=$("$L" dev up --dir "$dir" --s3 s3rver 2>&1 >/dev/null)
check "a second dev up reuses the running stack" "echo \"\$again\" | grep -q 'already running'"
pid=$(echo "$out" | sed -n "s/^export LODE_DEV_S3RVER_PID='\(.*\)'/\1/p")
"$L" dev down --dir "$dir" >/dev/null 2>&1; rc=$?
check "dev down exits 0 and removes the folder" "[ $rc -eq 0 ] && [ ! -e '$dir' ]"
# gone, or a zombie waiting for a parent that does not reap (PID 1 in some containers)
check "dev down stopped s3rver" "! kill -0 $pid 2>/dev/null || grep -q '^[0-9]* ([^)]*) Z' /proc/$pid/stat"
( eval "$out"; psql -Atc 'select 1' ) >/dev/null 2>&1; prc=$?
check "dev down stopped PostgreSQL" "[ $prc -ne 0 ]"
out=$("$L" dev up --dir "$dir" --no-pg --s3 none 2>/dev/null); rc=$?
check "dev up --s3 none starts no S3 server" "[ $rc -eq 0 ] && ! echo \"\$out\" | grep -q 'AWS_ENDPOINT_URL\|S3RVER_PID'"
"$L" dev down --dir "$dir" >/dev/null 2>&1
out=$("$L" dev up --dir "$dir" --no-pg --aws moto 2>/dev/null); rc=$?
( eval "$out"; aws s3 mb s3://devt && aws s3api list-buckets --query 'Buckets[].Name' --output text && aws sts get-caller-identity --query Account --output text ) >"$base/m" 2>&1
check "dev up --aws moto: S3 and STS answer at AWS_ENDPOINT_URL" "[ $rc -eq 0 ] && grep -qx devt '$base/m' && grep -qx '[0-9]\{12\}' '$base/m'"
mpid=$(echo "$out" | sed -n "s/^export LODE_DEV_MOTO_PID='\(.*\)'/\1/p")
"$L" dev down --dir "$dir" >/dev/null 2>&1
check "dev down stopped moto" "[ -n '$mpid' ] && { ! kill -0 $mpid 2>/dev/null || grep -q '^[0-9]* ([^)]*) Z' /proc/$mpid/stat; }"
"$L" dev env --dir "$dir" >/dev/null 2>&1; rc=$?
check "dev env with nothing running exits 1" "[ $rc -eq 1 ]"
"$L" dev sideways >/dev/null 2>&1; rc=$?
check "an unknown action is a usage error" "[ $rc -eq 2 ]"
echo "1..$n"
[ $fails -eq 0 ]
