#!/bin/sh
# Install what lode needs to build and test, on Debian 12: the -dev packages
# for the build, PostgreSQL 15, the aws CLI and botocore for the tests, the
# npm test peers (s3rver, DuckDB) from tests/package-lock.json, and moto (the
# local AWS) when python3 has none.
# Idempotent, and quick when everything is present.
set -eu
cd "$(dirname "$0")/.."

PKGS="make gcc pkg-config perl python3 nodejs npm curl gzip lua5.4 \
 liblua5.4-dev libuv1-dev libcurl4-openssl-dev libssl-dev libpq-dev libcjson-dev \
 zlib1g-dev libzstd-dev libsnappy-dev liblz4-dev libbrotli-dev libbz2-dev \
 postgresql-15 postgresql-client-15 awscli python3-botocore python3-venv \
 clang libclang-rt-14-dev valgrind"

missing=""
for p in $PKGS; do
  # node/npm may come from elsewhere (nodesource, nvm); only install when absent
  case $p in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done

if [ -n "$missing" ]; then
  echo "deps: installing Debian packages:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# npm test peers, pinned by the lockfile
if [ ! -f tests/node_modules/.package-lock.json ] || \
   [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then
  echo "deps: installing npm test peers (npm ci in tests/)"
  (cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

# moto_server, the local AWS (`lode dev up --aws moto`): pip into a private
# venv (Debian's python3 refuses system-wide pip installs), found there by lode.dev
if ! python3 -c 'import moto' >/dev/null 2>&1 && [ ! -x tests/.venv-moto/bin/moto_server ]; then
  echo "deps: installing moto[server] with pip into tests/.venv-moto"
  python3 -m venv tests/.venv-moto
  tests/.venv-moto/bin/pip install --quiet 'moto[server]'
fi
