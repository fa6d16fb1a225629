//! Toxics that change under live connections, over real loopback sockets:
//! half-closed directions, writes blocked on a slow reader, `refuse_new`
//! closing the listening socket, toxic updates and disabling, and toxic
//! metrics shared by connections.
//!
//! Timing margins: "promptly" means within 3 s on a 2-core machine shared
//! with compilers; without the fixes under test these waits never end (the
//! peers would wait forever), so the margin separates the cases cleanly.

mod support;

use std::io::ErrorKind;
use std::time::Duration;

use support::proxy::*;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// How long a toxic may take to apply to a live connection.
const PROMPT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn reset_peer_still_resets_after_its_direction_half_closed() {
    let srv = server(1).await;
    let api = srv.local_addr();
    // The upstream reads to the end, then keeps its side open.
    let (up, _u) = holding_upstream(Duration::from_secs(60)).await;
    let addr = create_proxy(api, "half", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"request").await.unwrap();
    c.shutdown().await.unwrap(); // the upstream direction is now closed in order
    tokio::time::sleep(Duration::from_millis(200)).await;
    add_toxic(
        api,
        "half",
        r#"{"type":"reset_peer","stream":"upstream","attributes":{"timeout":0}}"#,
    )
    .await;
    let (data, end) = tokio::time::timeout(PROMPT, read_to_end(&mut c))
        .await
        .expect("the reset did not come: the toxic was ignored on a half-closed direction");
    assert!(data.is_empty());
    assert_eq!(end.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
    srv.shutdown().await;
}

#[tokio::test]
async fn reset_peer_applies_while_a_write_is_blocked_on_a_slow_reader() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, mut upstream_end) = flooding_upstream(vec![9u8; 64 * 1024]).await;
    let addr = create_proxy(api, "stuck", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    // The client reads nothing: buffers fill and the proxy's write to it blocks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    add_toxic(
        api,
        "stuck",
        r#"{"type":"reset_peer","attributes":{"timeout":0}}"#,
    )
    .await;
    // The upstream sees the reset while the client still has not read a byte.
    let ended = tokio::time::timeout(PROMPT, upstream_end.recv())
        .await
        .expect("the toxic waited for the blocked write")
        .expect("upstream reports");
    let kind = ended.expect_err("the upstream's writes must fail").kind();
    assert!(
        matches!(kind, ErrorKind::ConnectionReset | ErrorKind::BrokenPipe),
        "{kind:?}"
    );
    // And the client, once it reads, finds the reset after what was buffered.
    let (_, end) = read_to_end(&mut c).await;
    assert_eq!(end.map_err(|e| e.kind()), Err(ErrorKind::ConnectionReset));
    srv.shutdown().await;
}

#[tokio::test]
async fn refuse_new_refuses_connects_and_keeps_existing_connections() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "rn", up).await;
    let mut old = TcpStream::connect(addr).await.unwrap();
    old.write_all(b"1").await.unwrap();
    assert_eq!(read_n(&mut old, 1).await, b"1");

    add_toxic(api, "rn", r#"{"type":"refuse_new"}"#).await;
    let refused = TcpStream::connect(addr).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
    old.write_all(b"2").await.unwrap();
    assert_eq!(
        read_n(&mut old, 1).await,
        b"2",
        "existing connection still echoes"
    );
    let r = http(api, "GET", "/proxies/rn", None).await;
    assert_eq!(r.json()["enabled"], true, "refusing is not disabling");

    remove_toxic(api, "rn", "refuse_new_downstream").await;
    let mut new = TcpStream::connect(addr).await.expect("connects work again");
    new.write_all(b"3").await.unwrap();
    assert_eq!(read_n(&mut new, 1).await, b"3");
    old.write_all(b"4").await.unwrap();
    assert_eq!(read_n(&mut old, 1).await, b"4");
    srv.shutdown().await;
}

#[tokio::test]
async fn refuse_new_removal_onto_a_taken_port_is_refused_and_changes_nothing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "taken", up).await;
    let mut old = TcpStream::connect(addr).await.unwrap();
    add_toxic(api, "taken", r#"{"name":"down","type":"refuse_new"}"#).await;
    let before = http(api, "GET", "/proxies/taken", None).await.json();
    // Another program takes the port while the listener is closed.
    let squatter = TcpListener::bind(addr)
        .await
        .expect("the port is free meanwhile");
    // Every request that would need the port again is refused, and changes nothing.
    for (method, path, body) in [
        ("DELETE", "/proxies/taken/toxics/down", None),
        (
            "PATCH",
            "/proxies/taken/toxics/down",
            Some(r#"{"toxicity":0.5}"#),
        ),
        ("POST", "/reset", None),
    ] {
        let r = http(api, method, path, body).await;
        assert_eq!(r.status, 409, "{method} {path}: {}", r.body);
        assert!(r.body.contains("already in use"), "{}", r.body);
        let view = http(api, "GET", "/proxies/taken", None).await.json();
        assert_eq!(view, before, "{method} {path} changed the proxy");
    }
    old.write_all(b"o").await.unwrap();
    assert_eq!(read_n(&mut old, 1).await, b"o", "open connections go on");

    drop(squatter);
    remove_toxic(api, "taken", "down").await;
    let mut c = TcpStream::connect(addr).await.expect("listening again");
    c.write_all(b"n").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"n");
    srv.shutdown().await;
}

#[tokio::test]
async fn partial_refuse_new_resets_the_affected_connections() {
    let srv = server(5).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "half_rn", up).await;
    add_toxic(
        api,
        "half_rn",
        r#"{"name":"coin","type":"refuse_new","toxicity":0.5}"#,
    )
    .await;
    let mut outcomes = Vec::new();
    for connection in 1..=8u64 {
        let key = shakedown::fault::roll::DecisionKey {
            seed: 5,
            proxy: "half_rn",
            connection,
            toxic: "coin",
        };
        let mut c = TcpStream::connect(addr)
            .await
            .expect("listener stays open below toxicity 1");
        let _ = c.write_all(b"?").await;
        let (data, end) = read_to_end_or_echo(&mut c).await;
        let reset = end.is_err_and(|e| e.kind() == ErrorKind::ConnectionReset);
        assert_eq!(reset, key.draw() < 0.5, "connection {connection}: {data:?}");
        outcomes.push(reset);
    }
    assert!(
        outcomes.contains(&true) && outcomes.contains(&false),
        "{outcomes:?}"
    );
    srv.shutdown().await;
}

/// Read one echoed byte (then return Ok) or the error that ends the connection.
async fn read_to_end_or_echo(c: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    use tokio::io::AsyncReadExt;
    let mut b = [0u8; 1];
    match tokio::time::timeout(STEP, c.read(&mut b))
        .await
        .expect("read timeout")
    {
        Ok(n) => (b[..n].to_vec(), Ok(())),
        Err(e) => (Vec::new(), Err(e)),
    }
}

#[tokio::test]
async fn a_toxic_counts_every_connection_it_affects_once() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "count", up).await;
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(TcpStream::connect(addr).await.unwrap());
    }
    add_toxic(api, "count", r#"{"name":"n","type":"noop"}"#).await;
    // An update must not count them again (same instance, same handles).
    let r = http(
        api,
        "PATCH",
        "/proxies/count/toxics/n",
        Some(r#"{"toxicity":1}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for c in &mut conns {
        c.write_all(b"k").await.unwrap();
        assert_eq!(read_n(c, 1).await, b"k");
    }
    let m = http(api, "GET", "/metrics", None).await.body;
    let affected = metric(
        &m,
        "shakedown_toxic_connections_affected_total",
        &["toxic=\"n\""],
    );
    assert_eq!(affected, 3.0, "{m}");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_leased_refuse_new_lets_connects_in_again_when_it_expires() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "lease_rn", up).await;
    add_toxic(api, "lease_rn", r#"{"type":"refuse_new","lease_ms":300}"#).await;
    let refused = TcpStream::connect(addr).await;
    assert_eq!(
        refused.map(|_| ()).map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused)
    );
    // The lease expires after 300 ms; poll every 50 ms for up to 5 s (a loaded box).
    let mut back = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if let Ok(c) = TcpStream::connect(addr).await {
            back = Some(c);
            break;
        }
    }
    let mut c = back.expect("connects work again once the lease expired");
    c.write_all(b"l").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"l");
    srv.shutdown().await;
}

#[tokio::test]
async fn live_updates_apply_without_closing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "live", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    add_toxic(
        api,
        "live",
        r#"{"name":"l","type":"latency","attributes":{"latency":200}}"#,
    )
    .await;
    let t = Instant::now();
    c.write_all(b"a").await.unwrap();
    read_n(&mut c, 1).await;
    assert!(
        t.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t.elapsed()
    );
    let r = http(
        api,
        "PATCH",
        "/proxies/live/toxics/l",
        Some(r#"{"attributes":{"latency":0}}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = Instant::now();
    c.write_all(b"b").await.unwrap();
    read_n(&mut c, 1).await;
    // Generous: 0 ms latency, well under the old 200 ms even on a loaded box.
    assert!(
        t.elapsed() < Duration::from_millis(150),
        "{:?}",
        t.elapsed()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn disabling_refuses_connects_and_closes_existing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "dis", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    let r = http(api, "POST", "/proxies/dis", Some(r#"{"enabled":false}"#)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["enabled"], false);
    let (_, _) = read_to_end(&mut c).await; // closed: read_to_end returned within STEP
    let refused = TcpStream::connect(addr).await;
    assert!(refused.is_err(), "connect must be refused");
    let r = http(api, "POST", "/proxies/dis", Some(r#"{"enabled":true}"#)).await;
    assert_eq!(
        r.json()["listen"],
        addr.to_string(),
        "same address after re-enable"
    );
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"z").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"z");
    srv.shutdown().await;
}
