#!/usr/bin/env bash
# OpenSubsonic figures on a generated catalog of TRACKS shared tracks (default 100000) on
# DB=sqlite (default) or DB=postgres (REFRAIN_TEST_POSTGRES_URL names the server):
# - latency p50/p95 of `getAlbumList2` (newest and alphabeticalByName, 500 per page, pages
#   spread over the whole list) and of `search3` with the empty query apps sync with
#   (500 songs per page, pages spread over the catalog), N sequential requests each
#   (default 40) against a warmed server;
# - time to the first byte of audio of a transcoded `stream` (a four-minute MP3 uploaded first,
#   Opus at a different rate each time so no kept transcode answers), median of 10.
# Prints "<figure> p50 <ms> p95 <ms>". Needs a release build (REFRAIN_BIN names another
# binary) and the search_bench example (built with `cargo run`, or SEED_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
limits_off
TRACKS="${TRACKS:-100000}" DB="${DB:-sqlite}" PORT="${PORT:-3420}" N="${N:-40}"
PG="${REFRAIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export RUST_LOG=warn REFRAIN_SITE_ROOT="$PWD/target/site"
DATA="$(mktemp -d)" BASE="http://127.0.0.1:$PORT" EMAIL="subsonic-bench@example.com"
E=(REFRAIN_DATA_DIR="$DATA" REFRAIN_PORT="$PORT")
NAME="refrain_bench_subsonic_$$"
if [ "$DB" = postgres ]; then
  psql "$PG" -qc "CREATE DATABASE $NAME"
  E+=(REFRAIN_DATABASE_URL="${PG%/*}/$NAME")
fi
sql() { if [ "$DB" = postgres ]; then psql "${PG%/*}/$NAME" -qAtc "$1"; else sqlite3 "$DATA/refrain.db" "$1"; fi; }
PID=""
cleanup() {
  [ -z "$PID" ] || { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
  rm -rf "$DATA"
  [ "$DB" != postgres ] || psql "$PG" -qc "DROP DATABASE IF EXISTS $NAME" || true
}
trap cleanup EXIT
start() {
  env "${E[@]}" "${REFRAIN_BIN:-$CARGO_TARGET_DIR/release/refrain}" &
  PID=$!
  for _ in $(seq 100); do curl -fs "$BASE/healthz" >/dev/null && break; sleep 0.2; done
}
start
signup=$(curl -fs "$BASE/signup" | grep -o 'action="/api/signup[0-9]*"' | head -1 | cut -d'"' -f2)
COOKIE=$(curl -s -D - -o /dev/null -H 'Sec-Fetch-Site: same-origin' -H 'Accept: text/html' \
  --data-urlencode "email=$EMAIL" --data-urlencode "password=violet-harbour-87" "$BASE$signup" \
  | grep -i '^set-cookie:' | head -1 | sed 's/^[Ss]et-[Cc]ookie: //; s/;.*//')
if [ -n "${SEED_BIN:-}" ]; then seed=("$SEED_BIN"); else
  seed=(env RUSTFLAGS="--cfg erase_components" cargo run -q --release -p backend --example search_bench --); fi
env "${E[@]}" TRACKS="$TRACKS" SEED_INTO=1 OWNER="$EMAIL" "${seed[@]}" "$DB" >&2
# An API key for the account, stored as the server stores one (its SHA-256).
KEY="rfk_bench$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
uid=$(sql "SELECT id FROM users WHERE email = '$EMAIL'")
sql "INSERT INTO app_keys (id, user_id, name, kind, key_hash, created_at) VALUES ('kbench', '$uid', 'bench', 'api_key', '$(printf %s "$KEY" | sha256sum | cut -d' ' -f1)', 1)"

# p50/p95 of N sequential requests to the paths on stdin (one per line), after a warm-up.
latency() { # latency <label>
  local paths; mapfile -t paths
  for p in "${paths[@]:0:5}"; do curl -fs -o /dev/null "$BASE$p"; done
  for p in "${paths[@]}"; do
    code_time=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' "$BASE$p")
    [ "${code_time%% *}" = 200 ] || { echo "$p answered ${code_time%% *}" >&2; exit 1; }
    echo "${code_time#* }"
  done | python3 -c "
import sys
t = sorted(float(x) * 1000 for x in sys.stdin)
print(f'$1 p50 {t[len(t) // 2]:.1f} ms p95 {t[min(len(t) - 1, int(len(t) * 0.95))]:.1f} ms ({len(t)} requests)')"
}
auth="apiKey=$KEY&f=json&v=1.16.1&c=bench"
sauth="${auth//&/\\&}" # for a sed replacement, where a bare & stands for the match
albums=$(sql "SELECT COUNT(*) FROM albums")
pages() { # pages <total> <per page>: N offsets spread over the list
  python3 -c "
import random
random.seed(7)
last = max(0, $1 - $2)
print('\n'.join(str(random.randint(0, last)) for _ in range($N)))"
}
echo "catalog: $TRACKS tracks, $albums albums, $DB"
for kind in newest alphabeticalByName; do
  pages "$albums" 500 | sed "s#^#/rest/getAlbumList2?$sauth\&type=$kind\&size=500\&offset=#" \
    | latency "getAlbumList2 type=$kind size=500"
done
pages "$TRACKS" 500 | sed "s#^#/rest/search3?$sauth\&query=\&artistCount=0\&albumCount=0\&songCount=500\&songOffset=#" \
  | latency "search3 empty query songCount=500"
pages "$albums" 500 | sed "s#^#/rest/search3?$sauth\&query=\&artistCount=0\&songCount=0\&albumCount=500\&albumOffset=#" \
  | latency "search3 empty query albumCount=500"

# Time to the first byte of a transcode: a four-minute MP3 uploaded as the user.
tone="$DATA/tone.mp3"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=330:duration=240" \
  -metadata title="Bench tone" -c:a libmp3lame -b:a 192k "$tone"
curl -fs -o /dev/null -H "Cookie: $COOKIE" -H 'Sec-Fetch-Site: same-origin' --data-binary "@$tone" \
  "$BASE/api/uploads?filename=tone.mp3"
for _ in $(seq 120); do
  id=$(sql "SELECT id FROM tracks WHERE title = 'Bench tone'")
  [ -z "$id" ] || break; sleep 0.5
done
[ -n "$id" ] || { echo "the upload was not imported" >&2; exit 1; }
# The first byte of audio, not of the headers (they are sent before ffmpeg has output).
python3 - "$BASE/rest/stream?$auth&id=$id&format=opus" <<'PY'
import sys, time, urllib.request
times = []
for rate in range(64, 144, 8):
    start = time.monotonic()
    with urllib.request.urlopen(f"{sys.argv[1]}&maxBitRate={rate}") as answer:
        if answer.status != 200 or not answer.read(1):
            sys.exit(f"the transcode at {rate} kbit/s sent no audio")
        times.append((time.monotonic() - start) * 1000)
        answer.read()
times.sort()
print(f"stream format=opus, first audio byte p50 {times[len(times) // 2]:.1f} ms "
      f"(min {times[0]:.1f}, max {times[-1]:.1f}, {len(times)} transcodes)")
PY
