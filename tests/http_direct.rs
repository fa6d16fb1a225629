//! HTTP mode served directly on the client's socket (no toxic on the bytes): its connection
//! and byte counters, `x-forwarded-for`, `http_reset`, disabling the proxy, and the rule for a
//! TCP toxic added while a connection is served directly (it shuts down gracefully, and the
//! client's next connection goes through the toxic).

mod support;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Duration;

use support::http::*;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// A connection to `addr` from 127.0.0.2, an address only the client's own socket has.
async fn connect_from_127_0_0_2(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    socket.connect(addr).await.unwrap()
}

/// Read one response with a `content-length` body off `s`: (its bytes, its body).
async fn read_response(s: &mut TcpStream) -> (Vec<u8>, String) {
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(STEP, s.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&raw).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse().unwrap())
                })
                .expect("content-length");
            if body.len() >= len {
                assert_eq!(body.len(), len, "nothing after the body");
                return (raw, body.to_string());
            }
        }
    }
}

/// `metric` of proxy `name` in `/metrics` (and the labels in `more`).
async fn proxy_metric(api: SocketAddr, name: &str, more: &[&str]) -> f64 {
    let m = http(api, "GET", "/metrics", None).await.body;
    let mut labels = vec!["proxy=\"web\""];
    labels.extend_from_slice(more);
    metric(&m, name, &labels)
}

/// Wait until the proxy has `n` connections open.
async fn until_active(api: SocketAddr, n: f64) {
    until_metric(api, "shakedown_proxy_connections_active", &[], n).await;
}

/// Wait until the proxy's `name{labels}` reads `n`. A counter moves just after its socket call
/// returns, and on loopback the peer may already hold the bytes then (the writer can be
/// preempted by the reader it woke), so it is read until it settles, within [`STEP`].
async fn until_metric(api: SocketAddr, name: &str, labels: &[&str], n: f64) {
    let deadline = Instant::now() + STEP;
    loop {
        let value = proxy_metric(api, name, labels).await;
        if value == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}{labels:?} is {value}, waiting for {n}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_direct_connection_counts_its_bytes_and_forwards_the_real_client_address() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    let mut c = connect_from_127_0_0_2(addr).await;
    let (mut sent, mut received) = (0, 0);
    for i in 0..3 {
        let req = format!("GET /n/{i} HTTP/1.1\r\nHost: example.test\r\n\r\n");
        c.write_all(req.as_bytes()).await.unwrap();
        sent += req.len();
        let (raw, body) = read_response(&mut c).await;
        received += raw.len();
        assert_eq!(
            body,
            format!("GET /n/{i} via=1.1 shakedown xff=127.0.0.2 host=example.test")
        );
    }
    // One connection, open, with exactly the bytes that crossed the client's socket.
    assert_eq!(up.requests(), 3);
    assert_eq!(
        proxy_metric(api, "shakedown_proxy_connections_accepted_total", &[]).await,
        1.0
    );
    assert_eq!(
        proxy_metric(api, "shakedown_proxy_connections_active", &[]).await,
        1.0
    );
    for (stream, n) in [("upstream", sent), ("downstream", received)] {
        let label = format!("stream=\"{stream}\"");
        until_metric(api, "shakedown_proxy_bytes_total", &[&label], n as f64).await;
    }
    drop(c);
    until_active(api, 0.0).await;
    // Disabling the proxy closes a direct connection (FIN), as it does a relayed one.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    until_active(api, 1.0).await;
    let r = http(api, "POST", "/proxies/web", Some(r#"{"enabled":false}"#)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(STEP, idle.read(&mut buf))
        .await
        .unwrap();
    assert_eq!(read.unwrap(), 0, "closed by the proxy");
    srv.shutdown().await;
}

#[tokio::test]
async fn http_reset_on_a_direct_connection_resets_the_client_socket() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(
        api,
        "web",
        r#"{"name":"rst","type":"http_reset","attributes":{"path":"/reset"}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"GET /fine HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let (_, body) = read_response(&mut c).await;
    assert!(body.starts_with("GET /fine"), "{body}");
    c.write_all(b"GET /reset HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(STEP, c.read(&mut buf)).await.unwrap();
    assert_eq!(read.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
    assert_eq!(
        up.requests(),
        1,
        "the reset request never reached the upstream"
    );
    until_active(api, 0.0).await;
    assert_eq!(
        H1::connect(addr).await.get("/after").await.unwrap().status,
        200
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn a_tcp_toxic_added_later_applies_from_the_clients_next_connection() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    // Three direct connections: an idle HTTP/1.1, an idle h2c, and one with a request in
    // flight (held at the upstream's gate).
    let mut idle = H1::connect(addr).await;
    assert_eq!(idle.get("/").await.unwrap().status, 200);
    let mut h2 = H2::connect(addr).await;
    assert_eq!(h2.send(get_h2("/")).await.unwrap().status, 200);
    let in_flight = tokio::spawn(async move {
        let mut c = H1::connect(addr).await;
        let got = c.get("/gate").await;
        (got, c)
    });
    let deadline = Instant::now() + STEP;
    while up.requests() < 3 {
        assert!(
            Instant::now() < deadline,
            "the gated request did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    add_toxic(
        api,
        "web",
        r#"{"name":"rst","type":"reset_peer","stream":"downstream","attributes":{"timeout":0}}"#,
    )
    .await;
    // The in-flight response still completes, unharmed; then every direct connection closes.
    up.gate.add_permits(1);
    let (got, mut gated) = in_flight.await.unwrap();
    let got = got.unwrap();
    assert_eq!((got.status.as_u16(), got.text().as_str()), (200, "gate"));
    until_active(api, 0.0).await;
    assert!(
        idle.get("/").await.is_err(),
        "the idle HTTP/1.1 connection was closed"
    );
    assert!(
        h2.send(get_h2("/")).await.is_err(),
        "the h2c connection went away"
    );
    assert!(gated.get("/").await.is_err(), "closed after its response");
    // The next connection is relayed through the toxic: reset.
    let mut raw = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(STEP, raw.read(&mut buf))
        .await
        .unwrap();
    assert_eq!(read.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
    // A latency toxic instead: the next connection's requests wait for it.
    remove_toxic(api, "web", "rst").await;
    add_toxic(
        api,
        "web",
        r#"{"name":"slow","type":"latency","attributes":{"latency":300}}"#,
    )
    .await;
    let mut c = H1::connect(addr).await;
    get_delayed(&mut c, "/slow", Duration::from_millis(290)).await;
    // Without it, connections are served (directly) again.
    remove_toxic(api, "web", "slow").await;
    assert_eq!(
        H1::connect(addr).await.get("/again").await.unwrap().status,
        200
    );
    srv.shutdown().await;
}

/// A client that half-closes after its request (`printf 'GET …' | nc -N`) still gets the
/// answer, served directly and relayed alike (it got an empty reply).
#[tokio::test]
async fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    let srv = server(5).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    for relayed in [false, true] {
        if relayed {
            add_toxic(api, "web", r#"{"name":"n","type":"noop"}"#).await;
        }
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /half HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        c.shutdown().await.unwrap();
        let mut got = Vec::new();
        tokio::time::timeout(STEP, c.read_to_end(&mut got))
            .await
            .expect("answered in time")
            .unwrap();
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 200"),
            "relayed {relayed}: {text:?}"
        );
    }
    assert_eq!(up.requests(), 2);
    srv.shutdown().await;
}
