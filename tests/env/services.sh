# tests/env/services.sh — throwaway PostgreSQL 15 and s3rver on loopback for
# the tests, the benchmarks and the demo, started by `lode dev up` (the same
# code users run in their CI). Source it, then:
#   services_start [pg] [s3] [aws]   ...   services_stop   (call it from an EXIT trap)
# `aws` adds moto_server as the local AWS (AWS_ENDPOINT_URL, LODE_TEST_AWS_ENDPOINT;
# S3 stays on s3rver through AWS_ENDPOINT_URL_S3). LODE_TEST_S3_PEER=moto serves
# S3 from moto instead of s3rver (to measure moto as the S3 peer).
# Exports, for tests and lode:
#   PGHOST PGPORT PGUSER PGDATABASE LODE_WAREHOUSE LODE_TEST_PG_URL
#   LODE_TEST_PGDATA (the cluster, for tests that restart it: see as_pg_owner)
#   AWS_ENDPOINT_URL LODE_TEST_S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
#   AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE (private, so ~/.aws does not interfere)

LODE_ROOT=${LODE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
export LODE_ROOT
LODE_BIN=${LODE_BIN:-$LODE_ROOT/build/lode}
# s3rver with S3's answer to suffix ranges (bytes=-N), which it gets wrong
export LODE_S3RVER=${LODE_S3RVER:-$LODE_ROOT/tests/tools/s3rver.js}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

# Run a command as the cluster's owner (PostgreSQL refuses to run as root).
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

services_start() {
  SERVICES_DIR=$(mktemp -d /tmp/lode-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  export SERVICES_DIR
  local want="${*:-pg s3}" flags=()
  case " $want " in *" pg "*) ;; *) flags+=(--no-pg) ;; esac
  case " $want " in
    *" s3 "*) if [ "${LODE_TEST_S3_PEER:-s3rver}" = moto ]; then flags+=(--s3 none --aws moto); else flags+=(--s3 s3rver); fi ;;
    *) flags+=(--s3 none) ;;
  esac
  case " $want " in *" aws "*) case " ${flags[*]} " in *" --aws "*) ;; *) flags+=(--aws moto) ;; esac ;; esac
  local exports
  if ! exports=$("$LODE_BIN" dev up --dir "$SERVICES_DIR/stack" --database lode_test "${flags[@]}" 2>"$SERVICES_DIR/dev.log"); then
    echo "services: lode dev up failed:" >&2
    cat "$SERVICES_DIR/dev.log" >&2
    return 1
  fi
  eval "$exports"
  if [ -n "${PGPORT:-}" ]; then
    export LODE_TEST_PG_URL=$LODE_WAREHOUSE LODE_TEST_PGDATA=$LODE_DEV_PGDATA
  fi
  if [ -n "${AWS_ENDPOINT_URL_S3:-${AWS_ENDPOINT_URL:-}}" ]; then
    export LODE_TEST_S3_ENDPOINT=${AWS_ENDPOINT_URL_S3:-$AWS_ENDPOINT_URL}
  fi
  if [ -n "${LODE_DEV_MOTO_PID:-}" ]; then
    export LODE_TEST_AWS_ENDPOINT=$AWS_ENDPOINT_URL
  fi
  return 0
}

# Make sure the PostgreSQL server user can run $LODE_BIN (the Spectrum
# emulation's file_fdw programs run it); otherwise install a copy under
# $SERVICES_DIR and point LODE_BIN at it.
lode_for_postgres() {
  [ "$(id -u)" -eq 0 ] || return 0
  if runuser -u postgres -- test -x "$LODE_BIN" 2>/dev/null &&
     runuser -u postgres -- test -r "$LODE_ROOT/stdlib/lode/init.lua" 2>/dev/null; then
    return 0
  fi
  local prefix=$SERVICES_DIR/lode
  make -s -C "$LODE_ROOT" install PREFIX="$prefix" BUILD="${BUILD:-build}" SANITIZE="${SANITIZE:-}" >/dev/null || return 1
  export LODE_BIN=$prefix/bin/lode
}

services_stop() {
  if [ -n "${SERVICES_DIR:-}" ] && [ -d "$SERVICES_DIR" ]; then
    "$LODE_BIN" dev down --dir "$SERVICES_DIR/stack" >/dev/null 2>&1
    rm -rf "$SERVICES_DIR"
  fi
  return 0
}
