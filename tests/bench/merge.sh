#!/usr/bin/env bash
# Merge: MERGE_BENCH_ROWS rows (20% updates of existing keys, 80% new) into a
# MERGE_BENCH_TARGET-row table with merge.upsert, both strategies, against
# PostgreSQL's own MERGE from a pre-loaded staging table (the reference).
# The issue's sizes are MERGE_BENCH_TARGET=10000000 MERGE_BENCH_ROWS=1000000;
# the defaults keep `make bench` to a few minutes on a small machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
TARGET=${MERGE_BENCH_TARGET:-2000000}
ROWS=${MERGE_BENCH_ROWS:-200000}
tmp=$(mktemp -d /tmp/lode-merge-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/bench.lua" <<'LUA'
local lode = require "lode"
local merge = require "lode.merge"
local target, rows = tonumber(arg and arg[1] or os.getenv("MERGE_BENCH_TARGET")), tonumber(os.getenv("MERGE_BENCH_ROWS"))
target, rows = math.tointeger(target), math.tointeger(rows)
local wh = lode.warehouse()
local updates = rows // 5
local lo = target - updates + 1            -- ids lo..lo+rows-1: the first 20% exist
local function reset()
  wh:exec("DROP TABLE IF EXISTS bench_merge_t")
  wh:exec(("CREATE TABLE bench_merge_t AS SELECT g AS id, g::bigint AS amount, 'row ' || g AS note, 1 AS ts FROM generate_series(1, %d) g"):format(target))
  wh:exec("ALTER TABLE bench_merge_t ADD PRIMARY KEY (id)")
  wh:exec("VACUUM ANALYZE bench_merge_t")
end
wh:exec("DROP TABLE IF EXISTS bench_merge_src")
wh:exec(("CREATE TABLE bench_merge_src AS SELECT g AS id, (g * 2)::bigint AS amount, 'new ' || g AS note, 2 AS ts FROM generate_series(%d, %d) g"):format(lo, lo + rows - 1))
wh:exec("ANALYZE bench_merge_src")
local function check()
  local r = wh:query("SELECT count(*) AS n, sum(amount)::bigint AS s FROM bench_merge_t")
  return r[1].n, r[1].s
end
local out = {}
for _, strategy in ipairs { "delete_insert", "merge" } do
  reset()
  local t0 = lode.now()
  local res = merge.upsert(wh, { target = "bench_merge_t", query = "SELECT id, amount, note, ts FROM bench_merge_src", strategy = strategy })
  local ms = lode.now() - t0
  assert(res.updated == updates and res.inserted == rows - updates, "wrong counts")
  local n, s = check()
  out[#out + 1] = ("%s %d %.1f %d %s"):format(strategy, ms, res.staging_seconds * 1000, n, s)
end
-- the reference: PostgreSQL's MERGE from a staging table loaded beforehand (not timed)
reset()
wh:exec("DROP TABLE IF EXISTS bench_merge_stage")
wh:exec("CREATE TABLE bench_merge_stage AS SELECT * FROM bench_merge_src")
wh:exec("ANALYZE bench_merge_stage")
local t0 = lode.now()
wh:exec([[MERGE INTO bench_merge_t t USING bench_merge_stage s ON t.id = s.id
  WHEN MATCHED THEN UPDATE SET amount = s.amount, note = s.note, ts = s.ts
  WHEN NOT MATCHED THEN INSERT (id, amount, note, ts) VALUES (s.id, s.amount, s.note, s.ts)]])
local ms = lode.now() - t0
local n, s = check()
out[#out + 1] = ("reference %d 0 %d %s"):format(ms, n, s)
wh:exec("DROP TABLE bench_merge_t, bench_merge_src, bench_merge_stage")
print(table.concat(out, "\n"))
LUA
MERGE_BENCH_TARGET=$TARGET MERGE_BENCH_ROWS=$ROWS "$L" run ${MERGE_BENCH_LOG:+--log-level debug} "$tmp/bench.lua" 2>"$tmp/err" > "$tmp/out" || { cat "$tmp/err" >&2; exit 1; }
[ -n "${MERGE_BENCH_LOG:-}" ] && grep "merge step" "$tmp/err" >&2
awk -v target="$TARGET" -v rows="$ROWS" '
  { name[NR] = $1; ms[NR] = $2; stage[NR] = $3; n[NR] = $4; s[NR] = $5 }
  END {
    printf "merge.target_rows: %d\n", target
    printf "merge.batch_rows: %d (20%% updates)\n", rows
    for (i = 1; i <= NR; i++) {
      label = name[i] == "reference" ? "postgres_merge_from_preloaded_stage" : "lode_" name[i]
      printf "merge.%s_ms: %d\n", label, ms[i]
      printf "merge.%s_rows_per_s: %.0f\n", label, rows / (ms[i] / 1000)
      if (name[i] != "reference") printf "merge.%s_staging_ms: %.0f\n", label, stage[i]
      if (n[i] != n[NR] || s[i] != s[NR]) { printf "merge.%s: WRONG RESULT (%s rows, sum %s; reference %s, %s)\n", label, n[i], s[i], n[NR], s[NR]; bad = 1 }
    }
    printf "ratio: reference/lode_delete_insert %.2f, reference/lode_merge %.2f (goal >= 0.9)\n", ms[NR] / ms[1], ms[NR] / ms[2]
    exit bad
  }' "$tmp/out"
