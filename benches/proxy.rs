//! Proxy overhead benchmark: direct vs through `shakedown serve` vs nginx `stream`.
//!
//! Run with `make bench` (or `cargo bench --bench proxy`). Everything runs on
//! loopback in one go so the ratios compare like with like:
//! - bulk throughput: one connection writes `BULK_BYTES` and the upstream
//!   answers with the count it read (MB/s, best of `RUNS`);
//! - the same with `PARALLEL` connections at once, each writing its share
//!   (the `4 conn` rows: total MB/s until the last count is back);
//! - round trip: 64-byte ping-pong on one connection, `PINGS` round trips
//!   after a warm-up, p50 and p99 in microseconds;
//! - the CPU of each bulk transfer, in CPU-seconds per GB (10⁹ bytes): this process's (the
//!   client and the upstream, `getrusage`) and the proxy's (utime + stime of its processes from
//!   `/proc/PID/stat`), and the ceiling they set on the throughput ratio when the cores are
//!   saturated: (client + upstream direct) / (client + upstream + proxy through it).
//!
//! shakedown is started from `target/release/shakedown` (built by the bench
//! script), or from `$SHAKEDOWN_BIN` when set; nginx is used when `nginx` and its stream module are installed,
//! otherwise its row says why it was skipped.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

#[allow(clippy::disallowed_types)] // a benchmark outside tokio measures wall time
type Instant = std::time::Instant;

const BULK_BYTES: u64 = 512 * 1024 * 1024;
const RUNS: usize = 3;
const PINGS: usize = 20_000;
const WARMUP: usize = 2_000;
const MSG: usize = 64;
const PARALLEL: usize = 4;

fn main() {
    let upstream = start_upstream();
    let mut rows = vec![("direct".to_string(), Some(measure(upstream, &[])))];

    // SHAKEDOWN_BIN measures another build (e.g. a saved copy of main's) instead.
    let bin = std::env::var_os("SHAKEDOWN_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/shakedown"),
        PathBuf::from,
    );
    match Shakedown::start(&bin, upstream) {
        Ok(sd) => {
            let pids = tree(sd.child.id());
            rows.push(("shakedown".into(), Some(measure(sd.listen, &pids))));
            drop(sd);
        }
        Err(e) => {
            eprintln!("shakedown: skipped: {e}");
            rows.push(("shakedown".into(), None));
        }
    }
    match Nginx::start(upstream) {
        Ok(ng) => {
            let pids = tree(ng.child.id());
            rows.push(("nginx stream".into(), Some(measure(ng.listen, &pids))));
            drop(ng);
        }
        Err(e) => {
            println!("nginx stream: skipped: {e}");
            rows.push(("nginx stream".into(), None));
        }
    }
    report(&rows);
    report_cpu(&rows);
}

#[derive(Clone, Copy)]
struct Figures {
    mb_per_s: f64,
    parallel_mb_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    /// CPU-seconds per GB on 1 connection, then on `PARALLEL`.
    cpu: [Cpu; 2],
}

/// CPU-seconds per GB moved: this process (client and upstream) and the proxy's processes.
#[derive(Clone, Copy, Default)]
struct Cpu {
    local: f64,
    proxy: f64,
}

impl Cpu {
    /// The ceiling on `self`'s throughput as a fraction of `direct`'s with the cores saturated.
    fn ceiling(&self, direct: &Cpu) -> f64 {
        direct.local / (self.local + self.proxy)
    }
}

fn measure(addr: SocketAddr, proxy: &[u32]) -> Figures {
    eprintln!("measuring through {addr}");
    let mut best = 0.0f64;
    let cpu = metered(proxy, BULK_BYTES * RUNS as u64, || {
        for _ in 0..RUNS {
            best = best.max(bulk(addr));
        }
    });
    let mut parallel_mb_per_s = 0.0f64;
    let parallel_cpu = metered(proxy, BULK_BYTES * RUNS as u64, || {
        for _ in 0..RUNS {
            parallel_mb_per_s = parallel_mb_per_s.max(bulk_parallel(addr));
        }
    });
    let (p50_us, p99_us) = ping(addr);
    Figures {
        mb_per_s: best,
        parallel_mb_per_s,
        p50_us,
        p99_us,
        cpu: [cpu, parallel_cpu],
    }
}

/// The CPU per GB of `run`, which moves `bytes`: this process's and `proxy`'s.
fn metered(proxy: &[u32], bytes: u64, run: impl FnOnce()) -> Cpu {
    let (local, far) = (own_cpu(), cpu_of(proxy));
    run();
    let per_gb = 1e9 / bytes as f64;
    Cpu {
        local: (own_cpu() - local) * per_gb,
        proxy: (cpu_of(proxy) - far) * per_gb,
    }
}

/// CPU-seconds (user + system) of this process so far, all threads.
fn own_cpu() -> f64 {
    use nix::sys::resource::{UsageWho, getrusage};
    let u = getrusage(UsageWho::RUSAGE_SELF).expect("getrusage");
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    secs(u.user_time()) + secs(u.system_time())
}

/// CPU-seconds (utime + stime) of `pids` so far, from `/proc/PID/stat`.
fn cpu_of(pids: &[u32]) -> f64 {
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    pids.iter()
        .filter_map(|pid| stat_fields(*pid))
        .map(|f| {
            let n = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
            (n(11) + n(12)) / tick // utime, stime (fields 14, 15)
        })
        .sum()
}

/// The fields of `/proc/PID/stat` after the command name (the state is field 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// `pid` and its children (nginx's worker).
fn tree(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let parent = stat_fields(child).and_then(|f| f.get(1).and_then(|p| p.parse().ok()));
        if parent == Some(pid) {
            pids.push(child);
        }
    }
    pids
}

fn bulk(addr: SocketAddr) -> f64 {
    let secs = bulk_bytes(addr, BULK_BYTES, Instant::now());
    BULK_BYTES as f64 / 1e6 / secs
}

/// `PARALLEL` connections at once, `BULK_BYTES` in all: MB/s until the last count is back.
fn bulk_parallel(addr: SocketAddr) -> f64 {
    let start = Instant::now();
    let share = BULK_BYTES / PARALLEL as u64;
    let workers: Vec<_> = (0..PARALLEL)
        .map(|_| thread::spawn(move || bulk_bytes(addr, share, start)))
        .collect();
    let secs = workers
        .into_iter()
        .map(|w| w.join().expect("bulk worker"))
        .fold(0.0f64, f64::max);
    (share * PARALLEL as u64) as f64 / 1e6 / secs
}

/// Send `total` bytes (a multiple of 64 KiB) on one connection, check the
/// upstream's count; seconds from `start` until the count is back.
fn bulk_bytes(addr: SocketAddr, total: u64, start: Instant) -> f64 {
    let mut s = TcpStream::connect(addr).expect("connect for bulk");
    s.set_nodelay(true).ok();
    let chunk = vec![7u8; 64 * 1024];
    s.write_all(b"B").expect("bulk header");
    let mut sent = 0u64;
    while sent < total {
        s.write_all(&chunk).expect("bulk write");
        sent += chunk.len() as u64;
    }
    s.shutdown(std::net::Shutdown::Write).expect("half-close");
    let mut count = [0u8; 8];
    s.read_exact(&mut count).expect("bulk count");
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(u64::from_be_bytes(count), sent, "upstream saw every byte");
    secs
}

fn ping(addr: SocketAddr) -> (f64, f64) {
    let mut s = TcpStream::connect(addr).expect("connect for ping");
    s.set_nodelay(true).ok();
    s.write_all(b"P").expect("ping header");
    let msg = [1u8; MSG];
    let mut back = [0u8; MSG];
    let mut hist = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 10_000_000, 3)
        .expect("histogram bounds");
    for i in 0..WARMUP + PINGS {
        let start = Instant::now();
        s.write_all(&msg).expect("ping write");
        s.read_exact(&mut back).expect("pong read");
        if i >= WARMUP {
            let ns = start.elapsed().as_nanos() as u64;
            hist.saturating_record(ns.max(1));
        }
    }
    (
        hist.value_at_quantile(0.5) as f64 / 1000.0,
        hist.value_at_quantile(0.99) as f64 / 1000.0,
    )
}

/// The upstream: `B` → count bytes until EOF and answer the count; `P` → echo.
fn start_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind upstream");
    let addr = listener.local_addr().expect("upstream addr");
    thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            thread::spawn(move || serve(conn));
        }
    });
    addr
}

fn serve(mut s: TcpStream) {
    s.set_nodelay(true).ok();
    let mut kind = [0u8; 1];
    if s.read_exact(&mut kind).is_err() {
        return;
    }
    let mut buf = vec![0u8; 256 * 1024];
    if kind[0] == b'B' {
        let mut total = 0u64;
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        let _ = s.write_all(&total.to_be_bytes());
    } else {
        let mut msg = [0u8; MSG];
        while s.read_exact(&mut msg).is_ok() {
            if s.write_all(&msg).is_err() {
                break;
            }
        }
    }
}

struct Shakedown {
    child: Child,
    listen: SocketAddr,
}

impl Shakedown {
    fn start(bin: &Path, upstream: SocketAddr) -> Result<Self, String> {
        if !bin.exists() {
            return Err(format!("{} not built (run make bench)", bin.display()));
        }
        let port = free_port();
        let child = Command::new(bin)
            .args(["serve", "--port", &port.to_string()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let mut sd = Shakedown {
            child,
            listen: upstream,
        };
        let api: SocketAddr = ([127, 0, 0, 1], port).into();
        wait_for(api)?;
        let body = format!(r#"{{"name":"bench","listen":"127.0.0.1:0","upstream":"{upstream}"}}"#);
        let answer = http_post(api, "/proxies", &body)?;
        let json: serde_json::Value =
            serde_json::from_str(&answer).map_err(|e| format!("bad answer {answer:?}: {e}"))?;
        sd.listen = json["listen"]
            .as_str()
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| format!("no listen address in {answer}"))?;
        Ok(sd)
    }
}

impl Drop for Shakedown {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Nginx {
    child: Child,
    listen: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Nginx {
    fn start(upstream: SocketAddr) -> Result<Self, String> {
        let module = Path::new("/usr/lib/nginx/modules/ngx_stream_module.so");
        if Command::new("nginx").arg("-v").output().is_err() {
            return Err("nginx is not installed (make bench installs nginx-light)".into());
        }
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let port = free_port();
        let load = if module.exists() {
            format!("load_module {};", module.display())
        } else {
            String::new()
        };
        let conf = format!(
            "{load}\nworker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
             events {{ worker_connections 1024; }}\n\
             stream {{ server {{ listen 127.0.0.1:{port}; proxy_pass {upstream}; proxy_half_close on; tcp_nodelay on; }} }}\n",
            d = dir.path().display()
        );
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, conf).map_err(|e| e.to_string())?;
        let child = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn nginx: {e}"))?;
        let listen: SocketAddr = ([127, 0, 0, 1], port).into();
        let ng = Nginx {
            child,
            listen,
            _dir: dir,
        };
        wait_for(listen)?;
        Ok(ng)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker too (SIGKILL would orphan the worker).
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_err() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for(addr: SocketAddr) -> Result<(), String> {
    for _ in 0..200 {
        if TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(25));
    }
    Err(format!("{addr} did not start listening within 5 s"))
}

fn http_post(addr: SocketAddr, path: &str, body: &str) -> Result<String, String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).map_err(|e| e.to_string())?;
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("malformed answer {answer:?}"))?;
    if !head.starts_with("HTTP/1.1 201") {
        return Err(format!("proxy creation refused: {head}"));
    }
    Ok(body.to_string())
}

fn report(rows: &[(String, Option<Figures>)]) {
    println!(
        "\nproxy benchmark (loopback, 1 connection, and {PARALLEL} for the `{PARALLEL} conn` rows; bulk {} MiB best of {RUNS}; {PINGS} round trips of {MSG} B)",
        BULK_BYTES >> 20
    );
    println!(
        "{:<14} {:>10} {:>10} {:>10}",
        "path", "MB/s", "p50 µs", "p99 µs"
    );
    for (name, figures) in rows {
        match figures {
            Some(f) => {
                println!(
                    "{name:<14} {:>10.0} {:>10.1} {:>10.1}",
                    f.mb_per_s, f.p50_us, f.p99_us
                );
                println!(
                    "{:<14} {:>10.0} {:>10} {:>10}",
                    format!("  {PARALLEL} conn"),
                    f.parallel_mb_per_s,
                    "-",
                    "-"
                );
            }
            None => println!("{name:<14} {:>10}", "skipped"),
        }
    }
    let get = |n: &str| rows.iter().find(|(k, _)| k == n).and_then(|(_, f)| *f);
    if let (Some(d), Some(s)) = (get("direct"), get("shakedown")) {
        let ratio = s.mb_per_s / d.mb_per_s;
        let added = s.p50_us - d.p50_us;
        println!(
            "shakedown / direct: throughput {:.2} (goal >= 0.90: {}), added p50 {:.1} µs (goal < 50: {}), added p99 {:.1} µs",
            ratio,
            verdict(ratio >= 0.90),
            added,
            verdict(added < 50.0),
            s.p99_us - d.p99_us
        );
        let parallel = s.parallel_mb_per_s / d.parallel_mb_per_s;
        println!(
            "shakedown / direct, {PARALLEL} connections: throughput {parallel:.2} (goal >= 0.70: {})",
            verdict(parallel >= 0.70)
        );
        for (i, goal) in [(0, 0.9), (1, 0.7)] {
            let (sc, dc) = (s.cpu[i], d.cpu[i]);
            let budget = dc.local / goal - sc.local;
            println!(
                "  {} conn: ceiling here {:.2}; {goal:.2} needs proxy CPU <= {budget:.3} s/GB, shakedown spends {:.3}",
                [1, PARALLEL][i],
                sc.ceiling(&dc),
                sc.proxy
            );
        }
        if let Some(n) = get("nginx stream") {
            let vs = s.mb_per_s / n.mb_per_s;
            println!(
                "shakedown / nginx stream: throughput {:.2} (goal >= 1.00: {}), p50 {:.1} vs {:.1} µs",
                vs,
                verdict(vs >= 1.0),
                s.p50_us,
                n.p50_us
            );
        }
    }
}

/// Each path's CPU per GB and the ceiling it sets against direct.
fn report_cpu(rows: &[(String, Option<Figures>)]) {
    let Some(direct) = rows
        .iter()
        .find(|(k, _)| k == "direct")
        .and_then(|(_, f)| *f)
    else {
        return;
    };
    println!(
        "\nbulk CPU-s per GB: client + upstream (this process) and proxy; ceiling = (client + upstream direct) / (client + upstream + proxy), on {} cores",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<14} {:>14} {:>10} {:>9}",
        "path", "client+upstream", "proxy", "ceiling"
    );
    for (name, figures) in rows {
        let Some(f) = figures else { continue };
        for (i, label) in [name.clone(), format!("  {PARALLEL} conn")]
            .iter()
            .enumerate()
        {
            let c = f.cpu[i];
            println!(
                "{label:<14} {:>14.3} {:>10.3} {:>9.2}",
                c.local,
                c.proxy,
                c.ceiling(&direct.cpu[i])
            );
        }
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
