//! TLS wherever HTTP goes, over real loopback sockets with certificates made at run time: the
//! load driver, probes and `ready` over HTTPS (system roots, `--ca`, `--insecure`, h2 by ALPN,
//! handshake failures as their own class), an HTTP-mode proxy terminating and originating TLS
//! with faults applied to HTTPS requests (`http_reset` included), its TLS settings checked,
//! and the front's head timeout (default and configured). Client certificates: http_mtls.rs.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::proxy::*;
use support::runner::shakedown;
use support::tls::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

const LIMIT: Duration = Duration::from_secs(60);

async fn load(url: &str, extra: &[&str]) -> Value {
    support::load::load_report(url, extra, LIMIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_driver_speaks_https_h2_by_alpn_and_counts_refused_handshakes_as_tls() {
    let pki = Pki::new();
    let up = TlsUpstream::start(&pki).await;
    let url = format!("https://127.0.0.1:{}/x", up.addr.port());
    // Self-signed: the system's roots do not know it; no request reaches the upstream.
    let refused = load(&url, &[]).await;
    let n = refused["summary"]["requests"].as_u64().unwrap();
    assert!(n >= 20, "{refused}");
    assert_eq!(refused["errors_by_class"]["tls"], n, "{refused}");
    assert_eq!(refused["summary"]["errors"], n);
    assert_eq!(up.requests(), 0);
    for flags in [&["--ca", pki.cert_str()][..], &["--insecure"][..]] {
        let before = up.h2.load(std::sync::atomic::Ordering::SeqCst);
        let ok = load(&url, flags).await;
        let n = ok["summary"]["requests"].as_u64().unwrap();
        assert!(n >= 20, "{flags:?}: {ok}");
        assert_eq!(ok["summary"]["ok"], n, "{flags:?}: {ok}");
        // The server offers h2 first: every request went over HTTP/2.
        let h2 = up.h2.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert_eq!(h2, n, "{flags:?}");
    }
    assert_eq!(up.h1.load(std::sync::atomic::Ordering::SeqCst), 0);
    // A CA file that is not PEM is invalid input naming the flag.
    let out = support::load::shakedown_load(
        &[&url, "--rate", "1/s", "--ca", "/nonexistent/ca.pem"],
        LIMIT,
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--ca: /nonexistent/ca.pem"), "{err}");
}

fn proxy_body(name: &str, upstream: std::net::SocketAddr, extra: &str) -> String {
    format!(
        r#"{{"name":"{name}","listen":"127.0.0.1:0","upstream":"{upstream}","protocol":"http"{extra}}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_terminates_and_originates_tls_and_faults_https_requests() {
    let (upstream_pki, proxy_pki) = (Pki::new(), Pki::new());
    let up = TlsUpstream::start(&upstream_pki).await;
    let srv = server(7).await;
    let api = srv.local_addr();
    let extra = format!(
        r#","upstream_tls":true,"upstream_ca":"{}","tls_cert":"{}","tls_key":"{}""#,
        upstream_pki.cert_str(),
        proxy_pki.cert_str(),
        proxy_pki.key_str()
    );
    let r = http(
        api,
        "POST",
        "/proxies",
        Some(&proxy_body("secure", up.addr, &extra)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let view = r.json();
    assert_eq!(view["upstream_tls"], true);
    assert_eq!(view["tls_cert"], proxy_pki.cert_str());
    let addr: std::net::SocketAddr = view["listen"].as_str().unwrap().parse().unwrap();
    // The proxy's clients trust the proxy's certificate, not the upstream's.
    assert!(
        TlsConn::connect(addr, &upstream_pki.cert, &[b"h2"])
            .await
            .is_err()
    );
    let mut h2 = TlsConn::connect(addr, &proxy_pki.cert, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    let mut h1 = TlsConn::connect(addr, &proxy_pki.cert, &[b"http/1.1"])
        .await
        .unwrap();
    assert!(h2.is_h2() && !h1.is_h2());
    for conn in [&mut h2, &mut h1] {
        let got = conn.get("/hello").await;
        assert_eq!(got.status, 200);
        // Forwarded over TLS, HTTP/2 chosen by ALPN with the upstream.
        assert_eq!(got.text, "HTTP/2.0 /hello");
        assert!(got.headers.get("x-shakedown-fault").is_none());
    }
    assert_eq!(up.requests(), 2);
    let toxic = r#"{"name":"five03","type":"http_abort","attributes":{"status":503}}"#;
    let r = http(api, "POST", "/proxies/secure/toxics", Some(toxic)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The same kept-alive TLS connections get the fault on their next request.
    for conn in [&mut h2, &mut h1] {
        let got = conn.get("/hello").await;
        assert_eq!(got.status, 503);
        assert_eq!(got.headers["x-shakedown-fault"], "five03");
    }
    assert_eq!(
        up.requests(),
        2,
        "an aborted request never reaches the upstream"
    );
    let r = http(api, "DELETE", "/proxies/secure/toxics/five03", None).await;
    assert_eq!(r.status, 204);
    assert_eq!(h2.get("/again").await.text, "HTTP/2.0 /again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_certificate_is_verified_unless_told_otherwise() {
    let pki = Pki::new();
    let up = TlsUpstream::start(&pki).await;
    let srv = server(3).await;
    let api = srv.local_addr();
    let cases = [
        (r#","upstream_tls":true"#, 502),
        (r#","upstream_tls":true,"upstream_insecure":true"#, 200),
    ];
    for (i, (extra, want)) in cases.into_iter().enumerate() {
        let name = format!("p{i}");
        let r = http(
            api,
            "POST",
            "/proxies",
            Some(&proxy_body(&name, up.addr, extra)),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let addr: std::net::SocketAddr = r.json()["listen"].as_str().unwrap().parse().unwrap();
        let mut c = support::http::H1::connect(addr).await;
        let got = c.get("/x").await.unwrap();
        assert_eq!(got.status.as_u16(), want, "{extra}: {}", got.text());
        if want == 502 {
            let why = got.headers["x-shakedown-error"].to_str().unwrap();
            assert!(why.contains("certificate"), "{why}");
        } else {
            assert_eq!(got.text(), "HTTP/2.0 /x");
        }
    }
}

#[tokio::test]
async fn bad_proxy_tls_settings_are_refused_and_change_nothing() {
    let pki = Pki::new();
    let other = Pki::new();
    let srv = server(5).await;
    let api = srv.local_addr();
    let up: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let (cert, key) = (pki.cert_str(), pki.key_str());
    let cases = [
        (
            format!(r#","tls_cert":"/nonexistent/c.pem","tls_key":"{key}""#),
            "tls_cert: /nonexistent/c.pem: ",
        ),
        (
            format!(r#","tls_cert":"{cert}","tls_key":"{cert}""#),
            "tls_key: ",
        ),
        (
            format!(r#","tls_cert":"{key}","tls_key":"{key}""#),
            "tls_cert: ",
        ),
        (
            format!(r#","tls_cert":"{cert}""#),
            "tls_key: needed with tls_cert",
        ),
        (
            format!(r#","tls_cert":"{cert}","tls_key":"{}""#, other.key_str()),
            "certificate and key",
        ),
        (
            r#","upstream_ca":"/nonexistent/ca.pem","upstream_tls":true"#.to_string(),
            "upstream_ca: /nonexistent/ca.pem",
        ),
        (
            format!(r#","upstream_ca":"{cert}""#),
            "upstream_ca: needs \\\"upstream_tls\\\": true",
        ),
        (
            r#","upstream_tls":"yes""#.to_string(),
            "upstream_tls: expected true or false",
        ),
    ];
    for (extra, why) in &cases {
        let r = http(api, "POST", "/proxies", Some(&proxy_body("bad", up, extra))).await;
        assert_eq!(r.status, 400, "{extra}: {}", r.body);
        assert!(r.body.contains(why), "{extra}: {}", r.body);
    }
    // TLS on a TCP-mode proxy.
    let tcp = format!(r#"{{"name":"t","upstream":"{up}","upstream_tls":true}}"#);
    let r = http(api, "POST", "/proxies", Some(&tcp)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("needs an HTTP-mode proxy"), "{}", r.body);
    // The same through /populate: the whole list is refused, at the item's index.
    let list = format!("[{}]", proxy_body("bad", up, &cases[0].0));
    let r = http(api, "POST", "/populate", Some(&list)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("[0].tls_cert"), "{}", r.body);
    assert_eq!(
        http(api, "GET", "/proxies", None).await.json(),
        serde_json::json!({})
    );
    // An update that breaks a working proxy's TLS is refused and leaves it as it was.
    let good = format!(r#","tls_cert":"{cert}","tls_key":"{key}""#);
    let r = http(
        api,
        "POST",
        "/proxies",
        Some(&proxy_body("good", up, &good)),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = http(
        api,
        "POST",
        "/proxies/good",
        Some(r#"{"tls_key":"/nonexistent/k.pem"}"#),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.body);
    let view = http(api, "GET", "/proxies/good", None).await.json();
    assert_eq!(view["tls_key"], key);
    // A config file names the file, line and column.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proxies.yaml");
    std::fs::write(
        &file,
        format!("- name: web\n  upstream: \"{up}\"\n  protocol: http\n  tls_cert: /nonexistent/c.pem\n  tls_key: \"{key}\"\n"),
    )
    .unwrap();
    let ran = shakedown(&["serve", "--config", file.to_str().unwrap(), "--port", "0"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("proxies.yaml:"), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("tls_cert: /nonexistent/c.pem"),
        "{}",
        ran.stderr
    );
}

/// A client that sends half a request head is closed after the documented 10 s.
#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_header_timeout() {
    let srv = server(9).await;
    let api = srv.local_addr();
    let up = support::http::Upstream::start().await;
    let addr = support::http::http_proxy(api, "slow", up.addr, "").await;
    let tries = ["GET /x HTTP/1.1\r\nHost: a", "", "PRI * HTTP/2.0\r\n"].map(|half| async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(half.as_bytes()).await.unwrap();
        let start = Instant::now();
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf))
            .await
            .expect("closed within a minute")
            .unwrap_or(0);
        (
            half,
            start.elapsed(),
            String::from_utf8_lossy(&buf[..n]).to_string(),
        )
    });
    for (half, waited, text) in futures_util::future::join_all(tries).await {
        // Closed (no answer, or hyper's 408 on HTTP/1.1), not before the timeout.
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{half:?}: {text:?}"
        );
        assert!(
            waited >= Duration::from_millis(9_500),
            "{half:?}: closed after {waited:?}"
        );
    }
    assert_eq!(up.requests(), 0);
}

/// An HTTP probe over HTTPS: refused by the system's roots (a TLS error naming the handshake),
/// passing with the experiment's `tls: {ca: …}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_probe_verifies_with_the_experiments_tls_settings() {
    let pki = Pki::new();
    let up = TlsUpstream::start(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    // Without the CA the steady state does not hold before any fault: preflight fails (3).
    for (tls, code) in [
        (String::new(), 3),
        (format!("tls: {{ca: \"{}\"}}\n", pki.cert_str()), 0),
    ] {
        let file = dir.path().join(format!("probe{code}.yaml"));
        std::fs::write(
            &file,
            format!(
                "title: https probe\n{tls}steady_state:\n  probes:\n    - {{name: web, http: {{url: \"https://localhost:{}/health\"}}}}\nduration: 1s\n",
                up.addr.port()
            ),
        )
        .unwrap();
        let (ran, doc) = support::runner::run_journaled(&file).await;
        assert_eq!(ran.code, code, "{}\n{}", ran.stdout, ran.stderr);
        let detail = doc["experiments"][0]["runs"][0]["preflight"][0]["detail"]
            .as_str()
            .unwrap()
            .to_string();
        if code == 3 {
            assert!(detail.starts_with("TLS handshake failed: "), "{detail}");
            assert_eq!(up.requests(), 0);
        } else {
            assert_eq!(detail, "status 200");
        }
    }
}

/// A configured `http_header_timeout` closes a half-sent head at that time, not at the
/// default; values out of bounds are refused naming the field and change nothing.
#[tokio::test]
async fn a_configured_head_timeout_closes_a_half_sent_head_and_is_bounded() {
    let srv = server(10).await;
    let api = srv.local_addr();
    let up = support::http::Upstream::start().await;
    let addr =
        support::http::http_proxy(api, "quick", up.addr, r#","http_header_timeout":500"#).await;
    let view = http(api, "GET", "/proxies/quick", None).await.json();
    assert_eq!(view["http_header_timeout"], 500);
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nHost: a").await.unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf))
        .await
        .expect("closed within a minute")
        .unwrap_or(0);
    let waited = start.elapsed();
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text:?}"
    );
    // At the configured 500 ms: not before it, and well before the default 10 s.
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(8),
        "closed after {waited:?}"
    );
    assert_eq!(up.requests(), 0);
    // A whole request on a new connection still passes.
    let mut c = support::http::H1::connect(addr).await;
    assert_eq!(c.get("/x").await.unwrap().status.as_u16(), 200);
    let expected =
        "http_header_timeout: expected an integer number of milliseconds in 100..=600000";
    for bad in ["99", "600001", "0", "-1", "1.5", "\"1s\""] {
        let body = format!(
            r#"{{"name":"b","upstream":"{}","protocol":"http","http_header_timeout":{bad}}}"#,
            up.addr
        );
        let r = http(api, "POST", "/proxies", Some(&body)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(r.body.contains(expected), "{bad}: {}", r.body);
        let update = format!(r#"{{"http_header_timeout":{bad}}}"#);
        let r = http(api, "POST", "/proxies/quick", Some(&update)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let after = http(api, "GET", "/proxies", None).await.json();
    assert_eq!(after.as_object().unwrap().len(), 1, "{after}");
    assert_eq!(after["quick"]["http_header_timeout"], 500);
    // The bounds themselves are accepted; a new proxy shows the default.
    let r = http(
        api,
        "PATCH",
        "/proxies/quick",
        Some(r#"{"http_header_timeout":600000}"#),
    )
    .await;
    assert_eq!(r.json()["http_header_timeout"], 600000, "{}", r.body);
    let plain = support::http::http_proxy(api, "plain", up.addr, "").await;
    let _ = plain;
    let view = http(api, "GET", "/proxies/plain", None).await.json();
    assert_eq!(view["http_header_timeout"], 10000);
}

/// `http_reset` on a TLS-terminated connection: the client sees a TCP reset (not a clean
/// close, with or without TLS's close_notify), and the proxy keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_reset_resets_a_tls_client_and_the_proxy_keeps_serving() {
    let pki = Pki::new();
    let srv = server(14).await;
    let api = srv.local_addr();
    let up = support::http::Upstream::start().await;
    let extra = format!(
        r#","tls_cert":"{}","tls_key":"{}""#,
        pki.cert_str(),
        pki.key_str()
    );
    let addr = support::http::http_proxy(api, "secure", up.addr, &extra).await;
    add_toxic(
        api,
        "secure",
        r#"{"name":"rst","type":"http_reset","attributes":{"path":"/reset"}}"#,
    )
    .await;
    for alpn in [&b"http/1.1"[..], b"h2"] {
        let mut tls = handshake(addr, &pki.cert, &[alpn], None).await.unwrap();
        let got = if alpn == b"h2" {
            let mut conn = TlsConn::over(tls).await.unwrap();
            conn.try_get("/reset").await.map(|r| r.status).map_err(|e| {
                let io = std::error::Error::source(&e)
                    .and_then(|s| s.downcast_ref::<std::io::Error>())
                    .map(std::io::Error::kind);
                format!("{e:?} {io:?}")
            })
        } else {
            tls.write_all(b"GET /reset HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .await
                .unwrap();
            let mut buf = Vec::new();
            let read = tokio::time::timeout(LIMIT, tls.read_to_end(&mut buf))
                .await
                .expect("ended in time");
            // A reset is `Err(ConnectionReset)`; a close `Ok(n)` or `Err(UnexpectedEof)`.
            Err(format!("{read:?} after {} bytes", buf.len()))
        };
        let why = got.unwrap_err();
        assert!(why.contains("ConnectionReset"), "{alpn:?}: {why}");
        // A new connection is served.
        let mut conn = TlsConn::connect(addr, &pki.cert, &[alpn]).await.unwrap();
        assert_eq!(conn.get("/ok").await.status, 200, "{alpn:?}");
    }
}

/// A service whose `ready` URL is HTTPS with a self-signed certificate (a real TLS server,
/// python3's): without `tls` it is not ready, the reason naming the handshake; with `tls:
/// {ca}` or `tls: {insecure: true}` it is ready and its probe passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_over_https_verifies_with_the_experiments_tls_settings() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let file = https_service_experiment(dir.path(), "refused", &pki, None, "");
    let ran = shakedown(&["run", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    let said = format!("{}{}", ran.stdout, ran.stderr);
    assert!(
        said.contains(
            "PREFLIGHT FAILED: service `web` was not ready within 3s (TLS handshake failed: "
        ) && said.contains("UnknownIssuer"),
        "{said}"
    );
    let ca = format!("{{ca: \"{}\"}}", pki.cert_str());
    for (name, tls) in [("with-ca", ca.as_str()), ("insecure", "{insecure: true}")] {
        let file = https_service_experiment(dir.path(), name, &pki, None, tls);
        let (ran, doc) = support::runner::run_journaled(&file).await;
        assert_eq!(ran.code, 0, "{name}: {}\n{}", ran.stdout, ran.stderr);
        let detail = &doc["experiments"][0]["runs"][0]["preflight"][0]["detail"];
        assert_eq!(detail, "status 200", "{name}");
    }
}

/// An upstream that speaks only HTTP/1.1 (one request per connection): it answers the request
/// line as the body, and garbage to an HTTP/2 preface.
async fn http1_only_upstream() -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let line = text.lines().next().unwrap_or_default().to_string();
                let reply = if line.starts_with("PRI ") {
                    "not http/2".to_string()
                } else {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{line}",
                        line.len()
                    )
                };
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

/// A browser or curl offers h2 by ALPN to a TLS-terminating proxy without asking for HTTP/2
/// upstream: its requests reach an HTTP/1.1-only upstream as HTTP/1.1 (they were 502s, the
/// upstream answering an h2c preface).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_h2_client_of_a_tls_terminating_proxy_reaches_an_http1_upstream() {
    let pki = Pki::new();
    let srv = server(15).await;
    let api = srv.local_addr();
    let up = http1_only_upstream().await;
    let extra = format!(
        r#","tls_cert":"{}","tls_key":"{}""#,
        pki.cert_str(),
        pki.key_str()
    );
    let addr = support::http::http_proxy(api, "secure", up, &extra).await;
    let mut h2 = TlsConn::connect(addr, &pki.cert, &[b"h2", b"http/1.1"])
        .await
        .unwrap();
    assert!(h2.is_h2());
    for path in ["/a", "/b"] {
        let got = h2.get(path).await;
        assert_eq!(got.status, 200, "{}", got.text);
        assert_eq!(got.text, format!("GET {path} HTTP/1.1"));
    }
}
