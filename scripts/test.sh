#!/usr/bin/env bash
# README command two: install what is missing, check formatting and lints, run the Rust
# tests, build the release and run the Playwright suite against it in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# Each phase's wall time, printed as a table when the run ends (passed or failed).
PHASES=() PHASE_START=$(date +%s) PHASE_NAME="" RUN_START=$(date +%s)
phase() {
  local now; now=$(date +%s)
  [ -n "$PHASE_NAME" ] && PHASES+=("$PHASE_NAME|$((now - PHASE_START))")
  PHASE_NAME="$1" PHASE_START=$now
  echo "==> $1"
}
phase_table() {
  local rc=$? now; now=$(date +%s)
  [ -n "$PHASE_NAME" ] && PHASES+=("$PHASE_NAME|$((now - PHASE_START))")
  echo
  echo "Phase times ($([ $rc = 0 ] && echo passed || echo "failed, exit $rc")):"
  printf '  %-72s %7s\n' phase "m:ss"
  local p
  for p in "${PHASES[@]}"; do
    local s=${p##*|}
    printf '  %-72s %4d:%02d\n' "${p%|*}" $((s / 60)) $((s % 60))
  done
  local t=$((now - RUN_START))
  printf '  %-72s %4d:%02d\n' total $((t / 60)) $((t % 60))
}
trap phase_table EXIT

phase "set-up (scripts/setup.sh: tools, packages)"
scripts/setup.sh

phase "cargo fmt --check"
cargo fmt --all -- --check
phase "floors: ground floors import no feature; import circles may not grow (scripts/layout.py)"
python3 scripts/layout.py
phase "clippy (server side, then the WASM client)"
cargo clippy -p backend -p worker -p server -p xtask --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
phase "supply chain: cargo deny (advisories from the vendored snapshot, licenses, bans, sources)"
scripts/supply-chain.sh

phase "test services (scripts/services.sh)"
scripts/services.sh
export REFRAIN_TEST_POSTGRES_URL="${REFRAIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export REFRAIN_TEST_REDIS_URL="${REFRAIN_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export REFRAIN_TEST_KAFKA_BROKERS="${REFRAIN_TEST_KAFKA_BROKERS:-127.0.0.1:9092}"
export REFRAIN_TEST_SMTP_URL="${REFRAIN_TEST_SMTP_URL:-smtp://127.0.0.1:2525}"
export REFRAIN_TEST_MAILDIR="${REFRAIN_TEST_MAILDIR:-$HOME/.cache/refrain-services/maildir}"
source "$HOME/.cache/refrain-services/garage/s3.env"
phase "Rust tests (the domain and HTTP suites run on SQLite and on PostgreSQL)"
# Libraries, binaries and test files; not the two benchmark examples (bench/ builds them
# in release) nor doc tests (there are none; collecting them ran rustdoc on every crate).
cargo test --workspace --exclude frontend --lib --bins --tests

phase "deploy/: the Helm chart, compose file, alert rules, dashboard and Garage set-up"
scripts/deploy-check.sh

phase "release build (server, WASM client, worker)"
scripts/build.sh worker

export REFRAIN_BIN="$CARGO_TARGET_DIR/release/refrain"
export REFRAIN_SITE_ROOT="$PWD/target/site"
cd end2end
phase "Playwright, embedded default (SQLite, local files, in-process worker)"
npx playwright test
phase "Playwright again with the database on PostgreSQL"
E2E_DB="refrain_t_e2e_$(date +%s)"
psql "$REFRAIN_TEST_POSTGRES_URL" -qc "CREATE DATABASE $E2E_DB"
E2E_DATABASE_URL="${REFRAIN_TEST_POSTGRES_URL%/*}/$E2E_DB" npx playwright test

phase "Playwright, scaled out: two server nodes and a worker on PostgreSQL, Redis, Kafka and S3"
(
  RUN="$(date +%s)"
  psql "$REFRAIN_TEST_POSTGRES_URL" -qc "CREATE DATABASE refrain_t_scaled_$RUN"
  export REFRAIN_DATABASE_URL="${REFRAIN_TEST_POSTGRES_URL%/*}/refrain_t_scaled_$RUN"
  export REFRAIN_REDIS_URL="$REFRAIN_TEST_REDIS_URL"
  export REFRAIN_KAFKA_BROKERS="$REFRAIN_TEST_KAFKA_BROKERS"
  export REFRAIN_KAFKA_TOPIC_PREFIX="scaled$RUN." REFRAIN_KAFKA_GROUP="scaled$RUN"
  export REFRAIN_STORAGE_URL="s3://$REFRAIN_TEST_S3_BUCKET/scaled-$RUN"
  export REFRAIN_S3_ENDPOINT="$REFRAIN_TEST_S3_ENDPOINT" REFRAIN_S3_REGION="$REFRAIN_TEST_S3_REGION"
  export REFRAIN_S3_ACCESS_KEY_ID="$REFRAIN_TEST_S3_ACCESS_KEY_ID"
  export REFRAIN_S3_SECRET_ACCESS_KEY="$REFRAIN_TEST_S3_SECRET_ACCESS_KEY"
  export REFRAIN_DATA_DIR="$(mktemp -d)" RUST_LOG=warn REFRAIN_ADMIN_EMAIL=admin@refrain.test
  export REFRAIN_SIGNUPS_PER_ADDRESS=100000 # every test signs up from 127.0.0.1
  limits_off # ...and sends all its requests from there (server/tests/limits.rs tests them)
  export REFRAIN_SMTP_URL="$REFRAIN_TEST_SMTP_URL" REFRAIN_PUBLIC_URL=http://127.0.0.1:3201
  export REFRAIN_IMPORT_ALLOW_HOSTS=127.0.0.1:3190,127.0.0.1:3191
  export REFRAIN_OIDC_ISSUER="${REFRAIN_TEST_OIDC_URL:-http://127.0.0.1:3400}" REFRAIN_OIDC_NAME="Test ID"
  export REFRAIN_OIDC_CLIENT_ID=refrain REFRAIN_OIDC_CLIENT_SECRET="${REFRAIN_TEST_OIDC_SECRET:-refrain-test-secret}"
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
  REFRAIN_PORT=3201 "$REFRAIN_BIN" & pids+=($!)
  REFRAIN_PORT=3202 "$REFRAIN_BIN" & pids+=($!)
  "$CARGO_TARGET_DIR/release/refrain-worker" & pids+=($!)
  for port in 3201 3202; do
    for _ in $(seq 120); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
    curl -fsS "http://127.0.0.1:$port/readyz"; echo
  done
  BASE_URL=http://127.0.0.1:3201 E2E_SECOND_URL=http://127.0.0.1:3202 npx playwright test
)
