//! Issue 8 item 14: descriptors. The proxies count the descriptors their connections and
//! splice pipes hold against the open-file limit, reject a connection that would not fit at
//! once (counted), and `shakedown serve` raises its soft limit at start.
//!
//! `TCP_SCALE=N` sets how many concurrent proxied connections the scale test holds (default
//! 1,000), at most serve's budget allows (9,488 under a 20,000 limit).

mod support;

use std::time::Duration;

use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

const DEFAULT_SCALE: u64 = 1_000;

/// One round trip: `Some(true)` echoed, `Some(false)` closed or reset, `None` timed out.
async fn echoes(c: &mut TcpStream) -> Option<bool> {
    if c.write_all(b"e").await.is_err() {
        return Some(false);
    }
    let mut b = [0u8; 1];
    match tokio::time::timeout(Duration::from_secs(5), c.read(&mut b)).await {
        Ok(Ok(1)) => Some(true),
        Ok(_) => Some(false),
        Err(_) => None,
    }
}

#[tokio::test]
async fn connections_beyond_the_descriptor_budget_are_closed_at_once_and_counted() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let srv = shakedown::control::ControlServer::start(
        listener,
        shakedown::control::ServeOptions {
            seed: Some(1),
            // 200 - 64 kept free = 136 descriptors: at most 68 connections.
            open_files_limit: Some(200),
            ..Default::default()
        },
    )
    .unwrap();
    let api = srv.local_addr();
    let v = http(api, "GET", "/version", None).await.json();
    assert_eq!(
        (v["open_files_limit"].as_u64(), v["fd_budget"].as_u64()),
        (Some(200), Some(136))
    );
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "p", up).await;
    let (mut open, mut rejected) = (Vec::new(), 0);
    for i in 0..100 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        match echoes(&mut c).await {
            Some(true) => open.push(c),
            Some(false) => rejected += 1,
            None => panic!("connection {i} left half-open"),
        }
    }
    assert!((60..=68).contains(&open.len()), "{} admitted", open.len());
    assert_eq!(open.len() + rejected, 100);
    let m = http(api, "GET", "/metrics", None).await.body;
    let counted = metric(
        &m,
        "shakedown_proxy_connections_rejected_total",
        &["proxy=\"p\""],
    );
    assert_eq!(counted, rejected as f64, "{m}");
    for c in &mut open {
        assert_eq!(
            echoes(c).await,
            Some(true),
            "admitted connections keep working"
        );
    }
    // Closing connections gives their share back.
    drop(open);
    let t = Instant::now();
    loop {
        let mut c = TcpStream::connect(addr).await.unwrap();
        if echoes(&mut c).await == Some(true) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "budget not given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn serve_raises_its_limit_and_holds_many_concurrent_connections() {
    let wanted: u64 = std::env::var("TCP_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_SCALE);
    // This process holds both ends' other halves: the client and the upstream side.
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let n = wanted.min(limit.saturating_sub(512) / 2);
    if n < wanted {
        eprintln!("open-file limit {limit}: testing {n} connections instead of {wanted}");
    }
    let (mut child, api) = spawn_serve(&["--port".as_ref(), "0".as_ref()]).await;
    let v = http(api, "GET", "/version", None).await.json();
    let serve_limit = v["open_files_limit"].as_u64().unwrap_or(0);
    let (_, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).unwrap_or((0, 0));
    assert_eq!(
        serve_limit, hard,
        "serve raises its soft limit to the hard limit"
    );
    // Beyond its budget serve rejects connections (tested above); hold at most that many.
    let n = n.min(v["fd_budget"].as_u64().unwrap_or(0) / 2);
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "scale", up).await;
    let t = Instant::now();
    let mut conns = Vec::with_capacity(n as usize);
    for i in 0..n {
        let mut c = TcpStream::connect(addr).await.unwrap();
        assert_eq!(echoes(&mut c).await, Some(true), "connection {i} of {n}");
        conns.push(c);
    }
    let opened = t.elapsed();
    for (i, c) in conns.iter_mut().enumerate() {
        assert_eq!(
            echoes(c).await,
            Some(true),
            "connection {i} after all were open"
        );
    }
    let m = http(api, "GET", "/metrics", None).await.body;
    let active = metric(
        &m,
        "shakedown_proxy_connections_active",
        &["proxy=\"scale\""],
    );
    assert_eq!(active, n as f64);
    let t = Instant::now();
    let r = http(api, "GET", "/version", None).await;
    assert_eq!(r.status, 200);
    eprintln!(
        "{n} concurrent proxied connections (serve's open-file limit {serve_limit}, fd budget {}), \
         opened in {opened:?}; /version answered in {:?}",
        v["fd_budget"],
        t.elapsed()
    );
    drop(conns);
    let _ = child.start_kill();
    let _ = child.wait().await;
}
