#!/usr/bin/env bash
# Makes sure the servers the tests need are answering, starting them if not:
# PostgreSQL (Debian's package) for the suites' PostgreSQL half, Redis for shared sessions.
set -euo pipefail
PG_URL="${REFRAIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

pg_up() { psql "$PG_URL" -tAc 'select 1' >/dev/null 2>&1; }
if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "==> installing PostgreSQL"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
  fi
  echo "==> starting PostgreSQL"
  VER=$(ls /etc/postgresql | sort -n | tail -1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$VER" main start || true
  # Trust local TCP connections for the test user, as on the project's machines.
  for _ in $(seq 30); do pg_up && break; sleep 1; done
  pg_up || { echo "PostgreSQL is not answering at $PG_URL" >&2; exit 1; }
fi
# Redis (Debian's package) for shared sessions.
REDIS_URL_T="${REFRAIN_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
redis_up() { redis-cli -u "$REDIS_URL_T" ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "==> installing Redis"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
  fi
  echo "==> starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 30); do redis_up && break; sleep 0.5; done
  redis_up || { echo "Redis is not answering at $REDIS_URL_T" >&2; exit 1; }
fi
echo "==> Redis ready at $REDIS_URL_T"

# Drop databases left by earlier test runs (each test makes its own).
psql "$PG_URL" -tAc "select datname from pg_database where datname like 'refrain_t_%'" |
  while read -r db; do [ -n "$db" ] && psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; done
echo "==> PostgreSQL ready at $PG_URL"
