//! The terminal summary of an experiment: faults, detection, recovery, writes, load, verdict.

use std::fmt::Write;

use super::journal::{ExperimentReport, LoadSummaryRecord, RunJournal, Status};
use crate::experiment::measure::Summary;

fn opt(v: Option<f64>) -> String {
    v.map_or("—".to_string(), |s| format!("{s:.2}s"))
}

fn dur(d: Option<std::time::Duration>) -> String {
    opt(d.map(|d| d.as_secs_f64()))
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

/// The summary of one experiment and its runs.
pub fn render(report: &ExperimentReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "\n{}  ({})", report.title, report.file);
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

fn render_run(out: &mut String, run: &RunJournal, numbered: bool) {
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
            let m = s.measurement;
            let ttd = match m {
                Some(m) if m.detected() => dur(m.time_to_detect),
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
                opt(s.injected_at),
                opt(s.removed_at),
                ttd,
                dur(m.and_then(|m| m.recovery_from_injection)),
                dur(m.and_then(|m| m.recovery_from_removal)),
            );
            if !s.ok {
                let _ = writeln!(out, "    failed: {}", s.detail.clone().unwrap_or_default());
            }
        }
    }
    if let Some(w) = &run.writes {
        let _ = writeln!(
            out,
            "\n  writes: {} attempted, {} acknowledged, {} lost, {} unexpected, {} unknown{}{}",
            w.attempted,
            w.acknowledged,
            w.lost,
            w.unexpected,
            w.unknown,
            if w.read_failed > 0 {
                format!(", {} not read back", w.read_failed)
            } else {
                String::new()
            },
            // Jepsen's loss rate: lost / acknowledged.
            if w.acknowledged > 0 {
                format!(
                    "; loss rate {:.2}%",
                    w.lost as f64 * 100.0 / w.acknowledged as f64
                )
            } else {
                String::new()
            }
        );
        if let (Some(rpo), Some(first), Some(last)) =
            (w.observed_rpo, w.lost_first_ack, w.lost_last_ack)
        {
            let _ = writeln!(
                out,
                "  observed RPO: {rpo:.2}s (lost writes were acknowledged from {first:.2}s to {last:.2}s)"
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
    if let Some(load) = &run.load_summary {
        let _ = writeln!(out, "\n  load: {}", load_line(load));
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

/// One line of load figures.
fn load_line(l: &LoadSummaryRecord) -> String {
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |s| format!("{:.1}ms", s * 1e3));
    let mut line = format!(
        "{} requests ({:.0}/s), {} errors ({:.2}%), latency p50 {} p90 {} p99 {} max {}",
        l.requests,
        l.rps,
        l.errors,
        l.error_rate * 100.0,
        ms(l.p50),
        ms(l.p90),
        ms(l.p99),
        ms(l.max)
    );
    if !l.errors_by_class.is_empty() {
        let classes: Vec<String> = l
            .errors_by_class
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = write!(line, " [{}]", classes.join(", "));
    }
    if !l.thresholds_passed {
        line.push_str("; a load threshold failed");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::journal::WritesRecord;

    #[test]
    fn the_writes_line_gives_the_loss_rate_of_acknowledged_writes() {
        let run = RunJournal {
            writes: Some(WritesRecord {
                attempted: 1100,
                acknowledged: 1000,
                lost: 31,
                unknown: 2,
                ..WritesRecord::default()
            }),
            ..RunJournal::default()
        };
        let report = ExperimentReport {
            file: "e.yaml".into(),
            title: "t".into(),
            tags: Vec::new(),
            status: Status::Failed,
            reason: None,
            runs: vec![run],
            mttr: None,
            mttr_from_removal: None,
            unrecovered: 0,
        };
        let shown = render(&report);
        assert!(
            shown.contains(
                "writes: 1100 attempted, 1000 acknowledged, 31 lost, 0 unexpected, 2 unknown; loss rate 3.10%"
            ),
            "{shown}"
        );
    }
}
