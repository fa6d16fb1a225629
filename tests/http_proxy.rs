//! HTTP mode end to end over real loopback sockets: a real hyper upstream, keep-alive
//! HTTP/1.1 and h2c clients, through an embedded control server.

mod support;

use std::time::Duration;

use support::http::*;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn forwards_keep_alive_and_h2c_with_forwarding_headers() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    let mut c = H1::connect(addr).await;
    for i in 0..5 {
        let got = c.get(&format!("/hello/{i}")).await.unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(
            got.text(),
            format!("GET /hello/{i} via=1.1 shakedown xff=127.0.0.1 host=example.test")
        );
        assert_eq!(got.headers["via"], "1.1 shakedown");
        assert!(got.marker().is_empty(), "no fault, no marker");
    }
    // Five requests, one client connection: keep-alive through the proxy.
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(
        metric(
            &m,
            "shakedown_proxy_connections_accepted_total",
            &["proxy=\"web\""]
        ),
        1.0
    );
    let mut h2 = H2::connect(addr).await;
    for _ in 0..3 {
        let got = h2.send(get_h2("/two")).await.unwrap();
        assert_eq!(got.status, 200);
        assert_eq!(
            got.text(),
            "GET /two via=2 shakedown xff=127.0.0.1 host=example.test"
        );
    }
    assert_eq!(up.requests(), 8);
    // The proxy JSON says it is in HTTP mode; a TCP proxy's JSON is Toxiproxy's, unchanged.
    let p = http(api, "GET", "/proxies/web", None).await.json();
    assert_eq!(
        (p["protocol"].as_str(), p["header_faults"].as_bool()),
        (Some("http"), Some(false))
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn tcp_toxics_still_apply_to_an_http_mode_proxy() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(
        api,
        "web",
        r#"{"name":"slow","type":"latency","attributes":{"latency":300}}"#,
    )
    .await;
    let mut c = H1::connect(addr).await;
    get_delayed(&mut c, "/x", Duration::from_millis(290)).await;
    srv.shutdown().await;
}

#[tokio::test]
async fn malformed_requests_get_400_and_the_proxy_keeps_serving() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    for garbage in [
        &b"NOT HTTP AT ALL\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
    ] {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(garbage).await.unwrap();
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(STEP, s.read_to_end(&mut raw))
            .await
            .expect("answer");
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 400"), "{garbage:?} -> {text:?}");
    }
    assert_eq!(up.requests(), 0, "nothing malformed reaches the upstream");
    let mut c = H1::connect(addr).await;
    assert_eq!(c.get("/after").await.unwrap().status, 200);
    srv.shutdown().await;
}

#[tokio::test]
async fn upstream_garbage_early_close_or_absence_is_a_502_with_a_reason() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (garbage, _g) = sending_upstream(b"this is not http\r\n\r\n".to_vec()).await;
    let (closing, _c) = sending_upstream(Vec::new()).await;
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for (name, up) in [("garbage", garbage), ("closing", closing), ("gone", gone)] {
        let addr = http_proxy(api, name, up, "").await;
        let mut c = H1::connect(addr).await;
        for _ in 0..2 {
            let got = c.get("/").await.unwrap();
            assert_eq!(got.status, 502, "{name}");
            let reason = got.headers["x-shakedown-error"]
                .to_str()
                .unwrap()
                .to_string();
            assert!(reason.starts_with("upstream: "), "{name}: {reason}");
            assert!(
                got.marker().is_empty(),
                "{name}: the proxy's own error is not a fault"
            );
        }
    }
    // An upstream that closes in the middle of a body: the status is already sent, so the
    // client's response ends early (an error on the body), and the proxy keeps serving.
    // It answers after reading the request, as servers do: an upstream that sends before it
    // was asked may be taken for a broken connection, answered with a 502 instead.
    let (short, _s) =
        answering_upstream(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..".to_vec())
            .await;
    let addr = http_proxy(api, "short", short, "").await;
    for _ in 0..20 {
        let got = H1::connect(addr).await.get("/").await;
        assert!(got.is_err(), "a short body is an error, got {got:?}");
    }
    let again = http(api, "GET", "/proxies/gone", None).await.json();
    let gone_addr = again["listen"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        H1::connect(gone_addr).await.get("/").await.unwrap().status,
        502
    );
    srv.shutdown().await;
}

/// Send `raw` on a fresh connection (then half-close it when `close`), read the proxy's answer.
async fn raw_exchange(addr: std::net::SocketAddr, raw: &[u8], close: bool) -> String {
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(raw).await.unwrap();
    if close {
        c.shutdown().await.unwrap();
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    // Up to the end of the proxy's short answer (it may keep the connection open).
    while !String::from_utf8_lossy(&got).contains("shakedown:") {
        match tokio::time::timeout(STEP, c.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&got).to_string()
}

#[tokio::test]
async fn a_request_body_the_client_botched_is_a_400_blamed_on_the_client() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    let head = "POST /sink HTTP/1.1\r\nHost: example.test\r\n";
    let cases = [
        // A chunk size that is not hex.
        (
            format!("{head}Transfer-Encoding: chunked\r\n\r\nZZZ\r\nabc\r\n0\r\n\r\n"),
            false,
        ),
        // A close in the middle of the body (90 of 100 bytes missing).
        (format!("{head}Content-Length: 100\r\n\r\nonly ten.."), true),
    ];
    for (raw, close) in &cases {
        let got = raw_exchange(addr, raw.as_bytes(), *close).await;
        let first = got.lines().next().unwrap_or_default();
        assert!(first.starts_with("HTTP/1.1 400"), "{raw:?}: {got}");
        assert!(
            got.to_lowercase().contains("x-shakedown-error: client: "),
            "{raw:?}: {got}"
        );
    }
    // Counted as answered, not as errors (the upstream did nothing wrong).
    let m = http(api, "GET", "/metrics", None).await.body;
    let count = |name| metric(&m, name, &["proxy=\"web\""]);
    assert_eq!(count("shakedown_proxy_http_requests_total"), 2.0);
    assert_eq!(count("shakedown_proxy_http_errors_total"), 0.0);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_100_mb_body_streams_both_ways() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    let n: u64 = 100 * 1024 * 1024;
    let mut c = H1::connect(addr).await;
    let got = c.send(post_streamed("/sink", n)).await.unwrap();
    assert_eq!((got.status.as_u16(), got.text()), (200, n.to_string()));
    // Downstream: read it frame by frame without keeping it.
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(get(&format!("/big?n={n}")))
        .await
        .unwrap();
    let mut body = resp.into_body();
    let mut total = 0u64;
    use http_body_util::BodyExt;
    while let Some(frame) = tokio::time::timeout(STEP, body.frame()).await.unwrap() {
        total += frame.unwrap().data_ref().map_or(0, |d| d.len() as u64);
    }
    assert_eq!(total, n);
    srv.shutdown().await;
}

#[tokio::test]
async fn protocol_is_checked_on_create_update_and_config() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let body = format!(
        r#"{{"name":"p","upstream":"{}","protocol":"gopher"}}"#,
        up.addr
    );
    let r = http(api, "POST", "/proxies", Some(&body)).await;
    assert_eq!(r.status, 400);
    assert!(
        r.body
            .contains("protocol: expected \\\"tcp\\\" or \\\"http\\\", got \\\"gopher\\\""),
        "{}",
        r.body
    );
    // A TCP proxy refuses an HTTP toxic, and a proxy with one cannot go back to TCP.
    let addr = create_proxy(api, "t", up.addr).await;
    let r = http(
        api,
        "POST",
        "/proxies/t/toxics",
        Some(r#"{"name":"a","type":"http_abort","attributes":{"status":503}}"#),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("http_abort needs an HTTP-mode proxy"),
        "{}",
        r.body
    );
    assert_eq!(
        http(api, "GET", "/proxies/t/toxics", None).await.json(),
        serde_json::json!([])
    );
    // Switch it to HTTP: the next connection is served as HTTP.
    let r = http(api, "POST", "/proxies/t", Some(r#"{"protocol":"http"}"#)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    add_toxic(
        api,
        "t",
        r#"{"name":"a","type":"http_abort","attributes":{"status":503}}"#,
    )
    .await;
    let mut c = H1::connect(addr).await;
    assert_eq!(c.get("/").await.unwrap().status, 503);
    let r = http(api, "POST", "/proxies/t", Some(r#"{"protocol":"tcp"}"#)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        http(api, "GET", "/proxies/t", None).await.json()["protocol"],
        "http"
    );
    // /populate takes the protocol too.
    let body = format!(
        r#"[{{"name":"pop","upstream":"{}","protocol":"http","toxics":[{{"name":"a","type":"http_abort","attributes":{{"status":418}}}}]}}]"#,
        up.addr
    );
    let r = http(api, "POST", "/populate", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listen: std::net::SocketAddr =
        http(api, "GET", "/proxies/pop", None).await.json()["listen"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
    assert_eq!(
        H1::connect(listen).await.get("/").await.unwrap().status,
        418
    );
    // A Toxiproxy client's /populate (no `protocol`) keeps the proxy in HTTP mode, so it can
    // give it HTTP toxics (toxiproxy_rust sends integer attributes only).
    let body = format!(
        r#"[{{"name":"pop","listen":"{listen}","upstream":"{}","enabled":true,"toxics":[{{"name":"b","type":"http_abort","stream":"downstream","toxicity":1.0,"attributes":{{"status":503}}}}]}}]"#,
        up.addr
    );
    let r = http(api, "POST", "/populate", Some(&body)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        http(api, "GET", "/proxies/pop", None).await.json()["protocol"],
        "http"
    );
    assert_eq!(
        H1::connect(listen).await.get("/").await.unwrap().status,
        503
    );
    srv.shutdown().await;
}
