#!/usr/bin/env bash
# Makes sure the servers the tests need are answering, starting them if not:
# PostgreSQL and Redis (Debian's packages), tansu (Kafka protocol), Garage (S3), an SMTP
# sink and an OpenID Connect provider, each started only if it is not already answering.
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

SVC="$HOME/.cache/refrain-services"
mkdir -p "$SVC"

# tansu: an Apache Kafka protocol broker (in-memory storage), for the event tests.
KAFKA_ADDR="${REFRAIN_TEST_KAFKA_BROKERS:-127.0.0.1:9092}"
kafka_up() { (exec 3<>"/dev/tcp/${KAFKA_ADDR%:*}/${KAFKA_ADDR#*:}") 2>/dev/null; }
if ! kafka_up; then
  echo "==> starting tansu (Kafka protocol) on $KAFKA_ADDR"
  nohup tansu broker --listener-url "tcp://$KAFKA_ADDR" --advertised-listener-url "tcp://$KAFKA_ADDR" \
    >"$SVC/tansu.log" 2>&1 &
  for _ in $(seq 60); do kafka_up && break; sleep 0.5; done
  kafka_up || { echo "tansu did not start; see $SVC/tansu.log" >&2; exit 1; }
fi
echo "==> Kafka protocol broker ready at $KAFKA_ADDR"

# aiosmtpd: an SMTP sink that stores every message it receives in a Maildir.
SMTP_ADDR="${REFRAIN_TEST_SMTP_ADDR:-127.0.0.1:2525}"
MAILDIR="$SVC/maildir"
smtp_up() { (exec 3<>"/dev/tcp/${SMTP_ADDR%:*}/${SMTP_ADDR#*:}") 2>/dev/null; }
if ! smtp_up; then
  echo "==> starting aiosmtpd (SMTP sink) on $SMTP_ADDR"
  mkdir -p "$MAILDIR/tmp" "$MAILDIR/new" "$MAILDIR/cur"
  nohup python3 -m aiosmtpd -n -l "$SMTP_ADDR" -c aiosmtpd.handlers.Mailbox "$MAILDIR" \
    >"$SVC/aiosmtpd.log" 2>&1 &
  for _ in $(seq 60); do smtp_up && break; sleep 0.5; done
  smtp_up || { echo "aiosmtpd did not start; see $SVC/aiosmtpd.log" >&2; exit 1; }
fi
echo "==> SMTP sink ready at $SMTP_ADDR, messages in $MAILDIR"

# Garage: an S3-compatible object store, one node, for the storage tests.
G="$SVC/garage"
GC="$G/garage.toml"
mkdir -p "$G/meta" "$G/data"
if [ ! -f "$GC" ]; then
  cat >"$GC" <<TOML
metadata_dir = "$G/meta"
data_dir = "$G/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:3901"
rpc_public_addr = "127.0.0.1:3901"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:3900"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:3903"
admin_token = "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOML
fi
s3_up() { garage -c "$GC" status >/dev/null 2>&1; }
if ! s3_up; then
  echo "==> starting Garage (S3) on 127.0.0.1:3900"
  nohup garage -c "$GC" server >"$G/garage.log" 2>&1 &
  for _ in $(seq 60); do s3_up && break; sleep 0.5; done
  s3_up || { echo "Garage did not start; see $G/garage.log" >&2; exit 1; }
fi
if [ ! -f "$G/s3.env" ]; then
  NODE=$(garage -c "$GC" node id -q | cut -d@ -f1)
  garage -c "$GC" layout assign -z dc1 -c 1G "$NODE" >/dev/null
  garage -c "$GC" layout apply --version 1 >/dev/null
  garage -c "$GC" key create refrain-test >/dev/null
  garage -c "$GC" bucket create refrain-test >/dev/null
  garage -c "$GC" bucket allow --read --write --owner refrain-test --key refrain-test >/dev/null
  INFO=$(garage -c "$GC" key info refrain-test --show-secret)
  KID=$(echo "$INFO" | awk -F': *' '/Key ID/{print $2; exit}')
  SECRET=$(echo "$INFO" | awk -F': *' '/Secret key/{print $2; exit}')
  cat >"$G/s3.env" <<ENV
export REFRAIN_TEST_S3_ENDPOINT=http://127.0.0.1:3900
export REFRAIN_TEST_S3_REGION=garage
export REFRAIN_TEST_S3_BUCKET=refrain-test
export REFRAIN_TEST_S3_ACCESS_KEY_ID=$KID
export REFRAIN_TEST_S3_SECRET_ACCESS_KEY=$SECRET
ENV
fi
echo "==> S3 (Garage) ready at http://127.0.0.1:3900, credentials in $G/s3.env"

# An OpenID Connect provider (npm's oidc-provider) for the single sign-on tests.
OIDC_URL="${REFRAIN_TEST_OIDC_URL:-http://127.0.0.1:3400}"
oidc_up() { curl -sf "$OIDC_URL/.well-known/openid-configuration" >/dev/null 2>&1; }
if ! oidc_up; then
  echo "==> starting the OpenID Connect test provider on $OIDC_URL"
  OIDC_DIR="$(cd "$(dirname "$0")" && pwd)/oidc-provider"
  [ -d "$OIDC_DIR/node_modules/oidc-provider" ] ||
    (cd "$OIDC_DIR" && npm ci --no-audit --no-fund --silent)
  REFRAIN_TEST_OIDC_PORT="${OIDC_URL##*:}" nohup node "$OIDC_DIR/provider.mjs" \
    >"$SVC/oidc-provider.log" 2>&1 &
  for _ in $(seq 60); do oidc_up && break; sleep 0.5; done
  oidc_up || { echo "the OpenID Connect provider did not start; see $SVC/oidc-provider.log" >&2; exit 1; }
fi
echo "==> OpenID Connect provider ready at $OIDC_URL"

# Drop databases left by earlier test runs (each test makes its own).
psql "$PG_URL" -tAc "select datname from pg_database where datname like 'refrain_t_%'" |
  while read -r db; do [ -n "$db" ] && psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db" >/dev/null; done
echo "==> PostgreSQL ready at $PG_URL"
