//! HTTP mode's upstream connections over real loopback sockets: each HTTP/1.1 client
//! connection owns one upstream connection, reused while it lives, replaced when the upstream
//! closed it (never failing a request for it), and closed when the client connection ends.
//! The upstream here is a raw TCP server that counts its accepts and the closes it sees.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use support::http::*;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the raw upstream treats a connection after each response.
#[derive(Debug, Clone, Copy, PartialEq)]
enum After {
    /// Keep it alive.
    KeepAlive,
    /// Close it at once, without having said so (an idle keep-alive connection the upstream
    /// closes, as a server's keep-alive timeout does).
    CloseSilently,
    /// Answer with `Connection: close`, then close it.
    SayClose,
}

/// A raw HTTP/1.1 upstream answering `200 ok` to each GET, counting connections.
struct RawUpstream {
    addr: SocketAddr,
    /// Connections accepted.
    accepted: Arc<AtomicU64>,
    /// Connections ended (the peer closed it, or the upstream did).
    ended: Arc<AtomicU64>,
    /// Requests answered.
    answered: Arc<AtomicU64>,
    _task: JoinHandle<()>,
}

impl RawUpstream {
    async fn start(after: After) -> RawUpstream {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = l.local_addr().expect("addr");
        let accepted = Arc::new(AtomicU64::new(0));
        let ended = Arc::new(AtomicU64::new(0));
        let answered = Arc::new(AtomicU64::new(0));
        let counters = (accepted.clone(), ended.clone(), answered.clone());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = l.accept().await {
                counters.0.fetch_add(1, Ordering::SeqCst);
                let (ended, answered) = (counters.1.clone(), counters.2.clone());
                tokio::spawn(async move {
                    serve(stream, after, &answered).await;
                    ended.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        RawUpstream {
            addr,
            accepted,
            ended,
            answered,
            _task: task,
        }
    }

    fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::SeqCst)
    }

    fn ended(&self) -> u64 {
        self.ended.load(Ordering::SeqCst)
    }

    fn answered(&self) -> u64 {
        self.answered.load(Ordering::SeqCst)
    }
}

/// Answer each request head on `stream` (GETs: no body) until the peer closes it, or once
/// when `after` closes it.
async fn serve(mut stream: TcpStream, after: After, answered: &AtomicU64) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
        buf.drain(..end);
        let close = if after == After::SayClose {
            "Connection: close\r\n"
        } else {
            ""
        };
        let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{close}\r\nok");
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        answered.fetch_add(1, Ordering::SeqCst);
        if after != After::KeepAlive {
            return;
        }
    }
}

/// Wait (bounded by [`STEP`]) until `what` holds.
async fn eventually(what: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + STEP;
    while tokio::time::Instant::now() < deadline {
        if what() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    what()
}

#[tokio::test]
async fn an_upstream_closing_idle_connections_fails_no_request() {
    let srv = server(1).await;
    let up = RawUpstream::start(After::CloseSilently).await;
    let addr = http_proxy(srv.local_addr(), "web", up.addr, "").await;
    let mut c = H1::connect(addr).await;
    for i in 1..=200 {
        let got = c.get("/").await.expect("the client connection stays up");
        assert_eq!((i, got.status.as_u16(), got.text()), (i, 200, "ok".into()));
        // The upstream has closed the connection before the next request comes, as a
        // keep-alive timeout between two requests does.
        assert!(eventually(|| up.ended() == i).await, "{i}: {}", up.ended());
    }
    assert_eq!((up.accepted(), up.answered()), (200, 200));
    srv.shutdown().await;
}

#[tokio::test]
async fn an_upstream_answering_connection_close_every_time_fails_no_request() {
    let srv = server(1).await;
    let up = RawUpstream::start(After::SayClose).await;
    let addr = http_proxy(srv.local_addr(), "web", up.addr, "").await;
    let mut c = H1::connect(addr).await;
    for i in 1..=200 {
        let got = c.get("/").await.expect("the client connection stays up");
        assert_eq!((i, got.status.as_u16(), got.text()), (i, 200, "ok".into()));
        // The proxy's own connection to the client is kept alive.
        assert!(got.headers.get("connection").is_none(), "{:?}", got.headers);
    }
    assert_eq!((up.accepted(), up.answered()), (200, 200));
    srv.shutdown().await;
}

#[tokio::test]
async fn each_keep_alive_client_connection_has_one_upstream_connection_closed_with_it() {
    let srv = server(1).await;
    let up = RawUpstream::start(After::KeepAlive).await;
    let addr = http_proxy(srv.local_addr(), "web", up.addr, "").await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(H1::connect(addr).await);
    }
    // Interleaved: one client's request always finds the others' upstream connections idle,
    // so a shared pool would reuse them.
    for round in 0..25 {
        for c in &mut clients {
            let got = c.get("/").await.expect("answered");
            assert_eq!((round, got.status.as_u16()), (round, 200));
        }
    }
    assert_eq!((up.accepted(), up.answered(), up.ended()), (4, 100, 0));
    // A client connection's end closes its upstream connection: nothing is left behind.
    clients.truncate(1);
    assert!(eventually(|| up.ended() == 3).await, "{}", up.ended());
    clients.clear();
    assert!(eventually(|| up.ended() == 4).await, "{}", up.ended());
    assert_eq!(up.accepted(), 4);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_changed_upstream_takes_the_next_request_of_a_kept_alive_connection() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (first, second) = (
        RawUpstream::start(After::KeepAlive).await,
        RawUpstream::start(After::KeepAlive).await,
    );
    let addr = http_proxy(api, "web", first.addr, "").await;
    let mut c = H1::connect(addr).await;
    assert_eq!(c.get("/").await.expect("answered").status, 200);
    let body = format!(r#"{{"upstream":"{}"}}"#, second.addr);
    let r = http(api, "POST", "/proxies/web", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c.get("/").await.expect("answered").status, 200);
    assert_eq!((first.answered(), second.answered()), (1, 1));
    // The connection to the old upstream was closed when it was replaced.
    assert!(eventually(|| first.ended() == 1).await);
    srv.shutdown().await;
}
