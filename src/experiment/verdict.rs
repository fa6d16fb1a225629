//! From a finished run's journal to measurements, expectations and a verdict (pure).

use std::time::Duration;

use super::measure::{self, Sample, Window};
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

fn secs(d: Duration) -> String {
    format!("{:.2}s", d.as_secs_f64())
}

/// Measure every step, check every expectation, and set the run's status.
pub fn judge(experiment: &Experiment, journal: &mut RunJournal, stopped: Option<(Status, String)>) {
    let series = samples(journal);
    let k = experiment.steady_state.recovered_after;
    let has_probes = !experiment.steady_state.probes.is_empty();
    let mut expectations = Vec::new();
    for step in journal
        .steps
        .iter_mut()
        .filter(|s| s.measured && has_probes)
    {
        let (Some(i), Some(r)) = (step.injected_at, step.removed_at) else {
            continue;
        };
        let window = Window {
            injected: Duration::from_secs_f64(i),
            removed: Duration::from_secs_f64(r),
        };
        let m = measure::measure(&series, window, k);
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
                        secs(end.saturating_sub(window.removed))
                    )
                }
            };
            expectations.push(ExpectationRecord {
                name: format!("recovered_within ({})", step.name),
                passed: ok,
                expected: format!("≤ {}", secs(deadline)),
                observed,
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
            });
        }
    }
    if let Some(max) = experiment.expect.lost_writes {
        let lost = journal
            .writes
            .as_ref()
            .and_then(|w| w.get("lost"))
            .and_then(|v| v.as_u64());
        let (passed, observed) = match lost {
            Some(n) if n <= max => (true, format!("{n} lost")),
            Some(n) => (false, format!("{n} lost, {} over", n - max)),
            None => (false, "no keyed writes were checked".to_string()),
        };
        expectations.push(ExpectationRecord {
            name: "lost_writes".into(),
            passed,
            expected: format!("≤ {max}"),
            observed,
        });
    }
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
            name: "rollbacks succeeded".into(),
            passed: failed.is_empty(),
            expected: "every rollback exits 0".into(),
            observed: if failed.is_empty() {
                "all exited 0".into()
            } else {
                failed.join("; ")
            },
        });
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
