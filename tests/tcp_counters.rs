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
        srv.shutdown().await;
    }
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
