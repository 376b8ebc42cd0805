# tests/env/services.sh — throwaway PostgreSQL 15 and s3rver on loopback.
# Source it, then:  services_start [pg] [s3]   ...   services_stop
# Everything lives in one temp folder removed by services_stop (call it from
# an EXIT trap so it runs on failure too). Exports, for tests and lode:
#   PGHOST PGPORT PGUSER PGDATABASE LODE_WAREHOUSE LODE_TEST_PG_URL
#   LODE_TEST_PGDATA (the cluster, for tests that restart it: pg_ctl -D ...)
#   AWS_ENDPOINT_URL LODE_TEST_S3_ENDPOINT AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
#   AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE (private, so ~/.aws does not interfere)

LODE_ROOT=${LODE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Run a command as the cluster's owner (initdb refuses root).
as_pg_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local dir=$SERVICES_DIR/pg
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
  local port
  port=$(free_port)
  as_pg_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$SERVICES_DIR/pg-initdb.log" 2>&1 \
    || { echo "services: initdb failed:"; cat "$SERVICES_DIR/pg-initdb.log"; return 1; }
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
CONF
  as_pg_owner "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/pg.log" -w -t 60 start >/dev/null \
    || { echo "services: PostgreSQL did not start:"; cat "$dir/pg.log"; return 1; }
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=lode_test
  as_pg_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres lode_test
  export LODE_TEST_PGDATA=$dir/data
  export LODE_TEST_PG_URL="postgresql://postgres@127.0.0.1:$port/lode_test"
  export LODE_WAREHOUSE=$LODE_TEST_PG_URL
}

pg_stop() {
  [ -n "${LODE_TEST_PGDATA:-}" ] && [ -f "$LODE_TEST_PGDATA/postmaster.pid" ] &&
    as_pg_owner "$PG_BIN/pg_ctl" -D "$LODE_TEST_PGDATA" -m immediate -w stop >/dev/null 2>&1
  return 0
}

s3_start() {
  local dir=$SERVICES_DIR/s3
  mkdir -p "$dir"
  local port
  port=$(free_port)
  node "$LODE_ROOT/tests/node_modules/s3rver/bin/s3rver.js" -d "$dir" -a 127.0.0.1 -p "$port" --silent \
    >"$SERVICES_DIR/s3rver.log" 2>&1 &
  S3RVER_PID=$!
  # readiness: curl retries the connection itself until the server listens
  if ! curl -s -o /dev/null --retry 40 --retry-connrefused --retry-delay 0 --retry-max-time 30 \
       "http://127.0.0.1:$port/"; then
    echo "services: s3rver did not start:"; cat "$SERVICES_DIR/s3rver.log"; return 1
  fi
  export LODE_TEST_S3_ENDPOINT="http://127.0.0.1:$port"
  export AWS_ENDPOINT_URL=$LODE_TEST_S3_ENDPOINT
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  export AWS_CONFIG_FILE=$SERVICES_DIR/aws-config AWS_SHARED_CREDENTIALS_FILE=$SERVICES_DIR/aws-credentials
  printf '[default]\nregion = us-east-1\ns3 =\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
  : >"$AWS_SHARED_CREDENTIALS_FILE"
  export AWS_PAGER=""
}

s3_stop() {
  if [ -n "${S3RVER_PID:-}" ]; then
    kill "$S3RVER_PID" 2>/dev/null
    wait "$S3RVER_PID" 2>/dev/null
    S3RVER_PID=""
  fi
  return 0
}

services_start() {
  SERVICES_DIR=$(mktemp -d /tmp/lode-services.XXXXXX)
  chmod 755 "$SERVICES_DIR"
  export SERVICES_DIR
  local want="${*:-pg s3}"
  case " $want " in *" pg "*) pg_start || return 1 ;; esac
  case " $want " in *" s3 "*) s3_start || return 1 ;; esac
  return 0
}

services_stop() {
  s3_stop
  pg_stop
  [ -n "${SERVICES_DIR:-}" ] && rm -rf "$SERVICES_DIR"
  return 0
}
