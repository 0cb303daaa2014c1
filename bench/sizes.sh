#!/usr/bin/env bash
# Prints the release WASM size raw and brotli-compressed, and the server's resident memory
# right after start-up on a fresh data directory. Run after `cargo leptos build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
WASM=target/site/pkg/refrain.wasm
node -e '
const fs = require("fs"), zlib = require("zlib");
const raw = fs.readFileSync(process.argv[1]);
const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
const gz = zlib.gzipSync(raw, { level: 9 });
console.log(`release wasm: raw ${(raw.length/1024).toFixed(0)} KB, brotli ${(br.length/1024).toFixed(0)} KB, gzip ${(gz.length/1024).toFixed(0)} KB`);
' "$WASM"
DATA=$(mktemp -d)
REFRAIN_DATA_DIR="$DATA" REFRAIN_PORT="${PORT:-3999}" REFRAIN_SITE_ROOT="$PWD/target/site" \
  "$CARGO_TARGET_DIR/release/refrain" >/dev/null 2>&1 &
PID=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:${PORT:-3999}/healthz" >/dev/null && break; sleep 0.2; done
curl -fs "http://127.0.0.1:${PORT:-3999}/login" >/dev/null
sleep 1
echo "server resident memory after start-up: $(awk '/VmRSS/{print $2/1024 " MB"}' /proc/$PID/status)"
kill $PID; wait $PID 2>/dev/null || true
rm -rf "$DATA"
