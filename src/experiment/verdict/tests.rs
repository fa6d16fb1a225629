use super::*;
use crate::experiment::record::{CommandRecord, SampleRecord};
use crate::experiment::validate::{LoadOptions, parse_str};
use crate::load::{LoadReport, Unit, WriteReport};

fn experiment() -> Experiment {
    let text = r#"title: t
load:
  target: http://127.0.0.1:1
  rate: 10/s
  thresholds: ["p95 < 75ms"]
  scenarios:
    - {write: {method: PUT, path: "/kv/{{seq}}"}, read_back: {path: "/kv/{{seq}}"}}
steady_state:
  probes:
    - {name: up, tcp: "127.0.0.1:1"}
method:
  - {at: 1s, name: blip, action: {command: ["true"]}, measure: true}
  - {at: 6s, name: later, action: {command: ["true"]}}
duration: 8s
expect: {lost_writes: 0, rpo_within: 500ms, recovered_within: 1s}
rollbacks:
  - {command: ["true"]}
"#;
    parse_str(
        std::path::Path::new("t.yaml"),
        text,
        &LoadOptions::default(),
    )
    .unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn step(name: &str, at: u64, done: bool) -> StepRecord {
    StepRecord {
        name: name.into(),
        kind: "action".into(),
        planned_at: ms(at),
        injected_at: done.then(|| ms(at)),
        removed_at: done.then(|| ms(at + 10)),
        measured: name == "blip",
        measurement: None,
        recovered_in_time: None,
        load_failures: None,
        detail: done.then(|| "exit 0".into()),
        ok: done,
    }
}

/// A run that went to the end: passing samples every 250 ms, `lost` writes lost over `rpo`.
fn finished(lost: u64, rpo: Duration) -> RunRecord {
    RunRecord {
        samples: (0..32)
            .map(|i| SampleRecord {
                at: ms(i * 250),
                pass: true,
                probes: vec![],
            })
            .collect(),
        steps: vec![step("blip", 1000, true), step("later", 6000, true)],
        load: Some(LoadReport {
            thresholds: vec![ThresholdOutcome {
                threshold: "p95 < 75ms".into(),
                passed: true,
                observed: Some(0.05),
                unit: Unit::Seconds,
                window_s: None,
                breaches: 0,
                aborted: false,
            }],
            writes: Some(WriteReport {
                lost,
                lost_first_ack: Some(ms(2000)),
                lost_last_ack: Some(ms(2000) + rpo),
                ..Default::default()
            }),
            ..Default::default()
        }),
        rollbacks: vec![CommandRecord {
            command: vec!["true".into()],
            ok: true,
            detail: "exit 0".into(),
        }],
        ..Default::default()
    }
}

fn names(run: &RunRecord) -> Vec<&str> {
    run.expectations.iter().map(|x| x.name.as_str()).collect()
}

#[test]
fn lost_writes_and_rpo_are_judged_from_the_write_check() {
    let e = experiment();
    let mut j = finished(3, ms(490));
    judge(&e, &mut j, None);
    let by = |n: &str| j.expectations.iter().find(|x| x.name == n).unwrap().clone();
    assert!(!by("lost_writes").passed);
    assert_eq!(by("lost_writes").observed, "3 lost, 3 over");
    assert!(by("rpo_within").passed, "{:?}", by("rpo_within"));
    assert_eq!(by("rpo_within").observed, "RPO 0.49 s");
    assert_eq!(by("rpo_within").expected, "≤ 0.50 s");
    assert_eq!(j.status, Some(Status::Failed));
    let mut j = finished(0, Duration::ZERO);
    judge(&e, &mut j, None);
    assert_eq!(j.status, Some(Status::Passed), "{:?}", j.expectations);
}

#[test]
fn an_aborted_run_leaves_its_expectations_not_evaluated() {
    let e = experiment();
    let mut j = finished(0, Duration::ZERO);
    let stop = Stop {
        status: Status::Aborted,
        reason: "interrupted by SIGTERM".into(),
        at: Some(ms(7000)),
    };
    judge(&e, &mut j, Some(stop));
    assert_eq!(j.status, Some(Status::Aborted));
    for x in &j.expectations {
        if x.name == ROLLBACKS {
            assert!(x.evaluated && x.passed, "{x:?}");
        } else {
            assert!(!x.evaluated && !x.passed, "{x:?}");
            assert!(x.observed.starts_with("not evaluated"), "{x:?}");
        }
    }
    assert!(j.expectations.iter().any(|x| x.name == "lost_writes"));
}

#[test]
fn steps_that_never_ran_say_when_the_run_was_interrupted() {
    let e = experiment();
    let mut j = finished(0, Duration::ZERO);
    j.steps[1] = step("later", 6000, false);
    let stop = Stop {
        status: Status::Aborted,
        reason: "interrupted by SIGINT (Ctrl-C)".into(),
        at: Some(ms(4000)),
    };
    judge(&e, &mut j, Some(stop));
    assert_eq!(
        j.steps[1].detail.as_deref(),
        Some("not run: interrupted at 4.00 s")
    );
    // A step that ran keeps what it did.
    assert_eq!(j.steps[0].detail.as_deref(), Some("exit 0"));
    // A guard's abort names itself.
    let mut j = finished(0, Duration::ZERO);
    j.steps[1] = step("later", 6000, false);
    let stop = Stop {
        status: Status::Aborted,
        reason: "guard `x` failed for 2.00 s".into(),
        at: Some(ms(5500)),
    };
    judge(&e, &mut j, Some(stop));
    assert_eq!(
        j.steps[1].detail.as_deref(),
        Some("not run: aborted at 5.50 s")
    );
}

#[test]
fn a_preflight_failure_lists_the_same_expectations_as_a_passing_run() {
    let e = experiment();
    let mut passing = finished(0, Duration::ZERO);
    judge(&e, &mut passing, None);
    assert_eq!(passing.status, Some(Status::Passed));
    // Preflight failed: no samples, no steps, no load; teardown still ran the rollbacks.
    let mut preflight = RunRecord {
        rollbacks: passing.rollbacks.clone(),
        ..Default::default()
    };
    let stop = Stop {
        status: Status::PreflightFailed,
        reason: "the steady state does not hold before any fault".into(),
        at: None,
    };
    judge(&e, &mut preflight, Some(stop));
    assert_eq!(names(&preflight), names(&passing));
    assert_eq!(
        names(&passing),
        [
            "recovered_within (blip)",
            "lost_writes",
            "rpo_within",
            "load threshold `p95 < 75ms`",
            "method steps succeeded",
            "steady state holds after the method",
            ROLLBACKS,
        ]
    );
    for x in preflight
        .expectations
        .iter()
        .filter(|x| x.name != ROLLBACKS)
    {
        assert!(
            !x.evaluated && x.observed.starts_with("not evaluated: "),
            "{x:?}"
        );
    }
}

#[test]
fn a_failed_load_threshold_fails_the_run() {
    let e = experiment();
    let mut j = finished(0, Duration::ZERO);
    let report = j.load.as_mut().unwrap();
    report.thresholds = vec![
        ThresholdOutcome {
            threshold: "p95 < 75ms".into(),
            passed: false,
            observed: Some(0.0812),
            unit: Unit::Seconds,
            window_s: None,
            breaches: 1,
            aborted: false,
        },
        ThresholdOutcome {
            threshold: "error_rate < 1%".into(),
            passed: true,
            observed: Some(0.002),
            unit: Unit::Ratio,
            window_s: Some(2.0),
            breaches: 0,
            aborted: false,
        },
        ThresholdOutcome {
            threshold: "rps > 5".into(),
            passed: true,
            observed: Some(9.5),
            unit: Unit::PerSecond,
            window_s: None,
            breaches: 0,
            aborted: false,
        },
    ];
    judge(&e, &mut j, None);
    let by = |n: &str| j.expectations.iter().find(|x| x.name == n).unwrap().clone();
    let p95 = by("load threshold `p95 < 75ms`");
    assert!(!p95.passed);
    assert_eq!(p95.observed, "81.2 ms over the run");
    let errors = by("load threshold `error_rate < 1%`");
    assert!(errors.passed);
    assert_eq!(errors.observed, "worst 2s window 0.20 %");
    assert_eq!(
        by("load threshold `rps > 5`").observed,
        "9.5/s over the run"
    );
    assert_eq!(j.status, Some(Status::Failed));
    assert!(j.reason.as_deref().unwrap_or("").contains("p95 < 75ms"));
}
