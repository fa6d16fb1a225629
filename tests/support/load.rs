//! Test helpers for the load tests: a real hyper HTTP/1.1 server on 127.0.0.1:0 that the test controls.
//!
//! Routes: `PUT /kv/{key}` stores the body and answers 200 (unless the server
//! is told to drop every Nth write: then it answers 200 and forgets it);
//! `GET /kv/{key}` answers the stored body or 404; `GET /status/{code}`
//! answers that status; `GET /sleep/{ms}` answers 200 after that many
//! milliseconds; `GET /injected` answers 503 with `x-shakedown-fault`;
//! anything else answers 200 `ok`. Requests that arrive inside a stall
//! window are held for the stall's delay before answering.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// What the server has seen and how it misbehaves.
#[derive(Debug, Default)]
pub struct State {
    /// Requests answered (or being answered).
    pub requests: AtomicU64,
    /// Requests per path.
    pub paths: Mutex<HashMap<String, u64>>,
    /// Stored values.
    pub kv: Mutex<HashMap<String, Bytes>>,
    /// Keys acknowledged but deliberately not stored.
    pub dropped: Mutex<Vec<String>>,
    /// Drop every Nth write (0: never).
    pub drop_every: AtomicU64,
    /// Writes received.
    pub writes: AtomicU64,
    /// Hold requests arriving in `[from, until)` for `delay`.
    pub stall: Mutex<Option<(Instant, Instant, Duration)>>,
}

/// A running test server; stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state.
    pub state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Start a server on 127.0.0.1:0.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State::default());
        let s = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let s = s.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(s.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { addr, state, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Hold every request arriving in `[from, until)` for `delay`.
    pub fn stall(&self, from: Instant, until: Instant, delay: Duration) {
        *self.state.stall.lock().unwrap() = Some((from, until, delay));
    }

    /// Acknowledge but forget every `n`th write.
    pub fn drop_every(&self, n: u64) {
        self.state.drop_every.store(n, Ordering::SeqCst);
    }

    /// Requests seen for `path`.
    pub fn count(&self, path: &str) -> u64 {
        self.state
            .paths
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// The keys deliberately dropped, sorted.
    pub fn dropped(&self) -> Vec<String> {
        let mut d = self.state.dropped.lock().unwrap().clone();
        d.sort();
        d
    }
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let arrived = Instant::now();
    state.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    *state.paths.lock().unwrap().entry(path.clone()).or_default() += 1;
    let stall = *state.stall.lock().unwrap();
    if let Some((from, until, delay)) = stall
        && arrived >= from
        && arrived < until
    {
        tokio::time::sleep(delay).await;
    }
    let method = req.method().clone();
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v == "Bearer t-42");
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let response = if let Some(key) = path.strip_prefix("/kv/") {
        match method {
            http::Method::PUT => {
                let n = state.writes.fetch_add(1, Ordering::SeqCst) + 1;
                let every = state.drop_every.load(Ordering::SeqCst);
                if every > 0 && n.is_multiple_of(every) {
                    state.dropped.lock().unwrap().push(path.clone());
                } else {
                    state.kv.lock().unwrap().insert(key.to_string(), body);
                }
                reply(StatusCode::OK, format!("{{\"key\":\"{key}\"}}"))
            }
            _ => match state.kv.lock().unwrap().get(key) {
                Some(v) => reply(StatusCode::OK, v.clone()),
                None => reply(StatusCode::NOT_FOUND, "missing"),
            },
        }
    } else if let Some(code) = path.strip_prefix("/status/") {
        let status = code
            .parse()
            .ok()
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::OK);
        reply(status, "status")
    } else if let Some(ms) = path.strip_prefix("/sleep/") {
        tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
        reply(StatusCode::OK, "slept")
    } else if path == "/injected" {
        let mut r = reply(StatusCode::SERVICE_UNAVAILABLE, "injected");
        r.headers_mut()
            .insert("x-shakedown-fault", http::HeaderValue::from_static("abort"));
        r
    } else if path == "/login" {
        reply(StatusCode::OK, "{\"token\":\"t-42\"}")
    } else if path == "/me" {
        if authorized {
            reply(StatusCode::OK, "me")
        } else {
            reply(StatusCode::UNAUTHORIZED, "who?")
        }
    } else {
        reply(StatusCode::OK, "ok")
    };
    Ok(response)
}

/// Run `shakedown load ARGS…` to completion (at most `limit`) and collect its output.
pub async fn shakedown_load(args: &[&str], limit: Duration) -> std::process::Output {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("load")
        .args(args)
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(limit, out)
        .await
        .expect("shakedown load finishes")
        .expect("shakedown runs")
}

/// `shakedown load URL --rate 40/s --duration 1s --json - -q EXTRA…`: its JSON report (a panic
/// showing stdout and stderr when there is none).
pub async fn load_report(url: &str, extra: &[&str], limit: Duration) -> serde_json::Value {
    let mut args = vec![
        url,
        "--rate",
        "40/s",
        "--duration",
        "1s",
        "--json",
        "-",
        "-q",
    ];
    args.extend_from_slice(extra);
    let out = shakedown_load(&args, limit).await;
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {:?}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
