#!/usr/bin/env bash
# `make install PREFIX=…` gives a lode that finds its Lua library outside the build tree.
cd "$(dirname "$0")/../.."
if [ "${SANITIZE:-}" = 1 ]; then echo "1..0 # SKIP install is checked in the normal build"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf $tmp' EXIT
make -s install PREFIX="$tmp/prefix" BUILD="${BUILD:-build}" >/dev/null 2>&1
cp scripts/examples/hello.lua "$tmp/p.lua"
(cd / && "$tmp/prefix/bin/lode" run "$tmp/p.lua" >"$tmp/out" 2>&1); rc=$?
if [ $rc -eq 0 ] && grep -q "pipeline hello succeeded" "$tmp/out"; then echo "ok 1 - installed lode runs a pipeline from another folder"
else echo "not ok 1 - installed lode runs a pipeline (exit $rc)"; sed 's/^/# /' "$tmp/out"; fi
echo "1..1"
[ $rc -eq 0 ]
