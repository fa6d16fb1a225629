//! JUnit XML: one test suite per experiment, one test case per expectation.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::journal::{Document, Status};

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
                let status = if x.passed {
                    TestCaseStatus::success()
                } else {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(format!("expected {}, observed {}", x.expected, x.observed));
                    s
                };
                case(format!("{prefix}{}", x.name), status);
            }
        }
        report.add_test_suite(suite);
    }
    report.to_string().context("rendering JUnit XML")
}

/// Write `document` as JUnit XML to `path`.
pub fn write(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::write(path, render(document)?).with_context(|| format!("writing {}", path.display()))
}
