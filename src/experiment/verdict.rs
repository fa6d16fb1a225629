//! From a finished run's journal to measurements, expectations and a verdict (pure).

use std::time::Duration;

use super::measure::{self, Measurement, Sample, Span, Window};
use super::spec::Experiment;
use crate::report::journal::{ExpectationRecord, RunJournal, Status};

/// The sample series of a journal, for [`measure`].
pub fn samples(journal: &RunJournal) -> Vec<Sample> {
    journal
        .samples
        .iter()
        .map(|s| Sample {
            at: Duration::from_secs_f64(s.at),
            pass: s.pass,
        })
        .collect()
}

/// Every step's measurement from a journal (`None` for a step that did not complete or is not
/// measured), breaches attributed as [`measure::measure_steps`] says, with a grace of one
/// sampling interval.
pub fn measurements(experiment: &Experiment, journal: &RunJournal) -> Vec<Option<Measurement>> {
    let spans: Vec<Option<Span>> = journal
        .steps
        .iter()
        .map(|s| {
            let (i, r) = (s.injected_at?, s.removed_at?);
            Some(Span {
                window: Window {
                    injected: Duration::from_secs_f64(i),
                    removed: Duration::from_secs_f64(r),
                },
                lasting: s.kind == "action",
            })
        })
        .collect();
    let k = experiment.steady_state.recovered_after;
    measure::measure_steps(
        &samples(journal),
        &spans,
        experiment.steady_state.interval,
        k,
    )
    .into_iter()
    .zip(&journal.steps)
    .map(|(m, s)| m.filter(|_| s.measured))
    .collect()
}

/// The name of the rollbacks expectation (evaluated even when a run ends early).
const ROLLBACKS: &str = "rollbacks succeeded";

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// Measure every step, check every expectation, and set the run's status.
pub fn judge(experiment: &Experiment, journal: &mut RunJournal, stopped: Option<(Status, String)>) {
    let series = samples(journal);
    let measured = measurements(experiment, journal);
    let has_probes = !experiment.steady_state.probes.is_empty();
    let mut expectations = Vec::new();
    for (step, m) in journal
        .steps
        .iter_mut()
        .zip(measured)
        .filter(|(s, _)| s.measured && has_probes)
    {
        let (Some(m), Some(removed)) = (m, step.removed_at) else {
            // The run ended before this step was done: its expectations are listed, unevaluated.
            for (name, deadline) in [
                ("recovered_within", experiment.expect.recovered_within),
                ("detected_within", experiment.expect.detected_within),
            ] {
                if let Some(d) = deadline {
                    expectations.push(ExpectationRecord {
                        name: format!("{name} ({})", step.name),
                        passed: false,
                        expected: format!("≤ {}", secs(d)),
                        observed: "not evaluated: the step did not complete".into(),
                        evaluated: false,
                    });
                }
            }
            continue;
        };
        step.measurement = Some(m);
        if let Some(deadline) = experiment.expect.recovered_within {
            let ok = m.recovered_within(deadline);
            step.recovered_in_time = Some(ok);
            let observed = match (m.detected(), m.recovery_from_removal) {
                (false, _) => "never breached".to_string(),
                (true, Some(t)) if ok => format!("recovered {} after removal", secs(t)),
                (true, Some(t)) => format!(
                    "recovered {} after removal, {} over",
                    secs(t),
                    secs(t.saturating_sub(deadline))
                ),
                (true, None) => {
                    let end = series.last().map_or(Duration::ZERO, |s| s.at);
                    format!(
                        "not recovered {} after removal (end of sampling)",
                        secs(end.saturating_sub(Duration::from_secs_f64(removed)))
                    )
                }
            };
            expectations.push(ExpectationRecord {
                name: format!("recovered_within ({})", step.name),
                passed: ok,
                expected: format!("≤ {}", secs(deadline)),
                observed,
                evaluated: true,
            });
        }
        if let Some(deadline) = experiment.expect.detected_within {
            let (ok, observed) = match m.time_to_detect {
                Some(t) if t <= deadline => (true, format!("detected after {}", secs(t))),
                Some(t) => (
                    false,
                    format!("detected after {}, {} over", secs(t), secs(t - deadline)),
                ),
                None => (false, "undetected".to_string()),
            };
            expectations.push(ExpectationRecord {
                name: format!("detected_within ({})", step.name),
                passed: ok,
                expected: format!("≤ {}", secs(deadline)),
                observed,
                evaluated: true,
            });
        }
    }
    if let Some(max) = experiment.expect.lost_writes {
        let (passed, observed) = match journal.writes.as_ref().map(|w| w.lost) {
            Some(n) if n <= max => (true, format!("{n} lost")),
            Some(n) => (false, format!("{n} lost, {} over", n - max)),
            None => (false, "no keyed writes were checked".to_string()),
        };
        expectations.push(ExpectationRecord {
            name: "lost_writes".into(),
            passed,
            expected: format!("≤ {max}"),
            observed,
            evaluated: true,
        });
    }
    if let Some(max) = experiment.expect.rpo_within {
        let rpo = journal.writes.as_ref().and_then(|w| w.observed_rpo);
        let (passed, observed) = match rpo.map(Duration::from_secs_f64) {
            Some(r) if r <= max => (true, format!("RPO {}", secs(r))),
            Some(r) => (
                false,
                format!("RPO {}, {} over", secs(r), secs(r.saturating_sub(max))),
            ),
            None => (false, "no keyed writes were checked".to_string()),
        };
        expectations.push(ExpectationRecord {
            name: "rpo_within".into(),
            passed,
            expected: format!("≤ {}", secs(max)),
            observed,
            evaluated: true,
        });
    }
    expectations.extend(load_thresholds(journal));
    if !journal.steps.is_empty() {
        let failed: Vec<&str> = journal
            .steps
            .iter()
            .filter(|s| !s.ok)
            .map(|s| s.name.as_str())
            .collect();
        expectations.push(ExpectationRecord {
            name: "method steps succeeded".into(),
            passed: failed.is_empty(),
            expected: "every step done".into(),
            observed: if failed.is_empty() {
                "all done".into()
            } else {
                format!("failed: {}", failed.join(", "))
            },
            evaluated: true,
        });
    }
    if has_probes {
        let last = journal.samples.last();
        expectations.push(ExpectationRecord {
            name: "steady state holds after the method".into(),
            passed: last.is_some_and(|s| s.pass),
            expected: "last sample passes".into(),
            observed: match last {
                None => "no samples".into(),
                Some(s) if s.pass => format!("passing at {:.2}s", s.at),
                Some(s) => format!("failing at {:.2}s", s.at),
            },
            evaluated: true,
        });
    }
    if !journal.rollbacks.is_empty() {
        let failed: Vec<String> = journal
            .rollbacks
            .iter()
            .filter(|r| !r.ok)
            .map(|r| format!("{} ({})", r.command.join(" "), r.detail))
            .collect();
        expectations.push(ExpectationRecord {
            name: ROLLBACKS.into(),
            passed: failed.is_empty(),
            expected: "every rollback exits 0".into(),
            observed: if failed.is_empty() {
                "all exited 0".into()
            } else {
                failed.join("; ")
            },
            evaluated: true,
        });
    }
    if let Some((status, _)) = &stopped {
        // The run ended early: only the rollbacks (which always run) were really checked.
        for e in expectations.iter_mut().filter(|e| e.name != ROLLBACKS) {
            e.passed = false;
            e.evaluated = false;
            e.observed = format!("not evaluated: the run ended early ({})", status.as_str());
        }
    }
    let failed = expectations.iter().find(|e| !e.passed).map(|e| {
        format!(
            "{}: expected {}, observed {}",
            e.name, e.expected, e.observed
        )
    });
    journal.expectations = expectations;
    let (status, reason) = match (stopped, failed) {
        (Some((s, why)), _) => (s, Some(why)),
        (None, Some(why)) => (Status::Failed, Some(why)),
        (None, None) => (Status::Passed, None),
    };
    journal.status = Some(status);
    journal.reason = reason;
}

/// One expectation per `load.thresholds` entry, judged by the load driver: a
/// criterion that is measured is also judged.
fn load_thresholds(journal: &RunJournal) -> Vec<ExpectationRecord> {
    let Some(outcomes) = journal
        .load
        .as_ref()
        .and_then(|l| l.get("thresholds"))
        .and_then(|t| t.as_array())
    else {
        return Vec::new();
    };
    outcomes
        .iter()
        .map(|o| {
            let text = o["threshold"].as_str().unwrap_or("?");
            let unit = o["unit"].as_str().unwrap_or("");
            let observed = match o["observed"].as_f64() {
                Some(v) if unit == "s" => format!("{:.1}ms", v * 1e3),
                Some(v) if unit == "ratio" => format!("{:.2}%", v * 100.0),
                Some(v) if unit == "1/s" => format!("{v:.1}/s"),
                Some(v) => format!("{v}"),
                None => "no completed requests".to_string(),
            };
            let observed = match o["window_s"].as_f64() {
                Some(w) => format!("worst {w}s window {observed}"),
                None => format!("{observed} over the run"),
            };
            ExpectationRecord {
                name: format!("load threshold `{text}`"),
                passed: o["passed"].as_bool().unwrap_or(false),
                expected: text.to_string(),
                observed,
                evaluated: true,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::validate::{LoadOptions, parse_str};
    use crate::report::journal::{CommandRecord, SampleRecord, WritesRecord};

    fn experiment() -> Experiment {
        let text = r#"title: t
load:
  target: http://127.0.0.1:1
  rate: 10/s
  scenarios:
    - {write: {method: PUT, path: "/kv/{{seq}}"}, read_back: {path: "/kv/{{seq}}"}}
steady_state:
  probes:
    - {name: up, tcp: "127.0.0.1:1"}
method:
  - {at: 1s, action: {command: ["true"]}, measure: true}
duration: 2s
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

    fn journal(lost: u64, rpo: f64) -> RunJournal {
        RunJournal {
            samples: vec![SampleRecord {
                at: 0.0,
                pass: true,
                probes: vec![],
            }],
            writes: Some(WritesRecord {
                lost,
                observed_rpo: Some(rpo),
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

    #[test]
    fn lost_writes_and_rpo_are_judged_from_the_write_check() {
        let e = experiment();
        let mut j = journal(3, 0.49);
        judge(&e, &mut j, None);
        let by = |n: &str| j.expectations.iter().find(|x| x.name == n).unwrap().clone();
        assert!(!by("lost_writes").passed);
        assert_eq!(by("lost_writes").observed, "3 lost, 3 over");
        assert!(by("rpo_within").passed, "{:?}", by("rpo_within"));
        assert_eq!(j.status, Some(Status::Failed));
        let mut j = journal(0, 0.0);
        judge(&e, &mut j, None);
        assert_eq!(j.status, Some(Status::Passed), "{:?}", j.expectations);
    }

    #[test]
    fn an_aborted_run_leaves_its_expectations_not_evaluated() {
        let e = experiment();
        let mut j = journal(0, 0.0);
        judge(
            &e,
            &mut j,
            Some((Status::Aborted, "interrupted by SIGTERM".into())),
        );
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
    fn a_failed_load_threshold_fails_the_run() {
        let e = experiment();
        let mut j = journal(0, 0.0);
        j.load = Some(serde_json::json!({"thresholds": [
            {"threshold": "p95 < 75ms", "passed": false, "observed": 0.0812, "unit": "s",
             "window_s": null, "breaches": 1, "aborted": false},
            {"threshold": "error_rate < 1%", "passed": true, "observed": 0.002, "unit": "ratio",
             "window_s": 2.0, "breaches": 0, "aborted": false}
        ]}));
        judge(&e, &mut j, None);
        let by = |n: &str| j.expectations.iter().find(|x| x.name == n).unwrap().clone();
        let p95 = by("load threshold `p95 < 75ms`");
        assert!(!p95.passed);
        assert_eq!(p95.observed, "81.2ms over the run");
        let errors = by("load threshold `error_rate < 1%`");
        assert!(errors.passed);
        assert_eq!(errors.observed, "worst 2s window 0.20%");
        assert_eq!(j.status, Some(Status::Failed));
        assert!(j.reason.as_deref().unwrap_or("").contains("p95 < 75ms"));
    }
}
