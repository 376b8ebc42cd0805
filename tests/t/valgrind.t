#!/usr/bin/env bash
# No definite leaks or memory errors in a full run of the example pipelines.
# LODE_MALLOC=system: every Lua object through malloc, so valgrind sees each one.
cd "$(dirname "$0")/../.."
L=${LODE_BIN:-build/lode}
if [ "${SANITIZE:-}" = 1 ]; then echo "1..0 # SKIP the sanitizer build checks memory itself"; exit 0; fi
if ! command -v valgrind >/dev/null; then echo "1..0 # SKIP valgrind is not installed"; exit 0; fi
n=0; fails=0
for ex in scripts/examples/hello.lua scripts/examples/demo.lua; do
  n=$((n+1))
  log=$(mktemp)
  LODE_MALLOC=system valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 "$L" run "$ex" >/dev/null 2>"$log"
  rc=$?
  if [ $rc -eq 0 ] && grep -q "ERROR SUMMARY: 0 errors" "$log"; then
    echo "ok $n - valgrind: $ex runs with no memory errors and no definite leaks"
  else
    echo "not ok $n - valgrind: $ex (exit $rc)"; fails=$((fails+1))
    grep -E "definitely|Invalid|uninitialised|ERROR SUMMARY" "$log" | head -20 | sed 's/^/# /'
  fi
  rm -f "$log"
done
echo "1..$n"
[ $fails -eq 0 ]
