#!/usr/bin/env bash
# The README's five-minute tutorial, as a newcomer runs it: its fenced block
# (taken from README.md here, so the README cannot drift from what works) run
# line by line in one shell, in a fresh `git clone` of this repository (its
# committed state), with nothing of the test stack in the environment.
# The clone gets this tree's built binary copied in, so `make` has nothing to
# do; `make deps` installs what a fresh clone lacks (the npm peers, DuckDB
# for make_lake.lua, from the registry, as for a newcomer).
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
if [ "${SANITIZE:-}" = 1 ]; then echo "1..0 # SKIP the tutorial runs in the normal build"; exit 0; fi

work=$(mktemp -d /tmp/lode-tutorial.XXXXXX)
chmod 755 "$work"   # as root, PostgreSQL (user postgres) runs the clone's lode for Spectrum
clone=$work/lode
cleanup() {
  if [ -x "$clone/build/lode" ]; then (cd "$clone" && build/lode dev down >/dev/null 2>&1); fi
  rm -rf "$work"
}
trap cleanup EXIT

# the tutorial's commands: the first ```sh block after "## Five-minute tutorial"
awk '/^## Five-minute tutorial/ { on = 1 } on && /^```sh$/ { inside = 1; next } inside && /^```$/ { exit }
     inside && NF { print }' README.md > "$work/lines"
n=$(wc -l < "$work/lines")
if [ "$n" -lt 3 ]; then echo "1..1"; echo "not ok 1 - README.md has a tutorial block"; exit 1; fi

git clone -q "$ROOT" "$clone" || { echo "1..1"; echo "not ok 1 - git clone"; exit 1; }
if [ -x "$ROOT/$BUILD/lode" ]; then
  mkdir -p "$clone/build"
  cp -a "$ROOT/$BUILD/." "$clone/build/"
  find "$clone/build" -exec touch {} +   # newer than the clone's sources: make has nothing to do
fi

# one shell for every line (the tutorial's eval exports the stack for the next
# ones); each line's output goes to the log, its result to TAP
{
  echo 'cd "$1" || exit 1'
  echo 'exec 3>&1 >>"$2" 2>&1'
  i=0
  while IFS= read -r line; do
    i=$((i + 1))
    printf 'line=%q\n' "$line"
    printf 'echo "\$ $line"\n'
    printf '%s\n' "$line"
    printf 'rc=$?; if [ $rc -eq 0 ]; then echo "ok %d - $line" >&3; else echo "not ok %d - $line (exit $rc)" >&3; ' "$i" "$i"
    printf 'tail -25 "$2" | sed "s/^/# /" >&3; exit 1; fi\n'
  done < "$work/lines"
} > "$work/tutorial.sh"

echo "1..$((n + 1))"
env -u LODE_WAREHOUSE -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGPASSWORD -u LODE_ROOT -u LODE_BIN \
  -u LODE_SHARED -u LODE_TEST_PG_URL -u LODE_TEST_PGDATA -u LODE_TEST_S3_ENDPOINT -u LODE_S3RVER \
  -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_PROFILE -u AWS_CONFIG_FILE -u AWS_SHARED_CREDENTIALS_FILE \
  bash "$work/tutorial.sh" "$clone" "$work/out.log"
rc=$?
[ $rc -eq 0 ] || exit 1
# the query of the tutorial saw what sales_daily.lua loaded: 1,200 rows, then 20 more from the upsert
if grep -q '^ *1220 |' "$work/out.log"; then
  echo "ok $((n + 1)) - psql shows the 1220 rows sales_daily.lua loaded"
else
  echo "not ok $((n + 1)) - psql shows the 1220 rows sales_daily.lua loaded"
  grep -A4 'count' "$work/out.log" | sed 's/^/# /'
  exit 1
fi
