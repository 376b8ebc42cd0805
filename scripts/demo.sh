#!/usr/bin/env bash
# make demo: a real pipeline end to end on a throwaway local stack.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LODE=$ROOT/${BUILD:-build}/lode
source tests/env/services.sh
trap services_stop EXIT
echo "demo: starting a throwaway PostgreSQL on loopback"
services_start pg
echo "demo: running scripts/examples/demo.lua against $LODE_WAREHOUSE"
"$LODE" run scripts/examples/demo.lua
echo "demo: done; the cluster is removed on exit"
