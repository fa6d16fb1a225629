//! The load driver through a real HTTP-mode proxy's toxics: a response a toxic only delayed,
//! throttled or left as it was carries the `x-shakedown-fault` marker and is a success; a
//! marked failure (an abort's 503, a `grpc_abort`'s HTTP 200 with a gRPC error) is `injected`.
//! Over plain HTTP/1.1 (the driver's wire path) and over HTTPS with h2 (hyper, where
//! `grpc_abort`'s status travels in the trailers).

mod support;

use std::time::Duration;

use support::http::Upstream;
use support::load::load_report;
use support::proxy::{add_toxic, remove_toxic, server};
use support::tls::Pki;

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
        all_injected_or_all_ok(&report, toxic, fails);
        remove_toxic(api, "web", "t").await;
    }
}

/// The same through a TLS-terminating HTTP-mode proxy, which the driver speaks h2 to: a
/// delayed 200 is a success; `grpc_abort`'s 200 with `grpc-status` in its trailers and an
/// abort's 503 are injected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_h2_a_delayed_200_is_ok_and_a_grpc_abort_is_injected() {
    let srv = server(7).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let pki = Pki::new();
    let tls = format!(
        r#","tls_cert":"{}","tls_key":"{}""#,
        pki.cert_str(),
        pki.key_str()
    );
    let addr = support::http::http_proxy(api, "web", up.addr, &tls).await;
    let url = format!("https://127.0.0.1:{}/health", addr.port());
    let cases = [
        (
            r#"{"name":"t","type":"http_delay","attributes":{"delay":10}}"#,
            false,
        ),
        (
            r#"{"name":"t","type":"grpc_abort","attributes":{"code":14}}"#,
            true,
        ),
        (
            r#"{"name":"t","type":"http_abort","attributes":{"status":503}}"#,
            true,
        ),
    ];
    for (toxic, fails) in cases {
        add_toxic(api, "web", toxic).await;
        let report = load_report(&url, &["--ca", pki.cert_str()], LIMIT).await;
        all_injected_or_all_ok(&report, toxic, fails);
        remove_toxic(api, "web", "t").await;
    }
}

/// A load `report` through `toxic`: at least 30 requests, every one `injected` (`fails`) or
/// every one ok and no error.
fn all_injected_or_all_ok(report: &serde_json::Value, toxic: &str, fails: bool) {
    let (requests, ok) = (&report["summary"]["requests"], &report["summary"]["ok"]);
    assert!(requests.as_u64().unwrap() >= 30, "{toxic}: {report}");
    if fails {
        assert_eq!(
            &report["errors_by_class"]["injected"], requests,
            "{toxic}: {report}"
        );
        assert_eq!(ok, 0, "{toxic}: {report}");
    } else {
        assert_eq!(ok, requests, "{toxic}: {report}");
        assert_eq!(report["summary"]["errors"], 0, "{toxic}: {report}");
    }
}

/// A TLS server (h2 by ALPN) answering gRPC-style: `content-type: application/grpc`, an empty
/// body and `grpc-status` in the trailers; `/marked-*` answers carry the fault marker.
async fn grpc_over_tls(pki: &Pki) -> std::net::SocketAddr {
    use http_body_util::{BodyExt, StreamBody};
    use hyper::body::Frame;
    let config = shakedown::tls::server_config(&pki.cert, &pki.key, None).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = l.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let svc = hyper::service::service_fn(|req: http::Request<_>| async move {
                    let path = req.uri().path();
                    let code = if path.ends_with("-ok") { "0" } else { "13" };
                    let mut trailers = http::HeaderMap::new();
                    trailers.insert("grpc-status", code.parse().unwrap());
                    let frames = [
                        Ok::<_, std::convert::Infallible>(Frame::data(bytes::Bytes::new())),
                        Ok(Frame::trailers(trailers)),
                    ];
                    let body = StreamBody::new(futures_util::stream::iter(frames)).boxed();
                    let mut r = http::Response::new(body);
                    r.headers_mut()
                        .insert("content-type", "application/grpc".parse().unwrap());
                    if path.starts_with("/marked") {
                        r.headers_mut()
                            .insert("x-shakedown-fault", "t".parse().unwrap());
                    }
                    Ok::<_, std::convert::Infallible>(r)
                });
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                .await;
            });
        }
    });
    addr
}

/// Over HTTPS (hyper, h2), `grpc-status` is read from the trailers: a marked answer whose
/// trailers say `0` is a success, one that says `13` is injected; an unmarked gRPC error is
/// the target's and, as an HTTP 200, not told apart from a success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_https_grpc_status_is_read_from_the_trailers() {
    let pki = Pki::new();
    let addr = grpc_over_tls(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("grpc.yaml");
    std::fs::write(
        &file,
        format!(
            "target: https://127.0.0.1:{}/\nusers: 2\nrequests_per_user: 30\ntls: {{ca: {}}}\n\
             scenarios:\n  - {{name: marked-ok, request: {{path: /marked-ok}}}}\n  \
             - {{name: marked-error, request: {{path: /marked-error}}}}\n  \
             - {{name: error, request: {{path: /error}}}}\n",
            addr.port(),
            pki.cert_str()
        ),
    )
    .unwrap();
    let out = support::load::shakedown_load(
        &["--scenario", file.to_str().unwrap(), "--json", "-", "-q"],
        LIMIT,
    )
    .await;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let of = |name: &str| {
        report["scenarios"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name}: {report}"))
            .clone()
    };
    assert_eq!(report["summary"]["requests"], 60, "{report}");
    assert_eq!(of("marked-ok")["errors"], 0, "{report}");
    assert_eq!(of("error")["errors"], 0, "{report}");
    let failed = of("marked-error");
    assert_eq!(failed["errors"], failed["requests"], "{report}");
    assert_eq!(
        report["errors_by_class"]["injected"], failed["requests"],
        "{report}"
    );
}
