//! What an HTTP-mode proxy holds follows the control plane (issue 9): deleting or replacing a
//! proxy ends its requests in flight (nothing reaches the upstream afterwards), and removing
//! or updating an HTTP toxic releases or re-times the requests it holds, over real loopback
//! sockets.
//!
//! Without the fixes each wait below takes the toxic's full 8–60 s, so the few-second bounds
//! separate the cases on a busy machine.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::http::*;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How promptly a change must reach a held request.
const PROMPTLY: Duration = Duration::from_secs(4);

/// Send a raw HTTP/1.1 GET for `path` on a fresh connection to `addr`.
async fn raw_get(addr: SocketAddr, path: &str) -> TcpStream {
    let mut c = TcpStream::connect(addr).await.expect("connect proxy");
    let req = format!("GET {path} HTTP/1.1\r\nHost: example.test\r\n\r\n");
    c.write_all(req.as_bytes()).await.expect("send");
    c
}

/// Read until the proxy closes the connection or `within` passes: the bytes read and whether
/// it closed.
async fn read_until_closed(c: &mut TcpStream, within: Duration) -> (Vec<u8>, bool) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(end, c.read(&mut buf)).await {
            Err(_) => return (got, false),
            Ok(Ok(0) | Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The ways a proxy stops serving its connections: deleted, replaced by `/populate`,
/// disabled.
const GONE: [&str; 3] = ["delete", "populate", "disable"];

async fn remove_proxy(api: SocketAddr, name: &str, how: &str, upstream: SocketAddr) {
    let r = match how {
        "delete" => http(api, "DELETE", &format!("/proxies/{name}"), None).await,
        "disable" => {
            let path = format!("/proxies/{name}");
            http(api, "POST", &path, Some(r#"{"enabled":false}"#)).await
        }
        // Replaced by a proxy of the same name elsewhere.
        _ => {
            let body = format!(
                r#"[{{"name":"{name}","listen":"127.0.0.1:0","upstream":"{upstream}","protocol":"http"}}]"#
            );
            http(api, "POST", "/populate", Some(&body)).await
        }
    };
    assert!((200..=204).contains(&r.status), "{how}: {}", r.body);
}

/// One case: a request held by a 3 s `http_delay` on a connection served directly or relayed
/// (`tcp`: a `noop` TCP toxic), over HTTP/1.1 or h2c (`h2`), when the proxy goes (`how`).
async fn held_request_ends(tcp: bool, h2: bool, how: &str) {
    let case = format!("tcp={tcp} h2={h2} {how}");
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    if tcp {
        add_toxic(api, "web", r#"{"name":"tcp","type":"noop"}"#).await;
    }
    add_toxic(
        api,
        "web",
        r#"{"name":"slow","type":"http_delay","attributes":{"delay":3000}}"#,
    )
    .await;
    let client = if h2 {
        let mut c = H2::connect(addr).await;
        tokio::spawn(async move { c.send(get_h2("/held")).await.map(|g| g.status) })
    } else {
        let mut c = H1::connect(addr).await;
        tokio::spawn(async move { c.get("/held").await.map(|g| g.status) })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let t = Instant::now();
    remove_proxy(api, "web", how, up.addr).await;
    let answered = tokio::time::timeout(PROMPTLY, client)
        .await
        .unwrap_or_else(|_| panic!("{case}: the held request went on after the proxy went"))
        .expect("client task");
    assert!(answered.is_err(), "{case}: answered {answered:?}");
    // Past the delay: the request never reached the upstream.
    tokio::time::sleep_until(t + Duration::from_millis(3500)).await;
    assert_eq!(up.requests(), 0, "{case}: forwarded after the proxy went");
    srv.shutdown().await;
}

#[tokio::test]
async fn deleting_replacing_or_disabling_a_proxy_ends_its_held_requests() {
    let mut cases = Vec::new();
    for tcp in [false, true] {
        for h2 in [false, true] {
            for how in GONE {
                cases.push(tokio::spawn(held_request_ends(tcp, h2, how)));
            }
        }
    }
    all_pass(cases).await;
}

/// Await every case; fail with the message of each that failed.
async fn all_pass(cases: Vec<tokio::task::JoinHandle<()>>) {
    let mut failed = Vec::new();
    for case in cases {
        if let Err(e) = case.await {
            let panic = e.into_panic();
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(text);
        }
    }
    assert!(
        failed.is_empty(),
        "{} failed:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

#[tokio::test]
async fn deleting_a_proxy_stops_a_throttled_body() {
    for tcp in ["", "noop"] {
        let srv = server(1).await;
        let api = srv.local_addr();
        let up = Upstream::start().await;
        let addr = http_proxy(api, "web", up.addr, "").await;
        if !tcp.is_empty() {
            add_toxic(api, "web", r#"{"name":"tcp","type":"noop"}"#).await;
        }
        add_toxic(
            api,
            "web",
            r#"{"name":"slow","type":"http_throttle","attributes":{"rate":10}}"#,
        )
        .await;
        // 400 KB at 10 KB/s: 40 s.
        let mut c = raw_get(addr, "/big?n=400000").await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        http(api, "DELETE", "/proxies/web", None).await;
        let (got, closed) = read_until_closed(&mut c, PROMPTLY).await;
        assert!(closed, "{tcp}: the body kept flowing after the DELETE");
        assert!(got.len() < 100_000, "{tcp}: {} bytes", got.len());
        srv.shutdown().await;
    }
}
