#!/usr/bin/env bash
# The release build both README commands use: the server and worker binaries, and the web
# client built by the workspace's build program (`xtask site`: the WASM build split into one
# chunk per page, wasm-bindgen, wasm-opt, the stylesheet, hashed names, brotli and gzip
# twins; see xtask/src/main.rs). The server and the client build side by side: each
# spends minutes on one core (the app crate, the client's link-time optimisation) while
# the other could work. Skipped when nothing it is built from changed since the last build
# here.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
STAMP="target/site/.build-inputs"
inputs() {
  find Cargo.toml Cargo.lock app frontend server worker backend xtask style public migrations \
    -type f -not -path '*/node_modules/*' -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -d' ' -f1
}
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
  cargo clean --release -p server -p app -p backend -p worker -p xtask
  rm -f "$BIN_DIR/refrain.inputs"
fi
if same "$STAMP" && same "$BIN_DIR/refrain.inputs" && [ -x "$BIN_DIR/refrain" ] \
  && [ -x "$BIN_DIR/refrain-worker" ]; then
  echo "==> release build of the server, worker and client is up to date"
  exit 0
fi
# The build program first (a minute), then the server and the client at once. Both
# binaries in one cargo run: built apart, the crates they share were compiled twice, once
# per set of features.
release_flags cargo build --release -p xtask --bin xtask
echo "==> release build of the server and worker, beside the client's"
LEPTOS_OUTPUT_NAME=refrain release_flags cargo build --release -p server -p worker --bins &
server_build=$!
client=0
"$BIN_DIR/xtask" site || client=$?
server=0
wait $server_build || server=$?
[ $client = 0 ] || { echo "the client's build failed" >&2; exit 1; }
[ $server = 0 ] || { echo "the server's build failed" >&2; exit 1; }
echo "$now" > "$STAMP"
echo "$now" > "$BIN_DIR/refrain.inputs"
