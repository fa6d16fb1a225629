//! The load driver through a real HTTP-mode proxy's toxics: a response a toxic only delayed,
//! throttled or left as it was carries the `x-shakedown-fault` marker and is a success; a
//! marked failure (an abort's 503, a `grpc_abort`'s HTTP 200 with a gRPC error) is `injected`.

mod support;

use std::time::Duration;

use support::http::Upstream;
use support::load::load_report;
use support::proxy::{add_toxic, remove_toxic, server};

const LIMIT: Duration = Duration::from_secs(60);

/// Each toxic alone on an HTTP-mode proxy, under `shakedown load --rate 40/s --duration 1s`:
/// how many requests were ok and how many `injected`. Ground truth: the proxy's own marker
/// (checked by a direct request) and the upstream's request count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marked_success_is_a_success_and_a_marked_failure_is_injected() {
    let srv = server(7).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = support::http::http_proxy(api, "web", up.addr, "").await;
    let url = format!("http://{addr}/health");
    // (toxic, whether its answers are failures)
    let cases = [
        (
            r#"{"name":"t","type":"http_delay","attributes":{"delay":0}}"#,
            false,
        ),
        (
            r#"{"name":"t","type":"http_delay","attributes":{"delay":10}}"#,
            false,
        ),
        (
            r#"{"name":"t","type":"http_throttle","attributes":{"rate":1000000000}}"#,
            false,
        ),
        (
            r#"{"name":"t","type":"http_tamper","attributes":{}}"#,
            false,
        ),
        (
            r#"{"name":"t","type":"http_abort","attributes":{"status":503}}"#,
            true,
        ),
        (
            r#"{"name":"t","type":"grpc_abort","attributes":{"code":14}}"#,
            true,
        ),
    ];
    for (toxic, fails) in cases {
        add_toxic(api, "web", toxic).await;
        // The proxy marks this toxic's answers (so the driver sees the marker).
        let mut c = support::http::H1::connect(addr).await;
        let got = c.get("/health").await.unwrap();
        assert_eq!(got.marker(), vec!["t"], "{toxic}");
        let report = load_report(&url, &[], LIMIT).await;
        let (requests, ok) = (&report["summary"]["requests"], &report["summary"]["ok"]);
        let injected = &report["errors_by_class"]["injected"];
        assert!(requests.as_u64().unwrap() >= 30, "{toxic}: {report}");
        if fails {
            assert_eq!(injected, requests, "{toxic}: {report}");
            assert_eq!(ok, 0, "{toxic}: {report}");
        } else {
            assert_eq!(ok, requests, "{toxic}: {report}");
            assert_eq!(report["summary"]["errors"], 0, "{toxic}: {report}");
        }
        remove_toxic(api, "web", "t").await;
    }
}
