//! Mutual TLS over real loopback sockets, with a CA, server and client certificates made at
//! run time: an HTTP-mode proxy that requires client certificates (`tls_client_ca`) admits
//! only those its CA signed, and the load driver presents one with `--cert`/`--key` (a
//! refused client counted in the `tls` class); a proxy presents its own (`upstream_cert`,
//! `upstream_key`) to an upstream that requires one; bad settings are refused naming the
//! field and change nothing.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::proxy::*;
use support::runner::shakedown;
use support::tls::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(60);

async fn load(url: &str, extra: &[&str]) -> Value {
    support::load::load_report(url, extra, LIMIT).await
}

/// GET `/x` over a fresh TLS connection presenting `identity`: the answer's status line, or
/// the error that ended the handshake or the connection.
async fn get_as(
    addr: std::net::SocketAddr,
    ca: &std::path::Path,
    identity: Option<&Pki>,
) -> Result<String, String> {
    let mut tls = handshake(addr, ca, &[b"http/1.1"], identity)
        .await
        .map_err(|e| e.to_string())?;
    let request = b"GET /x HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n";
    tls.write_all(request).await.map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    tokio::time::timeout(LIMIT, tls.read_to_end(&mut answer))
        .await
        .expect("answered in time")
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&answer);
    Ok(text.lines().next().unwrap_or_default().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_requiring_client_certificates_admits_only_those_its_ca_signed() {
    let ca = Ca::new();
    let (server_id, client_id, stranger) = (ca.issue(), ca.issue(), Pki::new());
    let up = support::http::Upstream::start().await;
    let srv = server(11).await;
    let api = srv.local_addr();
    let extra = format!(
        r#","tls_cert":"{}","tls_key":"{}","tls_client_ca":"{}""#,
        server_id.cert_str(),
        server_id.key_str(),
        ca.cert_str()
    );
    let addr = support::http::http_proxy(api, "mesh", up.addr, &extra).await;
    let view = http(api, "GET", "/proxies/mesh", None).await.json();
    assert_eq!(view["tls_client_ca"], ca.cert_str());
    for (who, identity) in [("no certificate", None), ("a stranger", Some(&stranger))] {
        let refused = get_as(addr, ca.cert(), identity).await.unwrap_err();
        // The server's alert (`CertificateRequired`, `UnknownCA`), read after the handshake.
        assert!(refused.contains("received fatal alert"), "{who}: {refused}");
    }
    assert_eq!(up.requests(), 0, "a refused client reaches nothing");
    let admitted = get_as(addr, ca.cert(), Some(&client_id)).await;
    assert_eq!(admitted.as_deref(), Ok("HTTP/1.1 200 OK"));
    assert_eq!(up.requests(), 1);
    // The load driver: without an identity every request fails, as a TLS failure (the
    // server's alert, also over h2 where the driver learns it from the connection's end) or,
    // over h2 when the connection had died before taking the request, as a reset (hyper then
    // says only "connection closed"); with one, all pass.
    let url = format!("https://127.0.0.1:{}/x", addr.port());
    let refused = load(&url, &["--ca", ca.cert_str()]).await;
    let n = refused["summary"]["requests"].as_u64().unwrap();
    let by_class = &refused["errors_by_class"];
    let (tls, reset) = (by_class["tls"].as_u64(), by_class["reset"].as_u64());
    assert!(n >= 20, "{refused}");
    assert_eq!(refused["summary"]["errors"], n, "{refused}");
    assert_eq!(tls.unwrap() + reset.unwrap(), n, "{refused}");
    assert!(tls.unwrap() >= 1, "{refused}");
    assert_eq!(up.requests(), 1);
    let id = ["--cert", client_id.cert_str(), "--key", client_id.key_str()];
    let ok = load(&url, &[&["--ca", ca.cert_str()][..], &id].concat()).await;
    let n = ok["summary"]["requests"].as_u64().unwrap();
    assert!(n >= 20, "{ok}");
    assert_eq!(ok["summary"]["ok"], n, "{ok}");
    assert_eq!(up.requests(), 1 + n);
    // Half an identity, or a key that is not the certificate's, is invalid input naming it.
    let cases = [
        (
            vec!["--cert", client_id.cert_str()],
            "--key: needed with --cert",
        ),
        (
            vec!["--cert", client_id.cert_str(), "--key", stranger.key_str()],
            "--key: certificate and key",
        ),
        (
            vec!["--cert", "/nonexistent/c.pem", "--key", client_id.key_str()],
            "--cert: /nonexistent/c.pem",
        ),
    ];
    for (flags, why) in cases {
        let args = [&[url.as_str(), "--rate", "1/s"][..], &flags].concat();
        let out = support::load::shakedown_load(&args, LIMIT).await;
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(why), "{flags:?}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_presents_its_certificate_to_an_upstream_that_requires_one() {
    let ca = Ca::new();
    let (up_id, proxy_id) = (ca.issue(), ca.issue());
    let up = TlsUpstream::requiring(&up_id, Some(ca.cert())).await;
    let srv = server(12).await;
    let api = srv.local_addr();
    let extra = format!(r#","upstream_tls":true,"upstream_ca":"{}""#, ca.cert_str());
    let addr = support::http::http_proxy(api, "origin", up.addr, &extra).await;
    // Without an identity the upstream refuses the proxy: 502 (the reason in the header is
    // the alert, or on h2 at times only `connection closed`).
    let mut c = support::http::H1::connect(addr).await;
    let got = c.get("/x").await.unwrap();
    assert_eq!(got.status.as_u16(), 502, "{}", got.text());
    assert!(got.headers.contains_key("x-shakedown-error"));
    assert_eq!(up.requests(), 0);
    // Given one by an update, the next request passes.
    let body = format!(
        r#"{{"upstream_cert":"{}","upstream_key":"{}"}}"#,
        proxy_id.cert_str(),
        proxy_id.key_str()
    );
    let r = http(api, "POST", "/proxies/origin", Some(&body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["upstream_cert"], proxy_id.cert_str());
    let got = c.get("/x").await.unwrap();
    assert_eq!(
        (got.status.as_u16(), got.text()),
        (200, "HTTP/2.0 /x".to_string())
    );
    assert_eq!(up.requests(), 1);
}

#[tokio::test]
async fn bad_client_certificate_settings_are_refused_and_change_nothing() {
    let ca = Ca::new();
    let (id, other) = (ca.issue(), ca.issue());
    let srv = server(13).await;
    let api = srv.local_addr();
    let up: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    let (cert, key, ca_pem) = (id.cert_str(), id.key_str(), ca.cert_str());
    let body = |name: &str, extra: &str| {
        format!(
            r#"{{"name":"{name}","upstream":"{up}","protocol":"http","upstream_tls":true{extra}}}"#
        )
    };
    let cases = [
        (
            format!(r#","upstream_cert":"{cert}""#),
            "upstream_key: needed with upstream_cert",
        ),
        (
            format!(r#","upstream_key":"{key}""#),
            "upstream_cert: needed with upstream_key",
        ),
        (
            format!(
                r#","upstream_cert":"{cert}","upstream_key":"{}""#,
                other.key_str()
            ),
            "upstream_key: certificate and key",
        ),
        (
            format!(r#","upstream_cert":"/nonexistent/c.pem","upstream_key":"{key}""#),
            "upstream_cert: /nonexistent/c.pem: ",
        ),
        (
            format!(r#","upstream_cert":"{cert}","upstream_key":"{cert}""#),
            "upstream_key: ",
        ),
        (
            format!(r#","tls_cert":"{cert}","tls_key":"{key}","tls_client_ca":"{key}""#),
            "tls_client_ca: ",
        ),
        (
            format!(r#","tls_client_ca":"{ca_pem}""#),
            "tls_client_ca: needs tls_cert and tls_key",
        ),
        (
            r#","tls_client_ca":5"#.to_string(),
            "tls_client_ca: expected a string",
        ),
    ];
    for (extra, why) in &cases {
        let r = http(api, "POST", "/proxies", Some(&body("bad", extra))).await;
        assert_eq!(r.status, 400, "{extra}: {}", r.body);
        assert!(r.body.contains(why), "{why}: {}", r.body);
    }
    // Without upstream_tls, or on a TCP proxy, the fields given are named.
    let no_tls = format!(
        r#"{{"name":"n","upstream":"{up}","protocol":"http","upstream_cert":"{cert}","upstream_key":"{key}"}}"#
    );
    let r = http(api, "POST", "/proxies", Some(&no_tls)).await;
    assert!(
        r.body
            .contains("upstream_cert: needs \\\"upstream_tls\\\": true"),
        "{}",
        r.body
    );
    let tcp = no_tls.replace(r#""protocol":"http""#, r#""upstream_tls":true"#);
    let r = http(api, "POST", "/proxies", Some(&tcp)).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(
        r.body
            .contains("TLS (upstream_tls, upstream_cert, upstream_key) needs an HTTP-mode proxy"),
        "{}",
        r.body
    );
    // /populate refuses the whole list at the item's index.
    let list = format!("[{}]", body("bad", &cases[3].0));
    let r = http(api, "POST", "/populate", Some(&list)).await;
    assert!(r.body.contains("[0].upstream_cert"), "{}", r.body);
    assert_eq!(
        http(api, "GET", "/proxies", None).await.json(),
        serde_json::json!({})
    );
    // An update that would break a working proxy is refused and leaves it as it was.
    let good = format!(r#","tls_cert":"{cert}","tls_key":"{key}","tls_client_ca":"{ca_pem}""#);
    let r = http(api, "POST", "/proxies", Some(&body("good", &good))).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let before = r.json();
    for update in [
        r#"{"tls_client_ca":"/nonexistent/ca.pem"}"#.to_string(),
        format!(r#"{{"upstream_cert":"{cert}"}}"#),
        r#"{"tls_cert":"","tls_key":""}"#.to_string(),
    ] {
        let r = http(api, "POST", "/proxies/good", Some(&update)).await;
        assert_eq!(r.status, 400, "{update}: {}", r.body);
        assert_eq!(http(api, "GET", "/proxies/good", None).await.json(), before);
    }
    // A config file names the file, line and column.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("proxies.yaml");
    std::fs::write(
        &file,
        format!("- name: web\n  upstream: \"{up}\"\n  protocol: http\n  upstream_tls: true\n  upstream_cert: \"{cert}\"\n  upstream_key: /nonexistent/k.pem\n"),
    )
    .unwrap();
    let ran = shakedown(&["serve", "--config", file.to_str().unwrap(), "--port", "0"]).await;
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("proxies.yaml:6:17: [0].upstream_key: /nonexistent/k.pem: No such file"),
        "{}",
        ran.stderr
    );
}

/// `ready` and probes present the experiment's identity (`tls: {cert, key}`): a service that
/// requires client certificates (python3's TLS) is not ready without one, and is with one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_and_probes_present_the_experiments_client_certificate() {
    let ca = Ca::new();
    let (server_id, client_id) = (ca.issue(), ca.issue());
    let dir = tempfile::tempdir().unwrap();
    let trust = format!("{{ca: \"{}\"}}", ca.cert_str());
    let file = https_service_experiment(dir.path(), "anon", &server_id, Some(ca.cert()), &trust);
    let ran = shakedown(&["run", file.to_str().unwrap()]).await;
    assert_eq!(ran.code, 3, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stdout
            .contains("PREFLIGHT FAILED: service `web` was not ready within 3s"),
        "{}",
        ran.stdout
    );
    let identity = format!(
        "{{ca: \"{}\", cert: \"{}\", key: \"{}\"}}",
        ca.cert_str(),
        client_id.cert_str(),
        client_id.key_str()
    );
    let file =
        https_service_experiment(dir.path(), "known", &server_id, Some(ca.cert()), &identity);
    let (ran, doc) = support::runner::run_journaled(&file).await;
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let detail = &doc["experiments"][0]["runs"][0]["preflight"][0]["detail"];
    assert_eq!(detail, "status 200");
}

/// Over HTTP/1.1 (python3's TLS server offers no h2), every request of a load driver without
/// a client certificate is counted in class `tls`: the server's alert is read as the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_driver_counts_a_refused_client_certificate_as_tls_over_http1() {
    let ca = Ca::new();
    let (server_id, client_id) = (ca.issue(), ca.issue());
    let port = support::runner::free_port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/https_server.py");
    let mut server = tokio::process::Command::new("python3")
        .args([
            script,
            &port.to_string(),
            server_id.cert_str(),
            server_id.key_str(),
        ])
        .arg(ca.cert())
        .kill_on_drop(true)
        .spawn()
        .expect("python3");
    let up = support::runner::until(LIMIT, async || {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    assert!(up.is_some(), "the HTTPS server never listened");
    let url = format!("https://127.0.0.1:{port}/x");
    let refused = load(&url, &["--ca", ca.cert_str()]).await;
    let n = refused["summary"]["requests"].as_u64().unwrap();
    assert!(n >= 20, "{refused}");
    assert_eq!(refused["errors_by_class"]["tls"], n, "{refused}");
    let id = ["--cert", client_id.cert_str(), "--key", client_id.key_str()];
    let ok = load(&url, &[&["--ca", ca.cert_str()][..], &id].concat()).await;
    let n = ok["summary"]["requests"].as_u64().unwrap();
    assert_eq!(ok["summary"]["ok"], n, "{ok}");
    server.kill().await.expect("stop the server");
}
