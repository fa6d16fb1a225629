#!/usr/bin/env bash
# The proxy against direct, nginx `stream` and HAProxy (`mode tcp`), in one run on loopback:
#  1. small request/response (wrk -> proxy -> nginx answering 20 bytes, keep-alive), medians of
#     alternating rounds: requests/s, p50, p99 and the proxy's CPU-seconds per 100,000 exchanges;
#     syscalls and context switches per exchange (perf); redis-benchmark SET/GET
#     (scripts/bench_small.py);
#  2. bulk throughput on 1 and 4 connections and a 64-byte ping-pong (benches/proxy.rs).
# Beside each ratio goal it prints the ceiling this machine sets: the CPU per exchange (or per
# GB) of the client, the server and the proxy, and the ratio they allow once the cores are
# saturated (docs/benchmarks.md, "The ceiling on this machine").
# Needs: wrk, nginx with its stream module, haproxy, redis-server + redis-tools, linux-perf
# (Debian packages, installed when missing; a tool that cannot be had skips its rows, saying so).
# Knobs: ROUNDS (3) DURATION (5 s) CONNS (32) THREADS (2) REDIS_REQUESTS (50000);
#        SHAKEDOWN_BASE=path adds a `baseline` row for another build (e.g. main's binary).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
PATH=$PATH:/usr/sbin
need() { # CMD PKG...
    ensure_debs "$@" || echo "bench-proxy: $1 unavailable (apt-get install ${*:2}); its rows will be skipped"
}
need nginx nginx-light libnginx-mod-stream
need wrk wrk
need haproxy haproxy
need redis-server redis-server
need redis-benchmark redis-tools
need perf linux-perf
echo "bench-proxy: building the release binary"
cargo build --release --quiet
python3 scripts/bench_small.py
cargo bench --quiet --bench proxy
echo "machine load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
