//! From a finished run's record to measurements, expectations and a verdict (pure).
//!
//! Every expectation the experiment declares is listed in every run, whatever happened: one
//! that could not be checked (the run stopped early, preflight failed, the step never ran) is
//! listed as not evaluated, so a report's set of cases does not change between runs.

use std::time::Duration;

use super::measure::{self, Measurement, Sample, Span, Window};
use super::record::{ExpectationRecord, RunRecord, Status, StepRecord, for_people, observed_rpo};
use super::spec::{Experiment, Step};
use crate::load::ThresholdOutcome;

/// The sample series of a record, for [`measure`].
pub(super) fn samples(run: &RunRecord) -> Vec<Sample> {
    run.samples
        .iter()
        .map(|s| Sample {
            at: s.at,
            pass: s.pass,
        })
        .collect()
}

/// Every step's measurement from a record (`None` for a step that did not complete or is not
/// measured), each breach attributed to the step that caused it as [`measure::measure_steps`]
/// says, with a grace of one sampling interval.
pub(super) fn measurements(experiment: &Experiment, run: &RunRecord) -> Vec<Option<Measurement>> {
    let spans: Vec<Option<Span>> = run
        .steps
        .iter()
        .map(|s| {
            Some(Span {
                window: Window {
                    injected: s.injected_at?,
                    removed: s.removed_at?,
                },
                lasting: s.kind == "action",
            })
        })
        .collect();
    measure::measure_steps(
        &samples(run),
        &spans,
        experiment.steady_state.interval,
        experiment.steady_state.recovered_after,
    )
    .into_iter()
    .zip(&run.steps)
    .map(|(m, s)| m.filter(|_| s.measured))
    .collect()
}

/// Why a run ended before its method did: its status, the reason, and when on the run's clock
/// (`None` when it stopped before the clock started, in preflight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Stop {
    /// `aborted` or `preflight_failed`.
    pub status: Status,
    /// What stopped it (`interrupted by SIGTERM`, a guard, a preflight failure).
    pub reason: String,
    /// When, on the run's clock.
    pub at: Option<Duration>,
}

/// The name of the rollbacks expectation (evaluated even when a run ends early).
const ROLLBACKS: &str = "rollbacks succeeded";

/// `≤ 5.00 s`.
fn at_most(d: Duration) -> String {
    format!("≤ {}", for_people(d))
}

/// An expectation that could not be checked.
fn not_evaluated(name: String, expected: String, why: &str) -> ExpectationRecord {
    ExpectationRecord {
        name,
        passed: false,
        evaluated: false,
        expected,
        observed: format!("not evaluated: {why}"),
    }
}

/// An expectation that was checked.
fn evaluated(name: String, passed: bool, expected: String, observed: String) -> ExpectationRecord {
    ExpectationRecord {
        name,
        passed,
        evaluated: true,
        expected,
        observed,
    }
}

/// Measure every step, check every expectation, and set the run's status.
pub(super) fn judge(experiment: &Experiment, run: &mut RunRecord, stopped: Option<Stop>) {
    if let Some(stop) = &stopped {
        mark_not_run(&mut run.steps, stop);
    }
    let series = samples(run);
    let measured = measurements(experiment, run);
    let mut expectations = Vec::new();
    if !experiment.steady_state.probes.is_empty() {
        for (i, step) in experiment.method.iter().enumerate() {
            if step.measure {
                expectations.extend(step_expectations(
                    experiment,
                    step,
                    run.steps.get_mut(i),
                    measured.get(i).copied().flatten(),
                    &series,
                ));
            }
        }
    }
    expectations.extend(lost_writes(experiment, run));
    expectations.extend(rpo(experiment, run));
    expectations.extend(load_thresholds(experiment, run));
    expectations.extend(method_steps(experiment, run));
    expectations.extend(steady_after(experiment, run));
    expectations.extend(rollbacks(experiment, run));
    if let Some(stop) = &stopped {
        // The run ended early: only the rollbacks (which always run) were really checked.
        let why = format!("the run ended early ({})", stop.status.as_str());
        for e in expectations
            .iter_mut()
            .filter(|e| e.name != ROLLBACKS && e.evaluated)
        {
            *e = not_evaluated(
                std::mem::take(&mut e.name),
                std::mem::take(&mut e.expected),
                &why,
            );
        }
    }
    let failed = expectations.iter().find(|e| !e.passed).map(reason);
    run.expectations = expectations;
    let (status, reason) = match (stopped, failed) {
        (Some(stop), _) => (stop.status, Some(stop.reason)),
        (None, Some(why)) => (Status::Failed, Some(why)),
        (None, None) => (Status::Passed, None),
    };
    run.status = Some(status);
    run.reason = reason;
}

/// Why an expectation failed a run: `NAME: expected E, observed O`.
fn reason(e: &ExpectationRecord) -> String {
    format!(
        "{}: expected {}, observed {}",
        e.name, e.expected, e.observed
    )
}

/// Steps that never started say so (`not run: interrupted at 4.00 s`), instead of an empty
/// failure.
fn mark_not_run(steps: &mut [StepRecord], stop: &Stop) {
    let cause = if stop.reason.starts_with("interrupted") {
        "interrupted"
    } else {
        stop.status.as_str()
    };
    let when = stop
        .at
        .map(|t| format!(" at {}", for_people(t)))
        .unwrap_or_default();
    for s in steps
        .iter_mut()
        .filter(|s| s.injected_at.is_none() && s.detail.is_none())
    {
        s.detail = Some(format!("not run: {cause}{when}"));
    }
}

/// `recovered_within` and `detected_within` of one measured step (`record` is its record,
/// absent when the run stopped before the method began).
fn step_expectations(
    experiment: &Experiment,
    step: &Step,
    record: Option<&mut StepRecord>,
    measured: Option<Measurement>,
    series: &[Sample],
) -> Vec<ExpectationRecord> {
    let deadlines = [
        ("recovered_within", experiment.expect.recovered_within),
        ("detected_within", experiment.expect.detected_within),
    ];
    let name = |kind: &str| format!("{kind} ({})", step.name);
    let window = record
        .as_ref()
        .and_then(|r| match (r.injected_at, r.removed_at) {
            (Some(injected), Some(removed)) => Some(Window { injected, removed }),
            _ => None,
        });
    let (Some(record), Some(window), Some(m)) = (record, window, measured) else {
        // The run ended before this step was done: its expectations are listed, unevaluated.
        return deadlines
            .into_iter()
            .filter_map(|(kind, d)| {
                d.map(|d| not_evaluated(name(kind), at_most(d), "the step did not complete"))
            })
            .collect();
    };
    record.measurement = Some(m);
    let mut out = Vec::new();
    if let Some(deadline) = experiment.expect.recovered_within {
        let ok = m.recovered_within(deadline);
        record.recovered_in_time = Some(ok);
        let end = series.last().map_or(Duration::ZERO, |s| s.at);
        out.push(evaluated(
            name("recovered_within"),
            ok,
            at_most(deadline),
            recovery(m, ok, deadline, end.saturating_sub(window.removed)),
        ));
    }
    if let Some(deadline) = experiment.expect.detected_within {
        let (ok, observed) = match m.time_to_detect {
            Some(t) if t <= deadline => (true, format!("detected after {}", for_people(t))),
            Some(t) => (
                false,
                format!(
                    "detected after {}, {} over",
                    for_people(t),
                    for_people(t - deadline)
                ),
            ),
            None => (false, "undetected".to_string()),
        };
        out.push(evaluated(
            name("detected_within"),
            ok,
            at_most(deadline),
            observed,
        ));
    }
    out
}

/// What recovery looked like; `sampled` is how long sampling went on after the removal.
fn recovery(m: Measurement, ok: bool, deadline: Duration, sampled: Duration) -> String {
    match (m.detected(), m.recovery_from_removal) {
        (false, _) => "never breached".to_string(),
        (true, Some(t)) if ok => format!("recovered {} after removal", for_people(t)),
        (true, Some(t)) => format!(
            "recovered {} after removal, {} over",
            for_people(t),
            for_people(t.saturating_sub(deadline))
        ),
        (true, None) => format!(
            "not recovered {} after removal (end of sampling)",
            for_people(sampled)
        ),
    }
}

/// `expect.lost_writes`.
fn lost_writes(experiment: &Experiment, run: &RunRecord) -> Option<ExpectationRecord> {
    let max = experiment.expect.lost_writes?;
    let (passed, observed) = match run.writes().map(|w| w.lost) {
        Some(n) if n <= max => (true, format!("{n} lost")),
        Some(n) => (false, format!("{n} lost, {} over", n - max)),
        None => (false, "no keyed writes were checked".to_string()),
    };
    Some(evaluated(
        "lost_writes".into(),
        passed,
        format!("≤ {max}"),
        observed,
    ))
}

/// `expect.rpo_within`.
fn rpo(experiment: &Experiment, run: &RunRecord) -> Option<ExpectationRecord> {
    let max = experiment.expect.rpo_within?;
    let (passed, observed) = match run.writes().and_then(observed_rpo) {
        Some(r) if r <= max => (true, format!("RPO {}", for_people(r))),
        Some(r) => (
            false,
            format!(
                "RPO {}, {} over",
                for_people(r),
                for_people(r.saturating_sub(max))
            ),
        ),
        None => (false, "no keyed writes were checked".to_string()),
    };
    Some(evaluated(
        "rpo_within".into(),
        passed,
        at_most(max),
        observed,
    ))
}

/// One expectation per `load.thresholds` entry, judged by the load driver: a criterion that is
/// measured is also judged. Without a load report (the load never ran) each is listed,
/// unevaluated.
fn load_thresholds(experiment: &Experiment, run: &RunRecord) -> Vec<ExpectationRecord> {
    let name = |text: &str| format!("load threshold `{text}`");
    match &run.load {
        Some(report) => report
            .thresholds
            .iter()
            .map(|o| {
                evaluated(
                    name(&o.threshold),
                    o.passed,
                    o.threshold.clone(),
                    threshold_observed(o),
                )
            })
            .collect(),
        None => experiment
            .load
            .iter()
            .flat_map(|l| &l.thresholds)
            .map(|t| not_evaluated(name(t), t.clone(), "the load did not run"))
            .collect(),
    }
}

/// `worst 2s window 0.20 %`, `81.2 ms over the run`.
fn threshold_observed(o: &ThresholdOutcome) -> String {
    let observed = match o.observed {
        Some(v) => o.unit.for_people(v),
        None => "no completed requests".to_string(),
    };
    match o.window_s {
        Some(w) => format!("worst {w}s window {observed}"),
        None => format!("{observed} over the run"),
    }
}

/// Every step of the method did what it should (listed whenever the method has steps).
fn method_steps(experiment: &Experiment, run: &RunRecord) -> Option<ExpectationRecord> {
    if experiment.method.is_empty() {
        return None;
    }
    let expected = "every step done".to_string();
    let name = "method steps succeeded".to_string();
    if run.steps.is_empty() {
        return Some(not_evaluated(name, expected, "the method did not start"));
    }
    let failed: Vec<&str> = run
        .steps
        .iter()
        .filter(|s| !s.ok)
        .map(|s| s.name.as_str())
        .collect();
    Some(evaluated(
        name,
        failed.is_empty(),
        expected,
        if failed.is_empty() {
            "all done".into()
        } else {
            format!("failed: {}", failed.join(", "))
        },
    ))
}

/// The steady state holds after the method (the last sample passes).
fn steady_after(experiment: &Experiment, run: &RunRecord) -> Option<ExpectationRecord> {
    if experiment.steady_state.probes.is_empty() {
        return None;
    }
    let last = run.samples.last();
    Some(evaluated(
        "steady state holds after the method".into(),
        last.is_some_and(|s| s.pass),
        "last sample passes".into(),
        match last {
            None => "no samples".into(),
            Some(s) if s.pass => format!("passing at {}", for_people(s.at)),
            Some(s) => format!("failing at {}", for_people(s.at)),
        },
    ))
}

/// Every rollback exited 0 (they always run, so this is evaluated even when a run ends early).
fn rollbacks(experiment: &Experiment, run: &RunRecord) -> Option<ExpectationRecord> {
    if experiment.rollbacks.is_empty() && run.rollbacks.is_empty() {
        return None;
    }
    let failed: Vec<String> = run
        .rollbacks
        .iter()
        .filter(|r| !r.ok)
        .map(|r| format!("{} ({})", r.command.join(" "), r.detail))
        .collect();
    Some(evaluated(
        ROLLBACKS.into(),
        failed.is_empty(),
        "every rollback exits 0".into(),
        if failed.is_empty() {
            "all exited 0".into()
        } else {
            failed.join("; ")
        },
    ))
}

mod regression;

pub(crate) use regression::judge_regression;

#[cfg(test)]
mod tests;
