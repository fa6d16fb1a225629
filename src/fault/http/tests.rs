use http::{HeaderMap, Method};
use serde_json::{Value, json};

use super::*;
use crate::fault::ToxicKind;
use crate::fault::roll::DecisionKey;

fn kind(type_name: &str, attrs: Value) -> Result<ToxicKind, FaultError> {
    ToxicKind::from_wire(type_name, attrs.as_object().unwrap_or(&Map::new()))
}

#[test]
fn bad_attributes_name_the_field() {
    let err = |t, a| kind(t, a).unwrap_err().to_string();
    assert_eq!(
        err("http_abort", json!({"status": 600})),
        "attributes.status: must be a final HTTP status in 200..=599, got 600"
    );
    assert_eq!(
        err("http_abort", json!({"status": 99})),
        "attributes.status: must be a final HTTP status in 200..=599, got 99"
    );
    // A 1xx is not an answer: hyper sent 100 as a 500 without the marker, 101 with a body.
    for informational in [100, 101, 199] {
        assert_eq!(
            err("http_abort", json!({"status": informational})),
            format!(
                "attributes.status: must be a final HTTP status in 200..=599, got {informational}"
            )
        );
        assert!(err("http_tamper", json!({"status": informational})).contains("200..=599"));
    }
    assert!(err("http_abort", json!({})).starts_with("attributes.status: required"));
    assert!(err("http_tamper", json!({"status": 0})).starts_with("attributes.status: must be"));
    assert!(
        err("http_delay", json!({"path_regex": "(["}))
            .starts_with("attributes.path_regex: does not compile"),
    );
    assert!(err("http_reset", json!({"path": "x"})).starts_with("attributes.path: must start"));
    assert!(err("http_reset", json!({"method": "GE T"})).starts_with("attributes.method: "));
    assert!(err("http_reset", json!({"header": "a b"})).starts_with("attributes.header: "));
    assert!(
        err("http_abort", json!({"status": 503, "headers": {"a": 1}}))
            .starts_with("attributes.headers.a: ")
    );
    assert!(
        err("http_tamper", json!({"remove_headers": ["ok", "b d"]}))
            .starts_with("attributes.remove_headers[1]: ")
    );
    assert!(err("http_throttle", json!({"rate": 0})).starts_with("attributes.rate: "));
    assert!(err("grpc_abort", json!({"code": 17})).starts_with("attributes.code: "));
    assert!(err("http_reset", json!({"first_n": -1})).starts_with("attributes.first_n: "));
    // Counts are requests, not bytes.
    for count in ["first_n", "max_active"] {
        assert_eq!(
            err("http_reset", json!({count: 1_000_000_000_000_001u64})),
            format!(
                "attributes.{count}: must be at most 1000000000000000 (10^15), got 1000000000000001"
            )
        );
    }
}

/// Framing and hop-by-hop headers are the proxy's: refused in every header field, by name
/// in any case; a body with a bodiless status is refused. They made hyper panic.
#[test]
fn framing_headers_and_bodies_of_bodiless_statuses_are_refused() {
    let err = |t, a| kind(t, a).unwrap_err().to_string();
    for name in framing::RESERVED {
        let upper = name.to_ascii_uppercase();
        assert!(
            err(
                "http_abort",
                json!({"status": 200, "headers": {upper.clone(): "1"}})
            )
            .starts_with(&format!(
                "attributes.headers.{upper}: {name} cannot be set or removed"
            )),
        );
        assert!(
            err("http_tamper", json!({"set_headers": {name: "1"}}))
                .starts_with(&format!("attributes.set_headers.{name}: {name} cannot")),
        );
        assert!(
            err("http_tamper", json!({"remove_headers": ["etag", name]}))
                .starts_with(&format!("attributes.remove_headers[1]: {name} cannot")),
        );
    }
    assert_eq!(
        err("http_abort", json!({"status": 204, "body": "x"})),
        "attributes.body: a 204 response has no body: remove `body` or choose another status"
    );
    assert!(
        err("http_tamper", json!({"status": 304, "body": ""}))
            .starts_with("attributes.body: a 304")
    );
    assert!(
        err("http_tamper", json!({"status": 204, "truncate": 0}))
            .starts_with("attributes.truncate: a 204")
    );
    // 205 Reset Content has no content either (RFC 9110 §15.3.6).
    assert!(
        err("http_abort", json!({"status": 205, "body": "xyz"}))
            .starts_with("attributes.body: a 205")
    );
    assert!(
        err("http_tamper", json!({"status": 205, "body": "x"}))
            .starts_with("attributes.body: a 205")
    );
    // Accepted: a bodiless status alone (the proxy drops the body), an empty body.
    assert!(kind("http_tamper", json!({"status": 204})).is_ok());
    assert!(kind("http_abort", json!({"status": 304, "body": ""})).is_ok());
    assert!(
        kind(
            "http_abort",
            json!({"status": 200, "headers": {"content-type": "text/plain"}})
        )
        .is_ok()
    );
}

#[test]
fn every_http_kind_round_trips_with_its_matcher() {
    let matcher = json!({"method": "POST", "path": "/orders", "path_regex": "^/o.*s$",
        "header": "x-test: 1", "first_n": 2, "max_active": 3});
    let own = [
        (
            "http_abort",
            json!({"status": 503, "body": "no", "headers": {"retry-after": "1"}}),
        ),
        (
            "http_delay",
            json!({"delay": 200, "jitter": 10, "response_delay": 5}),
        ),
        ("http_reset", json!({})),
        ("http_throttle", json!({"rate": 10})),
        (
            "http_tamper",
            json!({"status": 500, "set_headers": {"a": "b"}, "remove_headers": ["c"], "body": "x", "truncate": 3}),
        ),
        ("grpc_abort", json!({"code": 14, "message": "unavailable"})),
    ];
    for (name, attrs) in own {
        let mut all = attrs.as_object().cloned().unwrap_or_default();
        all.extend(matcher.as_object().cloned().unwrap_or_default());
        let k = kind(name, Value::Object(all.clone())).unwrap();
        assert!(k.is_http());
        assert_eq!(k.attributes(), all, "{name}");
        assert_eq!(ToxicKind::from_wire(name, &k.attributes()).unwrap(), k);
    }
}

#[test]
fn matchers_select_requests() {
    let k = kind(
        "http_reset",
        json!({"method": "post", "path": "/orders", "header": "x-a: 1"}),
    )
    .unwrap();
    let m = k
        .behaviour()
        .http()
        .map(HttpFault::matcher)
        .cloned()
        .unwrap_or_default();
    let mut h = HeaderMap::new();
    assert!(!m.matches(&Method::POST, "/orders/1", &h));
    h.insert("x-a", "1".parse().unwrap());
    assert!(m.matches(&Method::POST, "/orders/1", &h));
    assert!(!m.matches(&Method::GET, "/orders/1", &h));
    assert!(!m.matches(&Method::POST, "/order", &h));
    h.insert("x-a", "2".parse().unwrap());
    assert!(!m.matches(&Method::POST, "/orders", &h));
    let r = kind(
        "http_reset",
        json!({"path_regex": "/[0-9]+$", "header": "x-b"}),
    )
    .unwrap();
    let m = r
        .behaviour()
        .http()
        .map(HttpFault::matcher)
        .cloned()
        .unwrap_or_default();
    h.insert("x-b", "anything".parse().unwrap());
    assert!(m.matches(&Method::GET, "/a/12", &h));
    assert!(!m.matches(&Method::GET, "/a/12/b", &h));
}

/// The per-request rule: `first_n` passes every request after the N-th; the draw is fixed by
/// (seed, proxy, request number, toxic), so the same sequence gives the same faults.
#[test]
fn per_request_decisions_are_pure_and_reproducible() {
    let draw = |n| {
        DecisionKey {
            seed: 7,
            proxy: "web",
            connection: n,
            toxic: "abort",
        }
        .request_draw()
    };
    let m = Matcher {
        first_n: 2,
        ..Matcher::default()
    };
    let always = Toxicity::ALWAYS;
    let faulted: Vec<u64> = (1..=5)
        .filter(|n| faults(always, &m, *n, draw(*n)))
        .collect();
    assert_eq!(faulted, vec![1, 2]);
    let fifth = Toxicity::new(0.2).unwrap();
    let any = Matcher::default();
    let run = || {
        (1..=1000)
            .filter(|n| faults(fifth, &any, *n, draw(*n)))
            .collect::<Vec<_>>()
    };
    let first = run();
    assert_eq!(first, run());
    assert!((150..=250).contains(&first.len()), "{}", first.len());
    // A request's draw differs from the connection draw of the same number.
    let key = DecisionKey {
        seed: 7,
        proxy: "web",
        connection: 3,
        toxic: "abort",
    };
    assert_ne!(key.request_draw(), key.draw());
}
