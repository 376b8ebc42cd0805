#!/usr/bin/env bash
# Parquet writing from Lua rows (lode.parquet.writer), three measurements:
#  1. streamed to S3 (s3rver): PQ_WRITE_MB MiB of Parquet (default 256; the
#     issue's 5 GB run is PQ_WRITE_MB=5120) written as a multipart upload
#     while the rows are produced — lode's peak RSS, which must stay under
#     256 MiB whatever the size, the object's size checked with the aws CLI;
#  2. Lua rows vs DuckDB writing the same rows from range() (one thread):
#     PQ_WRITE_ROWS rows (default 1,000,000), best of 3, the spread, CPU
#     seconds, ratio = DuckDB's best / lode's best (> 1: lode is faster);
#  3. REST pagination throughput: lode.rest.items over the loopback API
#     (tests/tools/fake_api.js, REST_ITEMS items in pages of 1,000) against
#     Python's urllib paging the same API.
# Needs s3rver (tests/bench/run.sh starts it) and node with @duckdb/node-api.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
LODE=${LODE_BIN:-$ROOT/${BUILD:-build}/lode}
MB=${PQ_WRITE_MB:-256}
ROWS=${PQ_WRITE_ROWS:-1000000}
ITEMS=${REST_ITEMS:-100000}
if [ -z "${LODE_TEST_S3_ENDPOINT:-}" ]; then
  echo "parquet_write: skipped (no s3rver: run through tests/bench/run.sh)"; exit 0
fi
if ! (cd tests && node -e "require('@duckdb/node-api')" 2>/dev/null); then
  echo "parquet_write: skipped (node with @duckdb/node-api not installed in tests/)"; exit 0
fi
DIR=$(mktemp -d /tmp/lode-bench-pqw.XXXXXX)
api_pid=
cleanup() { [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null; rm -rf "$DIR"; }
trap cleanup EXIT
now() { date +%s.%N; }
bucket=bench-pqw-$$
aws s3 mb "s3://$bucket" >/dev/null

# --- 1. streamed to S3 ----------------------------------------------------------
# 112 bytes a row uncompressed (compression none: the size is the data's)
cat > "$DIR/stream.lua" <<'LUA'
local lode, parquet = require "lode", require "lode.parquet"
local url, bytes = lode.param("url"), tonumber(lode.param("bytes"))
local w <close> = parquet.writer(url, { columns = { { name = "id", type = "bigint" }, { name = "note", type = "varchar" } },
  compression = "none", row_group_rows = 200000 })
local pad = ("x"):rep(92)
local rows = bytes // 112
for i = 1, rows do
  w:write({ id = i, note = ("%08d"):format(i % 100000000) .. pad })
end
local r = w:close()
print(r.rows, r.bytes, r.parts)
LUA
s=$(now)
out=$(/usr/bin/time -o "$DIR/time.txt" -f "%M %U %S" "$LODE" run "$DIR/stream.lua" --param "url=s3://$bucket/big.parquet" \
  --param "bytes=$(( MB * 1048576 ))")
t=$(echo "$(now) - $s" | bc)
read -r rows bytes parts <<<"$out"
read -r rss_kib ucpu scpu < <(tail -1 "$DIR/time.txt")
size=$(aws s3api head-object --bucket "$bucket" --key big.parquet --query ContentLength --output text)
aws s3 rm --quiet "s3://$bucket/big.parquet"
echo "parquet_write s3 MiB: $(( bytes / 1048576 )) (rows $rows, parts $parts, S3 size matches: $([ "$size" = "$bytes" ] && echo yes || echo NO))"
echo "parquet_write s3 peak RSS MiB: $(( rss_kib / 1024 )) (limit 256: $([ "$rss_kib" -lt 262144 ] && echo under || echo OVER))"
echo "parquet_write s3 s: $t (MiB/s $(echo "scale=1; $bytes / 1048576 / $t" | bc), CPU s $(echo "$ucpu + $scpu" | bc))"

# --- 2. Lua rows vs DuckDB ------------------------------------------------------------
cat > "$DIR/rows.lua" <<'LUA'
local lode, parquet = require "lode", require "lode.parquet"
local n = tonumber(lode.param("rows"))
local w = parquet.writer(lode.param("path"), { columns = {
  { name = "id", type = "bigint" }, { name = "note", type = "varchar" }, { name = "r", type = "double precision" },
  { name = "price", type = "numeric(10,2)" }, { name = "ts", type = "timestamp" } }, row_group_rows = 500000 })
local base = os.time({ year = 2024, month = 1, day = 1, hour = 0 }) -- TZ=UTC (run.sh)
for i = 0, n - 1 do
  w:write({ id = i, note = "note " .. (i * 7919), r = i / 7, price = ("%d.%02d"):format(i % 100000 // 100, i % 100),
            ts = os.date("!%Y-%m-%d %H:%M:%S", base + i) })
end
w:close()
LUA
DUCK="COPY (SELECT i::BIGINT AS id, 'note ' || (i * 7919) AS note, i / 7 AS r, (i % 100000 / 100.0)::DECIMAL(10,2) AS price,
  TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts FROM range($ROWS) t(i)) TO '$DIR/duck.parquet' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 500000)"
best() { sort -n | head -1; }
lt=(); dt=(); lc=(); dc=()
for k in 1 2 3; do
  s=$(now)
  /usr/bin/time -o "$DIR/t.txt" -f "%U %S" "$LODE" run "$DIR/rows.lua" --param "rows=$ROWS" --param "path=$DIR/lode.parquet"
  lt+=("$(echo "$(now) - $s" | bc)"); read -r u sy < "$DIR/t.txt"; lc+=("$(echo "$u + $sy" | bc)")
  s=$(now)
  /usr/bin/time -o "$DIR/t.txt" -f "%U %S" node tests/tools/duckdb.js "SET threads = 1" "$DUCK" >/dev/null
  dt+=("$(echo "$(now) - $s" | bc)"); read -r u sy < "$DIR/t.txt"; dc+=("$(echo "$u + $sy" | bc)")
done
# the same rows: DuckDB compares the two files
same=$(node tests/tools/duckdb.js "SELECT count(*) AS n FROM (SELECT * FROM '$DIR/lode.parquet' EXCEPT ALL SELECT * FROM '$DIR/duck.parquet')" | tr -dc '0-9')
lb=$(printf '%s\n' "${lt[@]}" | best); db=$(printf '%s\n' "${dt[@]}" | best)
lw=$(printf '%s\n' "${lt[@]}" | sort -n | tail -1); dw=$(printf '%s\n' "${dt[@]}" | sort -n | tail -1)
echo "parquet_write rows: $ROWS (rows that differ from DuckDB's file: $same)"
echo "parquet_write lode best s: $lb (worst $lw, CPU s ${lc[*]})"
echo "parquet_write duckdb best s: $db (worst $dw, CPU s ${dc[*]}; node start-up included)"
echo "ratio: $(echo "scale=2; $db / $lb" | bc)"

# --- 3. REST pagination ------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
node tests/tools/fake_api.js "$port" "$ITEMS" 1000 > "$DIR/api.log" 2>&1 &
api_pid=$!
curl -s -o /dev/null --retry 40 --retry-connrefused --retry-delay 0 --retry-max-time 20 "http://127.0.0.1:$port/admin/stats"
cat > "$DIR/rest.lua" <<'LUA'
local lode, rest = require "lode", require "lode.rest"
local n = 0
for _ in rest.items(lode.param("api") .. "/orders", { paginator = "cursor", items = "orders" }) do n = n + 1 end
print(n)
LUA
cat > "$DIR/rest.py" <<'PY'
import json, sys, urllib.request
api, cur, n = sys.argv[1], "0", 0
while cur is not None:
    doc = json.load(urllib.request.urlopen(f"{api}/orders?cursor={cur}"))
    n += len(doc["orders"]); cur = doc["next"]
print(n)
PY
s=$(now); got=$("$LODE" run "$DIR/rest.lua" --param "api=http://127.0.0.1:$port"); tr=$(echo "$(now) - $s" | bc)
s=$(now); gotp=$(python3 "$DIR/rest.py" "http://127.0.0.1:$port"); tp=$(echo "$(now) - $s" | bc)
echo "rest items: $got (python: $gotp), pages: $(( (ITEMS + 999) / 1000 ))"
echo "rest lode s: $tr (items/s $(echo "$got / $tr" | bc))"
echo "rest python urllib s: $tp (items/s $(echo "$gotp / $tp" | bc))"
echo "ratio: $(echo "scale=2; $tp / $tr" | bc)"
