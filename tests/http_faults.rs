//! HTTP toxics end to end: a real hyper upstream on loopback, keep-alive HTTP/1.1 and h2c
//! clients, decisions per request under a fixed seed, matchers, counters and the marker.

mod support;

use std::time::Duration;

use serde_json::json;
use support::http::*;
use support::proxy::*;
use tokio::time::Instant;

/// The numbers (from 1) of the requests that got the marker, over one keep-alive connection.
async fn faulted_requests(seed: u64, n: u64) -> Vec<u64> {
    let srv = server(seed).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(api, "web", r#"{"name":"fifth","type":"http_abort","toxicity":0.2,"attributes":{"status":503,"body":"injected"}}"#).await;
    let mut c = H1::connect(addr).await;
    let mut faulted = Vec::new();
    for i in 1..=n {
        let got = c.get("/r").await.unwrap();
        match got.status.as_u16() {
            503 => {
                assert_eq!(got.marker(), vec!["fifth"], "request {i}");
                assert_eq!(got.text(), "injected");
                faulted.push(i);
            }
            200 => assert!(got.marker().is_empty(), "request {i}"),
            s => panic!("request {i}: status {s}"),
        }
    }
    // Only the passed requests reached the upstream; the counters agree.
    assert_eq!(up.requests(), n - faulted.len() as u64);
    let t = http(api, "GET", "/proxies/web/toxics/fifth", None)
        .await
        .json();
    assert_eq!(
        t["requests"],
        json!({"matched": n, "faulted": faulted.len(), "passed": n - faulted.len() as u64})
    );
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(
        metric(
            &m,
            "shakedown_toxic_requests_faulted_total",
            &["toxic=\"fifth\""]
        ),
        faulted.len() as f64
    );
    srv.shutdown().await;
    faulted
}

#[tokio::test]
async fn toxicity_is_rolled_per_request_and_reproducible_under_a_seed() {
    let first = faulted_requests(42, 1000).await;
    eprintln!(
        "http_abort at toxicity 0.2, seed 42: {} of 1000 faulted",
        first.len()
    );
    assert!(
        (150..=250).contains(&first.len()),
        "{} of 1000 faulted",
        first.len()
    );
    assert_eq!(
        faulted_requests(42, 1000).await,
        first,
        "same seed, same requests"
    );
    // Ground truth: the documented key (seed, proxy, request number, toxic name).
    let expected: Vec<u64> = (1..=1000)
        .filter(|n| {
            shakedown::fault::roll::DecisionKey {
                seed: 42,
                proxy: "web",
                connection: *n,
                toxic: "fifth",
            }
            .request_draw()
                < 0.2
        })
        .collect();
    assert_eq!(first, expected);
}

#[tokio::test]
async fn first_n_fails_exactly_the_first_matching_requests() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(api, "web", r#"{"name":"retry","type":"http_abort","attributes":{"status":503,"first_n":2,"method":"POST","path":"/orders"}}"#).await;
    let mut c = H1::connect(addr).await;
    let post = |path: &str| {
        http::Request::post(path)
            .header("host", "a")
            .body(http_body_util::BodyExt::boxed(
                http_body_util::Full::new(bytes::Bytes::new()).map_err(|e| match e {}),
            ))
            .unwrap()
    };
    use http_body_util::BodyExt;
    let mut statuses = Vec::new();
    for path in ["/orders", "/other", "/orders/1", "/orders", "/orders"] {
        statuses.push(c.send(post(path)).await.unwrap().status.as_u16());
    }
    // A GET to /orders does not match the method and is not counted.
    statuses.push(c.get("/orders").await.unwrap().status.as_u16());
    assert_eq!(statuses, vec![503, 200, 503, 200, 200, 200]);
    let t = http(api, "GET", "/proxies/web/toxics/retry", None)
        .await
        .json();
    assert_eq!(
        t["requests"],
        json!({"matched": 4, "faulted": 2, "passed": 2})
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn max_active_is_never_exceeded_under_200_concurrent_requests() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(api, "web", r#"{"name":"cap","type":"http_tamper","attributes":{"set_headers":{"x-tampered":"1"},"max_active":5}}"#).await;
    for wave in 1..=2u64 {
        let mut tasks = Vec::new();
        for _ in 0..200 {
            tasks.push(tokio::spawn(async move {
                let mut c = H1::connect(addr).await;
                c.get("/gate").await.unwrap()
            }));
        }
        // All 200 are in flight at once: held at the upstream until released.
        let deadline = Instant::now() + STEP;
        while up.requests() < 200 * wave {
            assert!(Instant::now() < deadline, "only {} arrived", up.requests());
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let t = http(api, "GET", "/proxies/web/toxics/cap", None)
            .await
            .json();
        assert_eq!(t["requests"]["faulted"], json!(5 * wave), "{t}");
        up.gate.add_permits(200);
        let mut marked = 0;
        for t in tasks {
            let got = t.await.unwrap();
            assert_eq!(got.status, 200);
            if got.marker() == vec!["cap"] {
                assert_eq!(got.headers["x-tampered"], "1");
                marked += 1;
            }
        }
        // Slots are given back when each faulted response ends: the next wave gets 5 again.
        assert_eq!(marked, 5, "wave {wave}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn removing_a_toxic_applies_to_the_next_request_of_a_kept_alive_connection() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    let mut c = H1::connect(addr).await;
    let mut h2 = H2::connect(addr).await;
    assert_eq!(c.get("/").await.unwrap().status, 200);
    add_toxic(
        api,
        "web",
        r#"{"name":"down","type":"http_abort","attributes":{"status":500}}"#,
    )
    .await;
    assert_eq!(c.get("/").await.unwrap().status, 500);
    assert_eq!(h2.send(get_h2("/")).await.unwrap().status, 500);
    remove_toxic(api, "web", "down").await;
    assert_eq!(c.get("/").await.unwrap().status, 200);
    assert_eq!(h2.send(get_h2("/")).await.unwrap().status, 200);
    let m = http(api, "GET", "/metrics", None).await.body;
    assert_eq!(
        metric(
            &m,
            "shakedown_proxy_connections_accepted_total",
            &["proxy=\"web\""]
        ),
        2.0,
        "still the same two connections"
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn delay_reset_throttle_tamper_and_grpc_abort_act_and_mark() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    add_toxic(api, "web", r#"{"name":"slow","type":"http_delay","attributes":{"delay":300,"response_delay":100,"path":"/slow"}}"#).await;
    add_toxic(
        api,
        "web",
        r#"{"name":"rst","type":"http_reset","attributes":{"path":"/reset"}}"#,
    )
    .await;
    add_toxic(
        api,
        "web",
        r#"{"name":"thin","type":"http_throttle","attributes":{"rate":100,"path":"/big"}}"#,
    )
    .await;
    add_toxic(api, "web", r#"{"name":"bent","type":"http_tamper","attributes":{"path":"/bent","status":500,"set_headers":{"x-a":"b"},"remove_headers":["x-upstream"],"truncate":4}}"#).await;
    add_toxic(api, "web", r#"{"name":"grpc","type":"grpc_abort","attributes":{"code":14,"message":"down 100%","path":"/pkg.Svc/"}}"#).await;
    let mut c = H1::connect(addr).await;
    let start = Instant::now();
    let got = c.get("/slow").await.unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(390),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        (got.status.as_u16(), got.marker()),
        (200, vec!["slow".to_string()])
    );
    // 200 KB at 100 KB/s: about 2 s (the first 100 ms worth leaves at once).
    let start = Instant::now();
    let got = c.get("/big?n=200000").await.unwrap();
    let took = start.elapsed();
    assert_eq!(
        (got.body.len(), got.marker()),
        (200_000, vec!["thin".to_string()])
    );
    assert!(
        took >= Duration::from_millis(1_700) && took < Duration::from_secs(8),
        "{took:?}"
    );
    let got = c.get("/bent").await.unwrap();
    assert_eq!((got.status.as_u16(), got.text().as_str()), (500, "GET "));
    assert_eq!(got.headers["x-a"], "b");
    assert!(got.headers.get("x-upstream").is_none());
    assert_eq!(got.marker(), vec!["bent"]);
    // The reset drops the client connection with an RST, mid-exchange.
    assert!(c.get("/reset").await.is_err());
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    raw.write_all(b"GET /reset HTTP/1.1\r\nHost: a\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(STEP, raw.read(&mut buf))
        .await
        .unwrap();
    assert_eq!(
        read.map_err(|e| e.kind()),
        Err(std::io::ErrorKind::ConnectionReset)
    );
    // grpc_abort over h2c: HTTP 200, grpc-status in the trailers.
    let mut h2 = H2::connect(addr).await;
    let req = http::Request::post("http://a/pkg.Svc/Call")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(http_body_util::BodyExt::boxed(
            http_body_util::Full::new(bytes::Bytes::new()).map_err(|e| match e {}),
        ))
        .unwrap();
    use http_body_util::BodyExt;
    let got = h2.send(req).await.unwrap();
    assert_eq!(got.status, 200);
    assert_eq!(got.headers["content-type"], "application/grpc");
    let trailers = got.trailers.clone().expect("trailers");
    assert_eq!(trailers["grpc-status"], "14");
    assert_eq!(trailers["grpc-message"], "down 100%25");
    assert_eq!(got.marker(), vec!["grpc"]);
    srv.shutdown().await;
}

#[tokio::test]
async fn header_driven_faults_only_when_enabled_and_never_forwarded() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let on = http_proxy(api, "on", up.addr, r#","header_faults":true"#).await;
    let off = http_proxy(api, "off", up.addr, "").await;
    let mut c = H1::connect(on).await;
    let got = c
        .send(get_with("/", "x-shakedown-fault-abort", "503"))
        .await
        .unwrap();
    assert_eq!(
        (got.status.as_u16(), got.marker()),
        (503, vec!["header".to_string()])
    );
    let start = Instant::now();
    let got = c
        .send(get_with("/", "x-shakedown-fault-delay", "200ms"))
        .await
        .unwrap();
    assert!(start.elapsed() >= Duration::from_millis(190));
    assert_eq!(
        (got.status.as_u16(), got.marker()),
        (200, vec!["header".to_string()])
    );
    // Out of range, or not written as a status is (three digits).
    for bad in ["600", "+503", "0503", "503.0"] {
        let got = c
            .send(get_with("/", "x-shakedown-fault-abort", bad))
            .await
            .unwrap();
        assert_eq!(got.status, 400, "{bad}");
        assert!(
            got.headers["x-shakedown-error"]
                .to_str()
                .unwrap()
                .contains("x-shakedown-fault-abort"),
            "{bad}"
        );
    }
    assert!(
        c.send(get_with("/", "x-shakedown-fault-reset", "1"))
            .await
            .is_err()
    );
    assert_eq!(
        up.seen
            .fault_headers
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "stripped"
    );
    // Off by default: the header is just a header.
    let got = H1::connect(off)
        .await
        .send(get_with("/", "x-shakedown-fault-abort", "503"))
        .await
        .unwrap();
    assert_eq!((got.status.as_u16(), got.marker().len()), (200, 0));
    srv.shutdown().await;
}

/// A fault header given twice is refused (the first used to win silently), and the refused
/// request counts in no toxic's numbers.
#[tokio::test]
async fn a_fault_header_given_twice_is_a_400_naming_it_and_changes_nothing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let on = http_proxy(api, "on", up.addr, r#","header_faults":true"#).await;
    add_toxic(
        api,
        "on",
        r#"{"name":"never","type":"http_abort","toxicity":0,"attributes":{"status":503}}"#,
    )
    .await;
    let mut c = H1::connect(on).await;
    for (name, values) in [
        ("x-shakedown-fault-abort", ["503", "500"]),
        ("x-shakedown-fault-delay", ["1ms", "1ms"]),
        ("x-shakedown-fault-reset", ["1", "0"]),
    ] {
        let mut req = get("/");
        for v in values {
            req.headers_mut().append(name, v.parse().unwrap());
        }
        let got = c.send(req).await.expect("answered, not reset");
        let why = got.headers["x-shakedown-error"].to_str().unwrap();
        assert_eq!(
            (got.status.as_u16(), why),
            (
                400,
                format!("{name}: given 2 times, expected once").as_str()
            )
        );
    }
    assert_eq!(up.requests(), 0);
    let t = http(api, "GET", "/proxies/on/toxics/never", None)
        .await
        .json();
    assert_eq!(
        t["requests"],
        json!({"matched": 0, "faulted": 0, "passed": 0})
    );
    srv.shutdown().await;
}

#[tokio::test]
async fn bad_http_toxics_are_refused_and_change_nothing() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    http_proxy(api, "web", up.addr, "").await;
    for (body, says) in [
        (
            r#"{"type":"http_abort","attributes":{"status":600}}"#,
            "attributes.status: must be a final HTTP status in 200..=599, got 600",
        ),
        (
            r#"{"type":"http_abort","attributes":{"status":99}}"#,
            "attributes.status: must be a final HTTP status in 200..=599, got 99",
        ),
        (
            r#"{"type":"http_abort","attributes":{"status":101}}"#,
            "attributes.status: must be a final HTTP status in 200..=599, got 101",
        ),
        (
            r#"{"type":"http_tamper","attributes":{"status":1000}}"#,
            "attributes.status: must be",
        ),
        (
            r#"{"type":"http_delay","attributes":{"path_regex":"(["}}"#,
            "attributes.path_regex: does not compile",
        ),
        (
            r#"{"type":"http_abort","attributes":{"status":503,"bogus":1}}"#,
            "attributes.bogus: unknown attribute",
        ),
        (
            r#"{"type":"grpc_abort","attributes":{"code":0}}"#,
            "attributes.code: must be a gRPC status",
        ),
    ] {
        let r = http(api, "POST", "/proxies/web/toxics", Some(body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{body}: {}", r.body);
    }
    assert_eq!(
        http(api, "GET", "/proxies/web/toxics", None).await.json(),
        json!([])
    );
    srv.shutdown().await;
}

/// Every HTTP kind in `ToxicKind::TYPES` (so a new one must be added here) counts the request
/// it faults, and marks the answer when there is one.
#[tokio::test]
async fn every_http_kind_counts_the_requests_it_faults() {
    let srv = server(1).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "p", up.addr, "").await;
    let mut checked = 0;
    for &kind in shakedown::fault::ToxicKind::TYPES {
        let attrs = match kind {
            "http_abort" => r#"{"status":503}"#,
            "http_delay" => r#"{"delay":10}"#,
            "http_reset" => "{}",
            "http_throttle" => r#"{"rate":100}"#,
            "http_tamper" => r#"{"status":500}"#,
            "grpc_abort" => r#"{"code":14}"#,
            k if !k.starts_with("http_") => continue,
            other => panic!("add a case for the new HTTP toxic kind {other:?}"),
        };
        add_toxic(
            api,
            "p",
            &format!(r#"{{"name":"t","type":"{kind}","attributes":{attrs}}}"#),
        )
        .await;
        let got = H1::connect(addr).await.get("/").await;
        match got {
            Ok(got) => assert_eq!(got.marker(), vec!["t"], "{kind}"),
            Err(_) => assert_eq!(kind, "http_reset"),
        }
        let t = http(api, "GET", "/proxies/p/toxics/t", None).await.json();
        assert_eq!(
            t["requests"],
            json!({"matched": 1, "faulted": 1, "passed": 0}),
            "{kind}"
        );
        remove_toxic(api, "p", "t").await;
        checked += 1;
    }
    assert_eq!(checked, 6);
    srv.shutdown().await;
}

/// A request an earlier toxic answered never reaches the later ones: they neither match nor
/// count it (they counted it as faulted, though it carried only the first toxic's marker).
#[tokio::test]
async fn a_request_answered_by_an_earlier_toxic_is_not_counted_by_later_ones() {
    let srv = server(3).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let addr = http_proxy(api, "web", up.addr, "").await;
    for toxic in [
        r#"{"name":"a1","type":"http_abort","attributes":{"status":503}}"#,
        r#"{"name":"a2","type":"http_abort","attributes":{"status":418}}"#,
        r#"{"name":"dl","type":"http_delay","attributes":{"delay":1}}"#,
    ] {
        add_toxic(api, "web", toxic).await;
    }
    let mut c = H1::connect(addr).await;
    for _ in 0..5 {
        let got = c.get("/x").await.unwrap();
        assert_eq!(got.status, 503);
        assert_eq!(got.marker(), vec!["a1"]);
    }
    let requests = |name: &str| {
        let path = format!("/proxies/web/toxics/{name}");
        async move { http(api, "GET", &path, None).await.json()["requests"].clone() }
    };
    assert_eq!(
        requests("a1").await,
        json!({"matched": 5, "faulted": 5, "passed": 0})
    );
    for later in ["a2", "dl"] {
        assert_eq!(
            requests(later).await,
            json!({"matched": 0, "faulted": 0, "passed": 0}),
            "{later}"
        );
    }
    assert_eq!(up.requests(), 0);
    srv.shutdown().await;
}

/// `header_faults` and `http_header_timeout` need HTTP mode, as TLS does: on a TCP proxy they
/// were stored without showing in its JSON, and acted on a later switch to HTTP mode.
#[tokio::test]
async fn http_settings_on_a_tcp_proxy_are_refused_and_change_nothing() {
    let srv = server(4).await;
    let api = srv.local_addr();
    let up = Upstream::start().await;
    let r = http(
        api,
        "POST",
        "/proxies",
        Some(&format!(
            r#"{{"name":"plain","listen":"127.0.0.1:0","upstream":"{}","header_faults":true}}"#,
            up.addr
        )),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body.contains("header_faults: needs an HTTP-mode proxy"),
        "{}",
        r.body
    );
    create_proxy(api, "plain", up.addr).await;
    let before = http(api, "GET", "/proxies/plain", None).await.body;
    for (body, says) in [
        (r#"{"header_faults":true}"#, "header_faults: needs"),
        (
            r#"{"http_header_timeout":5000}"#,
            "http_header_timeout: needs",
        ),
    ] {
        let r = http(api, "POST", "/proxies/plain", Some(body)).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert!(r.body.contains(says), "{body}: {}", r.body);
        assert_eq!(http(api, "GET", "/proxies/plain", None).await.body, before);
    }
    // Leaving HTTP mode needs them back at their defaults, in the same request.
    http_proxy(api, "web", up.addr, r#","header_faults":true"#).await;
    let r = http(api, "POST", "/proxies/web", Some(r#"{"protocol":"tcp"}"#)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    let r = http(
        api,
        "POST",
        "/proxies/web",
        Some(r#"{"protocol":"tcp","header_faults":false}"#),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    srv.shutdown().await;
}
