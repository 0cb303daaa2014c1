#!/usr/bin/env bash
# Requests per second of each server-rendered page that shows a bounded number of rows,
# for a signed-in admin, with TRACKS (default 10,000) shared tracks in the catalog, on
# DB=sqlite (default) or DB=postgres (REFRAIN_TEST_POSTGRES_URL names the server). The
# user has liked 50 tracks and has a playlist of 50. Prints "page <path> <req/s>" per
# page (bench/all.sh compares two catalog sizes). Needs a release build (REFRAIN_BIN names
# another binary); installs wrk. On SQLite the seeded catalog is kept in CACHE (default
# ~/.cache/refrain-bench; CACHE= keeps nothing) and reused by the next run of the same size
# (generating 1,000,000 tracks takes several minutes); delete it after changing the seeding.
# SEED_BIN names a built search_bench example to seed with instead of `cargo run`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
command -v wrk >/dev/null || { s=""; [ "$(id -u)" = 0 ] || s=sudo; $s apt-get install -y -qq wrk >/dev/null; }
TRACKS="${TRACKS:-10000}" DB="${DB:-sqlite}" PORT="${PORT:-3410}" SECS="${SECS:-8}"
DATA="$(mktemp -d)"
export REFRAIN_DATA_DIR="$DATA" REFRAIN_PORT="$PORT" RUST_LOG=warn
export REFRAIN_SITE_ROOT="$PWD/target/site"
PG="${REFRAIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
if [ "$DB" = postgres ]; then
  name="refrain_bench_pages_$$"
  psql "$PG" -qc "CREATE DATABASE $name"
  export REFRAIN_DATABASE_URL="${PG%/*}/$name"
  sql() { psql "$REFRAIN_DATABASE_URL" -qAtc "$1"; }
else
  sql() { sqlite3 "$DATA/refrain.db" "$1"; }
fi
CACHE="${CACHE-$HOME/.cache/refrain-bench}"
cached=""
if [ "$DB" = sqlite ] && [ -n "$CACHE" ]; then
  mkdir -p "$CACHE"
  cached="$CACHE/sqlite-$TRACKS.db"
  [ -f "$cached" ] && cp "$cached" "$DATA/refrain.db"
fi
"${REFRAIN_BIN:-$CARGO_TARGET_DIR/release/refrain}" & pid=$!
cleanup() {
  kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$DATA"
  if [ "$DB" = postgres ]; then psql "$PG" -qc "DROP DATABASE IF EXISTS $name" || true; fi
}
trap cleanup EXIT
base="http://127.0.0.1:$PORT"
for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
email="pages-bench@example.com"
signup=$(curl -fs "$base/signup" | grep -o 'action="/api/signup[0-9]*"' | head -1 | cut -d'"' -f2)
curl -fs -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$signup" || true
uid=$(sql "SELECT id FROM users WHERE email = '$email'")
if [ -z "$cached" ] || [ ! -f "$cached" ]; then
  # SEED_BIN: an already built search_bench example (cargo run waits while another build
  # holds the build folder).
  if [ -n "${SEED_BIN:-}" ]; then seed=("$SEED_BIN"); else
    seed=(release_flags cargo run -q --release -p backend --example search_bench --); fi
  TRACKS="$TRACKS" SEED_INTO=1 OWNER="$email" "${seed[@]}" "$DB" >&2
  # Likes and a playlist of 50 tracks spread over the catalog.
  step=$((TRACKS / 50))
  sql "INSERT INTO playlists (id, owner_id, name, created_at, updated_at) VALUES ('plbench', '$uid', 'Bench mix', 1, 1)"
  for i in $(seq 0 49); do
    t="t$((i * step))"
    sql "INSERT INTO track_likes (user_id, track_id, created_at) VALUES ('$uid', '$t', $i)"
    sql "INSERT INTO playlist_tracks (id, playlist_id, track_id, position, added_at) VALUES ('pt$i', 'plbench', '$t', $i, $i)"
  done
  [ -z "$cached" ] || sqlite3 "$DATA/refrain.db" ".backup '$cached'"
fi
login=$(curl -fs "$base/login" | grep -o 'action="/api/login[0-9]*"' | head -1 | cut -d'"' -f2)
cookie=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$login" \
  | grep -i '^set-cookie:' | head -1 | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
rows=$(curl -fs -H "Cookie: $cookie" "$base/library" | grep -o 'class="track-row"' | wc -l)
[ "$rows" -gt 0 ] || { echo "not signed in or no rows; giving up" >&2; exit 1; }
album=$(sql "SELECT album_id FROM tracks WHERE id = 't$((TRACKS / 2))'")
artist=$(sql "SELECT artist_id FROM tracks WHERE id = 't$((TRACKS / 2))'")
word=$(sql "SELECT title FROM tracks WHERE id = 't$((TRACKS / 3))'" | cut -d' ' -f1)
# A whole word fills fewer result rows in a small catalog than in a big one (at 10,000
# tracks about 10 songs and 4 cards, at 1,000,000 the full 20 and 38); its first three
# letters fill every group at both sizes, the same page.
prefix="${word:0:3}"
for page in / /library "/library?sort=artist&order=asc" "/library?sort=plays&order=desc" /albums /artists "/albums/$album" "/artists/$artist" "/search?q=$word" "/search?q=$prefix" /liked \
  /playlists/plbench /admin; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base$page")
  [ "$code" = 200 ] || { echo "$page answered $code" >&2; exit 1; }
  rps=$(wrk -t2 -c16 -d"${SECS}s" -H "Cookie: $cookie" "$base$page" | awk '/Requests\/sec/ {printf "%.0f", $2}')
  echo "page $page $rps"
done
hello=$(wrk -t2 -c16 -d"${SECS}s" "$base/healthz" | awk '/Requests\/sec/ {printf "%.0f", $2}')
echo "page /healthz $hello"
echo "rss $(awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$pid/status)"
