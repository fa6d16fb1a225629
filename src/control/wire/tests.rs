use super::*;

#[test]
fn defaults_follow_toxiproxy() {
    let t = toxic_request(&json!({"type": "latency", "attributes": {"latency": 5}})).unwrap();
    assert_eq!(t.toxic.name, "latency_downstream");
    assert_eq!(t.toxic.stream, Stream::Downstream);
    assert_eq!(t.toxic.toxicity, Toxicity::ALWAYS);
    let p = proxy_request(&json!({"name": "a", "upstream": "127.0.0.1:1"})).unwrap();
    assert!(p.enabled);
    assert_eq!(p.listen, "127.0.0.1:0");
}

#[test]
fn errors_name_the_field() {
    let e = toxic_request(&json!({"type": "latency", "toxicity": 1.5})).unwrap_err();
    assert_eq!(
        e.message,
        "bad request body: toxicity: must be between 0 and 1, got 1.5"
    );
    let e = proxy_request(&json!({"name": "a", "upstream": "x:1", "enabled": "yes"})).unwrap_err();
    assert_eq!(
        e.message,
        "bad request body: enabled: expected true or false, got \"yes\""
    );
    let e = populate_request(&json!([{"name": "a"}])).unwrap_err();
    assert_eq!(e.message, "missing required field: [0].upstream");
    let e = toxic_request(&json!({"type": "latency", "stream": "up"})).unwrap_err();
    assert!(e.message.starts_with("stream was invalid"), "{}", e.message);
    // A missing or null type is said to be missing (it read `invalid toxic type: ""`).
    for body in [json!({}), json!({"type": null}), json!({"type": ""})] {
        let e = toxic_request(&body).unwrap_err();
        assert!(
            e.message.starts_with(
                "invalid toxic type: missing, null or empty (expected one of latency, "
            ),
            "{body}: {}",
            e.message
        );
        assert_eq!(e.field.as_deref(), Some("type"));
    }
}

/// In an update, `null` removes an optional attribute (`http_tamper`'s `truncate`: no cut),
/// where `0` is a value of its own (cut to nothing).
#[test]
fn a_null_attribute_in_a_patch_removes_it() {
    let t = toxic_request(&json!({"type": "http_tamper", "attributes": {"truncate": 0}}))
        .unwrap()
        .toxic;
    assert_eq!(t.kind.attributes()["truncate"], json!(0));
    let p = toxic_patch(&json!({"attributes": {"truncate": null}})).unwrap();
    let merged = patched(&t, &p).unwrap();
    assert_eq!(merged.kind.attributes().get("truncate"), None);
}

#[test]
fn patches_merge_attributes() {
    let t = toxic_request(&json!({"type": "latency", "attributes": {"latency": 5, "jitter": 2}}))
        .unwrap()
        .toxic;
    let p = toxic_patch(&json!({"attributes": {"latency": 9}, "toxicity": 0.5})).unwrap();
    let merged = patched(&t, &p).unwrap();
    assert_eq!(merged.kind.attributes()["jitter"], json!(2));
    assert_eq!(merged.kind.attributes()["latency"], json!(9));
    assert_eq!(merged.toxicity.value(), 0.5);
}

/// Issue 8 item 6: the body parsers never panic on extreme values; every duration they
/// accept is within its documented bound and renders back.
#[test]
fn extreme_values_in_bodies_are_refused_or_bounded() {
    use rand::{RngExt, SeedableRng};
    let values = crate::fault::attrs::extremes();
    let mut rng = rand::rngs::StdRng::seed_from_u64(6);
    let mut pick = || values[rng.random_range(0..values.len())].clone();
    for _ in 0..2_000 {
        let toxic = json!({"type": "slicer", "toxicity": pick(), "lease_ms": pick(),
            "attributes": {"average_size": pick(), "size_variation": 0, "delay": pick()}});
        let proxy = json!({"name": "p", "upstream": "127.0.0.1:1", "enabled": pick(),
            "toxics": [toxic.clone()]});
        let _ = populate_request(&json!([proxy.clone()]));
        if let Ok(t) = toxic_request(&toxic) {
            assert!(t.lease.is_none_or(|l| l <= crate::fault::attrs::MAX_DELAY));
            let view = toxic_view(
                &crate::proxy::ToxicEntry {
                    id: 1,
                    metrics: crate::proxy::Metrics::new().toxic("p", &t.toxic),
                    requests: std::sync::Arc::default(),
                    toxic: t.toxic.clone(),
                },
                t.lease,
            );
            assert_eq!(view["attributes"], Value::Object(t.toxic.kind.attributes()));
            if let Ok(patch) = toxic_patch(&json!({"lease_ms": pick(), "toxicity": pick(),
                "attributes": {"delay": pick()}}))
            {
                let _ = patched(&t.toxic, &patch);
            }
        }
    }
}
