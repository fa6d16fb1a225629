//! Test helpers for the runner tests: a target with a known recovery time, and running the binary.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::time::Instant;

/// An HTTP server whose `/health` answers 503 while `flag` exists and for exactly
/// `recovery` after it was removed, 200 otherwise: a known time to recover.
pub struct SlowRecoverer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl SlowRecoverer {
    /// Start one on 127.0.0.1:0.
    pub async fn start(flag: PathBuf, recovery: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cleared: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let (flag, cleared) = (flag.clone(), cleared.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |_req| {
                        let healthy = {
                            let mut cleared = cleared.lock().unwrap();
                            if flag.exists() {
                                *cleared = None;
                                false
                            } else {
                                // The first request after removal stamps it; the flag is polled
                                // by probes every interval, so the stamp lags removal by at most one.
                                let since = *cleared.get_or_insert_with(Instant::now);
                                since.elapsed() >= recovery
                            }
                        };
                        let status = if healthy { 200 } else { 503 };
                        async move {
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::new()))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, task }
    }
}

impl Drop for SlowRecoverer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The output of `shakedown …`.
pub struct Ran {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Run the built binary with `args` (bounded: killed after two minutes), its temporary
/// folder (`TMPDIR`) a private one removed afterwards, so that no run folder outlives the test.
pub async fn shakedown(args: &[&str]) -> Ran {
    wait(spawn(args), Duration::from_secs(120)).await
}

/// `shakedown run FILE --json DIR/out.json -q`: the outcome and the journal it wrote.
pub async fn run_journaled(file: &Path) -> (Ran, serde_json::Value) {
    run_journaled_with(file, &[]).await
}

/// [`run_journaled`] with more arguments (`--baseline B`).
pub async fn run_journaled_with(file: &Path, more: &[&str]) -> (Ran, serde_json::Value) {
    let json = file.with_extension("journal.json");
    let mut args = vec![
        "run",
        file.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "-q",
    ];
    args.extend(more);
    let ran = shakedown(&args).await;
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "no journal at {} ({e})\n{}\n{}",
            json.display(),
            ran.stdout,
            ran.stderr
        )
    });
    let doc = serde_json::from_str(&text).expect("the journal is JSON");
    (ran, doc)
}

/// Read a JSON journal.
pub fn journal(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A free loopback port (bound, then released: good enough for a test's own services).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A key-value HTTP server that loses a known set of acknowledged writes: `PUT /kv/K` stores
/// and answers 200, `GET /kv/K` answers the value or 404, `GET /health` 200. The first request
/// that sees `crash_flag` on disk "crashes": every key acknowledged in the last `window` is
/// forgotten and recorded in [`Forgetful::dropped`] — the ground truth of lost writes.
pub struct Forgetful {
    /// Where it listens.
    pub addr: SocketAddr,
    state: Arc<Mutex<ForgetfulState>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct ForgetfulState {
    values: std::collections::HashMap<String, (Bytes, Instant)>,
    crashed: bool,
    dropped: Vec<String>,
}

impl Forgetful {
    /// Start one on 127.0.0.1:0.
    pub async fn start(crash_flag: PathBuf, window: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(ForgetfulState::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                let (flag, state) = (crash_flag.clone(), shared.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (flag, state) = (flag.clone(), state.clone());
                        async move {
                            let method = req.method().clone();
                            let path = req.uri().path().to_string();
                            let body = http_body_util::BodyExt::collect(req.into_body())
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let (status, out) = {
                                let mut s = state.lock().unwrap();
                                if !s.crashed && flag.exists() {
                                    s.crashed = true;
                                    let now = Instant::now();
                                    let mut gone: Vec<String> = s
                                        .values
                                        .iter()
                                        .filter(|(_, (_, at))| now.duration_since(*at) < window)
                                        .map(|(k, _)| k.clone())
                                        .collect();
                                    gone.sort();
                                    for k in &gone {
                                        s.values.remove(k);
                                    }
                                    s.dropped = gone;
                                }
                                match (method.as_str(), path.as_str()) {
                                    (_, "/health") => (200, Bytes::from_static(b"ok")),
                                    ("PUT", p) if p.starts_with("/kv/") => {
                                        s.values.insert(p.to_string(), (body, Instant::now()));
                                        (200, Bytes::new())
                                    }
                                    ("GET", p) => match s.values.get(p) {
                                        Some((v, _)) => (200, v.clone()),
                                        None => (404, Bytes::new()),
                                    },
                                    _ => (405, Bytes::new()),
                                }
                            };
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(out))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// The keys (`/kv/K`) forgotten at the crash, sorted.
    pub fn dropped(&self) -> Vec<String> {
        self.state.lock().unwrap().dropped.clone()
    }
}

impl Drop for Forgetful {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running `shakedown …` whose exit the test waits for (killed if dropped), with a private
/// `TMPDIR` that is removed with it.
pub struct Spawned {
    child: tokio::process::Child,
    _tmp: tempfile::TempDir,
}

impl std::ops::Deref for Spawned {
    type Target = tokio::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.child
    }
}

/// Start `shakedown ARGS` with a private `TMPDIR`.
pub fn spawn(args: &[&str]) -> Spawned {
    spawn_in(args, tempfile::tempdir().unwrap())
}

/// Start `shakedown ARGS` with `tmp` as its `TMPDIR` (removed when the run is waited for).
pub fn spawn_in(args: &[&str], tmp: tempfile::TempDir) -> Spawned {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .env("TMPDIR", tmp.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    Spawned { child, _tmp: tmp }
}

/// Wait (bounded by `limit`) for a spawned `shakedown` to exit.
pub async fn wait(spawned: Spawned, limit: Duration) -> Ran {
    let out = tokio::time::timeout(limit, spawned.child.wait_with_output())
        .await
        .expect("shakedown exited in time")
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// How a test ends a spawned run: on its own (passing or failing), interrupted by a signal
/// (its teardown runs), or killed with SIGKILL (no teardown of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It ends on its own and passes (exit 0).
    Passes,
    /// It ends on its own and fails (exit 1).
    Fails,
    /// Interrupted by this signal (`INT`, `TERM`): it tears down and exits 3.
    Interrupted(&'static str),
    /// The runner is killed with SIGKILL: no teardown of its own runs.
    Killed,
}

impl Ending {
    /// Send the run at `pid` what this ending sends (nothing when it ends on its own); the
    /// exit code to expect (-1: killed by a signal, no code).
    pub fn end(self, pid: u32) -> i32 {
        match self {
            Ending::Passes => 0,
            Ending::Fails => 1,
            Ending::Interrupted(sig) => {
                signal(pid, sig);
                3
            }
            Ending::Killed => {
                signal(pid, "KILL");
                -1
            }
        }
    }
}

/// Send `signal` (`TERM`, `INT`, `KILL`) to `pid` with kill(1).
pub fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

/// Whether a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// Poll `check` every 50 ms until it returns true or `limit` passes; returns the time it took.
pub async fn until(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// An experiment whose one probe touches `marker` (so a test can tell whether the run ever
/// started), and the unwritable output paths to try with it: `(flag, path)` for every output
/// flag, each in a missing folder and under a regular file (which stops root too).
pub struct NeverStarts {
    /// The experiment file.
    pub file: PathBuf,
    /// Created by the first sample, if one is ever taken.
    pub marker: PathBuf,
    /// Every output flag with each kind of unwritable path.
    pub unwritable: Vec<(&'static str, String)>,
}

impl NeverStarts {
    /// Write the experiment as `name` inside `dir`.
    pub fn write(dir: &Path, name: &str) -> Self {
        let marker = dir.join("probed");
        let file = dir.join(name);
        std::fs::write(
            &file,
            format!(
                "title: never starts\nsteady_state:\n  probes:\n    - {{name: p, command: [touch, \"{}\"]}}\nmethod:\n  - {{at: 1s, action: {{command: [\"true\"]}}}}\nduration: 1s\n",
                marker.display()
            ),
        )
        .unwrap();
        let regular = dir.join("a-file");
        std::fs::write(&regular, "").unwrap();
        let mut unwritable = Vec::new();
        for flag in ["--json", "--junit", "--html", "--summary"] {
            for parent in [dir.join("missing"), regular.clone()] {
                unwritable.push((flag, parent.join("out").to_string_lossy().into_owned()));
            }
        }
        NeverStarts {
            file,
            marker,
            unwritable,
        }
    }
}
