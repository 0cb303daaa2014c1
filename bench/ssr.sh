#!/usr/bin/env bash
# Requests per second of the server-rendered library page for a signed-in listener with
# TRACKS (default 10,000) tracks in the catalog, and of /healthz (a hello-world route
# through the same router and middleware) in the same run, with their ratio. Needs a
# release build (cargo leptos build --release); installs wrk from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
command -v wrk >/dev/null || { sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo; $sudo_ apt-get install -y -qq wrk >/dev/null; }
TRACKS="${TRACKS:-10000}" PORT="${PORT:-3410}" SECS="${SECS:-10}"
DATA="$(mktemp -d)"
export REFRAIN_DATA_DIR="$DATA" REFRAIN_PORT="$PORT" RUST_LOG=warn
export LEPTOS_SITE_ROOT="$PWD/target/site"
"$CARGO_TARGET_DIR/release/refrain" & pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$DATA"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done
base="http://127.0.0.1:$PORT"
email="ssr-bench@example.com"
# Sign up and log in through the plain HTML forms (their actions name the server functions).
signup=$(curl -fs "$base/signup" | grep -o 'action="/api/signup[0-9]*"' | head -1 | cut -d'"' -f2)
curl -fs -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$signup" || true
TRACKS="$TRACKS" SEED_INTO=1 OWNER="$email" cargo run -q --release -p backend --example search_bench
login=$(curl -fs "$base/login" | grep -o 'action="/api/login[0-9]*"' | head -1 | cut -d'"' -f2)
cookie=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$login" \
  | grep -i '^set-cookie:' | head -1 | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
rows=$(curl -fs -H "Cookie: $cookie" "$base/" | grep -o 'class="track-row"' | wc -l)
echo "library page as $email: $rows track rows rendered (first page) of $TRACKS"
[ "$rows" -gt 0 ] || { echo "not signed in or no rows; giving up"; exit 1; }
page=$(wrk -t2 -c16 -d"${SECS}s" -H "Cookie: $cookie" "$base/" | awk '/Requests\/sec/ {print $2}')
hello=$(wrk -t2 -c16 -d"${SECS}s" "$base/healthz" | awk '/Requests\/sec/ {print $2}')
echo "SSR library page: $page req/s; /healthz: $hello req/s; ratio $(python3 -c "print(f'{$page/$hello:.4f}')")"
