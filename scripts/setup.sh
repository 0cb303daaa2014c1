#!/usr/bin/env bash
# Installs everything Refrain needs to build, run and test on Debian 12 with rustup and
# Node 20. Idempotent: tools already present at the right version are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# System packages: ffmpeg (import pipeline), Chromium (browser tests).
need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v ffprobe >/dev/null || need_apt+=(ffmpeg)
if [ "${REFRAIN_SETUP_BROWSER:-1}" = 1 ]; then
  command -v chromium >/dev/null || need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Build dependencies of rdkafka (librdkafka is compiled from source with cmake).
need_dev=()
for pkg in cmake libcurl4-openssl-dev libsasl2-dev libssl-dev zlib1g-dev libzstd-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_dev+=("$pkg")
done
if [ ${#need_dev[@]} -gt 0 ]; then
  log "apt-get install ${need_dev[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_dev[@]}" >/dev/null
fi

# yt-dlp from PyPI: YouTube search and audio from pages that are not audio files
# (REFRAIN_YTDLP names another; empty turns both off).
YTDLP_VERSION=2026.11.23
if ! yt-dlp --version 2>/dev/null | grep -qx "$YTDLP_VERSION"; then
  log "pip install yt-dlp $YTDLP_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "yt-dlp==$YTDLP_VERSION"
fi

# Rust: the WASM target (RUSTUP_AUTO_INSTALL=0 means nothing is fetched implicitly).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.10 (newer releases need a newer rustc).
if ! cargo leptos --version 2>/dev/null | grep -q '0.3.10'; then
  log "cargo install cargo-leptos 0.3.10 (about 13 minutes on 2 cores)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# wasm-bindgen CLI at exactly the version in Cargo.lock.
WBG=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WBG"; then
  log "cargo install wasm-bindgen-cli $WBG"
  cargo install wasm-bindgen-cli --version "$WBG"
fi

# wasm-opt for release builds: binaryen 132 from npm (Debian's 108 breaks hydration).
TOOLS="$HOME/.cache/refrain-tools"
if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
  log "npm install binaryen@132"
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent binaryen@132)
fi

# Playwright (uses Debian's Chromium; never downloads a browser).
if [ "${REFRAIN_SETUP_BROWSER:-1}" = 1 ] && [ ! -d end2end/node_modules/@playwright/test ]; then
  log "npm ci in end2end/"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
fi
# Test servers that install from crates.io: tansu (Kafka protocol) and Garage (S3); and
# from PyPI an SMTP sink (aiosmtpd) that the email tests read delivered messages from.
if [ "${REFRAIN_SETUP_TEST_SERVERS:-1}" = 1 ]; then
  if ! python3 -c "import aiosmtpd" 2>/dev/null; then
    log "pip install aiosmtpd 1.4.6"
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6
  fi
  if ! tansu --version 2>/dev/null | grep -q '0.6.0'; then
    log "cargo install tansu 0.6.0 (about 9 minutes on 2 cores)"
    cargo install tansu --version 0.6.0 --locked --features dynostore,postgres
  fi
  if ! garage --version 2>/dev/null | grep -q '2.5.0'; then
    log "cargo install garage 2.5.0 (about 15 minutes on 2 cores)"
    cargo install garage --version 2.5.0 --locked
  fi
fi
log "tools ready"
