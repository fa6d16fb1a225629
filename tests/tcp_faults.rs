//! Every toxic end to end over real loopback sockets, through an embedded control server.
//!
//! Timing margins: the machine has 2 shared cores, so every lower bound
//! allows ~15% early wake-up slack only where the proxy itself schedules the
//! delay (tokio timers never fire early), and every upper bound is several
//! times the expected value.

mod support;

use std::time::Duration;

use shakedown::fault::roll::DecisionKey;
use support::proxy::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

#[tokio::test]
async fn plain_proxy_echoes_and_counts_bytes() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "echo", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"hello").await.unwrap();
    assert_eq!(read_n(&mut c, 5).await, b"hello");
    drop(c);
    // Byte counts are exact once the connection has closed (a write is counted just after
    // its syscall, which the reader of the echo can beat).
    let m = metrics_once_closed(api, "echo").await;
    assert_eq!(
        metric(
            &m,
            "shakedown_proxy_connections_accepted_total",
            &["proxy=\"echo\""]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "shakedown_proxy_bytes_total",
            &["stream=\"downstream\""]
        ),
        5.0
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn latency_is_measured_from_each_chunk_and_does_not_add_up() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "lat", up).await;
    add_toxic(
        api,
        "lat",
        r#"{"type":"latency","attributes":{"latency":300}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    let start = Instant::now();
    // Five chunks 50 ms apart; echoed after 300 ms each. If delays added up
    // the last would come after 1.5 s; measured from arrival it is ~0.5 s.
    for i in 0..5u8 {
        c.write_all(&[b'a' + i]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = read_n(&mut c, 1).await;
    let first_at = start.elapsed();
    let rest = read_n(&mut c, 4).await;
    let last_at = start.elapsed();
    assert_eq!([first, rest].concat(), b"abcde");
    assert!(first_at >= Duration::from_millis(290), "{first_at:?}");
    assert!(
        last_at < Duration::from_millis(1_200),
        "delays added up: {last_at:?}"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn bandwidth_limits_throughput() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = sending_upstream(vec![7u8; 50_000]).await;
    let addr = create_proxy(api, "bw", up).await;
    add_toxic(
        api,
        "bw",
        r#"{"type":"bandwidth","attributes":{"rate":100}}"#,
    )
    .await;
    let start = Instant::now();
    let mut c = TcpStream::connect(addr).await.unwrap();
    let (data, end) = read_to_end(&mut c).await;
    let took = start.elapsed();
    end.unwrap();
    assert_eq!(data.len(), 50_000);
    // 50 KB at 100 KB/s = 0.5 s.
    assert!(took >= Duration::from_millis(450), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn slow_close_holds_back_the_fin() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = sending_upstream(b"bye".to_vec()).await;
    let addr = create_proxy(api, "sc", up).await;
    add_toxic(
        api,
        "sc",
        r#"{"type":"slow_close","attributes":{"delay":500}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    assert_eq!(read_n(&mut c, 3).await, b"bye");
    let data_at = Instant::now();
    let (rest, end) = read_to_end(&mut c).await;
    end.unwrap();
    assert!(rest.is_empty());
    assert!(
        data_at.elapsed() >= Duration::from_millis(400),
        "{:?}",
        data_at.elapsed()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn timeout_zero_is_a_blackhole_until_removed_and_timeout_closes() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "to", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"1").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"1");
    add_toxic(
        api,
        "to",
        r#"{"name":"hole","type":"timeout","attributes":{"timeout":0}}"#,
    )
    .await;
    c.write_all(b"2").await.unwrap();
    let mut b = [0u8; 1];
    let silent = tokio::time::timeout(Duration::from_millis(400), c.read(&mut b)).await;
    assert!(silent.is_err(), "data passed a blackhole: {silent:?}");
    // Read while the toxic exists: a removed toxic's series goes with it.
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(
        metric(
            &m,
            "shakedown_toxic_bytes_affected_total",
            &["toxic=\"hole\""]
        ),
        1.0
    );
    remove_toxic(api, "to", "hole").await;
    c.write_all(b"3").await.unwrap();
    assert_eq!(
        read_n(&mut c, 1).await,
        b"3",
        "dropped data must stay dropped"
    );

    add_toxic(
        api,
        "to",
        r#"{"type":"timeout","attributes":{"timeout":300}}"#,
    )
    .await;
    let start = Instant::now();
    let (_, end) = read_to_end(&mut c).await;
    assert!(end.is_ok(), "timeout closes with FIN: {end:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn reset_peer_sends_a_real_rst_on_existing_connections() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "rst", up).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"x").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"x");
    add_toxic(
        api,
        "rst",
        r#"{"type":"reset_peer","attributes":{"timeout":0}}"#,
    )
    .await;
    let (_, end) = read_to_end(&mut c).await;
    let err = end.expect_err("expected a reset, got a clean close");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    srv.shutdown().await;
}

#[tokio::test]
async fn reset_peer_with_toxicity_zero_changes_nothing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = sending_upstream(b"ok".to_vec()).await;
    let addr = create_proxy(api, "rst0", up).await;
    add_toxic(
        api,
        "rst0",
        r#"{"type":"reset_peer","toxicity":0,"attributes":{"timeout":0}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    let (data, end) = read_to_end(&mut c).await;
    assert_eq!(data, b"ok");
    assert!(end.is_ok(), "normal close must stay a FIN: {end:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn slicer_cuts_and_paces_chunks() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = sending_upstream((0..100u8).collect()).await;
    let addr = create_proxy(api, "sl", up).await;
    // 10 slices of 10 bytes, 30 ms (30,000 µs) apart: ≥ 270 ms in all.
    add_toxic(
        api,
        "sl",
        r#"{"type":"slicer","attributes":{"average_size":10,"size_variation":0,"delay":30000}}"#,
    )
    .await;
    let start = Instant::now();
    let mut c = TcpStream::connect(addr).await.unwrap();
    let mut reads = 0;
    let mut data = Vec::new();
    let mut buf = [0u8; 1000];
    while data.len() < 100 && reads < 200 {
        let n = tokio::time::timeout(STEP, c.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        data.extend_from_slice(&buf[..n]);
        reads += 1;
    }
    assert_eq!(data, (0..100u8).collect::<Vec<_>>());
    assert!(reads >= 5, "slices arrived in {reads} reads");
    assert!(
        start.elapsed() >= Duration::from_millis(240),
        "{:?}",
        start.elapsed()
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn limit_data_passes_the_budget_then_closes() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = sending_upstream(vec![1u8; 100]).await;
    let addr = create_proxy(api, "ld", up).await;
    add_toxic(
        api,
        "ld",
        r#"{"type":"limit_data","attributes":{"bytes":10}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    let (data, _) = read_to_end(&mut c).await;
    assert_eq!(data.len(), 10);
    srv.shutdown().await;
}

#[tokio::test]
async fn upstream_limit_data_cuts_requests() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "ldu", up).await;
    add_toxic(
        api,
        "ldu",
        r#"{"type":"limit_data","stream":"upstream","attributes":{"bytes":4}}"#,
    )
    .await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"abcdefgh").await.unwrap();
    let (data, _) = read_to_end(&mut c).await;
    assert!(data.len() <= 4, "{data:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn noop_passes_and_is_counted() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "np", up).await;
    add_toxic(api, "np", r#"{"type":"noop"}"#).await;
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"abc").await.unwrap();
    assert_eq!(read_n(&mut c, 3).await, b"abc");
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(
        metric(
            &m,
            "shakedown_toxic_connections_affected_total",
            &["toxic=\"noop_downstream\""]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &m,
            "shakedown_toxic_bytes_affected_total",
            &["toxic=\"noop_downstream\""]
        ),
        3.0
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn slow_open_delays_the_dial() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "so", up).await;
    add_toxic(
        api,
        "so",
        r#"{"type":"slow_open","attributes":{"delay":300}}"#,
    )
    .await;
    let start = Instant::now();
    let mut c = TcpStream::connect(addr).await.unwrap();
    c.write_all(b"q").await.unwrap();
    assert_eq!(read_n(&mut c, 1).await, b"q");
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "{:?}",
        start.elapsed()
    );
    srv.shutdown().await;
}

/// Which of `n` sequential connections a 0.5-toxicity latency toxic slowed.
async fn slowed(seed: u64, n: u64) -> Vec<bool> {
    let srv = server(seed).await;
    let api = srv.local_addr();
    let (up, _u) = echo_upstream().await;
    let addr = create_proxy(api, "seeded", up).await;
    add_toxic(
        api,
        "seeded",
        r#"{"name":"coin","type":"latency","toxicity":0.5,"attributes":{"latency":250}}"#,
    )
    .await;
    let mut out = Vec::new();
    for _ in 0..n {
        let mut c = TcpStream::connect(addr).await.unwrap();
        let t = Instant::now();
        c.write_all(b"?").await.unwrap();
        read_n(&mut c, 1).await;
        // 250 ms vs ~0: classify at 200 ms (timers never fire early).
        out.push(t.elapsed() >= Duration::from_millis(200));
    }
    srv.shutdown().await;
    out
}

#[tokio::test]
async fn toxicity_is_deterministic_under_a_seed() {
    let n = 10;
    let expected: Vec<bool> = (1..=n)
        .map(|connection| {
            let key = DecisionKey {
                seed: 77,
                proxy: "seeded",
                connection,
                toxic: "coin",
            };
            key.draw() < 0.5
        })
        .collect();
    assert!(
        expected.contains(&true) && expected.contains(&false),
        "pick a seed with both outcomes"
    );
    assert_eq!(slowed(77, n).await, expected);
}
