# Shared helpers for the bench scripts.

# ensure_debs CMD PKG… : install Debian packages when CMD is missing, without
# starting their services (policy-rc.d), and say so when it cannot be done.
ensure_debs() {
    local cmd=$1; shift
    command -v "$cmd" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || return 1
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    echo "installing $* from Debian's packages" >&2
    local policy=/usr/sbin/policy-rc.d created=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && created=1
    fi
    $sudo apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1
    local rc=$?
    [ -n "$created" ] && $sudo rm -f "$policy"
    return $rc
}

# free_port : a TCP port free on 127.0.0.1 just now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL [TRIES] : wait until URL answers with a 2xx, TRIES times 0.1 s at most (100);
# fail, saying so on stderr, if it never does.
wait_http() {
    for _ in $(seq "${2:-100}"); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "$(basename "$0"): $1 does not answer" >&2
    return 1
}

# bench_cleanup : for `trap bench_cleanup EXIT INT TERM` — kills the processes listed in the
# array `pids` (waiting up to 10 s for each to exit) and removes the directory `$tmp`.
bench_cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
    rm -rf "$tmp"
}

# start_nginx DIR : nginx (1 worker, a small static file) on a free loopback port, its files in
# DIR; sets nginx_pid, nginx_port and url (http://127.0.0.1:PORT/index.html). Stop it with
# stop_nginx.
start_nginx() {
    local dir=$1 port
    port=$(free_port 2>/dev/null || echo 18089)
    nginx_port=$port
    mkdir -p "$dir/www" "$dir/logs"
    printf 'hello from nginx\n' > "$dir/www/index.html"
    # nginx's worker runs unprivileged: let it read the file (mktemp -d is 0700).
    chmod 755 "$dir" "$dir/www"
    chmod 644 "$dir/www/index.html"
    cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
worker_rlimit_nofile 20000;
daemon off;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port;
        root $dir/www;
        location / { }
    }
}
CONF
    nginx -p "$dir" -c "$dir/nginx.conf" &
    nginx_pid=$!
    url="http://127.0.0.1:$port/index.html"
    for _ in $(seq 50); do
        curl -fsS "$url" >/dev/null 2>&1 && break
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
}

# stop_nginx : stop the nginx start_nginx started (SIGTERM, so no worker is orphaned).
stop_nginx() {
    if [ -n "${nginx_pid:-}" ] && kill -0 "$nginx_pid" 2>/dev/null; then
        kill "$nginx_pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$nginx_pid" 2>/dev/null || break; sleep 0.1; done
    fi
}

# json_field FILE PYTHON-EXPR-ON-j : print an expression of the JSON document in FILE.
json_field() {
    python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
