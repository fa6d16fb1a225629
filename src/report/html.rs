//! The HTML report: one self-contained page of a journal [`Document`] (one experiment from
//! `run`, a suite from `test`, either from `report JOURNAL`), to open from a mail attachment or
//! a CI artefact.
//!
//! No scripts, no external styles, fonts or images (a Content-Security-Policy in the page says
//! so to the browser); the charts are inline SVG, the style follows `prefers-color-scheme` and
//! prints. At the top: the verdict and every expectation, failed first. Then one section per
//! experiment, failures first, each with its MTTR and, per run, the timeline chart
//! (`chart`) and the tables (`tables`). Rendering is a pure function of the record; every
//! string that came from the user's file is escaped by the template engine (maud).

mod chart;
pub(super) mod format;
mod spread;
mod story;
mod tables;

use std::path::Path;

use anyhow::Context;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::terminal;
use crate::experiment::record::{Document, ExpectationRecord, ExperimentRecord, RunRecord, Status};

/// The page's style sheet, compiled in.
const STYLE: &str = include_str!("html/style.css");

/// No network, no scripts: the browser refuses anything but the page's own style and data URLs.
const POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/// The whole page of `document` (UTF-8 HTML, one file).
pub fn render(document: &Document) -> String {
    let experiments = failures_first(document);
    let title = match experiments.as_slice() {
        [(_, only)] => format!("{} — {}", name(only), only.status.as_str()),
        _ => format!("shakedown suite — {}", document.counts()),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(POLICY);
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    p.brand { "shakedown report" }
                    @if experiments.len() != 1 { (suite_verdict(document, &experiments)) }
                }
                main {
                    @for (i, e) in &experiments { (experiment(*i, e)) }
                }
                footer {
                    "Rendered by shakedown " (env!("CARGO_PKG_VERSION"))
                    " from its journal (format version " (document.version) "). Times are seconds since each run's method started."
                }
            }
        }
    }
    .into_string()
}

/// Write the page of `document` to `path`.
///
/// Errors: the file cannot be written (the message names it).
pub fn write(path: &Path, document: &Document) -> anyhow::Result<()> {
    std::fs::write(path, render(document)).with_context(|| format!("writing {}", path.display()))
}

/// The experiments, worst status first (stable otherwise), with their index in the document.
fn failures_first(document: &Document) -> Vec<(usize, &ExperimentRecord)> {
    let mut experiments: Vec<_> = document.experiments.iter().enumerate().collect();
    experiments.sort_by_key(|(_, e)| std::cmp::Reverse(e.status.rank()));
    experiments
}

/// The experiment's title, or its file when it has none (an invalid file).
fn name(e: &ExperimentRecord) -> &str {
    if e.title.is_empty() {
        &e.file
    } else {
        &e.title
    }
}

fn status_class(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Skipped => "skipped",
        _ => "failed",
    }
}

/// The suite's counts and one linked line per experiment.
fn suite_verdict(document: &Document, experiments: &[(usize, &ExperimentRecord)]) -> Markup {
    html! {
        h1 { "Suite: " (document.counts()) }
        ul.toc {
            @for (i, e) in experiments {
                li { span class={ "badge " (status_class(e.status)) } { (e.status.as_str()) } " "
                    a href={ "#exp-" (i) } { (name(e)) }
                    @if let Some(r) = &e.reason { " — " (r) } }
            }
        }
    }
}

/// One experiment: verdict and expectations, MTTR, then each run.
fn experiment(index: usize, e: &ExperimentRecord) -> Markup {
    let numbered = e.runs.len() > 1;
    html! {
        section.experiment id={ "exp-" (index) } {
            h2 { (name(e)) }
            p.meta { code { (e.file) }
                @for t in &e.tags { " " span.tag { (t) } } }
            @for line in e.description.lines().filter(|l| !l.trim().is_empty()) { p.description { (line) } }
            @if let Some(ran) = terminal::ran_on(&e.provenance) { p.meta.provenance { (ran) } }
            div class={ "verdict " (status_class(e.status)) } {
                strong { (e.status.as_str().to_uppercase()) }
                @if let Some(r) = &e.reason { " — " span.reason { (r) } }
            }
            (expectations(e))
            @if !e.runs.is_empty() {
                h3 { "Recovery" }
                (tables::mttr(e))
                @if numbered { (spread::strip(e)) }
            }
            @if let Some(c) = &e.baseline {
                h3 { "Against the baseline" }
                (tables::baseline(c))
            }
            @for run in &e.runs { (run_section(index, run, numbered)) }
            @if let Some(text) = &e.provenance.resolved {
                details.resolved {
                    summary { "The experiment file as it ran (variables resolved)" }
                    pre { code { (text) } }
                }
            }
        }
    }
}

/// Every expectation of every run, failed ones first (in red), then the unevaluated, then the
/// passed; the observed value says by how much a failed one missed.
fn expectations(e: &ExperimentRecord) -> Markup {
    let order = |x: &ExpectationRecord| match (x.evaluated, x.passed) {
        (true, false) => 0,
        (false, _) => 1,
        (true, true) => 2,
    };
    let mut all: Vec<(u32, &ExpectationRecord)> = e
        .runs
        .iter()
        .flat_map(|r| r.expectations.iter().map(move |x| (r.run, x)))
        .collect();
    all.sort_by_key(|(run, x)| (order(x), *run));
    let numbered = e.runs.len() > 1;
    html! {
        @if !all.is_empty() {
            table.expectations {
                thead { tr {
                    th { "" } @if numbered { th { "run" } } th { "expectation" } th { "expected" } th { "observed" }
                } }
                tbody {
                    @for (run, x) in all {
                        @let (class, mark) = match order(x) { 0 => ("bad", "✗ failed"), 1 => ("unrun", "– not evaluated"), _ => ("good", "✓ held") };
                        tr class=(class) {
                            td.mark { (mark) } @if numbered { td.num { (run) } }
                            td { (x.name) } td { (x.expected) } td { (x.observed) }
                        }
                    }
                }
            }
        }
    }
}

/// One run: its facts, the timeline chart and the tables.
fn run_section(index: usize, run: &RunRecord, numbered: bool) -> Markup {
    let status = run.status.unwrap_or(Status::Aborted);
    html! {
        section.run {
            h3 {
                @if numbered { "Run " (run.run) ": " }
                @else { "The run: " }
                span class={ "badge " (status_class(status)) } { (status.as_str()) }
            }
            p.meta {
                "Started " (run.started) ", " (format::secs(Some(run.elapsed))) " from the method's start to the end of teardown"
                @if let Some(l) = &run.load { ", load seed " (l.seed) }
                "."
                @if let Some(r) = &run.reason { " " span.bad { (r) } }
            }
            (story::what_happened(run))
            (chart::timeline(run, &format!("{index}-{}", run.run)))
            (tables::steps(run))
            @if let Some(w) = run.writes() { (tables::writes(w)) }
            @if let Some(l) = &run.load { (tables::load(l)) }
            (tables::aftermath(run))
        }
    }
}
