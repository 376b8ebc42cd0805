#!/usr/bin/env bash
# S3 transfer benchmark against s3rver on loopback: lode vs `aws s3 cp
# --recursive`, download and upload, as 64 objects and as one multipart
# object. LODE_BENCH_S3_MIB sets the data size (default 1024 = 1 GiB; use
# e.g. 64 for a quick run). Prints name: value lines, peak RSS of lode, and
# ratios (aws time / lode time; > 1 means lode is faster).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
export LODE_BIN=$ROOT/$BUILD/lode
MIB=${LODE_BENCH_S3_MIB:-1024}
source tests/env/services.sh
WORK=$(mktemp -d /tmp/lode-bench-s3.XXXXXX)
cleanup() { services_stop; rm -rf "$WORK"; }
trap cleanup EXIT
services_start s3 >/dev/null

mkdir -p "$WORK/many" "$WORK/one" "$WORK/back-lode" "$WORK/back-aws"
per=$(( MIB * 1048576 / 64 ))
for i in $(seq -w 1 64); do head -c "$per" /dev/urandom > "$WORK/many/part-$i.bin"; done
head -c $(( MIB * 1048576 )) /dev/urandom > "$WORK/one/big.bin"
aws s3 mb s3://bench >/dev/null

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

cat > "$WORK/up.lua" <<'LUA'
local lode, s3, fs = require "lode", require "lode.s3", require "lode.fs"
local src, dst = arg[1], arg[2]
local files = {}
for name in io.popen("ls " .. src):lines() do files[#files + 1] = name end
local fns = {}
local sem = lode.semaphore(8)
for i, name in ipairs(files) do
  fns[i] = function() return sem:with(s3.upload, src .. "/" .. name, dst .. name) end
end
lode.all(fns)
io.stderr:write(("rss_kib %d\n"):format(require("lode.core").maxrss()))
LUA
cat > "$WORK/down.lua" <<'LUA'
local lode, s3 = require "lode", require "lode.s3"
local src, dst = arg[1], arg[2]
local fns = {}
local sem = lode.semaphore(8)
local objs = s3.list(src)
local bucket = src:match("^s3://([^/]+)")
for i, o in ipairs(objs) do
  fns[i] = function() return sem:with(s3.download, "s3://" .. bucket .. "/" .. o.key, dst .. "/" .. o.key:match("([^/]+)$")) end
end
lode.all(fns)
io.stderr:write(("rss_kib %d\n"):format(require("lode.core").maxrss()))
LUA
# lode run passes no argv to scripts: wrap them
run_lode() { # script src dst
  printf 'arg = { [1] = "%s", [2] = "%s" }\ndofile("%s")\n' "$2" "$3" "$1" > "$WORK/wrap.lua"
  "$LODE_BIN" run "$WORK/wrap.lua" 2>"$WORK/lode.err" || { cat "$WORK/lode.err" >&2; return 1; }
  sed -n "s/^rss_kib //p" "$WORK/lode.err"
}

declare -A T RSS
measure() { # name command...
  local name=$1; shift
  local t0 t1 out
  t0=$(now); out=$("$@"); t1=$(now)
  T[$name]=$(elapsed "$t0" "$t1")
  RSS[$name]=${out:-}
}
measure lode_up_64 run_lode "$WORK/up.lua" "$WORK/many" "s3://bench/lode-many/"
measure aws_up_64 aws s3 cp --recursive --quiet "$WORK/many" "s3://bench/aws-many/"
measure lode_down_64 run_lode "$WORK/down.lua" "s3://bench/aws-many/" "$WORK/back-lode"
measure aws_down_64 aws s3 cp --recursive --quiet "s3://bench/lode-many/" "$WORK/back-aws"
measure lode_up_1 run_lode "$WORK/up.lua" "$WORK/one" "s3://bench/lode-one/"
measure aws_up_1 aws s3 cp --recursive --quiet "$WORK/one" "s3://bench/aws-one/"
rm -rf "$WORK/back-lode"/* "$WORK/back-aws"/*
measure lode_down_1 run_lode "$WORK/down.lua" "s3://bench/aws-one/" "$WORK/back-lode"
measure aws_down_1 aws s3 cp --recursive --quiet "s3://bench/lode-one/" "$WORK/back-aws"
cmp "$WORK/one/big.bin" "$WORK/back-lode/big.bin"
cmp "$WORK/one/big.bin" "$WORK/back-aws/big.bin"

echo "s3_data_mib: $MIB"
for k in up_64 down_64 up_1 down_1; do
  echo "s3_${k}_lode_s: ${T[lode_$k]}"
  echo "s3_${k}_aws_s: ${T[aws_$k]}"
  echo "s3_${k}_lode_peak_rss_kib: ${RSS[lode_$k]}"
  echo "ratio: s3_${k} $(echo "scale=2; ${T[aws_$k]} / ${T[lode_$k]}" | bc)"
done
