#!/usr/bin/env bash
# Proxy overhead: direct vs shakedown vs nginx stream, in one run on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
ensure_debs nginx nginx-light libnginx-mod-stream || echo "bench-proxy: nginx unavailable; its row will be skipped"
cargo build --release --quiet
cargo bench --quiet --bench proxy
