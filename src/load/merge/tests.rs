use super::*;
use crate::load::histogram::TimelinePoint;
use crate::load::histogram::record;

/// A report of `values` (microseconds), one request per value in second `second`, with
/// its histograms and timeline.
fn agent(values: &[u64], second: u64, errors: u64) -> LoadReport {
    let mut latency = run_histogram();
    for v in values {
        record(&mut latency, Duration::from_micros(*v));
    }
    let n = values.len() as u64;
    LoadReport {
        version: 1,
        model: "open".into(),
        span: Duration::from_secs(2),
        summary: Summary {
            requests: n,
            ok: n - errors,
            errors,
            planned: Some(n),
            unsent: Some(0),
            ..Summary::default()
        },
        timeline: vec![TimelinePoint {
            second,
            requests: n,
            ok: n - errors,
            errors,
            ..TimelinePoint::default()
        }],
        thresholds: vec![crate::load::ThresholdOutcome {
            threshold: "p99 < 50ms".into(),
            passed: true,
            observed: None,
            unit: crate::load::Unit::Seconds,
            window_s: None,
            breaches: 0,
            aborted: false,
        }],
        histograms: Some(Histograms {
            latency: to_base64(&latency),
            service_time: to_base64(&latency),
            schedule_lag: to_base64(&run_histogram()),
        }),
        ..LoadReport::default()
    }
}

fn results(reports: Vec<LoadReport>) -> Vec<AgentResult> {
    reports
        .into_iter()
        .map(|report| AgentResult {
            report,
            intervals: None,
        })
        .collect()
}

#[test]
fn merged_histograms_equal_their_known_sum_exactly() {
    // 1..=100 ms spread over three agents unevenly; one agent alone holds the slow tail.
    let ms = |r: std::ops::RangeInclusive<u64>| r.map(|v| v * 1000).collect::<Vec<_>>();
    let agents = results(vec![
        agent(&ms(1..=40), 0, 0),
        agent(&ms(41..=90), 0, 1),
        agent(&ms(91..=100), 1, 0),
    ]);
    let merged = merge(&agents, &[]).unwrap();
    let mut whole = run_histogram();
    for v in ms(1..=100) {
        record(&mut whole, Duration::from_micros(v));
    }
    assert_eq!(merged.summary.requests, 100);
    assert_eq!(merged.summary.errors, 1);
    assert_eq!(merged.summary.planned, Some(100));
    assert_eq!(merged.summary.latency, Latency::of(&whole));
    assert_eq!(
        from_base64(&merged.histograms.as_ref().unwrap().latency).unwrap(),
        whole
    );
    assert_eq!(merged.summary.latency.count, 100);
    assert_eq!(
        merged.summary.latency.p50,
        Some(Duration::from_micros(50_015))
    );
    assert!((merged.summary.rps - 50.0).abs() < 1e-9);
    assert_eq!(merged.timeline.len(), 2);
    assert_eq!(merged.timeline[0].requests, 90);
    assert_eq!(
        merged.timeline[0].p99, None,
        "no intervals, no per-second percentiles"
    );
    // The agents' own threshold, judged once on the sum: p99 ≈ 99 ms fails.
    assert_eq!(merged.thresholds.len(), 1);
    assert!(!merged.thresholds[0].passed);
    assert!(!merged.passed);
    let given = merge(&agents, &["p50 < 60ms".into(), "error_rate < 2%".into()]).unwrap();
    assert!(given.passed, "{:?}", given.thresholds);
}

#[test]
fn reports_that_cannot_be_merged_say_which_and_why() {
    assert!(merge(&[], &[]).is_err());
    let mut bare = agent(&[1000], 0, 0);
    bare.histograms = None;
    let e = merge(&results(vec![agent(&[1000], 0, 0), bare]), &[]).unwrap_err();
    assert_eq!(e.agent, Some(1));
    assert!(e.message.contains("--histograms"), "{e}");
    let mut closed = agent(&[1000], 0, 0);
    closed.model = "closed".into();
    let e = merge(&results(vec![agent(&[1000], 0, 0), closed]), &[]).unwrap_err();
    assert_eq!(e.agent, Some(1));
    let e = merge(
        &results(vec![agent(&[1000], 0, 0)]),
        &["p99 < 1s over 5s".into()],
    )
    .unwrap_err();
    assert!(e.message.contains("--hlog"), "{e}");
    let e = merge(&results(vec![agent(&[1000], 0, 0)]), &["p99 <".into()]).unwrap_err();
    assert!(e.message.contains("p99 <"), "{e}");
}

#[test]
fn windowed_thresholds_are_judged_on_the_merged_seconds() {
    // Two agents, 3 seconds each of 10 requests; second 1 has 5 errors on one agent.
    let mut agents = Vec::new();
    for a in 0..2u64 {
        let mut r = agent(&[1000; 30], 0, 0);
        r.timeline = (0..3)
            .map(|s| {
                let errors = u64::from(a == 0 && s == 1) * 5;
                TimelinePoint {
                    second: s,
                    requests: 10,
                    ok: 10 - errors,
                    errors,
                    errors_by_class: {
                        let mut c = ClassCounts::default();
                        for _ in 0..errors {
                            c.add(crate::load::ErrorClass::Http5xx);
                        }
                        c
                    },
                    ..TimelinePoint::default()
                }
            })
            .collect();
        agents.push(r);
    }
    let merged = merge(&results(agents), &["error_rate < 20% over 1s".into()]).unwrap();
    let o = &merged.thresholds[0];
    // Second 1: 5 errors of 20 requests = 25%, one breach.
    assert_eq!(o.breaches, 1);
    assert_eq!(o.observed, Some(0.25));
    assert!(!merged.passed);
}

#[test]
fn segments_must_be_the_n_distinct_parts_of_one_split() {
    let seg = |i: u64, n: u64| {
        let mut r = agent(&[1000], 0, 0);
        r.segment = Some(crate::load::Segment { index: i, count: n });
        r
    };
    assert!(merge(&results(vec![seg(1, 2), seg(0, 2)]), &[]).is_ok());
    let e = merge(&results(vec![seg(0, 2), seg(0, 2)]), &[]).unwrap_err();
    assert_eq!(e.agent, Some(1));
    assert!(e.message.contains("0/2 twice"), "{e}");
    let e = merge(&results(vec![seg(0, 3), seg(1, 3)]), &[]).unwrap_err();
    assert!(e.message.contains("split into 3, but 2 reports"), "{e}");
    let e = merge(&results(vec![seg(0, 2), agent(&[1000], 0, 0)]), &[]).unwrap_err();
    assert_eq!(e.agent, Some(1));
    // Whole plans merge freely (independent loads added up).
    assert!(
        merge(
            &results(vec![agent(&[1000], 0, 0), agent(&[1000], 0, 0)]),
            &[]
        )
        .is_ok()
    );
}
