#!/usr/bin/env bash
# Scheduler: 100,000 tasks that sleep 1 ms each, lode vs plain Lua coroutines.
set -euo pipefail
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
read -r n lode_ns lode_rss < <("$L" run tests/bench/scheduler.lua)
read -r _ plain_ns plain_rss < <(lua5.4 tests/bench/scheduler_plain.lua)
awk -v n="$n" -v l="$lode_ns" -v p="$plain_ns" -v lr="$lode_rss" -v pr="$plain_rss" 'BEGIN {
  lo = (l - 1e6) / n / 1000; po = (p - 1e6) / n / 1000
  printf "scheduler.tasks: %d\n", n
  printf "scheduler.lode_wall_ms: %.1f\n", l / 1e6
  printf "scheduler.plain_wall_ms: %.1f\n", p / 1e6
  printf "scheduler.lode_overhead_us_per_task: %.2f (goal <= 5)\n", lo
  printf "scheduler.plain_overhead_us_per_task: %.2f\n", po
  printf "scheduler.lode_peak_bytes_per_task: %.0f (goal <= 2048)\n", lr / n
  printf "scheduler.plain_peak_bytes_per_task: %.0f\n", pr / n
  printf "ratio: lode/plain overhead %.2f\n", lo / po
}'
