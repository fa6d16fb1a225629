//! The report's tables: steps (injected, removed, TTD, TTR, in time), MTTR, writes, load and
//! thresholds, rollbacks, and the run's facts (start, duration, seed, preflight, teardown).

use maud::{Markup, html};

use super::format::{in_time, ms, pct, secs, ttd};
use crate::experiment::baseline::{Comparison, Verdict};
use crate::experiment::record::{
    ExperimentRecord, ProbeStatus, RunRecord, StepRecord, Summary, observed_rpo,
};
use crate::load::{ErrorClass, LoadReport, WriteReport};

/// How many lost (or unexpected) keys the page lists.
const KEYS_SHOWN: usize = 20;

/// The steps of the method and what was measured from each.
pub(super) fn steps(run: &RunRecord) -> Markup {
    if run.steps.is_empty() {
        return html! {};
    }
    html! {
        h4 { "Steps" }
        table.steps {
            thead { tr {
                th { "step" } th { "kind" } th.num { "planned" } th.num { "injected" } th.num { "removed" }
                th.num { "TTD" } th.num { "TTR from injection" } th.num { "TTR from removal" } th { "in time" }
            } }
            tbody { @for s in &run.steps { (step_row(s)) } }
        }
    }
}

fn step_row(s: &StepRecord) -> Markup {
    let m = s.measurement;
    let (in_time, bad) = in_time(s);
    html! {
        tr.bad[!s.ok || bad] {
            td { (s.name) @if let Some(d) = &s.detail { div.detail { (d) } } }
            td { (s.kind) @if !s.measured { " (not measured)" } }
            td.num { (secs(Some(s.planned_at))) }
            td.num { (secs(s.injected_at)) }
            td.num { (secs(s.removed_at)) }
            td.num { (ttd(s)) }
            td.num { (secs(m.and_then(|m| m.recovery_from_injection))) }
            td.num { (secs(m.and_then(|m| m.recovery_from_removal))) }
            td { (in_time) }
        }
    }
}

/// MTTR from injection and from removal across every measured step of every run.
pub(super) fn mttr(e: &ExperimentRecord) -> Markup {
    let row = |label: &str, s: &Option<Summary>| {
        html! {
            tr {
                th { (label) }
                @match s {
                    Some(s) => {
                        td.num { (secs(Some(s.p50))) } td.num { (secs(Some(s.p90))) }
                        td.num { (secs(Some(s.max))) } td.num { (s.n) }
                    }
                    None => { td colspan="4" { "no recovery measured (N = 0)" } }
                }
            }
        }
    };
    html! {
        table.mttr {
            thead { tr { th { "MTTR" } th.num { "p50" } th.num { "p90" } th.num { "max" } th.num { "N" } } }
            tbody {
                (row("from injection", &e.mttr))
                (row("from removal", &e.mttr_from_removal))
            }
        }
        @if e.unrecovered > 0 {
            p.bad { (e.unrecovered) " measured step(s) never recovered (not in N)." }
        }
    }
}

/// Each figure against `--baseline`: old → new, change and verdict (regressions in red).
pub(super) fn baseline(c: &Comparison) -> Markup {
    html! {
        p.meta { code { (c.file) } " saved " (c.saved) ", threshold " (format!("{:.1} %", c.threshold * 100.0))
            " — " (c.rule()) }
        table.baseline {
            thead { tr { th { "figure" } th.num { "baseline" } th.num { "this run" } th.num { "change" } th { "verdict" } } }
            tbody {
                @for f in &c.figures {
                    tr class=[(f.verdict == Verdict::Regressed).then_some("bad")] {
                        th { (f.name) }
                        td.num { (f.shown(f.old)) }
                        td.num { (f.shown(f.new)) }
                        td.num { (f.change_shown()) }
                        td { (f.verdict.as_str()) }
                    }
                }
            }
        }
    }
}

/// The keyed-write check: every write accounted for, the loss rate, observed RPO and the first
/// lost keys.
pub(super) fn writes(w: &WriteReport) -> Markup {
    let keys = |label: &str, keys: &[String]| {
        html! {
            @if !keys.is_empty() {
                p { (label) " (first " (keys.len().min(KEYS_SHOWN)) " of " (keys.len()) "): "
                    @for (i, k) in keys.iter().take(KEYS_SHOWN).enumerate() {
                        @if i > 0 { ", " } code { (k) }
                    }
                }
            }
        }
    };
    let rpo = observed_rpo(w);
    html! {
        h4 { "Writes" }
        table.writes {
            thead { tr {
                th.num { "attempted" } th.num { "acknowledged" } th.num { "refused" } th.num { "unknown" }
                th.num { "lost" } th.num { "unexpected" } th.num { "not read back" } th.num { "loss rate" }
                th.num { "observed RPO" }
            } }
            tbody { tr.bad[w.lost > 0 || w.unexpected > 0] {
                td.num { (w.attempted) } td.num { (w.acknowledged) } td.num { (w.refused) }
                td.num { (w.unknown) } td.num { (w.lost) } td.num { (w.unexpected) }
                td.num { (w.read_failed) } td.num { (pct(w.loss_rate)) } td.num { (secs(rpo)) }
            } }
        }
        p.note { "Attempted = acknowledged + refused + unknown; every acknowledged write was read back. \
                  Loss rate = lost / acknowledged. Observed RPO: from the first to the last acknowledgement of a lost write." }
        @if let (Some(first), Some(last)) = (w.lost_first_ack, w.lost_last_ack) {
            p { "Lost writes were acknowledged from " (secs(Some(first))) " to " (secs(Some(last))) "." }
        }
        (keys("Lost keys", &w.lost_keys))
        (keys("Unexpected keys", &w.unexpected_keys))
    }
}

/// The load's headline figures, its errors by class and its thresholds.
pub(super) fn load(l: &LoadReport) -> Markup {
    let s = &l.summary;
    let classes: Vec<(ErrorClass, u64)> = ErrorClass::ALL
        .into_iter()
        .map(|c| (c, l.errors_by_class.get(c)))
        .filter(|(_, n)| *n > 0)
        .collect();
    html! {
        h4 { "Load" }
        p { code { (l.target) } ", " (l.model) " model, " (l.connections) " connections, seed " (l.seed) "." }
        table.load {
            thead { tr {
                th.num { "requests" } th.num { "rate" } th.num { "errors" } th.num { "error rate" }
                th.num { "p50" } th.num { "p90" } th.num { "p99" } th.num { "max" }
            } }
            tbody { tr {
                td.num { (s.requests) } td.num { (format!("{:.1}/s", s.rps)) } td.num { (s.errors) }
                td.num { (pct(s.error_rate)) } td.num { (ms(s.latency.p50)) } td.num { (ms(s.latency.p90)) }
                td.num { (ms(s.latency.p99)) } td.num { (ms(s.latency.max)) }
            } }
        }
        @if !classes.is_empty() {
            p { "Errors by class: "
                @for (i, (c, count)) in classes.iter().enumerate() { @if i > 0 { ", " } (c) " " (count) }
            }
        }
        @if !l.thresholds.is_empty() {
            table.thresholds {
                thead { tr { th { "threshold" } th { "result" } th.num { "observed" } th.num { "breaches" } } }
                tbody { @for t in &l.thresholds {
                    tr.bad[!t.passed] {
                        td { code { (t.threshold) } }
                        td { @if t.passed { "passed" } @else { "failed" } @if t.aborted { ", aborted the run" } }
                        td.num { (t.observed.map_or("no data".to_string(), |v| t.unit.for_people(v))) }
                        td.num { (t.breaches) }
                    }
                } }
            }
        }
    }
}

/// Preflight, guard, rollbacks and teardown of a run.
pub(super) fn aftermath(run: &RunRecord) -> Markup {
    html! {
        @if !run.preflight.is_empty() {
            p { "Preflight: "
                @for (i, o) in run.preflight.iter().enumerate() {
                    @if i > 0 { ", " }
                    span.bad[o.status != ProbeStatus::Pass] { (o.probe) " " (format!("{:?}", o.status).to_lowercase()) " (" (o.detail) ")" }
                }
            }
        }
        @if let Some(g) = &run.guard { p.bad { "Guard stopped the run: " (g) } }
        @if !run.rollbacks.is_empty() {
            h4 { "Rollbacks" }
            table.rollbacks {
                thead { tr { th { "command" } th { "result" } } }
                tbody { @for r in &run.rollbacks {
                    tr.bad[!r.ok] { td { code { (r.command.join(" ")) } } td { (r.detail) } }
                } }
            }
        }
        @if !run.cleanup.is_empty() {
            p.note { "Teardown: " (run.cleanup.join("; ")) }
        }
    }
}
