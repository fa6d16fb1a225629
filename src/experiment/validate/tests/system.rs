//! Proxies: listen addresses, TLS settings at their line.

use super::*;

/// Two proxies on one fixed listen address pass nothing but a 409 at preflight; port 0 (any free
/// port) may repeat.
#[test]
fn two_proxies_cannot_listen_on_one_address() {
    let twice = GOOD.replace(
        "proxies:\n",
        "proxies:\n  - {name: other, listen: \"127.0.0.1:18081\", upstream: \"127.0.0.1:1\"}\n",
    );
    let e = parse(&twice).unwrap_err().to_string();
    assert!(
        e.contains("exp.yaml:10:24:")
            && e.contains(
                "proxies[1].listen: `127.0.0.1:18081` is the listen address of another proxy"
            ),
        "{e}"
    );
    let any = GOOD
        .replace("127.0.0.1:18081\", upstream", "127.0.0.1:0\", upstream")
        .replace(
            "proxies:\n",
            "proxies:\n  - {name: other, listen: \"127.0.0.1:0\", upstream: \"127.0.0.1:1\"}\n",
        );
    assert!(parse(&any).is_ok(), "{:?}", parse(&any).err());
}

/// A proxy's TLS files and the experiment's CA file are read by validation: a bad one is a
/// problem at its own line and field; TLS on a TCP proxy is one too.
#[test]
fn tls_settings_are_checked_at_their_line() {
    let text = r#"title: tls
tls: {ca: /nonexistent/ca.pem}
proxies:
  - {name: web, listen: "127.0.0.1:1", upstream: "127.0.0.1:2", protocol: http, tls_cert: /nonexistent/c.pem, tls_key: /nonexistent/k.pem}
  - {name: kv, listen: "127.0.0.1:3", upstream: "127.0.0.1:4", upstream_tls: true, http_header_timeout: 5s}
  - {name: mesh, listen: "127.0.0.1:5", upstream: "127.0.0.1:6", protocol: http, upstream_tls: true,
     upstream_cert: /nonexistent/uc.pem, upstream_key: /nonexistent/uk.pem, http_header_timeout: 50ms}
  - {name: gate, listen: "127.0.0.1:7", upstream: "127.0.0.1:8", protocol: http, tls_client_ca: /nonexistent/ca.pem}
duration: 5s
"#;
    let shown = parse(text).unwrap_err().to_string();
    for says in [
        "exp.yaml:2:11: tls.ca: /nonexistent/ca.pem: No such file",
        "exp.yaml:4:",
        "proxies[0].tls_cert: /nonexistent/c.pem: No such file",
        "exp.yaml:5:",
        "exp.yaml:5:78: proxies[1].upstream_tls: TLS (upstream_tls) needs `protocol: http`",
        "proxies[1].http_header_timeout: needs `protocol: http`",
        "exp.yaml:7:21: proxies[2].upstream_cert: /nonexistent/uc.pem: No such file",
        "exp.yaml:7:98: proxies[2].http_header_timeout: must be between 100ms and 600s, got 50ms",
        "exp.yaml:8:",
        "proxies[3].tls_client_ca: needs tls_cert and tls_key",
    ] {
        assert!(shown.contains(says), "missing {says:?} in:\n{shown}");
    }
    // A client identity needs both halves; the missing one is named.
    let half = "title: tls\ntls: {cert: /nonexistent/client.pem}\nduration: 5s\n";
    let shown = parse(half).unwrap_err().to_string();
    assert!(shown.contains("tls.key: needed with tls.cert"), "{shown}");
    let fine = "title: tls\ntls: {insecure: true}\nload: {target: \"https://localhost:1/\", rate: 1/s}\nduration: 5s\n";
    let e = parse(fine).unwrap();
    assert!(e.tls.insecure);
    // The load inherits the experiment's TLS settings.
    assert_eq!(e.load.unwrap().tls, Some(e.tls));
}
