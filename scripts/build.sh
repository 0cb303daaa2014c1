#!/usr/bin/env bash
# The release build both README commands use: the server binary (with `scripts/build.sh
# worker` the separate worker binary too, in the same cargo run), and the web client built by the workspace's build program (`xtask site`: the WASM build split into one
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
WORKER="${1:-}"
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
  rm -f "$BIN_DIR/refrain.inputs" "$BIN_DIR/refrain-worker.inputs"
fi
# What is stale: the site (this checkout's target/site), the binaries (the build folder's).
site_fresh=0 bins_fresh=1
same "$STAMP" && site_fresh=1
same "$BIN_DIR/refrain.inputs" && [ -x "$BIN_DIR/refrain" ] || bins_fresh=0
packages=(-p server)
if [ "$WORKER" = worker ]; then
  packages+=(-p worker)
  same "$BIN_DIR/refrain-worker.inputs" && [ -x "$BIN_DIR/refrain-worker" ] || bins_fresh=0
fi
if [ $site_fresh = 1 ] && [ $bins_fresh = 1 ]; then
  echo "==> release build of the server${WORKER:+, worker} and client is up to date"
  exit 0
fi
# The build program first (when the site is stale), then the server and the client at
# once: the client's build uses a build folder of its own (xtask/src/main.rs), so the two
# cargo runs do not wait for each other's lock. The worker binary in the same cargo run as
# the server's: built alone, about 60 crates it shares with the server were compiled again
# with its own set of features (the server links the worker's library for its in-process
# worker, so the server alone needs no other build).
server=0 client=0
if [ $site_fresh = 0 ]; then release_flags cargo build --release -p xtask --bin xtask; fi
if [ $bins_fresh = 0 ]; then
  echo "==> release build of the server${WORKER:+ and worker}"
  LEPTOS_OUTPUT_NAME=refrain release_flags cargo build --release "${packages[@]}" --bins &
  server_build=$!
fi
if [ $site_fresh = 0 ]; then "$BIN_DIR/xtask" site || client=$?; fi
if [ $bins_fresh = 0 ]; then wait $server_build || server=$?; fi
[ $client = 0 ] || { echo "the client's build failed" >&2; exit 1; }
[ $server = 0 ] || { echo "the server's build failed" >&2; exit 1; }
echo "$now" > "$STAMP"
echo "$now" > "$BIN_DIR/refrain.inputs"
if [ "$WORKER" = worker ]; then echo "$now" > "$BIN_DIR/refrain-worker.inputs"; fi
