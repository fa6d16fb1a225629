//! The terminal summary of an experiment: faults, detection, recovery, writes, load, verdict.
//!
//! Figures are rounded for people (`1.00 s`, `0.20 %`); the JSON journal keeps full precision.

mod resources;

use std::fmt::Write;
use std::time::Duration;

use crate::experiment::baseline::Comparison;
use crate::experiment::record::{
    ExperimentRecord, Provenance, RunRecord, Status, StepRecord, Summary, observed_rpo,
};
use crate::load::{ErrorClass, LoadReport, WriteReport};

/// `2.00s`, or `—` when absent (table cells, where the unit is in the header's sense).
fn cell(d: Option<Duration>) -> String {
    d.map_or("—".to_string(), |d| format!("{:.2}s", d.as_secs_f64()))
}

fn summary_line(label: &str, s: &Option<Summary>, unrecovered: usize) -> String {
    let tail = if unrecovered > 0 {
        format!(", {unrecovered} not recovered")
    } else {
        String::new()
    };
    match s {
        Some(s) => format!(
            "{label}: p50 {:.2}s  p90 {:.2}s  max {:.2}s  N={}{tail}",
            s.p50.as_secs_f64(),
            s.p90.as_secs_f64(),
            s.max.as_secs_f64(),
            s.n
        ),
        None => format!("{label}: no recovery measured (N=0){tail}"),
    }
}

/// `ran on HOST with shakedown VERSION`, from what the record knows (older journals
/// know neither).
pub fn ran_on(p: &Provenance) -> Option<String> {
    match (&p.host, &p.shakedown_version) {
        (None, None) => None,
        (host, version) => Some(format!(
            "ran on {} with shakedown {}",
            host.as_deref().unwrap_or("an unknown host"),
            version.as_deref().unwrap_or("(unknown version)")
        )),
    }
}

/// The resources block alone (for `shakedown load`, whose summary is the load driver's table).
pub fn resources(r: &crate::resource::Resources) -> String {
    let mut out = String::new();
    resources::render(&mut out, r);
    out
}

/// The summary of one experiment and its runs.
pub fn render(report: &ExperimentRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}  ({})", report.title, report.file);
    for line in report.description.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "  {}", line.trim());
    }
    if let Some(ran) = ran_on(&report.provenance) {
        let _ = writeln!(out, "  {ran}");
    }
    for run in &report.runs {
        render_run(&mut out, run, report.runs.len() > 1);
    }
    let _ = writeln!(
        out,
        "\n{}",
        summary_line("MTTR (from injection)", &report.mttr, report.unrecovered)
    );
    let _ = writeln!(
        out,
        "{}",
        summary_line(
            "MTTR (from removal)  ",
            &report.mttr_from_removal,
            report.unrecovered
        )
    );
    if let Some(c) = &report.baseline {
        baseline(&mut out, c);
    }
    let verdict = match report.status {
        Status::Passed => "PASSED".to_string(),
        s => format!(
            "{}: {}",
            s.as_str().to_uppercase(),
            report.reason.clone().unwrap_or_default()
        ),
    };
    let _ = writeln!(out, "\nverdict: {verdict}");
    out
}

/// Each figure against the baseline: old → new, change, verdict.
fn baseline(out: &mut String, c: &Comparison) {
    let runs = |n: usize| format!("{n} run{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "\nagainst baseline {} (saved {}, {}; this: {}; threshold {:.1} %):",
        c.file,
        c.saved,
        runs(c.baseline_runs),
        runs(c.runs),
        c.threshold * 100.0
    );
    for f in &c.figures {
        let _ = writeln!(
            out,
            "  {:<20} {:>12} → {:<12} {:>10}  {}",
            f.name,
            f.shown(f.old),
            f.shown(f.new),
            f.change_shown(),
            f.verdict.as_str()
        );
    }
    let _ = writeln!(out, "  {}", c.rule());
}

/// The live load agents: how many, and each one lost (the merged figures cover the rest).
fn agents(out: &mut String, run: &RunRecord) {
    if run.agents.is_empty() {
        return;
    }
    let lost: Vec<_> = run.agents.iter().filter(|a| a.lost.is_some()).collect();
    let _ = writeln!(
        out,
        "  load agents: {} merged of {}",
        run.agents.len() - lost.len(),
        run.agents.len()
    );
    for a in lost {
        let _ = writeln!(
            out,
            "  LOST {} at {}: {}",
            a.url,
            cell(a.lost_at),
            a.lost.as_deref().unwrap_or_default()
        );
    }
}

fn render_run(out: &mut String, run: &RunRecord, numbered: bool) {
    if numbered {
        let _ = writeln!(
            out,
            "\nrun {}: {}",
            run.run,
            run.status.map_or("?", |s| s.as_str())
        );
    }
    let passing = run.samples.iter().filter(|s| s.pass).count();
    let _ = writeln!(
        out,
        "\n  steady state: {} samples, {} passing",
        run.samples.len(),
        passing
    );
    if !run.steps.is_empty() {
        let _ = writeln!(
            out,
            "\n  {:<28} {:>9} {:>9} {:>8} {:>11} {:>11}  in time",
            "step", "injected", "removed", "TTD", "TTR inject", "TTR remove"
        );
        for s in &run.steps {
            step_row(out, s);
        }
    }
    if let Some(w) = run.writes() {
        writes(out, w);
    }
    if let Some(load) = &run.load {
        let _ = writeln!(out, "\n  load: {}", load_line(load));
    }
    agents(out, run);
    if let Some(r) = &run.resources {
        resources::render(out, r);
    }
    for r in &run.rollbacks {
        let _ = writeln!(out, "  rollback `{}`: {}", r.command.join(" "), r.detail);
    }
    let _ = writeln!(out);
    for x in &run.expectations {
        let mark = match (x.evaluated, x.passed) {
            (false, _) => "--  ",
            (true, true) => "ok  ",
            (true, false) => "FAIL",
        };
        if !x.evaluated {
            let _ = writeln!(out, "  {mark} {}: {}", x.name, x.observed);
            continue;
        }
        let _ = writeln!(
            out,
            "  {mark} {}: expected {}, observed {}",
            x.name, x.expected, x.observed
        );
    }
}

/// One row of the steps table, and what went wrong under it.
fn step_row(out: &mut String, s: &StepRecord) {
    let m = s.measurement;
    let ttd = match m {
        Some(m) if m.detected() => cell(m.time_to_detect),
        Some(_) => "undetected".to_string(),
        None => "—".to_string(),
    };
    let in_time = match (s.recovered_in_time, m) {
        (Some(true), _) => "yes",
        (Some(false), _) => "NO",
        (None, Some(m)) if m.recovered() => "recovered",
        (None, Some(_)) => "NOT RECOVERED",
        _ => "",
    };
    let name: String = s.name.chars().take(28).collect();
    let _ = writeln!(
        out,
        "  {name:<28} {:>9} {:>9} {:>8} {:>11} {:>11}  {in_time}",
        cell(s.injected_at),
        cell(s.removed_at),
        ttd,
        cell(m.and_then(|m| m.recovery_from_injection)),
        cell(m.and_then(|m| m.recovery_from_removal)),
    );
    if let Some(f) = s.load_failures {
        let _ = writeln!(
            out,
            "    load while in effect: {} requests, {} injected failures, {} upstream failures",
            f.requests, f.injected, f.upstream
        );
    }
    let detail = s.detail.as_deref().unwrap_or("no detail recorded");
    match (s.ok, s.injected_at) {
        // A resource fault says what it did (`held 95 of 100 connections …`); a toxic has no detail.
        (true, _) if s.kind == "fault" && s.detail.is_some() => {
            let _ = writeln!(out, "    {detail}");
        }
        (true, _) => {}
        // A step that never started says why itself (`not run: interrupted at 4.00 s`).
        (false, None) => {
            let _ = writeln!(out, "    {detail}");
        }
        (false, Some(_)) => {
            let _ = writeln!(out, "    failed: {detail}");
        }
    }
}

/// The keyed-write check: every write attempted is acknowledged, refused or unknown, and every
/// acknowledged one read back present, lost, unexpected or not read back; the lines say so.
fn writes(out: &mut String, w: &WriteReport) {
    let present = w.acknowledged.saturating_sub(
        w.lost
            .saturating_add(w.unexpected)
            .saturating_add(w.read_failed),
    );
    let _ = writeln!(
        out,
        "\n  writes: {} attempted = {} acknowledged + {} refused + {} unknown",
        w.attempted, w.acknowledged, w.refused, w.unknown
    );
    let mut read = format!(
        "  read back: {} acknowledged = {present} present + {} lost + {} unexpected",
        w.acknowledged, w.lost, w.unexpected
    );
    if w.read_failed > 0 {
        let _ = write!(read, " + {} not read back", w.read_failed);
    }
    // Jepsen's loss rate: lost / acknowledged.
    if w.acknowledged > 0 {
        let _ = write!(
            read,
            "; loss rate {:.2} %",
            w.lost as f64 * 100.0 / w.acknowledged as f64
        );
    }
    let _ = writeln!(out, "{read}");
    if let (Some(rpo), Some(first), Some(last)) =
        (observed_rpo(w), w.lost_first_ack, w.lost_last_ack)
    {
        let _ = writeln!(
            out,
            "  observed RPO: {:.2} s (lost writes were acknowledged from {:.2} s to {:.2} s)",
            rpo.as_secs_f64(),
            first.as_secs_f64(),
            last.as_secs_f64()
        );
    }
    if !w.lost_keys.is_empty() {
        let shown: Vec<&str> = w.lost_keys.iter().take(5).map(String::as_str).collect();
        let more = if w.lost_keys.len() > 5 {
            format!(" and {} more", w.lost_keys.len() - 5)
        } else {
            String::new()
        };
        let _ = writeln!(out, "  lost keys: {}{more}", shown.join(", "));
    }
}

/// One line of load figures.
fn load_line(l: &LoadReport) -> String {
    let ms = |v: Option<Duration>| {
        v.map_or("—".to_string(), |d| {
            format!("{:.1} ms", d.as_secs_f64() * 1e3)
        })
    };
    let s = &l.summary;
    let mut line = format!(
        "{} requests ({:.0}/s), {} errors ({:.2} %), latency p50 {} p90 {} p99 {} max {}",
        s.requests,
        s.rps,
        s.errors,
        s.error_rate * 100.0,
        ms(s.latency.p50),
        ms(s.latency.p90),
        ms(s.latency.p99),
        ms(s.latency.max)
    );
    let classes: Vec<String> = ErrorClass::ALL
        .into_iter()
        .map(|c| (c, l.errors_by_class.get(c)))
        .filter(|(_, n)| *n > 0)
        .map(|(c, n)| format!("{c} {n}"))
        .collect();
    if !classes.is_empty() {
        let _ = write!(line, " [{}]", classes.join(", "));
    }
    if !l.passed {
        line.push_str("; a load threshold failed");
    }
    line
}

#[cfg(test)]
mod tests;
