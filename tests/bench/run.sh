#!/usr/bin/env bash
# make bench: every tests/bench/*.sh in order, each printing `name: value`
# lines and a `ratio:` line against its peer tool. Services start here.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
export LODE_ROOT=$ROOT LODE_BIN=$ROOT/${BUILD:-build}/lode TZ=UTC
export LODE_SHARED=${LODE_SHARED:-$ROOT/../shared}
source tests/env/services.sh
trap services_stop EXIT
services_start pg s3 || exit 1
status=0
for b in tests/bench/*.sh; do
  [ "$(basename "$b")" = run.sh ] && continue
  if [ -n "${BENCH:-}" ] && [[ "$(basename "$b" .sh)" != $BENCH ]]; then continue; fi
  echo "== $(basename "$b" .sh)"
  bash "$b" || { echo "benchmark $b failed"; status=1; }
done
exit $status
