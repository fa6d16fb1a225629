#!/usr/bin/env bash
# HTTP mode's cost per request, in figures that do not depend on the machine's load:
#   syscalls/request      `strace -c -f -p` on `shakedown serve` during a wrk run (32 keep-alive
#                         connections), divided by the requests wrk made;
#   instructions/request  `shakedown serve` under callgrind: the proxy's instruction count for
#                         N2 requests minus that for N1 requests, over N2 - N1 (the fixed costs,
#                         connection setup included, cancel out); exact request counts from
#                         `shakedown load` closed-loop users.
# Rows: `http` (no toxics) and `decide` (an http_abort at toxicity 0: every request decided,
# none faulted); their difference is the price of deciding. The upstream is nginx (1 worker, a
# 17-byte static file: lib.sh's start_nginx), or shakedown's demo target without nginx.
# Usage: bash scripts/bench-http-cost.sh [BINARY]   (default: builds target/release/shakedown)
# Knobs: N1 (1600) N2 (4800) requests, a multiple of 32; DURATION (2, seconds of the wrk run).
# Not a test: it prints figures. Needs strace and valgrind (skipped, with a line, when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

N1=${N1:-1600}
N2=${N2:-4800}
DURATION=${DURATION:-2}
PATH=$PATH:/usr/sbin
source scripts/lib.sh
ensure_debs wrk wrk || true
ensure_debs nginx nginx-light || true
ensure_debs strace strace || true
ensure_debs valgrind valgrind || true

bin=${1:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet --bin shakedown
    bin=target/release/shakedown
fi

tmp=$(mktemp -d)
pids=()
trap bench_cleanup EXIT INT TERM

mkdir -p "$tmp/logs"
if command -v nginx >/dev/null; then
    start_nginx "$tmp"
    pids+=("$nginx_pid")
    up_port=$nginx_port
    path=/index.html
else
    up_port=$(free_port)
    "$bin" demo-target --listen "127.0.0.1:$up_port" > "$tmp/logs/demo.log" 2>&1 & pids+=($!)
    path=/health
fi
wait_http "http://127.0.0.1:$up_port$path"

# Start `shakedown serve` (under PREFIX, e.g. valgrind) with proxies `http` and `decide`; sets
# serve_pid, http_port, decide_port.
start_serve() { # PREFIX...
    local api
    api=$(free_port); http_port=$(free_port); decide_port=$(free_port)
    cat > "$tmp/proxies.json" <<JSON
[
  {"name": "http", "listen": "127.0.0.1:$http_port", "upstream": "127.0.0.1:$up_port", "protocol": "http"},
  {"name": "decide", "listen": "127.0.0.1:$decide_port", "upstream": "127.0.0.1:$up_port", "protocol": "http",
   "toxics": [{"name": "never", "type": "http_abort", "toxicity": 0, "attributes": {"status": 503}}]}
]
JSON
    "$@" "$bin" serve --port "$api" --config "$tmp/proxies.json" > "$tmp/logs/serve.log" 2>&1 & pids+=($!)
    serve_pid=$!
    wait_http "http://127.0.0.1:$http_port$path" 600
    wait_http "http://127.0.0.1:$decide_port$path" 600
}

stop_serve() {
    kill -INT "$serve_pid" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.1; done
}

echo "bench-http-cost: $("$bin" --version 2>/dev/null || echo "$bin"), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %18s %22s\n' row "syscalls/request" "instructions/request"

syscalls() { # PORT -> syscalls per request
    strace -c -f -p "$serve_pid" -o "$tmp/strace.txt" 2>/dev/null & local st=$!
    sleep 1
    local out n
    out=$(wrk -t1 -c32 -d"${DURATION}s" "http://127.0.0.1:$1$path")
    n=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
    kill -INT "$st"; wait "$st" 2>/dev/null || true
    # The summary's rows: % time, seconds, usecs/call, calls, [errors,] syscall.
    awk -v n="$n" '$4 ~ /^[0-9]+$/ && $NF != "total" && $4 / n >= 0.05 {printf "%s %.2f, ", $NF, $4 / n}' \
        "$tmp/strace.txt" > "$tmp/strace.$1"
    awk -v n="$n" '$NF == "total" {printf "%.2f\n", $4 / n}' "$tmp/strace.txt"
}

declare -A sc
if command -v strace >/dev/null && command -v wrk >/dev/null; then
    start_serve
    sc[http]=$(syscalls "$http_port")
    http_port_s=$http_port
    sc[decide]=$(syscalls "$decide_port")
    stop_serve
else
    echo "bench-http-cost: strace or wrk missing: no syscall figures"
fi

# Instructions the proxy spent on COUNT requests through PORT (callgrind's counters zeroed first).
instructions() { # PORT COUNT
    callgrind_control -z "$serve_pid" > /dev/null 2>&1
    "$bin" load "http://127.0.0.1:$1$path" --users 32 --requests-per-user $(($2 / 32)) -q \
        --json "$tmp/load.json" > /dev/null 2>&1
    rm -f "$tmp"/cg.out.*
    callgrind_control -d "$serve_pid" > /dev/null 2>&1
    sleep 1
    cat "$tmp"/cg.out.* | awk '/^summary:/ {s += $2} END {print s}'
}

declare -A ir
if command -v valgrind >/dev/null; then
    start_serve valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out.%p" --dump-instr=no
    for r in http decide; do
        port=$http_port; [ "$r" = http ] || port=$decide_port
        instructions "$port" 64 > /dev/null # warm: connections, allocator
        a=$(instructions "$port" "$N1")
        b=$(instructions "$port" "$N2")
        ir[$r]=$(( (b - a) / (N2 - N1) ))
    done
    stop_serve
else
    echo "bench-http-cost: valgrind missing: no instruction figures"
fi

for r in http decide; do
    printf '%-8s %18s %22s\n' "$r" "${sc[$r]:--}" "${ir[$r]:--}"
done
[ -z "${sc[http]:-}" ] || echo "syscalls per request, http row: $(cat "$tmp/strace.$http_port_s")"

if [ -n "${ir[http]:-}" ]; then
    python3 -c "import sys; h, d = int(sys.argv[1]), int(sys.argv[2]); print(f'deciding: {d - h:+d} instructions/request ({(d - h) / h * 100:+.1f}%; goal < 5%)')" "${ir[http]}" "${ir[decide]}"
fi
