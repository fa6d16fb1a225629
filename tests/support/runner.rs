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

/// Run the built binary with `args` (bounded: killed after two minutes).
pub async fn shakedown(args: &[&str]) -> Ran {
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("shakedown finished within 2 minutes")
        .unwrap();
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Read a JSON journal.
pub fn journal(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
