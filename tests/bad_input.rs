//! Bad input over real HTTP: each gets a clear 4xx body naming the field, and the server keeps serving.

mod support;

use serde_json::Value;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn expect_error(
    api: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
    status: u16,
    says: &str,
) {
    let r = http(api, method, path, Some(body)).await;
    assert_eq!(r.status, status, "{method} {path} {body}: {}", r.body);
    let v: Value = r.json();
    let msg = v["error"].as_str().unwrap_or_default();
    assert!(msg.contains(says), "{body}: expected {says:?} in {msg:?}");
    assert_eq!(v["status"], status);
}

#[tokio::test]
async fn bad_bodies_name_the_field_and_the_server_keeps_serving() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    create_proxy(api, "p", up).await;
    let toxics = "/proxies/p/toxics";
    expect_error(
        api,
        "POST",
        "/proxies",
        "{not json",
        400,
        "bad request body: key must be a string",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":5,"upstream":"x:1"}"#,
        400,
        "name: expected a string, got 5",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"q","upstream":"127.0.0.1:1","enabled":"yes"}"#,
        400,
        "enabled: expected true or false",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"q","upstream":"127.0.0.1:1","colour":1}"#,
        400,
        "colour: unknown field",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","toxicity":1.5}"#,
        400,
        "toxicity: must be between 0 and 1, got 1.5",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","toxicity":"high"}"#,
        400,
        "toxicity: expected a number",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"bandwidth","attributes":{"rate":0}}"#,
        400,
        "attributes.rate: must be > 0",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","attributes":{"latency":31536000000}}"#,
        400,
        "attributes.latency: must be at most 86400000 ms",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","attributes":{"latency":-5}}"#,
        400,
        "attributes.latency: expected a non-negative integer, got -5",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","attributes":{"latency":"100ms"}}"#,
        400,
        "attributes.latency",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"teleport"}"#,
        400,
        "invalid toxic type",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"latency","stream":"sideways"}"#,
        400,
        "stream was invalid",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"noop","lease_ms":0}"#,
        400,
        "lease_ms",
    )
    .await;
    expect_error(
        api,
        "POST",
        toxics,
        r#"{"type":"noop","attributes":[1]}"#,
        400,
        "attributes: expected an object",
    )
    .await;
    // Upstreams that cannot resolve. (Names that would need a DNS server are
    // avoided: tests send traffic only to 127.0.0.0/8.)
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"u","upstream":"localhost"}"#,
        400,
        "upstream: cannot resolve \"localhost\"",
    )
    .await;
    expect_error(
        api,
        "POST",
        "/proxies",
        r#"{"name":"u","upstream":"localhost:99999"}"#,
        400,
        "upstream: cannot resolve",
    )
    .await;
    // A listen port already in use.
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let body = format!(
        r#"{{"name":"dup","listen":"{}","upstream":"{up}"}}"#,
        taken.local_addr().unwrap()
    );
    expect_error(api, "POST", "/proxies", &body, 409, "listen: address").await;
    assert_eq!(
        http(api, "GET", "/proxies/dup", None).await.status,
        404,
        "no half-made proxy"
    );
    // Still serving, and nothing was half-applied.
    let r = http(api, "GET", "/proxies/p/toxics", None).await;
    assert_eq!((r.status, r.body.as_str()), (200, "[]"));
    srv.shutdown().await;
}

#[tokio::test]
async fn a_100_mb_body_is_refused_with_413() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let mut s = TcpStream::connect(api).await.unwrap();
    let size = 100 * 1024 * 1024;
    let head = format!(
        "POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let (mut r, mut w) = s.into_split();
    // Stream the body concurrently; the server may stop reading (and reset) at any point.
    let writer = tokio::spawn(async move {
        let chunk = vec![b' '; 1024 * 1024];
        for _ in 0..100 {
            if w.write_all(&chunk).await.is_err() {
                break;
            }
        }
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&raw).contains("\"status\":413") {
        match tokio::time::timeout(STEP, r.read(&mut buf))
            .await
            .expect("no answer")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let reply = parse_reply(&raw);
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert!(
        reply.body.contains("request body too large"),
        "{}",
        reply.body
    );
    writer.abort();
    // Chunked bodies are capped too.
    let mut s = TcpStream::connect(api).await.unwrap();
    let mut req =
        b"POST /populate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..3 {
        req.extend_from_slice(b"80000\r\n");
        req.extend_from_slice(&vec![b' '; 0x80000]);
        req.extend_from_slice(b"\r\n");
    }
    let _ = s.write_all(&req).await;
    let mut raw = Vec::new();
    while !String::from_utf8_lossy(&raw).contains("\"status\":413") {
        match tokio::time::timeout(STEP, s.read(&mut buf))
            .await
            .expect("no answer")
        {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    assert_eq!(parse_reply(&raw).status, 413);
    // And the server keeps serving.
    assert_eq!(http(api, "GET", "/version", None).await.status, 200);
    srv.shutdown().await;
}
