#!/usr/bin/env bash
# Installs everything Refrain needs to build, run and test on Debian 12 with rustup and
# Node 20. Idempotent: tools already present at the right version are skipped, so a
# second run takes seconds.
#
# What needs no compiler (Debian packages, npm and PyPI downloads) runs in the background
# while the Rust tools compile; the Rust tools share one build folder, so a crate they
# have in common is compiled once. REFRAIN_SETUP_BROWSER=0 skips Chromium and Playwright,
# REFRAIN_SETUP_TEST_SERVERS=0 the servers only the tests need (tansu, Garage, aiosmtpd):
# `scripts/run.sh` sets both.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;32m==>\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
BROWSER="${REFRAIN_SETUP_BROWSER:-1}" TEST_SERVERS="${REFRAIN_SETUP_TEST_SERVERS:-1}"
TOOLS="$HOME/.cache/refrain-tools"
mkdir -p "$TOOLS"

# Debian packages. Build dependencies first (cmake and the C libraries librdkafka and
# some tools compile against), then in the background ffmpeg (import pipeline), sqlite3
# (benchmarks) and Chromium (browser tests).
apt_install() {
  local need=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg"); done
  if [ ${#need[@]} -gt 0 ]; then
    log "apt-get install ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}
apt_install cmake libcurl4-openssl-dev libsasl2-dev libssl-dev zlib1g-dev libzstd-dev
runtime_packages=(ffmpeg sqlite3)
if [ "$BROWSER" = 1 ]; then runtime_packages+=(chromium); fi

# Downloads from PyPI and npm.
downloads() {
  # yt-dlp: YouTube search and audio from pages that are not audio files (REFRAIN_YTDLP
  # names another; empty turns both off).
  local ytdlp=2026.11.23
  if ! yt-dlp --version 2>/dev/null | grep -qx "$ytdlp"; then
    log "pip install yt-dlp $ytdlp"
    python3 -m pip install --quiet --disable-pip-version-check "yt-dlp==$ytdlp"
  fi
  # wasm-opt for release builds: binaryen 132 from npm (Debian's 108 breaks hydration).
  if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
    log "npm install binaryen@132"
    (cd "$TOOLS" && npm install --no-audit --no-fund --silent binaryen@132)
  fi
  # Playwright (uses Debian's Chromium; never downloads a browser).
  if [ "$BROWSER" = 1 ] && [ ! -d end2end/node_modules/@playwright/test ]; then
    log "npm ci in end2end/"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
  fi
  # A third-party Subsonic client library the OpenSubsonic tests drive the API with.
  if [ "$TEST_SERVERS" = 1 ] && ! python3 -c "import libopensonic" 2>/dev/null; then
    log "pip install py-opensonic 10.4.1"
    python3 -m pip install --quiet --disable-pip-version-check py-opensonic==10.4.1
  fi
  # sqlmap, which server/tests/attacks.rs runs against a few server functions (matrix row 19).
  if [ "$TEST_SERVERS" = 1 ] && ! sqlmap --version 2>/dev/null | grep -q "1.10.10"; then
    log "pip install sqlmap 1.10.10"
    python3 -m pip install --quiet --disable-pip-version-check sqlmap==1.10.10
  fi
  # The SMTP sink the email tests read delivered messages from.
  if [ "$TEST_SERVERS" = 1 ] && ! python3 -c "import aiosmtpd" 2>/dev/null; then
    log "pip install aiosmtpd 1.4.6"
    python3 -m pip install --quiet --disable-pip-version-check aiosmtpd==1.4.6
  fi
}

apt_install "${runtime_packages[@]}" > "$TOOLS/apt.log" 2>&1 &
apt_pid=$!
downloads > "$TOOLS/downloads.log" 2>&1 &
downloads_pid=$!

# Rust tools (only the test command needs any). They are test servers and checkers, not
# what users run: compiled with light optimisation, without link-time optimisation and with
# parallel code generation, all in one build folder.
export CARGO_TARGET_DIR="$TOOLS/target"
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=0

# The WASM target (RUSTUP_AUTO_INSTALL=0 means nothing is fetched implicitly).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
# No cargo-leptos and no wasm-bindgen CLI: the site is built by the workspace's own build
# program (`xtask/`, run by scripts/build.sh), which links wasm-bindgen's and the WASM
# splitter's libraries at the versions in Cargo.lock.
# Test servers: tansu (Kafka protocol) and Garage (S3); and cargo-deny.
if [ "$TEST_SERVERS" = 1 ]; then
  if ! tansu --version 2>/dev/null | grep -q '0.6.0'; then
    log "cargo install tansu 0.6.0"
    cargo install tansu --version 0.6.0 --locked --features dynostore,postgres --quiet
  fi
  if ! garage --version 2>/dev/null | grep -q '2.5.0'; then
    log "cargo install garage 2.5.0"
    cargo install garage --version 2.5.0 --locked --quiet
  fi
  # The supply-chain check (scripts/supply-chain.sh).
  if ! cargo deny --version 2>/dev/null | grep -q '0.20.2'; then
    log "cargo install cargo-deny 0.20.2"
    cargo install cargo-deny --version 0.20.2 --locked --quiet
  fi
fi

failed=0
wait $apt_pid || { failed=1; echo "Debian packages failed:"; cat "$TOOLS/apt.log"; }
wait $downloads_pid || { failed=1; echo "npm/PyPI downloads failed:"; cat "$TOOLS/downloads.log"; }
cat "$TOOLS/apt.log" "$TOOLS/downloads.log"
[ $failed = 0 ] || exit 1
log "tools ready"
