#!/usr/bin/env bash
# The release build both README commands use: the server and the WASM client (split into
# one chunk per page, names hashed, every file precompressed with brotli and gzip), and
# with `scripts/build.sh worker` the separate worker binary too. Skipped when nothing it is built from changed since the last build here
# (cargo-leptos always reruns wasm-bindgen, wasm-opt and the compression, which take
# minutes on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
STAMP="target/site/.build-inputs"
inputs() {
  find Cargo.toml Cargo.lock app frontend server worker backend style public migrations \
    -type f -not -path '*/node_modules/*' -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -d' ' -f1
}
WORKER="${1:-}"
now="$(inputs)"
# A binary is fresh when it and this checkout's site were both built from these inputs
# (the build folder may be shared with other checkouts).
BIN_DIR="$CARGO_TARGET_DIR/release"
same() { [ -f "$1" ] && [ "$(cat "$1")" = "$now" ]; }
# Cargo names a workspace crate's build by its path inside the workspace, so checkouts
# sharing this build folder share those builds too, and a binary last built from
# another checkout counts as fresh when that checkout's files are unchanged (a CI clone
# then got the server of the main checkout, whose server functions the clone's client
# did not know). When the last release binary came from elsewhere, the workspace's own
# crates are built again (their dependencies stay).
from_here() { [ ! -f "$1" ] || grep -qF " $PWD/$2" "$1"; }
if ! from_here "$BIN_DIR/refrain.d" server/src/main.rs \
  || ! from_here "$BIN_DIR/refrain-worker.d" worker/src/main.rs; then
  echo "==> the last release build here came from another checkout: building this one's crates afresh"
  cargo clean --release -p server -p app -p backend -p worker
  rm -f "$BIN_DIR/refrain.inputs" "$BIN_DIR/refrain-worker.inputs"
fi
if same "$STAMP" && same "$BIN_DIR/refrain.inputs" && [ -x "$BIN_DIR/refrain" ]; then
  echo "==> release build of the server and client is up to date"
else
  cargo leptos build --release --split --precompress
  echo "$now" > "$STAMP"
  echo "$now" > "$BIN_DIR/refrain.inputs"
fi
if [ "$WORKER" = worker ]; then
  if same "$BIN_DIR/refrain-worker.inputs" && [ -x "$BIN_DIR/refrain-worker" ]; then
    echo "==> release build of the worker is up to date"
  else
    release_flags cargo build --release -p worker --bin refrain-worker
    echo "$now" > "$BIN_DIR/refrain-worker.inputs"
  fi
fi
