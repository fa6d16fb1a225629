//! Tests of validation: valid plans, each bad field named, and extreme values of every kind.

use super::*;
use crate::config::{Format, parse};

fn plan(yaml: &str) -> Result<Plan, LoadError> {
    validate(&parse::<LoadSpec>("t.yaml", yaml, Format::Yaml).unwrap())
}

fn field(yaml: &str) -> String {
    match plan(yaml) {
        Err(LoadError::Invalid { field, .. }) => field,
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn valid_plans() {
    let p = plan("target: http://127.0.0.1:9/x?y=1\nrate: 10/s\nduration: 2s\n").unwrap();
    assert_eq!(p.target.path, "/x?y=1");
    assert_eq!(p.target.port, 9);
    assert_eq!(p.scenarios[0].name, "GET /x?y=1");
    assert_eq!(p.end(), Some(Duration::from_secs(2)));
    let p = plan("target: http://localhost:8/\nmax_rate: true\nconnections: 4\nduration: 1s\n")
        .unwrap();
    assert!(matches!(
        &p.model,
        Model::Closed { users, think, .. }
            if users.max() == 4 && *think == (Duration::ZERO, Duration::ZERO)
    ));
    let p = plan("target: http://a\nusers_stages: 0s:10,30s:200,40s:10\nspawn_rate: 50\n").unwrap();
    assert_eq!(
        (p.connections, p.end()),
        (200, Some(Duration::from_secs(40)))
    );
    let p = plan(
        "target: http://a\nusers_stages: [{at: 0s, users: 0}, {at: 1m, users: 30}]\nduration: 2m\n",
    )
    .unwrap();
    assert_eq!(
        (p.connections, p.end()),
        (30, Some(Duration::from_secs(120)))
    );
    let p = plan(
        "target: http://127.0.0.1:9\nusers: 3\nthink: 1s..2s\nscenarios:\n  - steps:\n    - request: {method: POST, path: /login}\n      extract: {token: {json: $.token}}\n    - request: {path: /me, headers: {authorization: 'Bearer {{token}}'}}\n",
    )
    .unwrap();
    assert_eq!(p.connections, 3);
    assert_eq!(p.scenarios[0].len(), 2);
}

#[test]
fn bad_plans_name_the_field() {
    assert_eq!(field("rate: 1/s\n"), "target");
    assert_eq!(field("target: 'http://'\nrate: 1/s\n"), "target");
    assert_eq!(field("target: ftp://a\nrate: 1/s\n"), "target");
    assert_eq!(field("target: http://a\nrate: 0/s\n"), "rate");
    assert_eq!(field("target: http://a\n"), "rate");
    assert_eq!(field("target: http://a\nrate: 1/s\nusers: 2\n"), "rate");
    assert_eq!(
        field("target: http://a\nstages: 0s:1/s,10s:5/s,5s:1/s\n"),
        "stages[2]"
    );
    assert_eq!(field("target: http://a\nstages: 1s:1/s\n"), "stages");
    assert_eq!(
        field("target: http://a\nusers_stages: 0s:5,10s:9,5s:1\n"),
        "users_stages[2]"
    );
    assert_eq!(
        field("target: http://a\nusers_stages: 0s:0\n"),
        "users_stages"
    );
    assert_eq!(
        field("target: http://a\nusers: 3\nusers_stages: 0s:1\n"),
        "users_stages"
    );
    assert_eq!(
        field("target: http://a\nrate: 1/s\nspawn_rate: 5\n"),
        "spawn_rate"
    );
    assert_eq!(
        field("target: http://a\nusers: 3\nspawn_rate: 0\n"),
        "spawn_rate"
    );
    assert_eq!(
        field("target: http://a\nrate: 1/s\nscenarios: [{weight: 0, request: {path: /}}]\n"),
        "scenarios[0].weight"
    );
    assert_eq!(
        field("target: http://a\nrate: 1/s\nscenarios: [{request: {path: x}}]\n"),
        "scenarios[0].request.path"
    );
    assert_eq!(
        field("target: http://a\nrate: 1/s\nscenarios: [{request: {path: '/{{nope}}'}}]\n"),
        "scenarios[0].request"
    );
    assert_eq!(
        field(
            "target: http://a\nrate: 1/s\nscenarios: [{write: {method: PUT, path: /k}, read_back: {path: /k}}]\n"
        ),
        "scenarios[0].read_back.path"
    );
    assert_eq!(
        field("target: http://a\nrate: 1/s\nscenarios: [{steps: [{request: {path: /}}]}]\n"),
        "scenarios[0].steps"
    );
    assert_eq!(
        field("target: http://a\nrate: 1/s\nthresholds: ['p95 ~ 1s']\n"),
        "thresholds[0]"
    );
}

/// Values at and past every edge: zero, one, the bounds, `u64::MAX`, beyond it, floats
/// that overflow or vanish, and text that is not a number.
const DURATIONS: [&str; 10] = [
    "0s",
    "1ns",
    "1s",
    "30days",
    "30days 1ns",
    "18446744073709551615s",
    "18446744073709551616s",
    "584542046090years",
    "-1s",
    "1e3s",
];
const NUMBERS: [&str; 12] = [
    "0",
    "1",
    "1000000",
    "1000001",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "1e308",
    "1e-308",
    "NaN",
    "inf",
    "1e12",
];

fn pick<'a>(rng: &mut rand::rngs::StdRng, from: &[&'a str]) -> &'a str {
    use rand::RngExt;
    from[rng.random_range(0..from.len())]
}

/// A random spec of extreme values, as YAML.
fn extreme_spec(rng: &mut rand::rngs::StdRng) -> String {
    use rand::RngExt;
    let mut yaml = String::from("target: http://127.0.0.1:9/\n");
    let d = |rng: &mut rand::rngs::StdRng| pick(rng, &DURATIONS).to_string();
    let n = |rng: &mut rand::rngs::StdRng| pick(rng, &NUMBERS).to_string();
    let stages = |rng: &mut rand::rngs::StdRng, rate: bool| {
        let k = rng.random_range(1..=4);
        let mut items = vec![format!("0s:{}", if rate { "1/s" } else { "1" })];
        for _ in 1..k {
            let v = pick(rng, &NUMBERS);
            items.push(format!(
                "{}:{v}{}",
                pick(rng, &DURATIONS),
                if rate { "/s" } else { "" }
            ));
        }
        items.join(",")
    };
    match rng.random_range(0..5) {
        0 => yaml += &format!("rate: '{}/s'\n", n(rng)),
        1 => yaml += &format!("stages: '{}'\n", stages(rng, true)),
        2 => yaml += &format!("users: '{}'\n", n(rng)),
        3 => yaml += &format!("users_stages: '{}'\n", stages(rng, false)),
        _ => yaml += "max_rate: true\n",
    }
    let fields: [(&str, bool); 8] = [
        ("duration", true),
        ("timeout", true),
        ("think", true),
        ("spawn_rate", false),
        ("connections", false),
        ("threads", false),
        ("requests_per_user", false),
        ("users", false),
    ];
    for (field, duration) in fields {
        if rng.random_bool(0.4) {
            let v = if duration { d(rng) } else { n(rng) };
            yaml += &format!("{field}: {v}\n");
        }
    }
    yaml
}

#[test]
fn property_extreme_values_are_refused_or_bounded_never_a_panic() {
    use crate::load::schedule::MAX_PLANNED;
    use crate::load::spec::{MAX_DURATION, MAX_RATE};
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xB0B);
    let mut valid = 0;
    for _ in 0..6000 {
        let yaml = extreme_spec(&mut rng);
        let Ok(spec) = parse::<LoadSpec>("x.yaml", &yaml, Format::Yaml) else {
            continue;
        };
        let plan = match validate(&spec) {
            Ok(plan) => plan,
            Err(LoadError::Invalid { field, .. }) => {
                assert!(!field.is_empty(), "{yaml}");
                continue;
            }
            Err(e) => panic!("{yaml}: {e}"),
        };
        valid += 1;
        // Whatever validated is within its bounds, and time arithmetic on it holds.
        assert!(plan.end().is_none_or(|e| e <= MAX_DURATION), "{yaml}");
        assert!(plan.timeout <= crate::load::spec::MAX_TIMEOUT, "{yaml}");
        assert!(
            plan.connections as u64 <= crate::load::spec::MAX_CONNECTIONS,
            "{yaml}"
        );
        let now = tokio::time::Instant::now();
        let _ = now
            .checked_add(plan.end().unwrap_or_default() + plan.timeout)
            .expect(&yaml);
        match &plan.model {
            Model::Open { schedule, .. } => {
                for u in [0.0, 1.0, 1e6, MAX_PLANNED as f64, f64::MAX, f64::NAN] {
                    let _ = schedule.time_of(u);
                }
                assert!(schedule.planned_by(Duration::MAX) <= MAX_PLANNED, "{yaml}");
                assert!(schedule.expected_by(Duration::MAX).is_finite(), "{yaml}");
                let _ = MAX_RATE;
            }
            Model::Closed { users, .. } => {
                assert!(users.max() <= crate::load::spec::MAX_CONNECTIONS, "{yaml}");
                let _ = users.active(Duration::MAX);
                let _ = users.settled();
            }
        }
    }
    assert!(
        valid > 40,
        "only {valid} valid specs: the generator is too harsh"
    );
}

#[test]
fn property_rate_stage_and_think_parsers_never_panic() {
    use crate::load::spec::{Rate, Stages, ThinkTime};
    use crate::load::users::UserStages;
    use rand::SeedableRng;
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xC0DE);
    for _ in 0..3000 {
        let (d, n) = (pick(&mut rng, &DURATIONS), pick(&mut rng, &NUMBERS));
        let unit = pick(&mut rng, &["s", "ms", "m", "h", "", "week"]);
        if let Ok(r) = format!("{n}/{unit}").parse::<Rate>() {
            assert!(
                r.per_second.is_finite() && r.per_second <= 1e12,
                "{n}/{unit}"
            );
        }
        let _ = format!("0s:1/s,{d}:{n}/{unit}").parse::<Stages>();
        let _ = format!("0s:1,{d}:{n}").parse::<UserStages>();
        if let Ok(t) = format!("{d}..{}", pick(&mut rng, &DURATIONS)).parse::<ThinkTime>() {
            assert!(t.min <= t.max && t.max <= crate::load::spec::MAX_TIMEOUT);
        }
    }
}
