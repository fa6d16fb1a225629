//! JUnit XML: one test suite per experiment, one test case per expectation.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::journal::{Document, RunJournal, Status};

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
        let elapsed: f64 = e.runs.iter().map(|r| r.elapsed).sum();
        suite.set_time(Duration::from_secs_f64(elapsed.max(0.0)));
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
            Status::Passed | Status::Failed => {}
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
fn properties(run: &RunJournal) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(l) = &run.load_summary {
        out.push(("load.requests".into(), l.requests.to_string()));
        out.push(("load.errors".into(), l.errors.to_string()));
        out.push(("load.error_rate".into(), format!("{:.4}", l.error_rate)));
        out.push(("load.rps".into(), format!("{:.1}", l.rps)));
        for (k, v) in [
            ("p50", l.p50),
            ("p90", l.p90),
            ("p99", l.p99),
            ("max", l.max),
        ] {
            if let Some(v) = v {
                out.push((format!("load.{k}_s"), format!("{v:.4}")));
            }
        }
    }
    if let Some(w) = &run.writes {
        for (k, v) in [
            ("attempted", w.attempted),
            ("acknowledged", w.acknowledged),
            ("lost", w.lost),
            ("unexpected", w.unexpected),
            ("unknown", w.unknown),
        ] {
            out.push((format!("writes.{k}"), v.to_string()));
        }
        if let Some(rpo) = w.observed_rpo {
            out.push(("writes.observed_rpo_s".into(), format!("{rpo:.3}")));
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
