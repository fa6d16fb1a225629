#!/usr/bin/env bash
# Agents benchmark (issue 14), on loopback:
#  1. total requests/s of 1, 2 and 4 local agents (`shakedown load --segment I/N --serve`, live
#     endpoint on) at max rate against nginx, merged with `shakedown merge`. On a 2-core machine
#     the agents share the cores with nginx and each other: this shows what the split costs,
#     not a speed-up (that needs more machines);
#  2. the time `shakedown merge` takes for 60 one-second intervals from 16 agents (against the
#     embedded demo target, so it runs without nginx).
# A row whose tools are missing is skipped with a message.
# Knobs: CONNS (50, in all) DURATION (5, seconds) BIN (default: build and use the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${CONNS:-50}
DURATION=${DURATION:-5}
source scripts/lib.sh
PATH=$PATH:/usr/sbin

if ! command -v python3 >/dev/null; then
    echo "bench-agents: SKIPPED: python3 is needed to read the reports"
    exit 0
fi
if [ -z "${BIN:-}" ]; then
    echo "bench-agents: building the release binary"
    cargo build --release --quiet
    BIN=target/release/shakedown
fi
bin=$BIN

tmp=$(mktemp -d)
demo_pid=""
trap 'stop_nginx; [ -n "$demo_pid" ] && kill "$demo_pid" 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

# agents N URL RATE-ARGS… : N agents of one split beginning together, each serving its live
# seconds; waits for them and merges their reports into $tmp/agentsN.json.
agents() {
    local n=$1 target=$2; shift 2
    local start pids=() args=()
    start=$(date -u -d '+3 sec' +%FT%TZ)
    for i in $(seq 0 $((n - 1))); do
        "$bin" load "$target" "$@" --threads 1 --segment "$i/$n" --start-at "$start" \
            --serve 127.0.0.1:0 --linger 0s --histograms --json "$tmp/a$n-$i.json" -q >/dev/null 2>&1 &
        pids+=($!)
        args+=("$tmp/a$n-$i.json")
    done
    wait "${pids[@]}"
    "$bin" merge "${args[@]}" --json "$tmp/agents$n.json" >/dev/null
}

echo "== agents: 1, 2 and 4 live agents at max rate against nginx ($CONNS connections in all), ${DURATION}s =="
if ensure_debs nginx nginx-light && command -v nginx >/dev/null; then
    start_nginx "$tmp"
    for n in 1 2 4; do
        agents "$n" "$url" --max-rate -c "$((CONNS / n))" --duration "${DURATION}s"
        json_field "$tmp/agents$n.json" "'%d agent(s): %.1f req/s in all, errors %d, latency p99 %.2fms' % ($n, j['summary']['rps'], j['summary']['errors'], j['summary']['latency']['p99_ms'] or 0)"
    done
    echo "(on $(nproc) CPUs the agents and nginx share the cores: this is the split's overhead, not a speed-up)"
    stop_nginx
else
    echo "bench-agents: row skipped: nginx is not installed and could not be installed (apt-get nginx-light)"
fi

echo "== merge: 16 agents x 60 one-second intervals =="
# 16 agents split a 2 s plan against the demo target; each agent's interval log is stretched to
# 60 one-second intervals (its first second repeated), then the merge of the 16 is timed.
"$bin" demo-target --listen 127.0.0.1:0 >"$tmp/demo.out" 2>/dev/null &
demo_pid=$!
for _ in $(seq 50); do grep -q '^listening on ' "$tmp/demo.out" 2>/dev/null && break; sleep 0.1; done
demo="http://$(sed -n 's/^listening on //p' "$tmp/demo.out" | head -1)/health"
mkdir -p "$tmp/m"
start=$(date -u -d '+3 sec' +%FT%TZ)
pids=()
for i in $(seq 0 15); do
    "$bin" load "$demo" --rate 800/s --duration 2s --segment "$i/16" --start-at "$start" --threads 1 \
        --histograms --json "$tmp/m/a$i.json" --hlog "$tmp/m/a$i.short" -q >/dev/null &
    pids+=($!)
done
wait "${pids[@]}"
args=()
for i in $(seq 0 15); do
    python3 - "$tmp/m/a$i.short" "$tmp/m/a$i.hlog" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
rows = [l for l in lines if l.startswith('Tag=')][:2]
out = [l for l in lines if l.startswith('#')]
for s in range(60):
    for r in rows:
        tag, _, dur, mx, h = r.split(',')
        out.append(','.join([tag, f'{s}.000', dur, mx, h]))
open(sys.argv[2], 'w').write('\n'.join(out) + '\n')
PY
    args+=("$tmp/m/a$i.json" --hlog "$tmp/m/a$i.hlog")
done
t0=$(date +%s.%N)
"$bin" merge "${args[@]}" --json "$tmp/m/merged.json" >/dev/null
t1=$(date +%s.%N)
json_field "$tmp/m/merged.json" "'merge of 16 agents x 60 one-second intervals (%d seconds, %d requests): %.3f s' % (len(j['timeline']), j['summary']['requests'], $t1 - $t0)"
echo "machine load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown) on $(nproc 2>/dev/null || echo '?') CPUs ($bin)"
