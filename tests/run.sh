#!/usr/bin/env bash
# Run every test through prove: C unit programs, *_test.lua files (via
# `lode test`) and tests/t/*.t scripts, against services started here.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
export LODE_ROOT=$ROOT
export LODE_BIN=$ROOT/$BUILD/lode
export LODE_SHARED=${LODE_SHARED:-$ROOT/../shared}
export TZ=UTC
if [ "${SANITIZE:-}" = 1 ]; then
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp:print_suppressions=0}
fi

source tests/env/services.sh
trap services_stop EXIT
if ! services_start pg s3; then
  echo "tests: could not start the test services" >&2
  exit 1
fi
# PostgreSQL runs `lode` itself for the Spectrum emulation (file_fdw); as
# root the server is user postgres, which may not reach a clone under a
# private folder (/root/...): then use an installed copy it can reach.
lode_for_postgres || { echo "tests: cannot install lode where PostgreSQL can run it" >&2; exit 1; }

# With arguments (test files, e.g. `bash tests/run.sh tests/lua/pg/tx_test.lua`)
# only those run, against the same freshly started services.
tests=("$@")
if [ ${#tests[@]} -eq 0 ]; then
  for f in "$BUILD"/tests/unit/*; do [ -x "$f" ] && tests+=("$f"); done
  while IFS= read -r f; do tests+=("$f"); done < <(find tests/lua scripts/examples -name '*_test.lua' | sort)
  for f in tests/t/*.t; do [ -e "$f" ] && tests+=("$f"); done
fi

prove ${PROVE_FLAGS:-} --exec "$ROOT/tests/tap-exec" -j "${TEST_JOBS:-2}" "${tests[@]}"
