#!/usr/bin/env bash
# Library scan speed: a generated folder of FILES (default 20,000) tagged audio files
# (DISTINCT, default 300, different files synthesized by ffmpeg, hard-linked under many
# names in artist/album folders) is scanned with `refrain scan` into a fresh database:
# metadata indexing in files per second, then a rescan of the unchanged folder, and
# on-demand rendition time of a four-minute FLAC and MP3 (what the first press of play
# waits for) against transcoding the same file to AAC. DB=postgres measures on
# PostgreSQL (REFRAIN_TEST_POSTGRES_URL) instead of SQLite. Last, the whole pipeline from
# scan to background renditions on PIPELINE_FILES files. Needs a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
limits_off
FILES="${FILES:-20000}" DISTINCT="${DISTINCT:-300}" DB="${DB:-sqlite}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
SRC="$WORK/src" MUSIC="$WORK/music" DATA="$WORK/data"
mkdir -p "$SRC" "$MUSIC" "$DATA"
echo "synthesizing $DISTINCT distinct files..."
for i in $(seq 1 "$DISTINCT"); do
  ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "sine=frequency=$((200 + i)):duration=2" \
    -metadata title="Song $i" -metadata artist="Artist $((i % 97))" -metadata album="Album $((i % 211))" \
    -metadata track="$((i % 12 + 1))" -c:a libmp3lame -b:a 64k "$SRC/$i.mp3"
done
echo "linking $FILES files..."
python3 - "$SRC" "$MUSIC" "$FILES" "$DISTINCT" <<'PY'
import os, sys
src, music, files, distinct = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for n in range(files):
    d = os.path.join(music, f"Artist {n % 500}", f"Album {n % 2000}")
    os.makedirs(d, exist_ok=True)
    os.link(os.path.join(src, f"{n % distinct + 1}.mp3"), os.path.join(d, f"{n:05d} track.mp3"))
PY
export REFRAIN_DATA_DIR="$DATA" REFRAIN_LIBRARY_DIRS="$MUSIC" RUST_LOG=warn
if [ "$DB" = postgres ]; then
  admin="${REFRAIN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  name="refrain_t_scanbench_$(date +%s)"
  psql "$admin" -qc "CREATE DATABASE $name"
  export REFRAIN_DATABASE_URL="${admin%/*}/$name"
fi
BIN="$CARGO_TARGET_DIR/release/refrain"
echo 'bench-password-1' | "$BIN" create-admin scan-bench@example.com >/dev/null
secs() { python3 -c "import time; print(time.time())"; }
t0=$(secs); "$BIN" scan | tail -1; t1=$(secs)
t2=$(secs); "$BIN" scan | tail -1; t3=$(secs)
python3 - "$FILES" "$t0" "$t1" "$t2" "$t3" "$DB" <<'PY'
import sys
n, t0, t1, t2, t3, db = int(sys.argv[1]), *map(float, sys.argv[2:6]), sys.argv[6]
print(f"{db}: first scan of {n} files: {t1-t0:.2f} s = {n/(t1-t0):.0f} files/s (process start included)")
print(f"{db}: rescan of the unchanged folder: {t3-t2:.2f} s = {n/(t3-t2):.0f} files/s")
PY
# First press of play on a scanned four-minute track: the on-demand rendition.
ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "anoisesrc=d=240:c=pink" -ac 2 -ar 44100 "$WORK/long.flac"
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$WORK/long.flac" -c:a libmp3lame -b:a 192k "$WORK/long.mp3"
frag=(-movflags +empty_moov+default_base_moof -frag_duration 2000000 -f mp4)
time_it() { local a b; a=$(secs); "$@" >/dev/null 2>&1; b=$(secs); python3 -c "print(f'{$b-$a:.3f}')"; }
copy=$(time_it ffmpeg -nostdin -y -i "$WORK/long.flac" -map 0:a:0 -c:a copy -strict experimental "${frag[@]}" "$WORK/o1.mp4")
flac=$(time_it ffmpeg -nostdin -y -i "$WORK/long.mp3" -map 0:a:0 -c:a flac -compression_level 0 -strict experimental "${frag[@]}" "$WORK/o2.mp4")
aac=$(time_it ffmpeg -nostdin -y -i "$WORK/long.mp3" -map 0:a:0 -c:a aac -b:a 192k "${frag[@]}" "$WORK/o3.mp4")
echo "on-demand rendition of a 4-minute track: FLAC copied ${copy} s, MP3 to FLAC ${flac} s (AAC would take ${aac} s: $(python3 -c "print(f'{240/$aac:.0f}')")x realtime)"

# The whole pipeline on a smaller library (PIPELINE_FILES, default 1,000, of the same
# distinct files): scan, then the background pass of an embedded server, unthrottled,
# until every track has its rendition, loudness and cover.
PIPELINE_FILES="${PIPELINE_FILES:-1000}"
P="$WORK/pipeline" && mkdir -p "$P/music" "$P/data"
python3 - "$SRC" "$P/music" "$PIPELINE_FILES" "$DISTINCT" <<'PY'
import os, sys
src, music, files, distinct = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
for n in range(files):
    d = os.path.join(music, f"Artist {n % 50}", f"Album {n % 200}")
    os.makedirs(d, exist_ok=True)
    os.link(os.path.join(src, f"{n % distinct + 1}.mp3"), os.path.join(d, f"{n:05d} track.mp3"))
PY
export REFRAIN_DATA_DIR="$P/data" REFRAIN_LIBRARY_DIRS="$P/music" REFRAIN_RENDITIONS_PER_MINUTE=1000000
if [ "$DB" = postgres ]; then
  name="refrain_t_pipebench_$(date +%s)"
  psql "$admin" -qc "CREATE DATABASE $name"
  export REFRAIN_DATABASE_URL="${admin%/*}/$name"
fi
echo 'bench-password-1' | "$BIN" create-admin scan-bench@example.com >/dev/null
t0=$(secs)
"$BIN" scan >/dev/null
REFRAIN_PORT="${PORT:-3298}" "$BIN" > "$P/server.log" 2>&1 &
server=$!
pending() {
  if [ "$DB" = postgres ]; then
    psql "$REFRAIN_DATABASE_URL" -tAc "SELECT COUNT(*) FROM tracks WHERE rendition_ready = 0 OR analysed = 0"
  else
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT COUNT(*) FROM tracks WHERE rendition_ready = 0 OR analysed = 0').fetchone()[0])" "$P/data/refrain.db"
  fi
}
while [ "$(pending)" != 0 ]; do sleep 0.5; done
t1=$(secs)
kill "$server"
python3 -c "n=$PIPELINE_FILES; s=$t1-$t0; print(f'$DB: whole pipeline, {n} files from scan to renditions, loudness and covers: {s:.1f} s = {n/s:.1f} files/s')"
