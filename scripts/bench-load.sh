#!/usr/bin/env bash
# Load driver benchmark, in one run on loopback:
#  1. maximum request rate against nginx (1 worker, small static file):
#     wrk vs `shakedown load --max-rate`, same connections, threads and duration;
#  2. rate accuracy of the open model at a fixed rate (default 2,000/s for 10 s);
#  3. scale: USERS (10,000) closed-model users spawned at USERS/2 per second,
#     1 s think time, for SCALE_DURATION (10 s), with the client's peak RSS;
#     then tests/load_scale.rs at 10,000 connections and users (LOAD_SCALE);
# (Agents, segments and merge: scripts/bench-agents.sh.)
# Goals: shakedown >= 90% of wrk's rate; achieved fixed rate within 1% of the target.
# Knobs: CONNS (50) THREADS (2) DURATION (5, seconds) RATE (2000) RATE_DURATION (10)
#        USERS (10000) SCALE_DURATION (10).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5}
RATE=${RATE:-2000}
RATE_DURATION=${RATE_DURATION:-10}
USERS=${USERS:-10000}
SCALE_DURATION=${SCALE_DURATION:-10}

# Install nginx and wrk from Debian's packages when missing, without starting services (lib.sh).
source scripts/lib.sh
ensure() {
    ensure_debs nginx nginx-light && ensure_debs wrk wrk
}
PATH=$PATH:/usr/sbin
if ! ensure || ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
    echo "bench-load: SKIPPED: nginx and wrk are not installed and could not be installed (apt-get nginx-light wrk)"
    exit 0
fi

tmp=$(mktemp -d)
trap 'stop_nginx; rm -rf "$tmp"' EXIT INT TERM
start_nginx "$tmp"

echo "bench-load: building the release binary"
cargo build --release --quiet
bin=target/release/shakedown

echo "== max rate: nginx 1 worker, $CONNS connections, $THREADS threads, ${DURATION}s =="
wrk_out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$url")
wrk_rps=$(printf '%s\n' "$wrk_out" | awk '/Requests\/sec/ {print $2}')
"$bin" load "$url" --max-rate -c "$CONNS" --threads "$THREADS" --duration "${DURATION}s" \
    --json "$tmp/max.json" -q > "$tmp/max.txt"
sd_rps=$(json_field "$tmp/max.json" 'round(j["summary"]["rps"], 1)')
sd_err=$(json_field "$tmp/max.json" 'j["summary"]["errors"]')
ratio=$(python3 -c "print(f'{$sd_rps / $wrk_rps * 100:.1f}')")
wrk_non2xx=$(printf '%s\n' "$wrk_out" | awk '/Non-2xx/ {print $5}')
printf 'wrk        %10.1f req/s  (non-2xx %s)\n' "$wrk_rps" "${wrk_non2xx:-0}"
printf 'shakedown  %10.1f req/s  (errors %s)\n' "$sd_rps" "$sd_err"
echo "ratio      ${ratio}% of wrk (goal >= 90%)"
json_field "$tmp/max.json" "'generator: cpu %s%% of %d CPUs, load average %s, bottleneck %s %s' % (round(j['generator']['cpu_percent'] or 0), j['generator']['cpus'], j['generator']['load_average'], j['generator']['bottleneck'], j['generator']['warnings'])"

echo "== rate accuracy: ${RATE}/s for ${RATE_DURATION}s (open model) =="
"$bin" load "$url" --rate "${RATE}/s" --duration "${RATE_DURATION}s" --json "$tmp/rate.json" -q > "$tmp/rate.txt"
[ "$(json_field "$tmp/max.json" 'j["summary"]["ok"]')" -gt 0 ] || echo "bench-load: WARNING: shakedown saw no successful response"
json_field "$tmp/rate.json" "'planned %d, completed %d, never sent %d, errors %d, late %d, rps over the span %.1f, latency p99 %.2fms, schedule lag p99 %.3fms' % (j['summary']['planned'], j['summary']['requests'], j['summary']['unsent'], j['summary']['errors'], j['summary']['late'], j['summary']['rps'], j['summary']['latency']['p99_ms'], j['summary']['schedule_lag']['p99_ms'])"
json_field "$tmp/rate.json" "'achieved %.1f/s (completed / span %.3fs) = %.2f%% of target (goal within 1%%); per intended second min %d max %d' % (j['summary']['rps'], j['span_ms'] / 1000, j['summary']['rps'] / $RATE * 100, min(p['requests'] for p in j['timeline']), max(p['requests'] for p in j['timeline']))"

echo "== scale: $USERS users (closed model), spawned at $((USERS / 2))/s, think 1s, ${SCALE_DURATION}s =="
"$bin" load "$url" --users "$USERS" --spawn-rate "$((USERS / 2))" --think 1s --duration "${SCALE_DURATION}s" \
    --json "$tmp/scale.json" -q > "$tmp/scale.txt"
json_field "$tmp/scale.json" "'%d requests (%.1f/s), errors %d, latency p99 %.2fms; peak connections %d, peak RSS %.1f MiB, cpu %s%%, open-file limit %s; warnings %s' % (j['summary']['requests'], j['summary']['rps'], j['summary']['errors'], j['summary']['latency']['p99_ms'] or 0, j['generator']['peak_connections'], j['generator']['peak_rss_bytes'] / 1048576, round(j['generator']['cpu_percent'] or 0), j['generator']['fd_limit'], j['generator']['warnings'])"
echo "== scale: 10,000 open connections (open model) and 10,000 users (closed model), debug build, requests held 2 s =="
LOAD_SCALE=10000 cargo test --quiet --test load_scale -- --nocapture 2>&1 | grep -E '^(open|closed) model:|test result' || echo "bench-load: the scale test failed"

echo "machine load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) on $(nproc 2>/dev/null || echo '?') CPUs"
