#!/usr/bin/env bash
# Scheduler: 100,000 tasks that sleep 1 ms each, spawned and awaited — lode vs
# the same workload in plain Lua 5.4 coroutines driven by a trivial loop (the
# lower bound). Best of 3 runs each, with glibc's default malloc and with
# transparent huge pages for glibc's heap (GLIBC_TUNABLES=glibc.malloc.hugetlb=1).
# On VMs most of the per-task cost of plain Lua is first-touch page faults;
# lode's small-block allocator (runtime/core/mem.c) takes its chunks as huge pages,
# so it pays ~1 fault per 2 MiB either way. LODE_MALLOC=system shows lode on
# glibc's malloc, for comparison.
set -euo pipefail
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
best() {   # best() CMD...: the run with the least wall time, "n ns bytes [cpu_ns]"
  local best_line="" best_ns=""
  for _ in 1 2 3; do
    local line; line=$("$@")
    local ns; ns=$(echo "$line" | awk '{print $2}')
    if [ -z "$best_ns" ] || [ "$ns" -lt "$best_ns" ]; then best_ns=$ns; best_line=$line; fi
  done
  echo "$best_line"
}
report() {   # report LABEL
  read -r n lode_ns lode_rss _ < <(best env ${TUNE:-} "$L" run tests/bench/scheduler.lua)
  read -r _ plain_ns plain_rss _ < <(best env ${TUNE:-} lua5.4 tests/bench/scheduler_plain.lua)
  # the same plain coroutines run by lode's interpreter, on lode's allocator
  read -r _ inlode_ns _ _ < <(best env ${TUNE:-} "$L" run tests/bench/scheduler_plain.lua)
  awk -v tag="$1" -v n="$n" -v l="$lode_ns" -v p="$plain_ns" -v lr="$lode_rss" -v pr="$plain_rss" -v il="$inlode_ns" 'BEGIN {
    lo = (l - 1e6) / n / 1000; po = (p - 1e6) / n / 1000; io = (il - 1e6) / n / 1000
    printf "scheduler%s.tasks: %d\n", tag, n
    printf "scheduler%s.lode_wall_ms: %.1f   plain_wall_ms: %.1f\n", tag, l / 1e6, p / 1e6
    printf "scheduler%s.lode_overhead_us_per_task: %.2f (goal <= 5)   plain: %.2f\n", tag, lo, po
    printf "scheduler%s.lode_peak_bytes_per_task: %.0f (goal <= 2048)   plain: %.0f\n", tag, lr / n, pr / n
    printf "scheduler%s.plain_coroutines_in_lode_us_per_task: %.2f (same allocator as lode)\n", tag, io
    printf "ratio%s: lode/plain overhead %.2f, lode/plain-in-lode %.2f\n", tag, lo / po, lo / io
  }'
}
TUNE= report ""
TUNE=GLIBC_TUNABLES=glibc.malloc.hugetlb=1 report ".hugetlb"
TUNE=LODE_MALLOC=system report ".system_malloc"

# Scale (#21): the overhead per task at 1 M tasks against 10 k, 3 runs each:
# the best run's µs per task (wall less the 1 ms sleep), the spread (worst
# run) and the best run's CPU seconds (user + system, os.clock). Goal: the
# ratio <= 1.3. The same for plain coroutines in lode (no scheduler, same
# interpreter and allocator), which tells growth of the scheduler from
# growth of a Lua thread's own memory (first touch of ~1.2 KB each, GC).
# SCALE_TASKS="10000 1000000" by default.
scale() {   # scale LABEL SCRIPT
  local small big
  read -r small big <<<"${SCALE_TASKS:-10000 1000000}"
  for n in "$small" "$big"; do
    for _ in 1 2 3; do BENCH_TASKS=$n "$L" run "$2"; done
  done | awk -v small="$small" -v big="$big" -v tag="$1" '
    { us = ($2 - 1e6) / $1 / 1000; cpu = ($4 != "" ? $4 : $2 - 1e6) / 1e9   # plain: its clock is CPU time, spin included
      if (!($1 in best) || us < best[$1]) { best[$1] = us; bcpu[$1] = cpu; bcpuus[$1] = cpu * 1e6 / $1 }
      if (!($1 in mincpu) || cpu < mincpu[$1]) mincpu[$1] = cpu
      if (!($1 in worst) || us > worst[$1]) worst[$1] = us
      rss[$1] = $3; flt[$1] = $5 }
    END {
      for (i = 1; i <= 2; i++) { n = i == 1 ? small : big
        printf "scheduler.scale%s_%d.us_per_task: %.2f (worst of 3: %.2f)   cpu_s: %.2f (%.2f us per task; least of 3: %.2f us)\n", tag, n, best[n], worst[n], bcpu[n], bcpuus[n], mincpu[n] * 1e6 / n
        printf "scheduler.scale%s_%d.peak_bytes_per_task: %.0f", tag, n, rss[n] / n
        if (flt[n] != "") printf "   minor_faults: %d (%.2f per 1000 tasks)", flt[n], flt[n] * 1000 / n
        printf "\n" }
      printf "ratio.scale%s: us per task at %d / at %d = %.2f (goal <= 1.3); cpu per task %.2f\n", tag, big, small,
             best[big] / best[small], bcpuus[big] / bcpuus[small]
    }'
}
scale "" tests/bench/scheduler.lua
scale ".plain_in_lode" tests/bench/scheduler_plain.lua
