#!/usr/bin/env python3
"""Small request/response through L4 proxies, side by side (run by scripts/bench-proxy.sh).

Rows, measured in alternating rounds in one run (medians of ROUNDS rounds):
  direct        wrk -> nginx (1 worker, a 20-byte answer, keep-alive)
  nginx stream  wrk -> nginx `stream` proxy (THREADS workers) -> nginx
  haproxy       wrk -> HAProxy `mode tcp` (nbthread THREADS) -> nginx
  shakedown     wrk -> `shakedown serve` (TOKIO_WORKER_THREADS and SHAKEDOWN_PROXY_THREADS =
                THREADS, one proxy, no toxic) -> nginx
  shakedown x0  the same build with SHAKEDOWN_PROXY_THREADS=0 (connections on the main runtime,
                the layout before the per-core workers), when MAIN_RUNTIME_ROW=1
  baseline      the same through $SHAKEDOWN_BASE, another build, when set
Columns: requests/s, p50 and p99 (wrk --latency), and the proxy's CPU-seconds per 100,000
exchanges (utime + stime of its processes from /proc/PID/stat, before and after each run).
Then the CPU of every process per 100,000 exchanges (the client wrk from getrusage of this
script's reaped children, the upstream nginx and the proxy from /proc/PID/stat) and the
ceiling it sets: with the cores saturated, a proxy that adds P to the client's and server's
C + S per exchange cannot exceed (C + S direct) / (C + S + P through it) of direct's rate
(docs/benchmarks.md, "The ceiling on this machine"). The same for redis-benchmark.
Then, when `perf` can count tracepoints: syscalls and context switches per exchange of each
proxy (one extra run each, counted with `perf stat -p`).
Then redis-benchmark SET/GET (-c CONNS) direct, through HAProxy and through shakedown.
Then the control API's p99 (GET /proxies, API_CALLS calls) while HELD connections are held open
through a shakedown proxy.
`python3 scripts/bench_small.py callgrind [BIN]` instead counts the proxy's user-space
instructions per exchange: `serve` under `valgrind --tool=callgrind`, a client doing
CG_SHORT (2,000) then, in a second process, CG_LONG (12,000) exchanges of 20 bytes, one at a time
in turn on 4 connections, through it to an echo upstream; the difference of the two totals over the
difference of the counts (start-up and warm-up cancel out; repeatable within 0.1 %).
A missing tool skips its rows, saying so. Knobs (environment): ROUNDS (3) DURATION (5 s)
CONNS (32) THREADS (2) SHAKEDOWN_BIN SHAKEDOWN_BASE MAIN_RUNTIME_ROW REDIS_REQUESTS (50000) HELD (10000)
API_CALLS (500).
"""

import json
import os
import resource
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROUNDS = int(os.environ.get("ROUNDS", "3"))
DURATION = int(os.environ.get("DURATION", "5"))
CONNS = int(os.environ.get("CONNS", "32"))
THREADS = int(os.environ.get("THREADS", "2"))
REDIS_REQUESTS = int(os.environ.get("REDIS_REQUESTS", "50000"))
HELD = int(os.environ.get("HELD", "10000"))
API_CALLS = int(os.environ.get("API_CALLS", "500"))
BIN = os.environ.get("SHAKEDOWN_BIN", "target/release/shakedown")
BASE = os.environ.get("SHAKEDOWN_BASE")
MAIN_RUNTIME = os.environ.get("MAIN_RUNTIME_ROW") == "1"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
TICK = os.sysconf("SC_CLK_TCK")
ANSWER = "0123456789abcdefghi\n"  # 20 bytes

procs = []


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.025)
    raise RuntimeError(f"{what} did not listen on port {port} within 5 s")


def spawn(args, env=None):
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env={**os.environ, **(env or {})}, start_new_session=True)
    procs.append(p)
    return p


def tree(pid):
    """pid and its children (nginx's workers)."""
    out = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def cpu_split(pids):
    """(user, system) CPU-seconds of `pids` so far."""
    user = system = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user += int(fields[11])  # utime (field 14)
        system += int(fields[12])  # stime (field 15)
    return user / TICK, system / TICK


def cpu_seconds(pids):
    return sum(cpu_split(pids))


def children_cpu():
    """CPU-seconds of this script's reaped children (the client tools run to completion)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Meter:
    """CPU of the client, the server and the proxy over one run, per 100,000 exchanges."""

    def __init__(self, server, proxy):
        self.server, self.proxy = server, proxy or []
        self.c0, self.s0, self.p0 = children_cpu(), cpu_seconds(server), cpu_split(self.proxy)
        self.t0 = time.monotonic()

    def done(self, exchanges):
        k = 1e5 / exchanges
        pu, ps = (b - a for a, b in zip(self.p0, cpu_split(self.proxy)))
        return {"client": (children_cpu() - self.c0) * k, "server": (cpu_seconds(self.server) - self.s0) * k,
                "proxy": (pu + ps) * k if self.proxy else None, "proxy_sys": ps * k if self.proxy else None,
                "wall": (time.monotonic() - self.t0) * k}


def to_us(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    value, unit = float(m.group(1)), m.group(2)
    return value * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def wrk(port, seconds):
    out = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CONNS}", f"-d{seconds}s", "--latency",
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_us(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = to_us(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    return {"rps": rps, "requests": requests, "p50": p50, "p99": p99,
            "errors": errors.group(0) if errors else ""}


def nginx(tmp, name, body):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"pid {d}/nginx.pid;\nerror_log {d}/error.log;\ndaemon off;\n{body}")
    return spawn(["nginx", "-p", d, "-c", conf])


def start_upstream(tmp):
    port = free_port()
    p = nginx(tmp, "upstream", f"""worker_processes 1;
worker_rlimit_nofile {HELD + 1024};
events {{ worker_connections {HELD + 1024}; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path {tmp}/b; proxy_temp_path {tmp}/p; fastcgi_temp_path {tmp}/f;
    uwsgi_temp_path {tmp}/u; scgi_temp_path {tmp}/s;
    server {{ listen 127.0.0.1:{port}; location / {{ return 200 "{ANSWER[:-1]}\\n"; }} }}
}}
""")
    wait_port(port, "the upstream nginx")
    return port, p


def start_nginx_stream(tmp, upstream):
    if not os.path.exists(STREAM_MODULE):
        raise RuntimeError(f"nginx's stream module is missing ({STREAM_MODULE}: apt-get install libnginx-mod-stream)")
    port = free_port()
    p = nginx(tmp, "stream", f"""load_module {STREAM_MODULE};
worker_processes {THREADS};
events {{ worker_connections 4096; }}
stream {{ server {{ listen 127.0.0.1:{port}; proxy_pass 127.0.0.1:{upstream}; tcp_nodelay on; }} }}
""")
    wait_port(port, "nginx stream")
    return port, p


def start_haproxy(tmp, upstream, name="haproxy"):
    if not shutil.which("haproxy"):
        raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
    port = free_port()
    conf = os.path.join(tmp, f"{name}.cfg")
    with open(conf, "w") as f:
        f.write(f"""global
    nbthread {THREADS}
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend front
    bind 127.0.0.1:{port}
    default_backend back
backend back
    server up 127.0.0.1:{upstream}
""")
    p = spawn(["haproxy", "-db", "-f", conf])
    wait_port(port, "haproxy")
    return port, p


def start_shakedown(binary, upstream, with_api=False, proxy_threads=THREADS):
    if not os.path.exists(binary):
        raise RuntimeError(f"{binary} is not built (cargo build --release)")
    api = free_port()
    p = spawn([binary, "serve", "--port", str(api)],
              env={"RUST_LOG": "warn", "TOKIO_WORKER_THREADS": str(THREADS),
                   "SHAKEDOWN_PROXY_THREADS": str(proxy_threads)})
    wait_port(api, binary)
    body = json.dumps({"name": "bench", "listen": "127.0.0.1:0",
                       "upstream": f"127.0.0.1:{upstream}"}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{api}/proxies", data=body,
                                 headers={"Content-Type": "application/json"})
    listen = json.load(urllib.request.urlopen(req))["listen"]
    port = int(listen.rsplit(":", 1)[1])
    return (port, p, api) if with_api else (port, p)


def held_connections(up):
    """The control API's p99 while HELD proxied connections are open."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port, _, api = start_shakedown(BIN, up, with_api=True)
    budget = json.load(urllib.request.urlopen(f"http://127.0.0.1:{api}/version"))["fd_budget"]
    # each connection holds two of serve's descriptors and one of this process's
    n = min(HELD, budget // 2, hard - 1024)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            socks.append(s)
        # every one answered once: the proxy has dialled the upstream for each
        for s in socks:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        for s in socks:
            s.recv(4096)
        times = []
        for _ in range(API_CALLS):
            t = time.perf_counter()
            urllib.request.urlopen(f"http://127.0.0.1:{api}/proxies").read()
            times.append(time.perf_counter() - t)
        times.sort()
        p50, p99 = times[len(times) // 2], times[int(len(times) * 0.99)]
        limited = f" (HELD={HELD} does not fit the open-file limits)" if n < HELD else ""
        print(f"\ncontrol API with {n} proxied connections held open{limited}: GET /proxies x{API_CALLS}, "
              f"p50 {p50 * 1e3:.2f} ms, p99 {p99 * 1e3:.2f} ms (goal p99 < 10 ms: {verdict(p99 < 0.010)})")
    finally:
        for s in socks:
            s.close()


def perf_works():
    if not shutil.which("perf"):
        return False
    r = subprocess.run(["perf", "stat", "-e", "raw_syscalls:sys_enter", "true"],
                       capture_output=True, text=True)
    return r.returncode == 0 and "not supported" not in r.stderr


def counted(port, pids, seconds):
    """Syscalls and context switches per exchange of `pids` over one wrk run."""
    ev = "raw_syscalls:sys_enter,context-switches"
    perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ev, "-p", ",".join(map(str, pids)),
                             "--", "sleep", str(seconds + 1)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)
    r = wrk(port, seconds)
    err = perf.communicate()[1]
    counts = {}
    for line in err.splitlines():
        parts = line.split(",")
        if len(parts) > 2 and parts[0].replace(".", "").isdigit():
            counts[parts[2]] = float(parts[0])
    n = r["requests"]
    return counts.get("raw_syscalls:sys_enter", 0) / n, counts.get("context-switches", 0) / n


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def redis_bench(port):
    """SET/s and GET/s of one redis-benchmark run."""
    out = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-t", "set,get",
                          "-c", str(CONNS), "-n", str(REDIS_REQUESTS), "--csv"],
                         capture_output=True, text=True).stdout
    rates = {}
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if cells and cells[0] in ("SET", "GET"):
            rates[cells[0]] = float(cells[1])
    return rates


def main():
    missing = [t for t in ("wrk", "nginx") if not shutil.which(t)]
    if missing:
        print(f"small messages: SKIPPED: {' and '.join(missing)} not installed (apt-get install wrk nginx libnginx-mod-stream)")
        return
    tmp = tempfile.mkdtemp(prefix="bench-small-")
    os.chmod(tmp, 0o755)
    rows = {}  # name -> (port, pids or None)
    try:
        up, up_proc = start_upstream(tmp)
        rows["direct"] = (up, None)
        starters = [("nginx stream", lambda: start_nginx_stream(tmp, up)),
                    ("haproxy", lambda: start_haproxy(tmp, up)),
                    ("shakedown", lambda: start_shakedown(BIN, up))]
        if MAIN_RUNTIME:
            starters.append(("shakedown x0", lambda: start_shakedown(BIN, up, proxy_threads=0)))
        if BASE:
            starters.append(("baseline", lambda: start_shakedown(BASE, up)))
        for name, start in starters:
            try:
                port, p = start()
                time.sleep(0.3)
                rows[name] = (port, tree(p.pid))
            except (RuntimeError, OSError) as e:
                print(f"{name}: SKIPPED: {e}")
        results = {name: [] for name in rows}
        for name, (port, _) in rows.items():
            wrk(port, 1)  # warm-up: connections, caches
        # nginx forks its workers after it listens: look for them once they have served
        up_pids = tree(up_proc.pid)
        rows = {name: (port, pids and tree(pids[0])) for name, (port, pids) in rows.items()}
        for r in range(ROUNDS):
            for name, (port, pids) in rows.items():
                meter = Meter(up_pids, pids)
                res = wrk(port, DURATION)
                res.update(meter.done(res["requests"]))
                res["cpu"] = res["proxy"]
                results[name].append(res)
        print(f"\nsmall request/response: wrk -t{THREADS} -c{CONNS} -d{DURATION}s, 20-byte answers from nginx, "
              f"keep-alive; proxies with {THREADS} threads; medians of {ROUNDS} alternating rounds")
        print(f"{'path':<14}{'req/s':>10}{'x direct':>10}{'p50 us':>9}{'p99 us':>9}{'CPU s/100k':>12}   (rounds' req/s)")
        med = {}
        for name, runs in results.items():
            m = {k: median([x[k] for x in runs if x[k] is not None]) for k in ("rps", "p50", "p99", "cpu")}
            med[name] = m
            direct = med["direct"]["rps"]
            cpu = "-" if name == "direct" else f"{m['cpu']:.3f}"
            spread = " ".join(f"{x['rps']:.0f}" for x in runs)
            errs = {x["errors"] for x in runs if x["errors"]}
            print(f"{name:<14}{m['rps']:>10.0f}{m['rps'] / direct:>10.2f}{m['p50']:>9.0f}{m['p99']:>9.0f}{cpu:>12}   ({spread}){' ' + str(errs) if errs else ''}")
        ceilings("wrk", results)
        goals(med, results)
        if perf_works():
            print("\nper exchange, one more run each counted with perf stat -p (raw_syscalls:sys_enter, context-switches):")
            for name, (port, pids) in rows.items():
                if pids:
                    sc, cs = counted(port, pids, DURATION)
                    print(f"{name:<14} syscalls {sc:6.2f}   context switches {cs:6.3f}")
        else:
            print("\nper-exchange syscalls: SKIPPED: perf cannot count tracepoints here (apt-get install linux-perf; perf_event_paranoid)")
        redis(tmp, rows)
        if "shakedown" in rows and HELD > 0:
            held_connections(up)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def verdict(ok):
    return "met" if ok else "MISSED"


def cpu_medians(runs):
    return {k: median([x[k] for x in runs if x.get(k) is not None])
            for k in ("client", "server", "proxy", "proxy_sys", "wall")}


def ceiling(direct, row):
    """The highest rate through a proxy, as a fraction of direct's, when the cores are saturated:
    (client + server direct) / (client + server + proxy through it), all CPU per exchange."""
    return (direct["client"] + direct["server"]) / (row["client"] + row["server"] + row["proxy"])


def ceilings(client, results):
    """Print each process's CPU per 100k exchanges and the ceiling it sets for each proxy."""
    cores = os.cpu_count()
    m = {name: cpu_medians(runs) for name, runs in results.items()}
    d = m["direct"]
    print(f"\nCPU-s per 100k exchanges by process (medians) and the ceiling they set on {cores} cores:"
          f" (C+S direct) / (C+S+P through the proxy)")
    print(f"{'path':<14}{'client C':>10}{'server S':>10}{'proxy P':>9}{'P kernel':>10}{'all':>8}"
          f"{'cores busy':>12}{'ceiling':>9}")
    for name, x in m.items():
        p = 0.0 if name == "direct" else x["proxy"]
        total = x["client"] + x["server"] + p
        busy = total / x["wall"]
        ceil = "1.00" if name == "direct" else f"{ceiling(d, x):.2f}"
        pk = "-" if name == "direct" else f"{x['proxy_sys']:.3f}"
        pp = "-" if name == "direct" else f"{p:.3f}"
        print(f"{name:<14}{x['client']:>10.3f}{x['server']:>10.3f}{pp:>9}{pk:>10}{total:>8.3f}{busy:>12.2f}{ceil:>9}")
    print(f"(client = {client}; cores busy = all CPU / wall time: below {cores} the row was not CPU-bound)")
    busy = (d["client"] + d["server"]) / d["wall"]
    if busy < 0.9 * cores:
        print(f"direct kept {busy:.2f} of {cores} cores busy: it is bound by wake-up latency, not CPU, so a "
              f"proxied row can pass its ceiling on idle core time; the ceiling binds once the cores are saturated")


def ceiling_note(results, name, goal):
    """What the machine allows `name` against a ratio goal: its ceiling, and the most CPU per
    exchange a proxy may spend to reach the goal with this client and server."""
    d = cpu_medians(results["direct"])
    x = cpu_medians(results[name])
    cs = d["client"] + d["server"]
    budget = cs / goal - (x["client"] + x["server"])
    return (f"ceiling here {ceiling(d, x):.2f}; {goal:.2f} needs proxy CPU <= {budget:.3f} s/100k, "
            f"{name} spends {x['proxy']:.3f} ({x['proxy_sys']:.3f} in the kernel)")


def goals(med, results):
    s = med.get("shakedown")
    if not s:
        return
    d = med["direct"]["rps"]
    print(f"goal: shakedown >= 0.60x direct: {s['rps'] / d:.2f} ({verdict(s['rps'] / d >= 0.6)}; "
          f"{ceiling_note(results, 'shakedown', 0.6)})")
    for other in ("nginx stream", "haproxy"):
        o = med.get(other)
        if o:
            print(f"goal: shakedown ahead of {other}: {s['rps'] / o['rps']:.2f}x its req/s ({verdict(s['rps'] >= o['rps'])}); "
                  f"CPU per exchange {s['cpu'] / o['cpu']:.2f}x its ({verdict(s['cpu'] <= o['cpu'])}, goal <= 1)")
    b = med.get("baseline")
    if b:
        print(f"against the baseline build: req/s {s['rps'] / b['rps']:.2f}x, CPU per exchange {s['cpu'] / b['cpu']:.2f}x")


def redis(tmp, rows):
    if not (shutil.which("redis-server") and shutil.which("redis-benchmark")):
        print("\nredis: SKIPPED: redis-server/redis-benchmark not installed (apt-get install redis-server redis-tools)")
        return
    port = free_port()
    server = spawn(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", tmp])
    wait_port(port, "redis-server")
    server_pids = [server.pid]
    paths = {"direct": (port, None)}
    for name, start in (("haproxy", lambda: start_haproxy(tmp, port, "haproxy-redis")),
                        ("shakedown", lambda: start_shakedown(BIN, port)),
                        ("shakedown x0", lambda: start_shakedown(BIN, port, proxy_threads=0)),
                        ("baseline", lambda: start_shakedown(BASE, port))):
        if name in rows:
            p_port, p = start()
            paths[name] = (p_port, tree(p.pid))
    got = {name: [] for name in paths}
    meters = {name: [] for name in paths}
    for _ in range(ROUNDS):
        for name, (p_port, pids) in paths.items():
            meter = Meter(server_pids, pids)
            rates = redis_bench(p_port)
            figures = meter.done(2 * REDIS_REQUESTS)
            meters[name].append(figures)
            got[name].append((rates.get("SET", 0), rates.get("GET", 0), figures["proxy"]))
    print(f"\nredis-benchmark -t set,get -c {CONNS} -n {REDIS_REQUESTS}, medians of {ROUNDS} alternating rounds")
    print(f"{'path':<14}{'SET/s':>10}{'GET/s':>10}{'x direct':>10}{'CPU s/100k':>12}")
    d = None
    for name, runs in got.items():
        st, gt = median([r[0] for r in runs]), median([r[1] for r in runs])
        cpus = [r[2] for r in runs if r[2] is not None]
        both = st + gt
        d = d or both
        print(f"{name:<14}{st:>10.0f}{gt:>10.0f}{both / d:>10.2f}{(f'{median(cpus):.3f}' if cpus else '-'):>12}")
        if name == "shakedown":
            print(f"goal: redis-benchmark through shakedown >= 0.70x direct: {both / d:.2f} "
                  f"({verdict(both / d >= 0.7)}; {ceiling_note(meters, 'shakedown', 0.7)})")
    ceilings("redis-benchmark", meters)


def echo_upstream():
    """A threaded echo server on loopback; its port."""
    import threading
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def serve(conn):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(65536):
            conn.sendall(data)
        conn.close()

    def accept():
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def callgrind_total(binary, upstream, exchanges):
    """User-space instructions of a `serve` under callgrind that relays `exchanges` exchanges."""
    out = tempfile.mktemp(prefix="callgrind-", suffix=".out")
    api = free_port()
    p = spawn(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", binary, "serve",
               "--port", str(api)],
              env={"RUST_LOG": "warn", "TOKIO_WORKER_THREADS": str(THREADS),
                   "SHAKEDOWN_PROXY_THREADS": str(THREADS)})
    try:
        for _ in range(600):  # valgrind starts slowly
            try:
                socket.create_connection(("127.0.0.1", api), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        body = json.dumps({"name": "cg", "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstream}"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{api}/proxies", data=body,
                                     headers={"Content-Type": "application/json"})
        port = int(json.load(urllib.request.urlopen(req, timeout=60))["listen"].rsplit(":", 1)[1])
        conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        for c in conns:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        msg = ANSWER.encode()
        # one exchange in flight at a time, so every exchange is one full wake-up cycle
        for i in range(exchanges):
            c = conns[i % len(conns)]
            c.sendall(msg)
            got = b""
            while len(got) < len(msg):
                got += c.recv(64)
        for c in conns:
            c.close()
        time.sleep(0.5)
    finally:
        p.terminate()
        p.wait(60)
    text = open(out).read()
    os.unlink(out)
    return int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))


def instructions():
    binary = sys.argv[2] if len(sys.argv) > 2 else BIN
    short, long = int(os.environ.get("CG_SHORT", "2000")), int(os.environ.get("CG_LONG", "12000"))
    up = echo_upstream()
    a, b = callgrind_total(binary, up, short), callgrind_total(binary, up, long)
    print(f"{binary}: {(b - a) / (long - short):.0f} user-space instructions per exchange "
          f"(callgrind totals {a} at {short}, {b} at {long} exchanges)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["callgrind"]:
        sys.exit(instructions())
    sys.exit(main())
