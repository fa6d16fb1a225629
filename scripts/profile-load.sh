#!/usr/bin/env bash
# Instructions per request of the load driver, repeatable on a shared machine: callgrind over
# a fixed number of requests (USERS closed-model users x REQUESTS each, no think time, one
# worker) against nginx (1 worker, a small static file) on loopback. Prints the total
# instructions, the request count, instructions per request and the top functions.
# Usage: scripts/profile-load.sh [BIN]   (default target/release/shakedown, built if missing)
# Knobs: USERS (10) REQUESTS (2000) TOP (25, functions listed).
set -euo pipefail
cd "$(dirname "$0")/.."
USERS=${USERS:-10}
REQUESTS=${REQUESTS:-2000}
TOP=${TOP:-25}
bin=${1:-target/release/shakedown}
source scripts/lib.sh
PATH=$PATH:/usr/sbin
if ! command -v valgrind >/dev/null || ! command -v nginx >/dev/null; then
    echo "profile-load: SKIPPED: valgrind and nginx are needed"
    exit 0
fi
[ -x "$bin" ] || cargo build --release --quiet --bin shakedown
tmp=$(mktemp -d)
trap 'stop_nginx; rm -rf "$tmp"' EXIT INT TERM
start_nginx "$tmp"
valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$bin" load "$url" --users "$USERS" \
    --requests-per-user "$REQUESTS" --threads 1 --json "$tmp/run.json" -q > /dev/null 2> "$tmp/vg.txt"
n=$(json_field "$tmp/run.json" 'j["summary"]["requests"]')
total=$(callgrind_annotate "$tmp/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "requests $n (errors $(json_field "$tmp/run.json" 'j["summary"]["errors"]')), instructions $total, per request $((total / n))"
callgrind_annotate --inclusive=no "$tmp/cg.out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | head -n "$TOP" || true
