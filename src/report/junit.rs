//! JUnit XML: one test suite per experiment; one test case `experiment` for the experiment as a
//! whole and one per expectation. Every expectation is listed in every run (an unevaluated one as
//! skipped, "not evaluated: …"), so a suite's case count does not change between runs.

use std::path::Path;

use anyhow::Context;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use crate::experiment::record::{Document, RunRecord, Status, observed_rpo};

/// Render `document` as JUnit XML.
pub fn render(document: &Document) -> anyhow::Result<String> {
    let mut report = Report::new("shakedown");
    for e in &document.experiments {
        let name = if e.title.is_empty() {
            e.file.clone()
        } else {
            e.title.clone()
        };
        let mut suite = TestSuite::new(name.clone());
        suite.set_time(e.elapsed());
        let mut case = |label: String, status: TestCaseStatus| {
            let mut c = TestCase::new(label, status);
            c.set_classname(e.file.clone());
            suite.add_test_case(c);
        };
        match e.status {
            Status::Skipped => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(e.reason.clone().unwrap_or_default());
                case("experiment".into(), s);
            }
            Status::Invalid | Status::PreflightFailed | Status::Aborted => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                s.set_message(format!(
                    "{}: {}",
                    e.status.as_str(),
                    e.reason.clone().unwrap_or_default()
                ));
                case("experiment".into(), s);
            }
            Status::Passed => case("experiment".into(), TestCaseStatus::success()),
            Status::Failed => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(e.reason.clone().unwrap_or_default());
                case("experiment".into(), s);
            }
        }
        for run in &e.runs {
            let prefix = if e.runs.len() > 1 {
                format!("run {}: ", run.run)
            } else {
                String::new()
            };
            for x in &run.expectations {
                let status = if !x.evaluated {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(x.observed.clone());
                    s
                } else if x.passed {
                    TestCaseStatus::success()
                } else {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("expected {}, observed {}", x.expected, x.observed));
                    s
                };
                case(format!("{prefix}{}", x.name), status);
            }
        }
        for run in &e.runs {
            let prefix = if e.runs.len() > 1 {
                format!("run {}.", run.run)
            } else {
                String::new()
            };
            for (k, v) in properties(run) {
                suite.add_property(Property::new(format!("{prefix}{k}"), v));
            }
        }
        report.add_test_suite(suite);
    }
    report.to_string().context("rendering JUnit XML")
}

/// The load summary and the keyed-write check of a run, as suite properties.
fn properties(run: &RunRecord) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(l) = &run.load {
        let s = &l.summary;
        out.push(("load.requests".into(), s.requests.to_string()));
        out.push(("load.errors".into(), s.errors.to_string()));
        out.push(("load.error_rate".into(), format!("{:.4}", s.error_rate)));
        out.push(("load.rps".into(), format!("{:.1}", s.rps)));
        for (k, v) in [
            ("p50", s.latency.p50),
            ("p90", s.latency.p90),
            ("p99", s.latency.p99),
            ("max", s.latency.max),
        ] {
            if let Some(v) = v {
                out.push((format!("load.{k}_s"), format!("{:.4}", v.as_secs_f64())));
            }
        }
    }
    if let Some(w) = run.writes() {
        for (k, v) in [
            ("attempted", w.attempted),
            ("acknowledged", w.acknowledged),
            ("refused", w.refused),
            ("unknown", w.unknown),
            ("lost", w.lost),
            ("unexpected", w.unexpected),
        ] {
            out.push((format!("writes.{k}"), v.to_string()));
        }
        if let Some(rpo) = observed_rpo(w) {
            out.push((
                "writes.observed_rpo_s".into(),
                format!("{:.3}", rpo.as_secs_f64()),
            ));
        }
        if !w.lost_keys.is_empty() {
            out.push(("writes.lost_keys".into(), w.lost_keys.join(" ")));
        }
    }
    out
}

/// Write `document` as JUnit XML to `path`.
pub fn write(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::write(path, render(document)?).with_context(|| format!("writing {}", path.display()))
}
