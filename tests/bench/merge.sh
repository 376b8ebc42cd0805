#!/usr/bin/env bash
# Merge: MERGE_BENCH_ROWS rows (20% updates of existing keys, 80% new) into a
# MERGE_BENCH_TARGET-row table with merge.upsert, both strategies, against
# PostgreSQL's own MERGE from a staging table loaded beforehand (the issue's
# reference), and against the delete_insert strategy's two statements run by
# hand from that pre-loaded stage (what lode adds to that strategy).
#
# Each case runs MERGE_BENCH_REPS times (default 3), interleaved, on a freshly
# built target after a CHECKPOINT; the best time counts. The PostgreSQL
# backend's CPU seconds (from /proc, when the server runs on this host) are
# printed too: on a shared machine they vary less than the wall time. Every run's result
# is checked against the reference's (row count and sum).
# The issue's sizes are MERGE_BENCH_TARGET=10000000 MERGE_BENCH_ROWS=1000000;
# the defaults keep `make bench` to a couple of minutes on a small machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
TARGET=${MERGE_BENCH_TARGET:-2000000}
ROWS=${MERGE_BENCH_ROWS:-200000}
REPS=${MERGE_BENCH_REPS:-3}
tmp=$(mktemp -d /tmp/lode-merge-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/bench.lua" <<'LUA'
local lode = require "lode"
local merge = require "lode.merge"
local target = math.tointeger(tonumber(os.getenv("MERGE_BENCH_TARGET")))
local rows = math.tointeger(tonumber(os.getenv("MERGE_BENCH_ROWS")))
local reps = math.tointeger(tonumber(os.getenv("MERGE_BENCH_REPS")))
-- one connection: the backend whose CPU time /proc shows (same host), or -1
local wh = lode.warehouse { url = os.getenv("LODE_WAREHOUSE"), pool = 1 }
local backend = wh:query("SELECT pg_backend_pid() AS p")[1].p
local function backend_cpu()
  local f = io.open("/proc/" .. backend .. "/stat")
  if not f then
    return -1
  end
  local stat = f:read("a")
  f:close()
  local fields = {}
  for x in stat:match("%) (.*)"):gmatch("%S+") do
    fields[#fields + 1] = x
  end
  return (tonumber(fields[12]) + tonumber(fields[13])) / 100 -- utime + stime, in clock ticks of 1/100 s
end
local updates = rows // 5
local lo = target - updates + 1            -- ids lo..lo+rows-1: the first 20% exist
local function reset()
  wh:exec("DROP TABLE IF EXISTS bench_merge_t")
  wh:exec(("CREATE TABLE bench_merge_t AS SELECT g AS id, g::bigint AS amount, 'row ' || g AS note, 1 AS ts FROM generate_series(1, %d) g"):format(target))
  wh:exec("ALTER TABLE bench_merge_t ADD PRIMARY KEY (id)")
  wh:exec("VACUUM ANALYZE bench_merge_t")
  wh:exec("CHECKPOINT")
end
wh:exec("DROP TABLE IF EXISTS bench_merge_src, bench_merge_stage")
wh:exec(("CREATE TABLE bench_merge_src AS SELECT g AS id, (g * 2)::bigint AS amount, 'new ' || g AS note, 2 AS ts FROM generate_series(%d, %d) g"):format(lo, lo + rows - 1))
wh:exec("ANALYZE bench_merge_src")
-- the references' stage: loaded and analyzed before the clock starts
wh:exec("CREATE TABLE bench_merge_stage AS SELECT * FROM bench_merge_src")
wh:exec("ANALYZE bench_merge_stage")
local function check()
  local r = wh:query("SELECT count(*) AS n, sum(amount)::bigint AS s FROM bench_merge_t")
  return r[1].n, r[1].s
end
local cases = {
  { "reference_merge", function()
    wh:exec([[MERGE INTO bench_merge_t t USING bench_merge_stage s ON t.id = s.id
      WHEN MATCHED THEN UPDATE SET amount = s.amount, note = s.note, ts = s.ts
      WHEN NOT MATCHED THEN INSERT (id, amount, note, ts) VALUES (s.id, s.amount, s.note, s.ts)]])
  end },
  { "reference_delete_insert", function()
    wh:transaction(function(tx)
      tx:exec("DELETE FROM bench_merge_t USING bench_merge_stage s WHERE bench_merge_t.id = s.id")
      tx:exec("INSERT INTO bench_merge_t (id, amount, note, ts) SELECT id, amount, note, ts FROM bench_merge_stage")
    end)
  end },
}
for _, strategy in ipairs { "delete_insert", "merge" } do
  cases[#cases + 1] = { strategy, function()
    local res = merge.upsert(wh, { target = "bench_merge_t", query = "SELECT id, amount, note, ts FROM bench_merge_src", strategy = strategy })
    assert(res.updated == updates and res.inserted == rows - updates,
      ("%s: wrong counts: inserted %d, updated %d"):format(strategy, res.inserted, res.updated))
  end }
end
for rep = 1, reps do
  for _, case in ipairs(cases) do
    reset()
    local t0, c0 = lode.now(), backend_cpu()
    case[2]()
    local ms, cpu = lode.now() - t0, c0 >= 0 and backend_cpu() - c0 or -1
    local n, s = check()
    print(("%s %d %d %s %.2f"):format(case[1], ms, n, s, cpu))
    io.stdout:flush()
    lode.log.info("merge bench run", { case = case[1], rep = rep, ms = ms })
  end
end
wh:exec("DROP TABLE bench_merge_t, bench_merge_src, bench_merge_stage")
LUA
level=warn; [ -n "${MERGE_BENCH_LOG:-}" ] && level=debug
MERGE_BENCH_TARGET=$TARGET MERGE_BENCH_ROWS=$ROWS MERGE_BENCH_REPS=$REPS \
  "$L" run --log-level $level "$tmp/bench.lua" 2>"$tmp/err" > "$tmp/out" || { cat "$tmp/err" >&2; exit 1; }
[ -n "${MERGE_BENCH_LOG:-}" ] && grep -E "merge step|merge bench run" "$tmp/err" >&2
awk -v target="$TARGET" -v rows="$ROWS" -v reps="$REPS" '
  {
    if (!($1 in best) || $2 < best[$1]) best[$1] = $2
    all[$1] = all[$1] " " $2
    if (!($1 in bcpu) || $5 < bcpu[$1]) bcpu[$1] = $5
    cpus[$1] = cpus[$1] " " $5
    if ($1 == "reference_merge") { rn = $3; rs = $4 }
    n[NR] = $3; s[NR] = $4; name[NR] = $1
  }
  END {
    for (i = 1; i <= NR; i++)
      if (n[i] != rn || s[i] != rs) { printf "merge.%s: WRONG RESULT (%s rows, sum %s; reference %s, %s)\n", name[i], n[i], s[i], rn, rs; bad = 1 }
    printf "merge.target_rows: %d\n", target
    printf "merge.batch_rows: %d (20%% updates), best of %d\n", rows, reps
    split("reference_merge reference_delete_insert delete_insert merge", order, " ")
    for (i = 1; i <= 4; i++) {
      c = order[i]; label = c ~ /^reference/ ? "postgres_" c "_from_preloaded_stage" : "lode_" c
      printf "merge.%s_ms: %d   (runs:%s)   rows/s: %.0f   backend CPU s:%s\n", label, best[c], all[c], rows / (best[c] / 1000), cpus[c]
    }
    if (bcpu["merge"] > 0) printf "ratio.backend_cpu: reference_merge/lode_merge %.2f\n", bcpu["reference_merge"] / bcpu["merge"]
    printf "ratio: reference_merge/lode_merge %.2f, reference_merge/lode_delete_insert %.2f (goal >= 1.0)\n", best["reference_merge"] / best["merge"], best["reference_merge"] / best["delete_insert"]
    printf "ratio.same_sql: reference_delete_insert/lode_delete_insert %.2f (lode overhead on that strategy)\n", best["reference_delete_insert"] / best["delete_insert"]
    exit bad
  }' "$tmp/out"
