//! The method: faults typed at validation, HTTP toxics at their line and on HTTP proxies only.

use super::*;

#[test]
fn a_fault_is_typed_from_validation_on() {
    use crate::fault::{Stream, ToxicKind};
    let text = r#"title: typed
proxies:
  - {name: kv, listen: "127.0.0.1:1", upstream: "127.0.0.1:2"}
method:
  - {at: 1s, for: 1s, fault: {proxy: kv, type: latency, stream: upstream, toxicity: 50%, attributes: {latency: 300}}}
  - {at: 3s, for: 1s, fault: {proxy: kv, type: noop}}
duration: 5s
"#;
    let e = parse(text).unwrap();
    let StepKind::Fault { fault, .. } = &e.method[0].kind else {
        panic!("{:?}", e.method[0].kind);
    };
    assert!(matches!(fault.kind, ToxicKind::Latency(_)), "{fault:?}");
    assert_eq!(fault.kind.attributes()["latency"], 300);
    assert_eq!(fault.stream, Stream::Upstream);
    assert_eq!(fault.toxicity.value(), 0.5);
    let StepKind::Fault { fault, .. } = &e.method[1].kind else {
        panic!("{:?}", e.method[1].kind);
    };
    assert_eq!(
        (fault.kind.clone(), fault.stream),
        (ToxicKind::Noop(crate::fault::Noop), Stream::Downstream)
    );
    assert_eq!(fault.toxicity.value(), 1.0);
    // Each bad field of a fault is its own problem, at its own path.
    let bad = text
        .replace("stream: upstream", "stream: sideways")
        .replace("toxicity: 50%", "toxicity: 1.5");
    let shown = parse(&bad).unwrap_err().to_string();
    for e in [
        "method[0].fault.stream: `sideways` must be downstream or upstream",
        "method[0].fault.toxicity: ",
    ] {
        assert!(shown.contains(e), "missing {e:?} in:\n{shown}");
    }
}

#[test]
fn http_toxics_are_checked_at_their_line_and_need_an_http_proxy() {
    let text = r#"title: http
proxies:
  - {name: web, listen: "127.0.0.1:1", upstream: "127.0.0.1:2", protocol: http}
  - {name: kv, listen: "127.0.0.1:3", upstream: "127.0.0.1:4"}
method:
  - {at: 1s, for: 1s, fault: {proxy: web, type: http_abort, toxicity: 20%, attributes: {status: 503, path: /health, headers: {retry-after: "1"}}}}
duration: 5s
"#;
    let e = parse(text).unwrap();
    assert_eq!(e.proxies[0].protocol, crate::proxy::Protocol::Http);
    assert_eq!(e.proxies[1].protocol, crate::proxy::Protocol::Tcp);
    let StepKind::Fault { fault, .. } = &e.method[0].kind else {
        panic!("{:?}", e.method[0].kind);
    };
    assert_eq!(fault.kind.attributes()["status"], 503);
    assert_eq!(fault.kind.attributes()["path"], "/health");
    let cases = [
        (
            "status: 503",
            "status: 600",
            "6:",
            "method[0].fault.attributes.status: must be a final HTTP status in 200..=599, got 600",
        ),
        (
            "path: /health",
            "path_regex: \"([\"",
            "6:",
            "method[0].fault.attributes.path_regex: does not compile",
        ),
        // Framing headers are refused at the header's own line and column (they made every
        // request of the run panic the proxy, and the run still passed).
        (
            "retry-after: \"1\"",
            "Content-Length: \"5\"",
            "6:143",
            "method[0].fault.attributes.headers.Content-Length: content-length cannot be set or removed",
        ),
        (
            "status: 503",
            "status: 204, body: x",
            "6:",
            "method[0].fault.attributes.body: a 204 response has no body",
        ),
        (
            "type: http_abort",
            "type: \"\"",
            "6:",
            "method[0].fault.type: the toxic type is empty, expected one of latency,",
        ),
        (
            "proxy: web",
            "proxy: kv",
            "6:",
            "method[0].fault.type: `http_abort` needs an HTTP-mode proxy: set `protocol: http` on proxy `kv`",
        ),
        (
            "protocol: http",
            "protocol: gopher",
            "3:",
            "proxies[0].protocol: expected \"tcp\" or \"http\", got \"gopher\"",
        ),
    ];
    for (from, to, line, says) in cases {
        let shown = parse(&text.replace(from, to)).unwrap_err().to_string();
        assert!(shown.contains(says), "missing {says:?} in:\n{shown}");
        let at = shown.lines().find(|l| l.contains(says)).unwrap_or_default();
        assert!(at.contains(&format!(":{line}")), "{at}");
    }
}
