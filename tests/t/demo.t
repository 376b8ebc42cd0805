#!/usr/bin/env bash
# `make demo` (scripts/demo.sh): the whole idea on a throwaway stack, as a new user sees it.
cd "$(dirname "$0")/../.."
if [ "${SANITIZE:-}" = 1 ]; then echo "1..0 # SKIP the demo runs in the normal build"; exit 0; fi
out=$(mktemp); trap 'rm -f $out' EXIT
BUILD=${BUILD:-build} bash scripts/demo.sh >"$out" 2>&1; rc=$?
n=0; fails=0
check() { n=$((n+1)); if grep -q -- "$2" "$out"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); fi; }
n=$((n+1)); if [ $rc -eq 0 ]; then echo "ok $n - the demo exits 0"; else echo "not ok $n - the demo exits 0 (got $rc)"; tail -30 "$out" | sed 's/^/# /'; fails=$((fails+1)); fi
check "partitions discovered from S3" "24 partitions discovered"
check "the Spectrum query is pruned to one partition" "its plan reads 1 of the table's partitions"
check "the scan-cost estimate is printed" "would scan [0-9]* bytes"
check "the bulk COPY loads every file" "24 files, 1200 rows loaded into sales_fact"
check "the upsert's counts" "staged 49 rows: 29 updated, 20 inserted"
check "the re-run loads nothing twice" "24 files already loaded were skipped"
check "the Redshift plan shows the native COPY with the role redacted" "COPY sales_fact FROM 's3://lake/silver/sales/' IAM_ROLE '<redacted>' FORMAT AS PARQUET"
check "the stack is torn down" "the stack is stopped and removed"
echo "1..$n"
[ $fails -eq 0 ]
