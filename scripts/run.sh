#!/usr/bin/env bash
# README command one: install what is missing, build the release, start Refrain on the
# embedded default (SQLite + local files under REFRAIN_DATA_DIR, default ./refrain-data).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
REFRAIN_SETUP_BROWSER=0 REFRAIN_SETUP_TEST_SERVERS=0 scripts/setup.sh
scripts/build.sh
export REFRAIN_SITE_ROOT="${REFRAIN_SITE_ROOT:-$PWD/target/site}"
exec "$CARGO_TARGET_DIR/release/refrain" "$@"
