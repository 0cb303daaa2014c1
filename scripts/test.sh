#!/usr/bin/env bash
# README command two: install what is missing, check formatting and lints, run the Rust
# tests, build the release and run the Playwright suite against it in Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> clippy (server side, then the WASM client)"
cargo clippy -p backend -p worker -p server --all-targets -- -D warnings
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

echo "==> Rust tests"
cargo test --workspace --exclude frontend

echo "==> release build"
cargo leptos build --release

echo "==> Playwright (Chromium)"
export REFRAIN_BIN="$CARGO_TARGET_DIR/release/refrain"
export REFRAIN_SITE_ROOT="$PWD/target/site"
cd end2end
npx playwright test
