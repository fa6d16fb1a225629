//! `expect.regression`: the named figures against `--baseline`, judged once after the last run
//! (with `--repeat`, across all runs' samples) and listed with the last run.

use super::super::baseline::{Comparison, Verdict};
use super::super::record::{ExpectationRecord, ExperimentRecord, Status};
use super::super::spec::{Experiment, Regression};
use super::{evaluated, not_evaluated, reason};

/// The expectation's name.
const NAME: &str = "regression against the baseline";

/// `p99, error_rate at most 5 % worse than the baseline`.
fn expected(rule: &Regression) -> String {
    format!(
        "{} at most {:.1} % worse than the baseline",
        rule.figures.join(", "),
        rule.max * 100.0
    )
}

/// The expectation: every named figure improved or within noise. A figure either side lacks
/// fails it (the check cannot be made), saying which side.
pub(super) fn regression(rule: &Regression, comparison: &Comparison) -> ExpectationRecord {
    let mut failing = Vec::new();
    let mut holding = Vec::new();
    for name in &rule.figures {
        match comparison.get(name) {
            Some(c) if matches!(c.verdict, Verdict::Improved | Verdict::WithinNoise) => {
                holding.push(c.for_people());
            }
            Some(c) => failing.push(c.for_people()),
            None => failing.push(format!("{name}: measured on neither side")),
        }
    }
    let passed = failing.is_empty();
    failing.extend(holding);
    evaluated(
        NAME.into(),
        passed,
        expected(rule),
        format!("{} ({})", failing.join("; "), comparison.rule()),
    )
}

/// Judge `expect.regression` on a record that holds its comparison: listed with the last run,
/// which (and the experiment) fails when it does. Not evaluated when the last run ended early.
pub(crate) fn judge_regression(experiment: &Experiment, record: &mut ExperimentRecord) {
    let (Some(rule), Some(comparison)) = (&experiment.expect.regression, &record.baseline) else {
        return;
    };
    let expectation = regression(rule, comparison);
    let Some(last) = record.runs.last_mut() else {
        return;
    };
    let expectation = match last.status {
        Some(Status::Passed | Status::Failed) => expectation,
        other => not_evaluated(
            expectation.name,
            expectation.expected,
            &format!(
                "the run ended early ({})",
                other.map_or("not run", Status::as_str)
            ),
        ),
    };
    if expectation.evaluated && !expectation.passed && last.status == Some(Status::Passed) {
        last.status = Some(Status::Failed);
        last.reason = Some(reason(&expectation));
        if record.status == Status::Passed {
            record.status = Status::Failed;
            record.reason = last.reason.clone();
        }
    }
    last.expectations.push(expectation);
}
