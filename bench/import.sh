#!/usr/bin/env bash
# Import speed: a four-minute MP3 (pink noise, 192 kb/s, so the encoder has real work) is
# uploaded to a fresh embedded Refrain over HTTP, and the time until its job is done (the
# rendition stored, so it plays) is measured RUNS times (default 3). Then ffmpeg alone on
# the same file with the pipeline's settings (AAC 192k, fragmented MP4, EBU R128 metering)
# in times real time. Needs a release build (scripts/run.sh or scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
limits_off
RUNS="${RUNS:-3}" PORT="${PORT:-3299}"
WORK="$(mktemp -d)"
BIN="$CARGO_TARGET_DIR/release/refrain"
export REFRAIN_DATA_DIR="$WORK/data" REFRAIN_PORT="$PORT" RUST_LOG=warn
REFRAIN_SITE_ROOT="$PWD/target/site" "$BIN" > "$WORK/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$WORK"' EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.5; done
ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "anoisesrc=d=240:c=pink" -ac 2 -ar 44100 \
  -metadata title="Bench Noise" -metadata artist="Bench" -c:a libmp3lame -b:a 192k "$WORK/four-minutes.mp3"

# Sign up through the page's own form (the first account is the admin).
action=$(curl -fs "$BASE/signup" | grep -o 'action="[^"]*"' | head -1 | cut -d'"' -f2)
curl -fs -o /dev/null -c "$WORK/jar" -b "$WORK/jar" -H "Origin: $BASE" \
  --data-urlencode "email=bench@example.com" --data-urlencode "password=bench-password-1" "$BASE$action"

python3 - "$BASE" "$WORK" "$RUNS" <<'PY'
import http.cookiejar, json, sqlite3, sys, time, urllib.request
base, work, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
jar = http.cookiejar.MozillaCookieJar(f"{work}/jar")
jar.load(ignore_discard=True, ignore_expires=True)
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
data = open(f"{work}/four-minutes.mp3", "rb").read()
db = sqlite3.connect(f"{work}/data/refrain.db")
times = []
for n in range(runs):
    req = urllib.request.Request(f"{base}/api/uploads?filename=bench-{n}.mp3", data=data, method="POST",
                                 headers={"Origin": base, "Content-Type": "audio/mpeg"})
    t0 = time.time()
    job = json.load(opener.open(req))["id"]
    while True:
        row = db.execute("SELECT state, error FROM import_jobs WHERE id = ?", (job,)).fetchone()
        if row and row[0] in ("done", "failed"):
            break
        time.sleep(0.02)
    t1 = time.time()
    if row[0] != "done":
        sys.exit(f"import failed: {row[1]}")
    times.append(t1 - t0)
times.sort()
print(f"upload of a 4-minute MP3 ({len(data)/1e6:.1f} MB) to playable: median {times[len(times)//2]:.2f} s "
      f"(best {times[0]:.2f} s, worst {times[-1]:.2f} s, {runs} runs)")
PY
a=$(python3 -c "import time; print(time.time())")
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$WORK/four-minutes.mp3" -vn -map_metadata -1 \
  -af ebur128=peak=true -c:a aac -b:a 192k -ar 44100 -ac 2 \
  -movflags +empty_moov+default_base_moof -frag_duration 2000000 -f mp4 "$WORK/out.mp4"
b=$(python3 -c "import time; print(time.time())")
python3 -c "s=$b-$a; print(f'ffmpeg transcode (AAC 192k + loudness) of 240 s: {s:.2f} s = {240/s:.0f}x real time')"
