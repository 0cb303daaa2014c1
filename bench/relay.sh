#!/usr/bin/env bash
# Kafka figures: outbox-to-consumer latency (p50/p99) and relay throughput (events/s).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/services.sh >/dev/null
release_flags cargo run -q --release -p worker --example relay_bench
