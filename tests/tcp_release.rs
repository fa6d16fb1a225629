//! What a toxic has queued follows the toxic's current state (issue 8, item 4c): removing a
//! toxic, updating it, or `POST /reset` re-times the data it holds on live connections, over
//! real loopback sockets.
//!
//! Without the fix each wait below takes minutes to hours (the data stays on the removed
//! toxic's schedule), so the 3–10 s bounds separate the cases on a busy machine.

mod support;

use std::time::Duration;

use support::proxy::*;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How promptly released data must arrive.
const PROMPTLY: Duration = Duration::from_secs(3);

/// The three ways a toxic stops holding data back.
const ACTIONS: [&str; 3] = ["delete", "update", "reset"];

async fn act(api: std::net::SocketAddr, proxy: &str, toxic: &str, action: &str, patch: &str) {
    let r = match action {
        "delete" => {
            let path = format!("/proxies/{proxy}/toxics/{toxic}");
            http(api, "DELETE", &path, None).await
        }
        "update" => {
            let path = format!("/proxies/{proxy}/toxics/{toxic}");
            http(api, "PATCH", &path, Some(patch)).await
        }
        _ => http(api, "POST", "/reset", None).await,
    };
    assert!(r.status == 200 || r.status == 204, "{action}: {}", r.body);
}

#[tokio::test]
async fn a_busy_connection_leaves_a_removed_or_faster_bandwidth_at_once() {
    for action in ACTIONS {
        let srv = server(1).await;
        let api = srv.local_addr();
        let (up, _rx) = flooding_upstream(vec![b'x'; 64 * 1024]).await;
        let addr = create_proxy(api, "bw", up).await;
        add_toxic(
            api,
            "bw",
            r#"{"name":"slow","type":"bandwidth","attributes":{"rate":1}}"#,
        )
        .await;
        let mut c = TcpStream::connect(addr).await.unwrap();
        // One second at 1 KB/s: the proxy has read megabytes and queued them on the toxic.
        let mut buf = vec![0u8; 64 * 1024];
        let start = Instant::now();
        let mut early = 0;
        while start.elapsed() < Duration::from_secs(1) {
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(200), c.read(&mut buf)).await
            {
                early += n;
            }
        }
        assert!(early < 10_000, "{action}: throttled before: {early} bytes");
        act(
            api,
            "bw",
            "slow",
            action,
            r#"{"attributes":{"rate":1000000}}"#,
        )
        .await;
        // 2 MB would take 2,000 s at the old rate; at once it takes milliseconds.
        let t = Instant::now();
        let got = tokio::time::timeout(
            Duration::from_secs(10),
            c.read_exact(&mut vec![0u8; 2_000_000]),
        )
        .await;
        assert!(
            matches!(got, Ok(Ok(_))),
            "{action}: 2 MB not delivered within 10 s of the change"
        );
        assert!(t.elapsed() < Duration::from_secs(10), "{action}");
        srv.shutdown().await;
    }
}

#[tokio::test]
async fn latency_slicer_and_slow_close_release_what_they_hold() {
    // (toxic, patch that makes it harmless, payload)
    let cases = [
        (
            r#"{"name":"t","type":"latency","attributes":{"latency":60000}}"#,
            r#"{"attributes":{"latency":0}}"#,
            b"hello".to_vec(),
        ),
        (
            // One byte per second: 100 s for the payload.
            r#"{"name":"t","type":"slicer","attributes":{"average_size":1,"delay":1000000}}"#,
            r#"{"attributes":{"delay":0}}"#,
            vec![b's'; 100],
        ),
        (
            r#"{"name":"t","type":"slow_close","attributes":{"delay":60000}}"#,
            r#"{"attributes":{"delay":0}}"#,
            b"bye".to_vec(),
        ),
    ];
    for (toxic, patch, payload) in cases {
        for action in ACTIONS {
            let srv = server(1).await;
            let api = srv.local_addr();
            let (up, _u) = sending_upstream(payload.clone()).await;
            let addr = create_proxy(api, "p", up).await;
            add_toxic(api, "p", toxic).await;
            let mut c = TcpStream::connect(addr).await.unwrap();
            tokio::time::sleep(Duration::from_millis(300)).await;
            act(api, "p", "t", action, patch).await;
            let t = Instant::now();
            let (data, end) = read_to_end(&mut c).await;
            end.unwrap();
            assert_eq!(data, payload, "{toxic} {action}");
            assert!(
                t.elapsed() < PROMPTLY,
                "{toxic} {action}: data and FIN took {:?} after the change",
                t.elapsed()
            );
            srv.shutdown().await;
        }
    }
}
