#!/usr/bin/env bash
# Requests per second and server CPU time per request of each server-rendered page that
# shows a bounded number of rows, for a signed-in admin, at each catalog size in TRACKS
# (default "10000 1000000": shared tracks), on DB=sqlite (default) or DB=postgres
# (REFRAIN_TEST_POSTGRES_URL names the server). The user has liked 50 tracks and has a
# playlist of 50.
#
# One server runs per size, side by side, and the sizes take turns page by page: each page
# is measured ROUNDS times (default 3) at each size, alternately, and the median is kept.
# Whatever else the machine does meanwhile (a neighbour's load, the CPU clock) falls on
# both sizes alike, rather than on whichever ran second; runs of one size after the other
# differed by 20% on some pages for that reason alone.
#
# Prints "page <page> <tracks> <req/s> <CPU ms per request>" per page and size, where
# <page> is the path with the album and artist named by what they hold (the same page at
# every size, see below), then "rss <tracks> <MB>" per size. CPU time is the server
# process's (with PostgreSQL's on this machine; user + system, from /proc) divided by the
# requests wrk made: steadier than req/s, which also moves with what wrk and anything else
# take of the same cores. Needs a release build (REFRAIN_BIN names another binary);
# installs wrk. The seeded catalogs are kept (SQLite: a file in CACHE, default
# ~/.cache/refrain-bench; PostgreSQL: a template database refrain_bench_cache_<TRACKS>)
# and copied by the next run of the same size (generating 1,000,000 tracks takes several
# minutes); CACHE= keeps nothing. Delete them after changing the seeding or the schema (or
# after giving REFRAIN_SECRET_KEY another value).
# SEED_BIN names a built search_bench example to seed with instead of `cargo run`; ONLY (an
# extended regular expression) measures only the pages whose names it matches.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
limits_off
command -v wrk >/dev/null || { s=""; [ "$(id -u)" = 0 ] || s=sudo; $s apt-get install -y -qq wrk >/dev/null; }
read -r -a SIZES <<<"${TRACKS:-10000 1000000}"
DB="${DB:-sqlite}" PORT="${PORT:-3410}" SECS="${SECS:-5}" ROUNDS="${ROUNDS:-3}"
export RUST_LOG=warn REFRAIN_SITE_ROOT="$PWD/target/site"
# One server key for every run: a cached catalog holds signing keys sealed with the key of
# the run that seeded it (a node's own key stays in its data folder, which is not kept).
# A fixed, public key: these servers hold nothing but generated data, on loopback.
export REFRAIN_SECRET_KEY="${REFRAIN_SECRET_KEY:-$(printf 'refrain-bench%.0s' 1 2 3 4 5 | sha256sum | cut -c1-64)}"
PG="${REFRAIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
CACHE="${CACHE-$HOME/.cache/refrain-bench}"
ticks=$(getconf CLK_TCK)
# Per size (by index): data folder, database URL, server pid, address, session cookie,
# and the pages to load.
declare -a DATA DBURL PID BASE COOKIE PAGES

sql() { # sql <i> <statement>
  if [ "$DB" = postgres ]; then psql "${DBURL[$1]}" -qAtc "$2"; else sqlite3 "${DATA[$1]}/refrain.db" "$2"; fi
}
# The environment of size <i>: its data folder, port and database.
env_of() { # env_of <i>: sets the array E
  E=(REFRAIN_DATA_DIR="${DATA[$1]}" REFRAIN_PORT=$((PORT + $1)))
  [ -z "${DBURL[$1]}" ] || E+=(REFRAIN_DATABASE_URL="${DBURL[$1]}")
}
start() { # start <i>
  env_of "$1"
  # (env, not a function, in the background: $! is then the server itself.)
  env "${E[@]}" "${REFRAIN_BIN:-$CARGO_TARGET_DIR/release/refrain}" &
  PID[$1]=$!
  for _ in $(seq 100); do curl -fs "${BASE[$1]}/healthz" >/dev/null && break; sleep 0.2; done
}
# (After a load, the server has not always exited on SIGTERM: its graceful shutdown kept
# waiting. A bench does not wait for it longer than 10 s.)
stop() { # stop <i>
  local p="${PID[$1]:-}"
  [ -n "$p" ] || return 0
  kill "$p" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
  PID[$1]=""
}
cleanup() {
  for i in "${!SIZES[@]}"; do
    stop "$i"; rm -rf "${DATA[$i]:-}"
    if [ "$DB" = postgres ]; then psql "$PG" -qc "DROP DATABASE IF EXISTS refrain_bench_pages_$$_$i" || true; fi
  done
}
trap cleanup EXIT

# What a path is called in the output: the same at every size.
label() {
  sed -E 's#^/albums/.+#/albums/<10-tracks>#; s#^/artists/.+#/artists/<10-albums>#;
    s#^/search\?q=.{4,}$#/search?q=<common-word>#; s#^/search\?q=...$#/search?q=<prefix>#' <<<"$1"
}

# Starts the server of size <i> on a copy of its cached catalog, or seeds one (and caches
# it), signs the user in, and chooses the pages.
prepare() { # prepare <i>
  local i=$1 tracks=${SIZES[$1]} cached="" fresh="" email="pages-bench@example.com"
  DATA[$i]="$(mktemp -d)" BASE[$i]="http://127.0.0.1:$((PORT + i))" DBURL[$i]=""
  if [ "$DB" = postgres ]; then
    local name="refrain_bench_pages_$$_$i"
    DBURL[$i]="${PG%/*}/$name"
    cached="refrain_bench_cache_$tracks"
    if [ -n "$CACHE" ] && [ "$(psql "$PG" -qAtc "SELECT 1 FROM pg_database WHERE datname = '$cached'")" = 1 ]; then
      psql "$PG" -qc "CREATE DATABASE $name TEMPLATE $cached"
    else
      psql "$PG" -qc "CREATE DATABASE $name"; fresh=1
    fi
  else
    cached="$CACHE/sqlite-$tracks.db"
    if [ -n "$CACHE" ] && [ -f "$cached" ]; then cp "$cached" "${DATA[$i]}/refrain.db"; else fresh=1; fi
  fi
  [ -n "$CACHE" ] || cached=""
  start "$i"
  local base="${BASE[$i]}"
  local signup
  signup=$(curl -fs "$base/signup" | grep -o 'action="/api/signup[0-9]*"' | head -1 | cut -d'"' -f2)
  curl -fs -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
    --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$signup" || true
  local uid
  uid=$(sql "$i" "SELECT id FROM users WHERE email = '$email'")
  if [ -n "$fresh" ]; then
    # SEED_BIN: an already built search_bench example (cargo run waits while another
    # build holds the build folder).
    local seed
    if [ -n "${SEED_BIN:-}" ]; then seed=("$SEED_BIN"); else
      seed=(env RUSTFLAGS="--cfg erase_components" cargo run -q --release -p backend --example search_bench --); fi
    env_of "$i"
    env "${E[@]}" TRACKS="$tracks" SEED_INTO=1 OWNER="$email" "${seed[@]}" "$DB" >&2
    # Likes and a playlist of 50 tracks spread over the catalog.
    local step=$((tracks / 50)) t
    sql "$i" "INSERT INTO playlists (id, owner_id, name, created_at, updated_at) VALUES ('plbench', '$uid', 'Bench mix', 1, 1)"
    for n in $(seq 0 49); do
      t="t$((n * step))"
      sql "$i" "INSERT INTO track_likes (user_id, track_id, created_at) VALUES ('$uid', '$t', $n)"
      sql "$i" "INSERT INTO playlist_tracks (id, playlist_id, track_id, position, added_at) VALUES ('pt$n', 'plbench', '$t', $n, $n)"
    done
    if [ -n "$cached" ]; then
      if [ "$DB" = postgres ]; then
        # A template may have no connections: the server stops while it is copied.
        stop "$i"; psql "$PG" -qc "CREATE DATABASE $cached TEMPLATE refrain_bench_pages_$$_$i"; start "$i"
      else
        mkdir -p "$CACHE"; sqlite3 "${DATA[$i]}/refrain.db" ".backup '$cached'"
      fi
    fi
  fi
  local login
  login=$(curl -fs "$base/login" | grep -o 'action="/api/login[0-9]*"' | head -1 | cut -d'"' -f2)
  COOKIE[$i]=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
    --data-urlencode "email=$email" --data-urlencode "password=violet-harbour-87" "$base$login" \
    | grep -i '^set-cookie:' | head -1 | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
  local rows
  rows=$(curl -fs -H "Cookie: ${COOKIE[$i]}" "$base/library" | grep -o 'class="track-row"' | wc -l)
  [ "$rows" -gt 0 ] || { echo "not signed in or no rows at $tracks tracks; giving up" >&2; exit 1; }
  # The same page at every size: an album of 10 tracks and an artist of 10 albums (the
  # generator deals tracks to albums and albums to artists at random, so a given one may
  # hold half or twice as many).
  local album artist word
  album=$(sql "$i" "SELECT album_id FROM tracks GROUP BY album_id HAVING count(*) = 10 ORDER BY album_id LIMIT 1")
  artist=$(sql "$i" "SELECT artist_id FROM albums GROUP BY artist_id HAVING count(*) = 10 ORDER BY artist_id LIMIT 1")
  # The search page fills every group (20 songs, 8 albums, 8 artists) at every size with
  # the catalog's most common title word (the seeding draws words as Zipf's law has them;
  # a rare word shows a few songs among 10,000 tracks and a full page among 1,000,000,
  # another page) and with its first three letters.
  word=$(sql "$i" "SELECT title FROM tracks WHERE created_at < 2000" | awk '{print tolower($1)}' \
    | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
  local all=(/ /library "/library?sort=artist&order=asc" "/library?sort=plays&order=desc" /albums
    /artists "/albums/$album" "/artists/$artist" "/search?q=$word" "/search?q=${word:0:3}" /liked
    /playlists/plbench /admin /healthz) page
  PAGES[$i]=""
  for page in "${all[@]}"; do
    if grep -Eq -- "${ONLY:-.}" <<<"$(label "$page")"; then PAGES[$i]+="$page "; fi
  done
}

# The server's CPU time, and on PostgreSQL also the database's (its processes on this
# machine): what a page costs in all.
cpu() { # cpu <i>
  local pids=${PID[$1]}
  [ "$DB" != postgres ] || pids="$pids $(pgrep -x postgres | tr '\n' ' ')"
  for p in $pids; do cat "/proc/$p/stat" 2>/dev/null || true; done | awk '{t += $14 + $15} END {print t}'
}

# One measurement: "<req/s> <CPU ms per request>".
measure() { # measure <i> <path>
  local before after out rps n
  before=$(cpu "$1")
  out=$(wrk -t2 -c16 -d"${SECS}s" -H "Cookie: ${COOKIE[$1]}" "${BASE[$1]}$2")
  after=$(cpu "$1")
  rps=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $(python3 -c "print(f'{($after - $before) * 1000 / $ticks / $n:.2f}')")"
}

for i in "${!SIZES[@]}"; do prepare "$i"; done
read -r -a first <<<"${PAGES[0]}"
for p in "${!first[@]}"; do
  declare -A runs=()
  for i in "${!SIZES[@]}"; do
    read -r -a pages <<<"${PAGES[$i]}"
    page="${pages[$p]}"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: ${COOKIE[$i]}" "${BASE[$i]}$page")
    [ "$code" = 200 ] || { echo "$page answered $code at ${SIZES[$i]} tracks" >&2; exit 1; }
    # A short run first: a page's first requests read what no earlier page read (a
    # copied catalog starts cold); measured is the page as it is served all day.
    wrk -t2 -c16 -d2s -H "Cookie: ${COOKIE[$i]}" "${BASE[$i]}$page" >/dev/null
  done
  for _ in $(seq "$ROUNDS"); do
    for i in "${!SIZES[@]}"; do
      read -r -a pages <<<"${PAGES[$i]}"
      runs[$i]+="$(measure "$i" "${pages[$p]}")"$'\n'
    done
  done
  for i in "${!SIZES[@]}"; do
    # The median of the rounds, by CPU time.
    read -r rps ms < <(grep . <<<"${runs[$i]}" | sort -k2 -n | awk '{a[NR] = $0} END {print a[int((NR + 1) / 2)]}')
    echo "page $(label "${first[$p]}") ${SIZES[$i]} $rps $ms"
  done
  unset runs
done
for i in "${!SIZES[@]}"; do
  echo "rss ${SIZES[$i]} $(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/${PID[$i]}/status")"
done
