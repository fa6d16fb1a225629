//! The terminal summary table of a [`LoadReport`]: every count line adds up.

use std::fmt::Write as _;
use std::time::Duration;

use super::LoadReport;
use crate::load::errors::ErrorClass;
use crate::load::units;

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.2}ms", units::ms(d)))
}

impl LoadReport {
    /// The human summary table.
    pub fn table(&self) -> String {
        let mut out = String::new();
        self.totals(&mut out);
        self.latencies(&mut out);
        self.breakdown(&mut out);
        self.writes(&mut out);
        self.generator(&mut out);
        self.thresholds(&mut out);
        out
    }

    /// Target, totals over the span, and the schedule: planned = completed + cancelled + never sent.
    fn totals(&self, out: &mut String) {
        let s = &self.summary;
        let _ = writeln!(
            out,
            "target    {} ({} model, {} connections, {} threads, seed {})",
            self.target, self.model, self.connections, self.threads, self.seed
        );
        let _ = writeln!(
            out,
            "requests  {} in {:.2}s = {:.1}/s (ended {:.2}s after the start); ok {}, errors {} ({:.2}%)",
            s.requests,
            self.span.as_secs_f64(),
            s.rps,
            self.elapsed.as_secs_f64(),
            s.ok,
            s.errors,
            s.error_rate * 100.0
        );
        if let Some(p) = s.planned {
            let _ = writeln!(
                out,
                "schedule  planned {p} = completed {} + cancelled {} + never sent {}; late {} (waited for a connection), lag p99 {} max {}",
                s.requests,
                s.cancelled,
                s.unsent.unwrap_or(0),
                s.late,
                ms(s.schedule_lag.p99),
                ms(s.schedule_lag.max),
            );
        } else if s.cancelled > 0 {
            let _ = writeln!(
                out,
                "cancelled {} (still in flight when the drain period ended)",
                s.cancelled
            );
        }
    }

    /// Latency and service-time percentiles.
    fn latencies(&self, out: &mut String) {
        let s = &self.summary;
        let _ = writeln!(
            out,
            "{:<14}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}",
            "", "p50", "p90", "p95", "p99", "p99.9", "max"
        );
        for (name, l) in [("latency", &s.latency), ("service time", &s.service_time)] {
            let _ = writeln!(
                out,
                "{name:<14}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}",
                ms(l.p50),
                ms(l.p90),
                ms(l.p95),
                ms(l.p99),
                ms(l.p999),
                ms(l.max)
            );
        }
    }

    /// Errors by class and, with several scenarios, each scenario.
    fn breakdown(&self, out: &mut String) {
        let s = &self.summary;
        if s.errors > 0 {
            let classes: Vec<String> = ErrorClass::ALL
                .iter()
                .filter(|c| self.errors_by_class.get(**c) > 0)
                .map(|c| format!("{c} {}", self.errors_by_class.get(*c)))
                .collect();
            let _ = writeln!(out, "errors    {}", classes.join(", "));
            // Why, in words, where the class keeps reasons (`tls`).
            for class in ErrorClass::ALL {
                for r in self.error_reasons.of(class) {
                    let _ = writeln!(out, "          {class} {}: {}", r.count, r.reason);
                }
            }
        }
        if self.scenarios.len() > 1 {
            for sc in &self.scenarios {
                let _ = writeln!(
                    out,
                    "scenario  {:<30} weight {:>3}: {} requests, {} errors, p99 {}",
                    sc.name,
                    sc.weight,
                    sc.requests,
                    sc.errors,
                    ms(sc.latency.p99)
                );
            }
        }
    }

    /// The keyed-write line: attempted = acknowledged + refused + unknown; acknowledged =
    /// read back + lost + unexpected + read failed.
    fn writes(&self, out: &mut String) {
        if let Some(w) = &self.writes {
            let _ = writeln!(
                out,
                "writes    attempted {} = acknowledged {} + refused {} + unknown {}; acknowledged {} = read back {} + lost {} + unexpected {} + read failed {}",
                w.attempted,
                w.acknowledged,
                w.refused,
                w.unknown,
                w.acknowledged,
                w.read_back(),
                w.lost,
                w.unexpected,
                w.read_failed
            );
            if !w.lost_keys.is_empty() {
                let shown: Vec<&str> = w.lost_keys.iter().take(10).map(String::as_str).collect();
                let _ = writeln!(
                    out,
                    "lost      {}{}",
                    shown.join(" "),
                    if w.lost_keys.len() > 10 { " …" } else { "" }
                );
            }
        }
    }

    /// The generator's resources and its bottleneck warnings.
    fn generator(&self, out: &mut String) {
        let g = &self.generator;
        let _ = writeln!(
            out,
            "generator cpu {}, peak rss {}, peak connections {}, open-file limit {}",
            g.cpu_percent
                .map_or("-".into(), |p| format!("{p:.0}% of {} CPUs", g.cpus)),
            g.peak_rss_bytes
                .map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
            g.peak_connections,
            g.fd_limit.map_or("-".into(), |l| l.to_string()),
        );
        for w in &g.warnings {
            let _ = writeln!(out, "WARNING   {w}");
        }
    }

    /// One line per threshold.
    fn thresholds(&self, out: &mut String) {
        for t in &self.thresholds {
            let observed = t
                .observed
                .map_or("no data".into(), |v| format!("{v:.4}{}", t.unit));
            let _ = writeln!(
                out,
                "threshold {:<40} {} (observed {observed}){}",
                t.threshold,
                if t.passed { "passed" } else { "FAILED" },
                if t.aborted { ", aborted the run" } else { "" }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample report of docs/load.md.
    fn sample() -> LoadReport {
        let doc = include_str!("../../../docs/load.md");
        let json = doc
            .split("```json")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .find(|b| b.contains("\"version\""))
            .expect("the sample report");
        serde_json::from_str(json).expect("the sample report reads back")
    }

    /// Every `a = b + c + …` in `line` holds.
    fn sums_hold(line: &str) -> bool {
        let number = |s: &str| -> u64 {
            s.split_whitespace()
                .filter_map(|w| w.trim_end_matches([';', ',']).parse().ok())
                .next_back()
                .unwrap_or_else(|| panic!("no count in {s:?} of {line:?}"))
        };
        line.split(';')
            .filter(|part| part.contains(" = "))
            .all(|part| {
                let (total, terms) = part.split_once(" = ").unwrap_or_default();
                let terms: u64 = terms.split(" + ").map(number).sum();
                number(total) == terms
            })
    }

    #[test]
    fn every_count_line_adds_up() {
        let mut r = sample();
        let w = r.writes.as_mut().unwrap();
        (w.attempted, w.acknowledged, w.refused, w.unknown) = (601, 500, 100, 1);
        (w.lost, w.unexpected, w.read_failed) = (2, 1, 1);
        let s = &mut r.summary;
        (s.planned, s.requests, s.cancelled, s.unsent) = (Some(400), 390, 4, Some(6));
        let table = r.table();
        let writes = table.lines().find(|l| l.starts_with("writes")).unwrap();
        assert_eq!(
            writes,
            "writes    attempted 601 = acknowledged 500 + refused 100 + unknown 1; acknowledged 500 = read back 496 + lost 2 + unexpected 1 + read failed 1"
        );
        let schedule = table.lines().find(|l| l.starts_with("schedule")).unwrap();
        assert!(
            schedule.contains("planned 400 = completed 390 + cancelled 4 + never sent 6"),
            "{schedule}"
        );
        for line in table
            .lines()
            .filter(|l| l.contains(" = ") && !l.starts_with("requests"))
        {
            assert!(sums_hold(line), "{line}");
        }
    }
}
