use super::*;
use serde_json::json;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

#[test]
fn every_type_round_trips_through_the_wire() {
    for &name in ToxicKind::TYPES {
        let attrs = match name {
            "bandwidth" => map(json!({"rate": 100})),
            "slicer" => map(json!({"average_size": 10, "size_variation": 2, "delay": 5})),
            "http_abort" => map(json!({"status": 503, "body": "x", "headers": {"a": "b"}})),
            "http_throttle" => map(json!({"rate": 2, "path": "/x", "first_n": 2})),
            "grpc_abort" => map(json!({"code": 14, "message": "down 100%"})),
            _ => Map::new(),
        };
        let kind = ToxicKind::from_wire(name, &attrs).unwrap();
        assert_eq!(kind.type_name(), name);
        let again = ToxicKind::from_wire(name, &kind.attributes()).unwrap();
        assert_eq!(kind, again);
    }
}

#[test]
fn bad_input_names_the_field() {
    let err = ToxicKind::from_wire("bandwidth", &map(json!({"rate": 0}))).unwrap_err();
    assert_eq!(err.to_string(), "attributes.rate: must be > 0");
    let err = ToxicKind::from_wire("latency", &map(json!({"latency": "x"}))).unwrap_err();
    assert!(err.to_string().starts_with("attributes.latency: "), "{err}");
    let err = ToxicKind::from_wire("latency", &map(json!({"latnecy": 1}))).unwrap_err();
    assert!(err.to_string().contains("attributes.latnecy"), "{err}");
    let err = ToxicKind::from_wire("nope", &Map::new()).unwrap_err();
    assert!(err.to_string().starts_with("invalid toxic type"), "{err}");
    assert!(Toxicity::new(1.5).is_err());
    assert_eq!(Toxicity::ALWAYS.to_string(), "1");
    assert_eq!(toxicity_text(&serde_json::json!({"toxicity": 1.0})), "1");
    assert_eq!(
        toxicity_text(&serde_json::json!({"toxicity": 0.25})),
        "0.25"
    );
    assert_eq!(toxicity_text(&serde_json::json!({})), "1");
    assert!(Toxicity::new(f64::NAN).is_err());
    assert!(Stream::parse("sideways").is_err());
}

#[test]
fn toxicity_is_a_threshold_on_a_fixed_draw() {
    assert!(Toxicity::ALWAYS.affects(0.999_999));
    assert!(!Toxicity::new(0.0).unwrap().affects(0.0));
    assert!(Toxicity::new(0.5).unwrap().affects(0.3));
    assert!(!Toxicity::new(0.5).unwrap().affects(0.7));
}

/// Issue 8 item 6: extreme attribute values never panic, anything accepted is within the
/// documented bounds and round-trips, and scheduling with it never overflows time.
#[tokio::test(start_paused = true)]
async fn extreme_attributes_are_refused_or_safe() {
    use rand::{RngExt, SeedableRng};
    let values = attrs::extremes();
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let now = tokio::time::Instant::now();
    let mut accepted = 0;
    for _ in 0..5_000 {
        let name = ToxicKind::TYPES[rng.random_range(0..ToxicKind::TYPES.len())];
        let kind = ToxicKind::from_wire(name, &Map::new())
            .map(|k| k.attribute_names())
            .unwrap_or_else(|_| vec!["rate", "average_size"]);
        let mut m = Map::new();
        for a in kind {
            if rng.random_bool(0.8) {
                m.insert(
                    a.to_string(),
                    values[rng.random_range(0..values.len())].clone(),
                );
            }
        }
        let Ok(parsed) = ToxicKind::from_wire(name, &m) else {
            continue;
        };
        accepted += 1;
        for (k, v) in parsed.behaviour().to_attributes() {
            let bound = match k {
                "delay" if name == "slicer" => attrs::as_micros(attrs::MAX_DELAY),
                "latency" | "jitter" | "delay" | "timeout" => attrs::as_millis(attrs::MAX_DELAY),
                "rate" => bandwidth::MAX_RATE,
                _ => attrs::MAX_BYTES,
            };
            assert!(v <= bound, "{name}.{k} = {v} accepted from {m:?}");
        }
        assert_eq!(
            ToxicKind::from_wire(name, &parsed.attributes()).as_ref(),
            Ok(&parsed)
        );
        let mut state = kind::State::new(rand::rngs::StdRng::seed_from_u64(1), now);
        let mut out = Vec::new();
        for at in [now, now + attrs::MAX_DELAY] {
            let data = kind::Item::Data {
                at,
                bytes: bytes::Bytes::from(vec![0u8; 1000]),
            };
            parsed.behaviour().schedule(&mut state, data, &mut out);
            parsed
                .behaviour()
                .schedule(&mut state, kind::Item::Eof { at }, &mut out);
            let _ = parsed.behaviour().deadline(at);
        }
        assert!(out.iter().all(|i| i.at() >= now));
    }
    assert!(
        accepted > 500,
        "{accepted}: the generator must also produce valid input"
    );
}
