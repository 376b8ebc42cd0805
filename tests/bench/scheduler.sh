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
best() {   # best() CMD...: the run with the least wall time, "n ns bytes"
  local best_line="" best_ns=""
  for _ in 1 2 3; do
    local line; line=$("$@")
    local ns; ns=$(echo "$line" | awk '{print $2}')
    if [ -z "$best_ns" ] || [ "$ns" -lt "$best_ns" ]; then best_ns=$ns; best_line=$line; fi
  done
  echo "$best_line"
}
report() {   # report LABEL
  read -r n lode_ns lode_rss < <(best env ${TUNE:-} "$L" run tests/bench/scheduler.lua)
  read -r _ plain_ns plain_rss < <(best env ${TUNE:-} lua5.4 tests/bench/scheduler_plain.lua)
  # the same plain coroutines run by lode's interpreter, on lode's allocator
  read -r _ inlode_ns _ < <(best env ${TUNE:-} "$L" run tests/bench/scheduler_plain.lua)
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
