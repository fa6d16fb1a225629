//! Issue 8 item 20: every toxic kind's counters prove that it landed. For each kind in
//! `ToxicKind::TYPES` (so a new kind must be added here), a connection it acts on moves
//! `shakedown_toxic_connections_affected_total` (and, for kinds that act on data,
//! `shakedown_toxic_bytes_affected_total`).
//!
//! `refuse_new` at toxicity 1 closes the listening socket, so the kernel refuses connects
//! and the proxy never sees them: its proof is `shakedown_proxy_listening 0`; below 1 the
//! proxy resets each affected connection itself and counts it.

mod support;

use std::time::Duration;

use shakedown::fault::ToxicKind;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The toxic (named `t`, downstream) for each kind, and whether it acts on data.
fn toxic(kind: &str) -> (String, bool) {
    let (attrs, toxicity, data) = match kind {
        "latency" => (r#"{"latency":10}"#, 1.0, true),
        "bandwidth" => (r#"{"rate":100}"#, 1.0, true),
        "slow_close" => (r#"{"delay":10}"#, 1.0, true),
        "timeout" => (r#"{"timeout":0}"#, 1.0, true),
        "reset_peer" => (r#"{"timeout":500}"#, 1.0, true),
        "slicer" => (r#"{"average_size":2,"delay":10}"#, 1.0, true),
        "limit_data" => (r#"{"bytes":2}"#, 1.0, true),
        "noop" => ("{}", 1.0, true),
        "slow_open" => (r#"{"delay":10}"#, 1.0, false),
        // Below 1 the listener stays open and the proxy resets the connections it refuses.
        "refuse_new" => ("{}", 0.999_999, false),
        other => panic!("add a case for the new toxic kind {other:?}"),
    };
    let json = format!(
        r#"{{"name":"t","type":"{kind}","stream":"downstream","toxicity":{toxicity},"attributes":{attrs}}}"#
    );
    (json, data)
}

#[tokio::test]
async fn every_kind_counts_the_connections_and_bytes_it_affects() {
    for &kind in ToxicKind::TYPES {
        if kind.starts_with("http_") || kind == "grpc_abort" {
            // Counted per request: tests/http_faults.rs, every_http_kind_counts_….
            continue;
        }
        let srv = server(1).await;
        let api = srv.local_addr();
        let (up, _u) = echo_upstream().await;
        let addr = create_proxy(api, "p", up).await;
        let (body, data) = toxic(kind);
        add_toxic(api, "p", &body).await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        let _ = c.write_all(b"hello").await;
        let mut buf = [0u8; 16];
        let _ = tokio::time::timeout(Duration::from_millis(300), c.read(&mut buf)).await;
        let m = http(api, "GET", "/metrics", None).await.body;
        let labels = ["proxy=\"p\"", "toxic=\"t\""];
        let conns = metric(&m, "shakedown_toxic_connections_affected_total", &labels);
        assert_eq!(conns, 1.0, "{kind}: connections affected\n{m}");
        let bytes = metric(&m, "shakedown_toxic_bytes_affected_total", &labels);
        if data {
            assert!(bytes >= 1.0, "{kind}: bytes affected\n{m}");
        }
        assert_eq!(request_series(&m, "t"), 0, "{kind}: request series\n{m}");
        srv.shutdown().await;
    }
}

/// How many `shakedown_toxic_requests_*` series `/metrics` text has for toxic `name`.
fn request_series(m: &str, name: &str) -> usize {
    let label = format!("toxic=\"{name}\"");
    m.lines()
        .filter(|l| l.starts_with("shakedown_toxic_requests_") && l.contains(&label))
        .count()
}

#[tokio::test]
async fn request_series_are_emitted_for_http_toxics_only() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    create_proxy(api, "p", up).await;
    add_toxic(
        api,
        "p",
        r#"{"name":"tcp","type":"latency","attributes":{"latency":1}}"#,
    )
    .await;
    let body =
        format!(r#"{{"name":"h","listen":"127.0.0.1:0","upstream":"{up}","protocol":"http"}}"#);
    assert_eq!(http(api, "POST", "/proxies", Some(&body)).await.status, 201);
    add_toxic(
        api,
        "h",
        r#"{"name":"web","type":"http_abort","toxicity":0,"attributes":{"status":503}}"#,
    )
    .await;
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(request_series(&m, "tcp"), 0, "{m}");
    // matched, faulted and passed, each at 0 until a request comes
    assert_eq!(request_series(&m, "web"), 3, "{m}");
    assert!(
        m.contains("shakedown_toxic_connections_affected_total{proxy=\"p\",toxic=\"tcp\""),
        "{m}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn refuse_new_at_toxicity_one_shows_its_closed_listener() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "p", up).await;
    let listening = |m: &str| metric(m, "shakedown_proxy_listening", &["proxy=\"p\""]);
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(listening(&m), 1.0, "{m}");
    add_toxic(api, "p", r#"{"name":"t","type":"refuse_new"}"#).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "refused by the kernel"
    );
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(listening(&m), 0.0, "{m}");
    remove_toxic(api, "p", "t").await;
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(listening(&m), 1.0, "{m}");
    srv.shutdown().await;
}

/// `shakedown_proxy_bytes_total` of proxy `p` in one stream.
fn proxy_bytes(m: &str, stream: &str) -> f64 {
    let label = format!("stream=\"{stream}\"");
    metric(m, "shakedown_proxy_bytes_total", &["proxy=\"p\"", &label])
}

#[tokio::test]
async fn byte_totals_show_while_connections_stay_open_and_are_exact_once_they_close() {
    // Small exchanges on connections that stay open show up while they are open, and the
    // totals are exact once every connection has closed, bulk (spliced) and small chunks
    // alike. (A write is counted just after its syscall, so a reader can see its bytes
    // before the counter does: the open view is polled until it agrees.)
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "p", up).await;
    let mut conns = Vec::new();
    let mut total = 0u64;
    for i in 0..4usize {
        let mut c = TcpStream::connect(addr).await.unwrap();
        for j in 0..=i {
            let chunk = vec![b'a' + j as u8; 13 + i];
            c.write_all(&chunk).await.unwrap();
            assert_eq!(read_n(&mut c, chunk.len()).await, chunk);
            total += chunk.len() as u64;
        }
        conns.push(c);
    }
    let started = tokio::time::Instant::now();
    loop {
        let m = http(api, "GET", "/metrics", None).await.body;
        let (upward, downward) = (proxy_bytes(&m, "upstream"), proxy_bytes(&m, "downstream"));
        if (upward, downward) == (total as f64, total as f64) {
            break;
        }
        // 10 s allows for a loaded machine.
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "open connections' {total} bytes each way not shown: {upward} up, {downward} down"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "open connections' bytes shown after {:?}",
        started.elapsed()
    );
    // More on each: a bulk burst (past the 64 KiB splice switch) and a few small bytes,
    // then close them all.
    let bulk = vec![7u8; 300 * 1024 + 5];
    for c in &mut conns {
        let (mut r, mut w) = c.split();
        let echo = async {
            let mut back = vec![0u8; bulk.len() + 9];
            r.read_exact(&mut back).await.unwrap();
        };
        let send = async {
            w.write_all(&bulk).await.unwrap();
            w.write_all(b"123456789").await.unwrap();
        };
        tokio::join!(echo, send);
        total += bulk.len() as u64 + 9;
    }
    drop(conns);
    let m = metrics_once_closed(api, "p").await;
    assert_eq!(proxy_bytes(&m, "upstream"), total as f64, "{m}");
    assert_eq!(proxy_bytes(&m, "downstream"), total as f64, "{m}");
    srv.shutdown().await;
}
