#!/usr/bin/env bash
# Search figures: p50/p95 of search::search on a generated catalog (TRACKS, default 1M),
# on SQLite (default) or PostgreSQL. Generating 1M tracks takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
release_flags cargo run -q --release -p backend --example search_bench -- "${1:-sqlite}"
