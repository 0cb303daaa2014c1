#!/usr/bin/env bash
# Streaming throughput of Refrain beside nginx (Debian's, sendfile on) serving the same
# rendition file from the same disk, on the same machine, with wrk: whole-file GETs and
# 1 MiB ranges at 1 and at 64 clients, and the latency of a 1-byte range at one client
# (a stream request's own overhead: token check, lookups, headers). Prints one line per
# figure with the ratio Refrain / nginx. Needs a release build (scripts/run.sh or
# scripts/test.sh); installs wrk and nginx from Debian if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
limits_off
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
need=()
command -v wrk >/dev/null || need+=(wrk)
[ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
PORT="${PORT:-3420}" NGINX_PORT="${NGINX_PORT:-3421}" SECS="${SECS:-8}"
WORK="$(mktemp -d)"
BIN="$CARGO_TARGET_DIR/release/refrain"
export REFRAIN_DATA_DIR="$WORK/data" REFRAIN_PORT="$PORT" RUST_LOG=warn
export REFRAIN_STREAM_TOKEN_TTL_SECS=1800
REFRAIN_SITE_ROOT="$PWD/target/site" "$BIN" > "$WORK/server.log" 2>&1 &
pids=($!)
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 120); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.5; done

# A four-minute track, imported the way users import (its rendition is what streams).
ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "anoisesrc=d=240:c=pink" -ac 2 \
  -ar 44100 -metadata title="Stream Bench" -metadata artist="Bench" -c:a libmp3lame -b:a 192k \
  "$WORK/track.mp3"
action=$(curl -fs "$BASE/signup" | grep -o 'action="[^"]*"' | head -1 | cut -d'"' -f2)
curl -fs -o /dev/null -c "$WORK/jar" -b "$WORK/jar" -H "Origin: $BASE" \
  --data-urlencode "email=stream@example.com" --data-urlencode "password=stream-password-1" "$BASE$action"
job=$(curl -fs -b "$WORK/jar" -H "Origin: $BASE" -H "Content-Type: audio/mpeg" \
  --data-binary @"$WORK/track.mp3" "$BASE/api/uploads?filename=track.mp3" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
for _ in $(seq 600); do
  state=$(sqlite3 "$WORK/data/refrain.db" "SELECT state FROM import_jobs WHERE id = '$job'")
  [ "$state" = done ] && break
  [ "$state" = failed ] && { echo "import failed"; exit 1; }
  sleep 0.1
done
read -r track key bytes < <(sqlite3 -separator ' ' "$WORK/data/refrain.db" \
  "SELECT id, rendition_key, rendition_bytes FROM tracks LIMIT 1")
access=$(curl -fs -H 'Content-Type: application/json' \
  -d '{"grant_type":"password","email":"stream@example.com","password":"stream-password-1"}' \
  "$BASE/api/v1/auth/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
path=$(curl -fs -H "Authorization: Bearer $access" "$BASE/api/v1/tracks/$track/stream" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
refrain_url="$BASE$path"
file="$WORK/data/objects/$key"
[ -f "$file" ] || { echo "rendition not found at $file"; exit 1; }

# nginx: the storage folder as its root, sendfile on, one worker per core.
mkdir -p "$WORK/nginx"
# Its workers read the files as the user running this (the temporary folders are private).
cat > "$WORK/nginx/nginx.conf" <<EOF
user $(id -un) $(id -gn);
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx;
  proxy_temp_path $WORK/nginx;
  fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx;
  scgi_temp_path $WORK/nginx;
  types { audio/mp4 m4a mp4; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/data/objects;
  }
}
EOF
/usr/sbin/nginx -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
nginx_url="http://127.0.0.1:$NGINX_PORT/$key"
for _ in $(seq 50); do curl -fs -o /dev/null "$nginx_url" && break; sleep 0.1; done
# Both must serve the same bytes before their speeds mean anything.
cmp <(curl -fs "$refrain_url") <(curl -fs "$nginx_url") || { echo "refrain and nginx differ"; exit 1; }
cmp <(curl -fs -H 'Range: bytes=1000-2047' "$refrain_url") <(curl -fs -H 'Range: bytes=1000-2047' "$nginx_url")

# MB/s of wrk's transfer figure.
mbs() { wrk -t"$1" -c"$2" -d"${SECS}s" "${@:4}" "$3" | awk '/Transfer\/sec/ {
  v=$2; u=substr(v, length(v)-1); n=substr(v, 1, length(v)-2);
  if (u=="GB") n*=1024; else if (u=="KB") n/=1024; else if (u!="MB") n/=1048576; printf "%.0f", n }'; }
# Mean latency in ms of wrk at one connection.
lat_ms() { wrk -t1 -c1 -d"${SECS}s" --latency "${@:2}" "$1" | awk '/^    Latency/ {
  v=$2; u=substr(v, length(v)-1);
  if (u=="us") printf "%.3f", substr(v,1,length(v)-2)/1000;
  else if (u=="ms") printf "%.3f", substr(v,1,length(v)-2);
  else printf "%.3f", substr(v,1,length(v)-1)*1000 }'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }

echo "rendition: $((bytes / 1024)) KB ($key)"
for spec in "whole file|1|1" "whole file|2|64" "1 MiB range|1|1" "1 MiB range|2|64"; do
  IFS='|' read -r what threads conns <<<"$spec"
  hdr=()
  [ "$what" = "whole file" ] || hdr=(-H "Range: bytes=0-1048575")
  r=$(mbs "$threads" "$conns" "$refrain_url" "${hdr[@]}")
  n=$(mbs "$threads" "$conns" "$nginx_url" "${hdr[@]}")
  echo "stream $what, $conns client(s): refrain $r MB/s, nginx $n MB/s, ratio $(ratio "$r" "$n")"
done
r=$(lat_ms "$refrain_url" -H "Range: bytes=0-0")
n=$(lat_ms "$nginx_url" -H "Range: bytes=0-0")
echo "1-byte range at 1 client: refrain $r ms, nginx $n ms; stream request overhead $(python3 -c "print(f'{$r-$n:.3f}')") ms"
