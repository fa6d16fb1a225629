//! The load driver's TLS from the command line, over real loopback sockets with certificates
//! made at run time: why a `tls` error happened (`error_reasons`, in the JSON report and the
//! summary), a TLS flag's problem named by the flag typed (a scenario file's by its line),
//! and TLS flags refused on a plain `http://` target. Protocol coverage: http_tls.rs,
//! http_mtls.rs.

mod support;

use std::process::Output;
use std::time::Duration;

use serde_json::Value;
use support::load::{load_report, shakedown_load};
use support::tls::{Ca, Pki, TlsUpstream};

const LIMIT: Duration = Duration::from_secs(60);

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The report's `tls` errors: every request failed as `tls`, and `error_reasons.tls` says why
/// in one reason holding them all, whose words contain `words`.
fn one_tls_reason(report: &Value, words: &str) {
    let n = report["summary"]["requests"].as_u64().unwrap();
    assert!(n >= 20, "{report}");
    assert_eq!(report["errors_by_class"]["tls"], n, "{report}");
    let reasons = report["error_reasons"]["tls"]
        .as_array()
        .expect("tls reasons");
    assert_eq!(reasons.len(), 1, "{report}");
    assert_eq!(reasons[0]["count"], n, "{report}");
    let reason = reasons[0]["reason"].as_str().unwrap();
    assert!(reason.contains(words), "{reason}");
    assert_eq!(report["error_reasons"].as_object().unwrap().len(), 1);
}

/// A server whose certificate the client does not trust: the report and the summary name the
/// reason rustls gave (`UnknownIssuer` for an unknown CA, `CaUsedAsEndEntity` for a CA's own
/// certificate served as the server's). A handshake that never finishes is a `timeout`, with
/// no TLS reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_error_says_why() {
    let ca = Ca::new();
    let up = TlsUpstream::start(&ca.issue()).await;
    let url = format!("https://127.0.0.1:{}/x", up.addr.port());
    let unknown = load_report(&url, &[], LIMIT).await;
    one_tls_reason(
        &unknown,
        "the server's certificate is not signed by a CA trusted here (the system's roots, --ca \
         FILE or tls: {ca: FILE}): give its CA with --ca (invalid peer certificate: UnknownIssuer)",
    );
    // The CA is trusted, but its own certificate is no server's.
    let itself = Pki::ca_as_end_entity();
    let up_ca = TlsUpstream::start(&itself).await;
    let url_ca = format!("https://127.0.0.1:{}/x", up_ca.addr.port());
    let ca_used = load_report(&url_ca, &["--ca", itself.cert_str()], LIMIT).await;
    one_tls_reason(
        &ca_used,
        "the server's certificate is a CA certificate (basicConstraints CA:TRUE), which cannot \
         identify a server: make it with CA:FALSE",
    );
    one_tls_reason(&ca_used, "(CaUsedAsEndEntity)");
    assert!(!ca_used.to_string().contains("OtherError"), "{ca_used}");
    assert_eq!(up.requests() + up_ca.requests(), 0);
    // The summary says it under its errors line, with the class's count.
    let out = shakedown_load(&[&url, "--rate", "40/s", "--duration", "1s", "-q"], LIMIT).await;
    let summary = String::from_utf8_lossy(&out.stdout);
    let errors = summary
        .lines()
        .find(|l| l.starts_with("errors "))
        .unwrap_or_else(|| panic!("no errors line:\n{summary}"));
    let n = errors
        .trim_start_matches("errors")
        .trim()
        .strip_prefix("tls ")
        .unwrap_or_else(|| panic!("{errors}"));
    let why = format!(
        "          tls {n}: the server's certificate is not signed by a CA trusted here (the \
         system's roots, --ca FILE or tls: {{ca: FILE}}): give its CA with --ca (invalid peer \
         certificate: UnknownIssuer)"
    );
    assert!(
        summary.lines().any(|l| l == why),
        "no {why:?} in:\n{summary}"
    );
    // A server that accepts and never speaks: the handshake times out, a `timeout`.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url_silent = format!("https://{}/x", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            open.push(s);
        }
    });
    let timed_out = load_report(&url_silent, &["--timeout", "300ms"], LIMIT).await;
    held.abort();
    let n = timed_out["summary"]["requests"].as_u64().unwrap();
    assert!(n >= 20, "{timed_out}");
    assert_eq!(timed_out["errors_by_class"]["timeout"], n, "{timed_out}");
    assert_eq!(
        timed_out["error_reasons"],
        serde_json::json!({}),
        "{timed_out}"
    );
}

/// A TLS flag's problem names the flag typed; the same setting from a scenario file keeps
/// its `tls.cert` name, at its line and column.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_problems_name_the_flag_typed_or_the_line_written() {
    let ca = Ca::new();
    let id = ca.issue();
    let url = "https://127.0.0.1:9/";
    let cases: [(Vec<&str>, &str); 5] = [
        (vec!["--cert", id.cert_str()], "--key: needed with --cert"),
        (vec!["--key", id.key_str()], "--cert: needed with --key"),
        (
            vec!["--cert", "/nonexistent/c.pem", "--key", id.key_str()],
            "--cert: /nonexistent/c.pem: ",
        ),
        (
            vec!["--cert", id.cert_str(), "--key", "/nonexistent/k.pem"],
            "--key: /nonexistent/k.pem: ",
        ),
        (
            vec!["--ca", "/nonexistent/ca.pem"],
            "--ca: /nonexistent/ca.pem: ",
        ),
    ];
    for (flags, says) in cases {
        let args = [&[url, "--rate", "1/s", "--duration", "1s"][..], &flags].concat();
        let out = shakedown_load(&args, LIMIT).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(err.contains(says), "{flags:?}: {err}");
        assert!(!err.contains("tls."), "{flags:?}: {err}");
    }
    // From the file: `tls.cert` at its line, even beside a TLS flag typed for another setting.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("load.yaml");
    std::fs::write(
        &file,
        format!(
            "target: {url}\nrate: 1/s\nduration: 1s\ntls:\n  cert: /nonexistent/c.pem\n  key: {}\n",
            id.key_str()
        ),
    )
    .unwrap();
    let path = file.to_str().unwrap();
    for flags in [vec![], vec!["--ca", ca.cert_str()]] {
        let args = [&["--scenario", path][..], &flags].concat();
        let out = shakedown_load(&args, LIMIT).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(
            err.contains(&format!("{path}:5:9: tls.cert: /nonexistent/c.pem: ")),
            "{flags:?}: {err}"
        );
    }
}

/// `--ca`, `--insecure`, `--cert`, `--key` on a plain `http://` target would change nothing:
/// refused (exit 2) naming the flags, before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_flags_on_an_http_target_are_refused() {
    let id = Ca::new().issue();
    let target = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", target.local_addr().unwrap());
    let cases: [(Vec<&str>, &str); 3] = [
        (vec!["--insecure"], "--insecure: the target"),
        (vec!["--ca", id.cert_str()], "--ca: the target"),
        (
            vec!["--cert", id.cert_str(), "--key", id.key_str()],
            "--cert, --key: the target",
        ),
    ];
    for (flags, says) in cases {
        let args = [
            &[url.as_str(), "--rate", "50/s", "--duration", "1s"][..],
            &flags,
        ]
        .concat();
        let out = shakedown_load(&args, LIMIT).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(
            err.contains(says) && err.contains("is plain HTTP") && err.contains("https://"),
            "{flags:?}: {err}"
        );
    }
    // The target from a scenario file, the flag typed: refused all the same.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("load.yaml");
    std::fs::write(&file, format!("target: {url}\nrate: 50/s\nduration: 1s\n")).unwrap();
    let out = shakedown_load(&["--scenario", file.to_str().unwrap(), "--insecure"], LIMIT).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--insecure: the target"),
        "{}",
        stderr(&out)
    );
    // Nothing was sent.
    let accepted = tokio::time::timeout(Duration::from_millis(300), target.accept()).await;
    assert!(accepted.is_err(), "a refused load connected to the target");
}

/// docs/load.md's HTTPS recipe for a self-signed certificate (its ```sh block) works: the
/// certificate openssl makes is trusted with `--ca` and every request of the block's
/// `shakedown load` line succeeds. Without its `basicConstraints=critical,CA:FALSE`, OpenSSL 3
/// makes a CA certificate, and the reason says so in words.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_self_signed_recipe_works_and_without_ca_false_the_reason_says_why() {
    if std::process::Command::new("openssl")
        .arg("version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no openssl on this machine");
        return;
    }
    let doc = include_str!("../docs/load.md");
    let https = &doc[doc.find("## HTTPS").unwrap()..];
    let block = https
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a ```sh block in the HTTPS section");
    let joined = block.replace("\\\n", " ");
    let mut lines = joined.lines().map(str::trim);
    let openssl = lines.next().unwrap();
    let load = lines.next().unwrap();
    assert!(openssl.starts_with("openssl req -x509 "), "{openssl}");
    assert!(
        openssl.contains("-addext basicConstraints=critical,CA:FALSE"),
        "{openssl}"
    );
    let make = |command: &str| {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{command}: {out:?}");
        let (cert, key) = (dir.path().join("self.pem"), dir.path().join("self.key"));
        Pki::adopt(dir, cert, key)
    };
    let pki = make(openssl);
    let up = TlsUpstream::start(&pki).await;
    let url = format!("https://127.0.0.1:{}/", up.addr.port());
    let words: Vec<String> = load
        .split_whitespace()
        .skip(2)
        .map(|w| match w {
            "https://127.0.0.1:8443/" => url.clone(),
            "self.pem" => pki.cert_str().to_string(),
            w => w.to_string(),
        })
        .collect();
    assert!(words.contains(&url), "{load}");
    let mut args: Vec<&str> = words.iter().map(String::as_str).collect();
    args.extend(["--json", "-", "-q"]);
    let out = shakedown_load(&args, LIMIT).await;
    let report: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let n = report["summary"]["requests"].as_u64().unwrap();
    assert!(n >= 10, "{report}");
    assert_eq!(report["summary"]["ok"], n, "{report}");
    // OpenSSL 3's default: a CA certificate, refused as a server's own.
    let ca_true = make(&openssl.replace(" -addext basicConstraints=critical,CA:FALSE", ""));
    let up_ca = TlsUpstream::start(&ca_true).await;
    let url_ca = format!("https://127.0.0.1:{}/", up_ca.addr.port());
    let refused = load_report(&url_ca, &["--ca", ca_true.cert_str()], LIMIT).await;
    one_tls_reason(
        &refused,
        "the server's certificate is a CA certificate (basicConstraints CA:TRUE)",
    );
    assert_eq!(up_ca.requests(), 0);
}
