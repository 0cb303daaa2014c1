#!/usr/bin/env bash
# Requests per second and server CPU time per request of each server-rendered page that
# shows a bounded number of rows, for a signed-in admin, with TRACKS (default 10,000)
# shared tracks in the catalog, on DB=sqlite (default) or DB=postgres
# (REFRAIN_TEST_POSTGRES_URL names the server). The user has liked 50 tracks and has a
# playlist of 50. Prints "page <path> <req/s> <CPU ms per request>" per page (bench/all.sh
# compares two catalog sizes). CPU time is the server process's (with PostgreSQL's on this
# machine; user + system, from /proc) divided by the requests wrk made: steadier than
# req/s, which also moves with what wrk and anything else take of the same cores. Needs a
# release build (REFRAIN_BIN names another binary); installs wrk. The seeded catalog is
# kept (SQLite: a file in CACHE, default
# ~/.cache/refrain-bench; PostgreSQL: a template database refrain_bench_cache_<TRACKS>)
# and copied by the next run of the same size (generating 1,000,000 tracks takes several
# minutes); CACHE= keeps nothing. Delete them after changing the seeding or the schema.
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
CACHE="${CACHE-$HOME/.cache/refrain-bench}"
cached=""
if [ "$DB" = postgres ]; then
  name="refrain_bench_pages_$$"
  export REFRAIN_DATABASE_URL="${PG%/*}/$name"
  sql() { psql "$REFRAIN_DATABASE_URL" -qAtc "$1"; }
  if [ -n "$CACHE" ]; then
    cached="refrain_bench_cache_$TRACKS"
    have=$(psql "$PG" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$cached'")
    if [ "$have" = 1 ]; then psql "$PG" -qc "CREATE DATABASE $name TEMPLATE $cached"
    else psql "$PG" -qc "CREATE DATABASE $name"; cached_new=1; fi
  else
    psql "$PG" -qc "CREATE DATABASE $name"
  fi
else
  sql() { sqlite3 "$DATA/refrain.db" "$1"; }
  if [ -n "$CACHE" ]; then
    mkdir -p "$CACHE"
    cached="$CACHE/sqlite-$TRACKS.db"
    if [ -f "$cached" ]; then cp "$cached" "$DATA/refrain.db"; else cached_new=1; fi
  fi
fi
pid=""
start() {
  "${REFRAIN_BIN:-$CARGO_TARGET_DIR/release/refrain}" & pid=$!
  for _ in $(seq 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.2; done
}
# (After a load, the server has not always exited on SIGTERM: its graceful shutdown kept
# waiting. A bench does not wait for it longer than 10 s.)
stop() {
  kill $pid 2>/dev/null || true
  for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
  kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
}
cleanup() {
  stop; rm -rf "$DATA"
  if [ "$DB" = postgres ]; then psql "$PG" -qc "DROP DATABASE IF EXISTS $name" || true; fi
}
trap cleanup EXIT
base="http://127.0.0.1:$PORT"
start
email="pages-bench@example.com"
signup=$(curl -fs "$base/signup" | grep -o 'action="/api/signup[0-9]*"' | head -1 | cut -d'"' -f2)
curl -fs -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$signup" || true
uid=$(sql "SELECT id FROM users WHERE email = '$email'")
if [ -z "$cached" ] || [ -n "${cached_new:-}" ]; then
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
  if [ -n "$cached" ]; then
    if [ "$DB" = postgres ]; then
      # A template may have no connections: the server stops while it is copied.
      stop; psql "$PG" -qc "CREATE DATABASE $cached TEMPLATE $name"; start
    else
      sqlite3 "$DATA/refrain.db" ".backup '$cached'"
    fi
  fi
fi
login=$(curl -fs "$base/login" | grep -o 'action="/api/login[0-9]*"' | head -1 | cut -d'"' -f2)
cookie=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$login" \
  | grep -i '^set-cookie:' | head -1 | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
rows=$(curl -fs -H "Cookie: $cookie" "$base/library" | grep -o 'class="track-row"' | wc -l)
[ "$rows" -gt 0 ] || { echo "not signed in or no rows; giving up" >&2; exit 1; }
# The same page at both sizes: an album of 10 tracks and an artist of 10 albums (the
# generator deals tracks to albums and albums to artists at random, so a given one may
# hold half or twice as many).
album=$(sql "SELECT album_id FROM tracks GROUP BY album_id HAVING count(*) = 10 ORDER BY album_id LIMIT 1")
artist=$(sql "SELECT artist_id FROM albums GROUP BY artist_id HAVING count(*) = 10 ORDER BY artist_id LIMIT 1")
# The search page fills every group (20 songs, 8 albums, 8 artists) at both sizes with the
# catalog's most common title word (the seeding draws words as Zipf's law has them; a rare
# word shows a few songs among 10,000 tracks and a full page among 1,000,000, another page)
# and with its first three letters.
word=$(sql "SELECT title FROM tracks WHERE created_at < 2000" | awk '{print tolower($1)}' \
  | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
prefix="${word:0:3}"
ticks=$(getconf CLK_TCK)
# The server's CPU time, and on PostgreSQL also the database's (its processes on this
# machine): what a page costs in all.
cpu() {
  local pids=$pid
  [ "$DB" != postgres ] || pids="$pids $(pgrep -x postgres | tr '\n' ' ')"
  for p in $pids; do cat "/proc/$p/stat" 2>/dev/null || true; done | awk '{t += $14 + $15} END {print t}'
}
for page in / /library "/library?sort=artist&order=asc" "/library?sort=plays&order=desc" /albums /artists "/albums/$album" "/artists/$artist" "/search?q=$word" "/search?q=$prefix" /liked \
  /playlists/plbench /admin /healthz; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "$base$page")
  [ "$code" = 200 ] || { echo "$page answered $code" >&2; exit 1; }
  # A short run first: a page's first requests read what no earlier page read (a copied
  # catalog starts cold); measured is the page as it is served all day.
  wrk -t2 -c16 -d2s -H "Cookie: $cookie" "$base$page" >/dev/null
  before=$(cpu)
  out=$(wrk -t2 -c16 -d"${SECS}s" -H "Cookie: $cookie" "$base$page")
  after=$(cpu)
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  ms=$(python3 -c "print(f'{($after - $before) * 1000 / $ticks / $n:.2f}')")
  echo "page $page $rps $ms"
done
echo "rss $(awk '/VmRSS/{printf "%.0f", $2/1024}' /proc/$pid/status)"
