#!/usr/bin/env bash
# make demo: the S3 → warehouse idea end to end on a zero-setup local stack.
# A throwaway PostgreSQL and a local S3 folder (`lode dev up`), a small lake of
# partitioned Parquet sales data, then one pipeline that uses all three
# strategies: Spectrum (external table over S3, partitions discovered, a
# pruned query and its cost), bulk COPY, and a transactional upsert.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
export LODE_ROOT=$ROOT LODE_BIN=$ROOT/${BUILD:-build}/lode
work=$(mktemp -d /tmp/lode-demo.XXXXXX)
chmod 755 "$work"
# PostgreSQL runs lode itself for the Spectrum emulation: as root, make sure
# its user can (an installed copy under $work when this clone is private)
source tests/env/services.sh
SERVICES_DIR=$work lode_for_postgres
LODE=$LODE_BIN
trap '"$LODE" dev down --dir "$work/stack" >/dev/null 2>&1; rm -rf "$work"' EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "starting a throwaway PostgreSQL and a local S3 folder (lode dev up)"
eval "$("$LODE" dev up --dir "$work/stack" --database demo)"
echo "LODE_WAREHOUSE=$LODE_WAREHOUSE"
echo "AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL"

say "writing a lake of partitioned Parquet sales data to s3://lake/ (DuckDB writes, lode uploads)"
"$LODE" run scripts/examples/make_lake.lua
"$LODE" s3 ls s3://lake/silver/sales/year=2024/ | head -3
echo "…"

say "lode run scripts/examples/sales_daily.lua: Spectrum + COPY + upsert"
"$LODE" run scripts/examples/sales_daily.lua

say "running it again: nothing is loaded twice (the ledger skips every file)"
"$LODE" --log-level warn run scripts/examples/sales_daily.lua --task bulk

say "the same SQL, as Redshift would receive it (lode plan with a redshift:// warehouse)"
LODE_WAREHOUSE='redshift://loader@example-cluster:5439/analytics' \
  "$LODE" plan scripts/examples/sales_daily.lua --task bulk 2>/dev/null | grep -v '^--' | head -12

say "done: the stack is stopped and removed"
