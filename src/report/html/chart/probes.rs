//! The steady state on the timeline: one row per probe, one tick per sample coloured by its
//! status, and one tooltip per stretch of equal status (its time span, count and details).

use maud::{Markup, html};

use super::scale::{TimeAxis, n};
use super::{LEFT, TITLE};
use crate::experiment::record::{ProbeStatus, RunRecord};

/// Height of one probe's row.
pub(super) const ROW: f64 = 16.0;

/// One probe's samples: (seconds, status, detail).
pub(super) struct Row<'a> {
    name: &'a str,
    samples: Vec<(f64, ProbeStatus, &'a str)>,
}

/// The probes in order of first appearance, each with its samples.
pub(super) fn rows(run: &RunRecord) -> Vec<Row<'_>> {
    let mut rows: Vec<Row<'_>> = Vec::new();
    for sample in &run.samples {
        for o in &sample.probes {
            let at = (sample.at.as_secs_f64(), o.status, o.detail.as_str());
            match rows.iter_mut().find(|r| r.name == o.probe) {
                Some(row) => row.samples.push(at),
                None => rows.push(Row {
                    name: &o.probe,
                    samples: vec![at],
                }),
            }
        }
    }
    rows
}

fn class(status: ProbeStatus) -> &'static str {
    match status {
        ProbeStatus::Pass => "pass",
        ProbeStatus::Fail => "fail",
        ProbeStatus::Error => "error",
    }
}

/// The rows, from `top` (the panel's title) down.
pub(super) fn draw(rows: &[Row<'_>], axis: &TimeAxis, top: f64) -> Markup {
    if rows.is_empty() {
        return html! {};
    }
    let first = top + TITLE;
    html! {
        g.probes {
            text.ptitle x=(n(LEFT)) y=(n(first - 6.0)) { "steady-state probes, one tick per sample" }
            @for (i, row) in rows.iter().enumerate() {
                @let y = first + i as f64 * ROW;
                text x=(n(LEFT - 4.0)) y=(n(y + ROW - 4.0)) text-anchor="end" { (row.name) }
                @for status in [ProbeStatus::Pass, ProbeStatus::Fail, ProbeStatus::Error] {
                    path class=(class(status)) d=(ticks(row, status, axis, y)) {}
                }
                (stretches(row, axis, y))
            }
        }
    }
}

/// One vertical tick per sample of `status`.
fn ticks(row: &Row<'_>, status: ProbeStatus, axis: &TimeAxis, y: f64) -> String {
    row.samples
        .iter()
        .filter(|s| s.1 == status)
        .map(|s| format!("M{} {}v{}", n(axis.x(s.0)), n(y + 2.0), n(ROW - 4.0)))
        .collect()
}

/// A transparent box over each stretch of samples with the same status, titled with it.
fn stretches(row: &Row<'_>, axis: &TimeAxis, y: f64) -> Markup {
    let runs = row.samples.chunk_by(|a, b| a.1 == b.1);
    html! {
        @for run in runs {
            @let (first, last) = (&run[0], &run[run.len() - 1]);
            @let x0 = axis.x(first.0) - 1.5;
            @let x1 = axis.x(last.0) + 1.5;
            rect.stretch x=(n(x0)) y=(n(y)) width=(n(x1 - x0)) height=(n(ROW)) {
                title {
                    (row.name) ": " (class(first.1)) " from " (format!("{:.2}", first.0)) " s to "
                    (format!("{:.2}", last.0)) " s, " (run.len()) " sample(s): " (first.2)
                    @if run.len() > 1 && last.2 != first.2 { " … " (last.2) }
                }
            }
        }
    }
}
