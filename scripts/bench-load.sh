#!/usr/bin/env bash
# Load driver benchmark, in one run on loopback:
#  1. maximum request rate against nginx (1 worker, small static file):
#     wrk vs `shakedown load --max-rate`, same connections, threads and duration, with
#     each one's CPU per request, in ROUNDS alternating rounds;
#  2. rate accuracy of the open model at a fixed rate (default 2,000/s for 10 s);
#  3. scale: USERS (10,000) closed-model users spawned at USERS/2 per second,
#     1 s think time, for SCALE_DURATION (10 s), with the client's peak RSS;
#     then tests/load_scale.rs at 10,000 connections and users (LOAD_SCALE);
# (Agents, segments and merge: scripts/bench-agents.sh.)
# Goals: shakedown's rate at least wrk's and its CPU per request (getrusage of each process,
# medians of ROUNDS alternating rounds) no more than wrk's; achieved fixed rate within 1% of the
# target.
# Knobs: CONNS (50) THREADS (2) DURATION (5, seconds) ROUNDS (3) RATE (2000) RATE_DURATION (10)
#        USERS (10000) SCALE_DURATION (10); PARTS (max,rate,scale: which sections run);
#        COMPARE (another shakedown binary, e.g. an earlier build, run in the same alternating
#        rounds as a third row).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-2000}
RATE_DURATION=${RATE_DURATION:-10}
USERS=${USERS:-10000}
SCALE_DURATION=${SCALE_DURATION:-10}
PARTS=${PARTS:-max,rate,scale}
COMPARE=${COMPARE:-}
part() { [[ ",$PARTS," == *",$1,"* ]]; }

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
cargo build --release --quiet --bin shakedown
bin=target/release/shakedown

# cpu_run OUT CMD... : run CMD (its output passes through) and write the CPU-seconds it used
# (user + system, from getrusage of the child) to OUT, and its context switches (voluntary +
# involuntary: each is a sleep or a preemption) to OUT.csw.
cpu_run() {
    python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=False)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(str(r.ru_utime + r.ru_stime))
open(sys.argv[1] + ".csw", "w").write(str(r.ru_nvcsw + r.ru_nivcsw))' "$@"
}
# per_req FILE N : the figure in FILE per request (N requests), as "µs CPU/req" or "switches/req".
per_req() { python3 -c "print(f'{$(cat "$1") / $2 * 1e6:.2f} µs CPU/req, {$(cat "$1.csw") / $2:.3f} switches/req')"; }
median() { python3 -c 'import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# sd_round BIN NAME : one max-rate round of shakedown binary BIN; appends to NAME_rates and
# NAME_cpus and prints the round's row.
sd_round() {
    local b=$1 name=$2 n rate cpu
    cpu_run "$tmp/sd.cpu" "$b" load "$url" --max-rate -c "$CONNS" --threads "$THREADS" --duration "${DURATION}s" \
        --json "$tmp/max.json" -q > "$tmp/max.txt"
    n=$(json_field "$tmp/max.json" 'j["summary"]["requests"]')
    rate=$(json_field "$tmp/max.json" 'round(j["summary"]["rps"], 1)')
    cpu=$(python3 -c "print(f'{$(cat "$tmp/sd.cpu") / $n * 1e6:.2f}')")
    eval "${name}_rates+=($rate) ${name}_cpus+=($cpu)"
    echo "  $name: $rate req/s $(per_req "$tmp/sd.cpu" "$n") (errors $(json_field "$tmp/max.json" 'j["summary"]["errors"]'))"
}

if part max; then
echo "== max rate: nginx 1 worker, $CONNS connections, $THREADS threads, ${DURATION}s, $ROUNDS alternating rounds (load average $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo unknown)) =="
wrk_rates=() sd_rates=() wrk_cpus=() sd_cpus=() cmp_rates=() cmp_cpus=()
for round in $(seq "$ROUNDS"); do
    wrk_out=$(cpu_run "$tmp/wrk.cpu" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" "$url")
    wrk_n=$(printf '%s\n' "$wrk_out" | awk '/requests in/ {print $1}')
    wrk_rates+=("$(printf '%s\n' "$wrk_out" | awk '/Requests\/sec/ {print $2}')")
    wrk_cpus+=("$(python3 -c "print(f'{$(cat "$tmp/wrk.cpu") / $wrk_n * 1e6:.2f}')")")
    echo "round $round: wrk ${wrk_rates[-1]} req/s $(per_req "$tmp/wrk.cpu" "$wrk_n")"
    sd_round "$bin" sd
    if [ -n "$COMPARE" ]; then sd_round "$COMPARE" cmp; fi
done
wrk_rps=$(median "${wrk_rates[@]}") sd_rps=$(median "${sd_rates[@]}")
wrk_cpu=$(median "${wrk_cpus[@]}") sd_cpu=$(median "${sd_cpus[@]}")
printf 'wrk        %10.1f req/s  %6.1f µs CPU per request (medians)\n' "$wrk_rps" "$wrk_cpu"
printf 'shakedown  %10.1f req/s  %6.1f µs CPU per request (medians)\n' "$sd_rps" "$sd_cpu"
if [ -n "$COMPARE" ]; then
    printf 'compare    %10.1f req/s  %6.1f µs CPU per request (medians; %s)\n' \
        "$(median "${cmp_rates[@]}")" "$(median "${cmp_cpus[@]}")" "$COMPARE"
fi
python3 -c "
r, c = $sd_rps / $wrk_rps, $sd_cpu / $wrk_cpu
v = lambda ok: 'met' if ok else 'MISSED'
print(f'ratio      {r * 100:.1f}% of wrk\'s rate (goal >= 100%: {v(r >= 1)}); CPU per request {c:.2f}x wrk\'s (goal <= 1: {v(c <= 1)})')"
json_field "$tmp/max.json" "'generator: cpu %s%% of %d CPUs, load average %s, bottleneck %s %s' % (round(j['generator']['cpu_percent'] or 0), j['generator']['cpus'], j['generator']['load_average'], j['generator']['bottleneck'], j['generator']['warnings'])"
fi

if part rate; then
echo "== rate accuracy: ${RATE}/s for ${RATE_DURATION}s (open model) =="
"$bin" load "$url" --rate "${RATE}/s" --duration "${RATE_DURATION}s" --json "$tmp/rate.json" -q > "$tmp/rate.txt"
[ "$(json_field "$tmp/rate.json" 'j["summary"]["ok"]')" -gt 0 ] || echo "bench-load: WARNING: shakedown saw no successful response"
json_field "$tmp/rate.json" "'planned %d, completed %d, never sent %d, errors %d, late %d, rps over the span %.1f, latency p99 %.2fms, schedule lag p99 %.3fms' % (j['summary']['planned'], j['summary']['requests'], j['summary']['unsent'], j['summary']['errors'], j['summary']['late'], j['summary']['rps'], j['summary']['latency']['p99_ms'], j['summary']['schedule_lag']['p99_ms'])"
json_field "$tmp/rate.json" "'achieved %.1f/s (completed / span %.3fs) = %.2f%% of target (goal within 1%%); per intended second min %d max %d' % (j['summary']['rps'], j['span_ms'] / 1000, j['summary']['rps'] / $RATE * 100, min(p['requests'] for p in j['timeline']), max(p['requests'] for p in j['timeline']))"

fi

if part scale; then
echo "== scale: $USERS users (closed model), spawned at $((USERS / 2))/s, think 1s, ${SCALE_DURATION}s =="
"$bin" load "$url" --users "$USERS" --spawn-rate "$((USERS / 2))" --think 1s --duration "${SCALE_DURATION}s" \
    --json "$tmp/scale.json" -q > "$tmp/scale.txt"
json_field "$tmp/scale.json" "'%d requests (%.1f/s), errors %d, latency p99 %.2fms; peak connections %d, peak RSS %.1f MiB, cpu %s%%, open-file limit %s; warnings %s' % (j['summary']['requests'], j['summary']['rps'], j['summary']['errors'], j['summary']['latency']['p99_ms'] or 0, j['generator']['peak_connections'], j['generator']['peak_rss_bytes'] / 1048576, round(j['generator']['cpu_percent'] or 0), j['generator']['fd_limit'], j['generator']['warnings'])"
echo "== scale: 10,000 open connections (open model) and 10,000 users (closed model), debug build, requests held 2 s =="
LOAD_SCALE=10000 cargo test --quiet --test load_scale -- --nocapture 2>&1 | grep -E '^(open|closed) model:|test result' || echo "bench-load: the scale test failed"

fi

echo "machine load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) on $(nproc 2>/dev/null || echo '?') CPUs"
