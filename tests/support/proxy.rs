//! Test helpers for the proxy tests: an embedded control server, a raw HTTP
//! client for its API, and small TCP upstreams, all on 127.0.0.1 port 0.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use shakedown::control::{ControlServer, ServeOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Upper bound for any single network step in these tests.
pub const STEP: Duration = Duration::from_secs(10);

/// Start an embedded control server on 127.0.0.1:0 with a fixed seed.
pub async fn server(seed: u64) -> ControlServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind api");
    ControlServer::start(
        listener,
        ServeOptions {
            seed: Some(seed),
            ..ServeOptions::default()
        },
    )
    .expect("start control server")
}

/// A response from the control API.
#[derive(Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Raw header block.
    pub headers: String,
    /// Body text.
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// One HTTP/1.1 request over a fresh connection (`Connection: close`).
pub async fn http_with(
    api: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    extra: &str,
) -> Reply {
    let mut s = tokio::time::timeout(STEP, TcpStream::connect(api))
        .await
        .expect("connect timeout")
        .expect("connect api");
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nConnection: close\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.expect("send");
    let mut raw = Vec::new();
    tokio::time::timeout(STEP, s.read_to_end(&mut raw))
        .await
        .expect("response timeout")
        .expect("read response");
    parse_reply(&raw)
}

/// Parse a raw HTTP/1.1 response (Content-Length bodies).
pub fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Reply {
        status,
        headers: head.to_string(),
        body: body.to_string(),
    }
}

/// One request without extra headers.
pub async fn http(api: SocketAddr, method: &str, path: &str, body: Option<&str>) -> Reply {
    http_with(api, method, path, body, "").await
}

/// Create a proxy listening on 127.0.0.1:0 and return its real address.
pub async fn create_proxy(api: SocketAddr, name: &str, upstream: SocketAddr) -> SocketAddr {
    let body = format!(r#"{{"name":"{name}","listen":"127.0.0.1:0","upstream":"{upstream}"}}"#);
    let r = http(api, "POST", "/proxies", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["listen"]
        .as_str()
        .expect("listen")
        .parse()
        .expect("addr")
}

/// Add a toxic (asserting 200) and return its JSON.
pub async fn add_toxic(api: SocketAddr, proxy: &str, toxic: &str) -> Value {
    let r = http(
        api,
        "POST",
        &format!("/proxies/{proxy}/toxics"),
        Some(toxic),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

/// Delete a toxic (asserting 204).
pub async fn remove_toxic(api: SocketAddr, proxy: &str, toxic: &str) {
    let r = http(
        api,
        "DELETE",
        &format!("/proxies/{proxy}/toxics/{toxic}"),
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.body);
}

/// An echo upstream: every connection gets its bytes back.
pub async fn echo_upstream() -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
    let addr = l.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = s.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    (addr, task)
}

/// An upstream that writes `payload` to each connection, then closes it (FIN).
pub async fn sending_upstream(payload: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind sender");
    let addr = l.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let payload = payload.clone();
            tokio::spawn(async move {
                let _ = s.write_all(&payload).await;
                let _ = s.shutdown().await;
                // Hold the socket until the peer closes, so our close is a clean FIN.
                let mut sink = [0u8; 1024];
                while let Ok(n) = s.read(&mut sink).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    (addr, task)
}

/// An upstream that, on each connection, reads a request head (up to its blank line), then
/// sends `payload` and closes its side, as an HTTP server that answers wrongly does.
/// ([`sending_upstream`] sends at once, before any request: a client that sees bytes before it
/// asked may fail the connection either way.)
#[allow(dead_code)]
pub async fn answering_upstream(payload: Vec<u8>) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind answerer");
    let addr = l.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s.write_all(&payload).await;
                let _ = s.shutdown().await;
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                }
            });
        }
    });
    (addr, task)
}

/// Read exactly `n` bytes within [`STEP`].
pub async fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    tokio::time::timeout(STEP, s.read_exact(&mut buf))
        .await
        .expect("read timeout")
        .expect("read");
    buf
}

/// Read until EOF or error within [`STEP`]: the bytes and how it ended.
pub async fn read_to_end(s: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(STEP, s.read(&mut buf))
            .await
            .expect("read timeout")
        {
            Ok(0) => return (out, Ok(())),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Err(e)),
        }
    }
}

/// A metric's value from a Prometheus text exposition (0 when absent).
pub fn metric(text: &str, name_and_labels_prefix: &str, must_contain: &[&str]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name_and_labels_prefix))
        .filter(|l| must_contain.iter().all(|c| l.contains(c)))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse::<f64>().ok()))
        .sum()
}

/// An upstream that sends `payload` forever (until the peer goes away) on
/// each connection and reports how its writing ended.
pub async fn flooding_upstream(
    payload: Vec<u8>,
) -> (SocketAddr, tokio::sync::mpsc::Receiver<std::io::Result<()>>) {
    let l = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind flooder");
    let addr = l.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let payload = payload.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                // Bounded: 64 GiB at most, far beyond any test's patience.
                for _ in 0..(64u64 << 30) / payload.len().max(1) as u64 {
                    if let Err(e) = s.write_all(&payload).await {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                }
                let _ = tx.send(Ok(())).await;
            });
        }
    });
    (addr, rx)
}

/// An upstream that reads each connection to its end, then keeps the
/// connection open (half-closed) for `hold`, then closes it.
pub async fn holding_upstream(hold: Duration) -> (SocketAddr, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind holder");
    let addr = l.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink).await;
                tokio::time::sleep(hold).await;
            });
        }
    });
    (addr, task)
}

/// Start `shakedown serve` with `args` as a process (killed on drop) and wait for its
/// `listening on ADDR` line: the child and the API address.
pub async fn spawn_serve(args: &[&std::ffi::OsStr]) -> (tokio::process::Child, SocketAddr) {
    spawn_serve_env(args, &[]).await
}

/// [`spawn_serve`] with these environment variables set.
pub async fn spawn_serve_env(
    args: &[&std::ffi::OsStr],
    env: &[(&str, &str)],
) -> (tokio::process::Child, SocketAddr) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_shakedown"))
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn shakedown serve");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\n") && line.len() < 200 {
        let n = tokio::time::timeout(STEP, stdout.read(&mut byte))
            .await
            .expect("serve did not start")
            .expect("read serve's stdout");
        assert!(n > 0, "serve exited early");
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line);
    let api = line
        .trim()
        .trim_start_matches("listening on ")
        .parse()
        .unwrap_or_else(|e| panic!("{line:?}: {e}"));
    (child, api)
}

/// The `/metrics` text once proxy `proxy` has no connection open (every connection it
/// accepted has closed, so its byte counts are final); panics after 10 s.
pub async fn metrics_once_closed(api: SocketAddr, proxy: &str) -> String {
    let label = format!("proxy=\"{proxy}\"");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let m = http(api, "GET", "/metrics", None).await.body;
        if metric(&m, "shakedown_proxy_connections_active", &[&label]) == 0.0 {
            return m;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{proxy}'s connections still open after 10 s:\n{m}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
