#!/usr/bin/env bash
# `make install PREFIX=…` gives a lode that works without the source tree: it
# finds its Lua library, `lode dev up --s3 s3rver` starts the local S3 from the
# installed share folder (or says clearly what is missing), and the examples'
# tests run with the installed `lode test` from any folder. Every lode here
# runs from an unrelated folder, with no LODE_ROOT / LODE_BIN / LODE_STDLIB
# pointing back at the tree.
cd "$(dirname "$0")/../.."
repo=$PWD
if [ "${SANITIZE:-}" = 1 ]; then echo "1..0 # SKIP install is checked in the normal build"; exit 0; fi
n=0; fails=0
check() { n=$((n+1)); if eval "$2"; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails+1)); [ -n "${3:-}" ] && sed 's/^/# /' "$3" | tail -40; fi; }
tmp=$(mktemp -d /tmp/lode-install.XXXXXX); chmod 755 "$tmp"   # PostgreSQL's user runs the installed lode (Spectrum scans)
stack=$tmp/stack
trap '"$tmp/prefix/bin/lode" dev down --dir "$stack" >/dev/null 2>&1; rm -rf "$tmp"' EXIT
make -s install PREFIX="$tmp/prefix" BUILD="${BUILD:-build}" >"$tmp/install.log" 2>&1
check "make install" "[ -x '$tmp/prefix/bin/lode' ]" "$tmp/install.log"
L=$tmp/prefix/bin/lode
mkdir -p "$tmp/elsewhere"
# an installed lode run from an unrelated folder, knowing nothing of the tree
installed() { (cd "$tmp/elsewhere" && env -u LODE_ROOT -u LODE_BIN -u LODE_STDLIB -u LODE_S3RVER "$@"); }

cp scripts/examples/hello.lua "$tmp/p.lua"
installed "$L" run "$tmp/p.lua" >"$tmp/out" 2>&1; rc=$?
check "installed lode runs a pipeline from another folder" "[ $rc -eq 0 ] && grep -q 'pipeline hello succeeded' '$tmp/out'" "$tmp/out"

# --- lode dev up --s3 s3rver from the installed share folder -------------------
if [ -d tests/node_modules/s3rver ] && command -v node >/dev/null; then
  installed "$L" dev up --dir "$stack" --no-pg --s3 s3rver >"$tmp/env" 2>"$tmp/dev.log"; rc=$?
  check "installed lode dev up --s3 s3rver starts s3rver from share/lode/dev" \
    "[ $rc -eq 0 ] && grep -q '^export AWS_ENDPOINT_URL=' '$tmp/env' && grep -q 'share/lode/dev/s3rver.js' /proc/\$(sed -n \"s/^export LODE_DEV_S3RVER_PID='\\(.*\\)'/\\1/p\" '$tmp/env')/cmdline" "$tmp/dev.log"
  # the aws CLI (the oracle) round-trips an object, and a suffix range reads
  # the object's tail as S3 answers it (the wrapper the tree's tests use)
  printf 'hello installed lode\n' >"$tmp/obj.txt"
  ( unset AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3
    grep -q '^export AWS_ENDPOINT_URL=' "$tmp/env" || exit 1
    source "$tmp/env"
    aws s3 mb s3://lode-install-t >/dev/null && aws s3 cp --quiet "$tmp/obj.txt" s3://lode-install-t/a/obj.txt &&
    aws s3 cp --quiet s3://lode-install-t/a/obj.txt - &&
    aws s3api get-object --bucket lode-install-t --key a/obj.txt --range bytes=-5 "$tmp/tail" >/dev/null && cat "$tmp/tail"; echo ) >"$tmp/s3.out" 2>&1
  check "the installed stack's S3 stores and serves objects (aws CLI), suffix ranges as S3" \
    "[ \"\$(cat '$tmp/s3.out')\" = \"\$(printf 'hello installed lode\nlode\n')\" ]" "$tmp/s3.out"
  installed "$L" dev down --dir "$stack" >/dev/null 2>&1
else
  echo "ok $((n+1)) # SKIP s3rver is not installed under tests/node_modules (make deps) or node is missing"; n=$((n+1))
  echo "ok $((n+1)) # SKIP idem"; n=$((n+1))
fi

# Without the packaged node modules s3rver is installed with npm on first use;
# with no npm on PATH that is a clear message, not a stack trace.
rm -rf "$tmp/prefix/share/lode/dev/node_modules"
mkdir -p "$tmp/bin"
for c in node curl sh env id chmod mkdir; do p=$(command -v $c) && ln -sf "$p" "$tmp/bin/$c"; done
installed env PATH="$tmp/bin" XDG_CACHE_HOME="$tmp/cache" "$L" dev up --dir "$stack" --no-pg --s3 s3rver >/dev/null 2>"$tmp/nonpm.log"; rc=$?
check "no s3rver and no npm: exit 2 and a message naming npm and LODE_S3RVER, no traceback" \
  "[ $rc -eq 2 ] && grep -q 'npm is not on PATH' '$tmp/nonpm.log' && grep -q 'LODE_S3RVER' '$tmp/nonpm.log' && ! grep -q 'traceback' '$tmp/nonpm.log'" "$tmp/nonpm.log"
installed "$L" dev down --dir "$stack" >/dev/null 2>&1

# --- the examples' tests with the installed lode test, from another folder ----
if [ -z "${LODE_TEST_PG_URL:-}" ] || [ -z "${LODE_TEST_S3_ENDPOINT:-}" ]; then
  echo "ok $((n+1)) # SKIP PostgreSQL and S3 are not running (tests/run.sh starts them)"; n=$((n+1))
else
  installed "$L" test "$repo/scripts/examples" >"$tmp/examples.tap" 2>&1; rc=$?
  check "scripts/examples/*_test.lua pass under the installed lode test, run from another folder" \
    "[ $rc -eq 0 ] && ! grep -q '^not ok' '$tmp/examples.tap' && [ \$(grep -c '^ok' '$tmp/examples.tap') -ge 5 ]" "$tmp/examples.tap"
fi
echo "1..$n"
[ $fails -eq 0 ]
