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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::experiment::baseline::{Change, Direction, Relative, Unit};
    use crate::experiment::record::RunRecord;
    use crate::experiment::validate::{LoadOptions, parse_str};

    fn experiment() -> Experiment {
        let text = "title: t\nduration: 1s\nexpect:\n  regression: {max: 5%, figures: [p99, error_rate]}\n";
        parse_str(Path::new("e.yaml"), text, &LoadOptions::default()).unwrap()
    }

    fn change(name: &str, old: f64, new: f64, verdict: Verdict) -> Change {
        Change {
            name: name.into(),
            unit: Unit::Seconds,
            direction: Direction::Lower,
            old: Some(old),
            new: Some(new),
            change: Some(Relative(crate::experiment::baseline::noise::relative(
                old, new,
            ))),
            interval: None,
            verdict,
        }
    }

    fn judged(status: Status, figures: Vec<Change>) -> ExperimentRecord {
        let mut r = ExperimentRecord::not_run(Path::new("e.yaml"), "t", &[], status, String::new());
        r.reason = None;
        r.runs = vec![RunRecord {
            status: Some(status),
            ..RunRecord::default()
        }];
        r.baseline = Some(Comparison {
            file: "b.json".into(),
            saved: "2026-11-30T00:00:00Z".into(),
            threshold: 0.05,
            baseline_runs: 1,
            runs: 1,
            figures,
        });
        judge_regression(&experiment(), &mut r);
        r
    }

    #[test]
    fn a_regressed_figure_fails_the_run_and_names_it() {
        let r = judged(
            Status::Passed,
            vec![
                change("error_rate", 0.0, 0.0, Verdict::WithinNoise),
                change("p99", 0.02, 0.4, Verdict::Regressed),
            ],
        );
        assert_eq!(r.status, Status::Failed);
        let e = &r.runs[0].expectations[0];
        assert!(e.evaluated && !e.passed);
        assert!(
            e.observed
                .starts_with("p99: 20.0 ms → 400.0 ms (+1900.0 %, regressed); error_rate:"),
            "{}",
            e.observed
        );
        assert!(r.reason.unwrap().starts_with(
            "regression against the baseline: expected p99, error_rate at most 5.0 % worse"
        ));
    }

    #[test]
    fn within_noise_passes_and_a_missing_figure_fails() {
        let r = judged(
            Status::Passed,
            vec![
                change("error_rate", 0.0, 0.0, Verdict::WithinNoise),
                change("p99", 0.02, 0.021, Verdict::WithinNoise),
            ],
        );
        assert_eq!(r.status, Status::Passed);
        assert!(r.runs[0].expectations[0].passed);
        let r = judged(
            Status::Passed,
            vec![change("p99", 0.02, 0.02, Verdict::WithinNoise)],
        );
        assert_eq!(r.status, Status::Failed);
        assert!(
            r.runs[0].expectations[0]
                .observed
                .starts_with("error_rate: measured on neither side")
        );
    }

    #[test]
    fn an_aborted_last_run_leaves_it_unevaluated() {
        let r = judged(
            Status::Aborted,
            vec![change("p99", 0.02, 0.4, Verdict::Regressed)],
        );
        assert_eq!(r.status, Status::Aborted);
        let e = &r.runs[0].expectations[0];
        assert!(!e.evaluated);
        assert_eq!(e.observed, "not evaluated: the run ended early (aborted)");
    }
}
