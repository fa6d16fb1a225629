//! With `--repeat N`: the time to recover of every measured step in every run, as a strip plot
//! (one row per step, one dot per run, TTR from injection), with the MTTR p50 and p90 across
//! them marked, so the spread is seen, not only the summary.

use maud::{Markup, html};

use super::chart::scale::{n, nice};
use super::format::secs;
use crate::experiment::record::ExperimentRecord;

const WIDTH: f64 = 960.0;
const LEFT: f64 = 180.0;
const RIGHT: f64 = 20.0;
const ROW: f64 = 26.0;

/// One run's recovery of a step: run number, seconds from injection, from removal for people.
type Dot = (u32, f64, String);

/// The strip plot of `e`'s runs; nothing when no step recovered.
pub(super) fn strip(e: &ExperimentRecord) -> Markup {
    let mut rows: Vec<(&str, Vec<Dot>)> = Vec::new();
    for run in &e.runs {
        for s in &run.steps {
            let Some(t) = s.measurement.and_then(|m| m.recovery_from_injection) else {
                continue;
            };
            let removal = s.measurement.and_then(|m| m.recovery_from_removal);
            let dot = (run.run, t.as_secs_f64(), secs(removal));
            match rows.iter_mut().find(|r| r.0 == s.name) {
                Some(row) => row.1.push(dot),
                None => rows.push((&s.name, vec![dot])),
            }
        }
    }
    if rows.is_empty() {
        return html! {};
    }
    let mttr_max = e.mttr.map_or(0.0, |m| m.max.as_secs_f64());
    let max = nice(
        rows.iter()
            .flat_map(|r| &r.1)
            .map(|d| d.1)
            .fold(mttr_max, f64::max),
    );
    let x = |t: f64| LEFT + t / max * (WIDTH - LEFT - RIGHT);
    let bottom = ROW * rows.len() as f64 + 6.0;
    html! {
        figure.spread {
            svg viewBox={ "0 0 " (n(WIDTH)) " " (n(bottom + 30.0)) } role="img"
                aria-label="Time to recover of each measured step in each run" {
                @for i in 0..=4 {
                    @let t = max * i as f64 / 4.0;
                    line.grid x1=(n(x(t))) x2=(n(x(t))) y1="0" y2=(n(bottom)) {}
                    text x=(n(x(t))) y=(n(bottom + 14.0)) text-anchor="middle" { (format!("{t:.2} s")) }
                }
                // MTTR across every run, as in the table above the plot.
                @if let Some(m) = &e.mttr {
                    @for (class, label, t) in [("p50", "MTTR p50", m.p50), ("p90", "p90", m.p90)] {
                        @let at = x(t.as_secs_f64());
                        g.mttr.(class) {
                            title { "MTTR " (class) " across " (m.n) " recoveries: " (secs(Some(t))) }
                            line x1=(n(at)) x2=(n(at)) y1="0" y2=(n(bottom)) {}
                            text x=(n(at + 3.0)) y=(n(bottom - 2.0)) { (label) }
                        }
                    }
                }
                @for (i, (step, dots)) in rows.iter().enumerate() {
                    @let y = ROW * i as f64 + ROW / 2.0 + 3.0;
                    text x=(n(LEFT - 8.0)) y=(n(y + 4.0)) text-anchor="end" { (step) }
                    @for (run, t, removal) in dots {
                        // Runs that recovered alike would hide each other: each run's dot sits
                        // a little off the row's line (five lanes).
                        @let lane = (run % 5) as f64 - 2.0;
                        circle.dot cx=(n(x(*t))) cy=(n(y + lane * 4.0)) r="4" {
                            title { (step) ", run " (run) ": recovered " (format!("{t:.2} s")) " after injection, " (removal) " after removal" }
                        }
                    }
                }
                text x=(n(WIDTH - RIGHT)) y=(n(bottom + 28.0)) text-anchor="end" { "time to recover from injection, one dot per run" }
            }
        }
    }
}
