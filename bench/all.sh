#!/usr/bin/env bash
# Every figure issue 15 asks for, measured in one run and printed as one table (Markdown):
# first-load WASM, server-rendered pages at 10,000 and at BIG (default 1,000,000) tracks on
# SQLite and PostgreSQL with their ratio, streaming beside nginx, time to first audio,
# resident memory, and import speed. Needs a release build (scripts/build.sh) and the
# test services (scripts/services.sh) for PostgreSQL. Takes about an hour on two cores,
# most of it generating the big catalogs. The detailed output of each part is kept in
# OUT (default a new temporary folder).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
limits_off
BIG="${BIG:-1000000}" OUT="${OUT:-$(mktemp -d)}"
export SECS="${SECS:-8}"
echo "bench output in $OUT" >&2

# First load and time to first audio, against a fresh embedded server.
PORT=3430
DATA="$(mktemp -d)"
REFRAIN_DATA_DIR="$DATA" REFRAIN_PORT=$PORT RUST_LOG=warn REFRAIN_SITE_ROOT="$PWD/target/site" \
  "$CARGO_TARGET_DIR/release/refrain" > "$OUT/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 120); do curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.5; done
idle_rss=$(awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$pid/status)
(cd end2end && BASE_URL="http://127.0.0.1:$PORT" node ../bench/first_load.mjs) | tee "$OUT/first_load.txt" >&2
(cd end2end && BASE_URL="http://127.0.0.1:$PORT" RUNS=20 node ../bench/time_to_first_audio.mjs) | tee "$OUT/ttfa.txt" >&2
kill $pid; wait $pid 2>/dev/null || true

bench/stream.sh | tee "$OUT/stream.txt" >&2
for db in sqlite postgres; do
  DB=$db TRACKS="10000 $BIG" bench/pages.sh | tee "$OUT/pages-$db.txt" >&2
done
bench/import.sh | tee "$OUT/import.txt" >&2

field() { grep -m1 "$1" "$2" | sed "s/.*$3//"; }
echo
echo "| Figure | Measured |"
echo "|---|---|"
echo "| First page WASM (Home, signed in) | $(field 'first page WASM' "$OUT/first_load.txt" ': ') |"
echo "| Library page WASM (signed in) | $(field 'library page WASM' "$OUT/first_load.txt" ': ') |"
echo "| Whole client WASM | $(field 'whole client WASM' "$OUT/first_load.txt" ': ') |"
echo "| Time to first audio, 20 cold tracks | $(grep -m1 -i 'p50' "$OUT/ttfa.txt") |"
while read -r line; do
  echo "| ${line%%:*} | ${line#*: } |"
done < <(grep '^stream\|^1-byte' "$OUT/stream.txt")
for db in sqlite postgres; do
  pages="$OUT/pages-$db.txt"
  while read -r _ page _ rps ms; do
    read -r big_rps big_ms < <(awk -v p="$page" -v n="$BIG" '$1 == "page" && $2 == p && $3 == n {print $4, $5}' "$pages")
    ratio=$(python3 -c "print(f'{$big_rps/$rps:.2f} / {$ms/$big_ms:.2f}')")
    echo "| SSR $page, $db: req/s and CPU ms per request at 10k → $BIG tracks (ratios) | $rps → $big_rps, $ms → $big_ms ms (×$ratio) |"
  done < <(awk '$1 == "page" && $3 == 10000' "$pages")
  echo "| Server memory after the page load at $BIG tracks, $db | $(awk -v n="$BIG" '$1 == "rss" && $2 == n {print $3}' "$pages") MB |"
done
echo "| Server memory idle (fresh start) | $idle_rss MB |"
while read -r line; do
  echo "| ${line%%:*} | ${line#*: } |"
done < <(grep -v '^$' "$OUT/import.txt")
