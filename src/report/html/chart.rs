//! The timeline chart of one run, hand-written SVG on one shared time axis (seconds on the run's
//! clock): request rate, error rate split into injected and other errors, latency p50/p99 per
//! second (linear, or log with a script-free toggle), and every steady-state sample as a
//! pass/fail tick per probe; each fault window shaded and labelled, each detection and recovery
//! instant marked; below them each watched process's CPU, RSS and open descriptors and the host's
//! CPU, on the same axis. Every second has a `<title>` tooltip with its figures.

mod probes;
mod resources;
pub(super) mod scale;
mod series;

use maud::{Markup, html};

use self::scale::{Panel, TimeAxis, n};
use super::format::secs;
use crate::experiment::record::{RunRecord, StepRecord};

/// Width of the drawing, in SVG user units (it scales to the page).
const WIDTH: f64 = 960.0;
/// Room at the left for the panels' value labels.
const LEFT: f64 = 78.0;
/// Room at the right.
const RIGHT: f64 = 14.0;
/// Height of one row of fault labels; labels cycle through three rows so neighbours don't clash.
const LABEL_ROW: f64 = 15.0;
/// Rows of fault labels.
const LABEL_ROWS: usize = 3;
/// Room above a panel for its title.
const TITLE: f64 = 20.0;
/// Height of the time axis and its labels.
const AXIS: f64 = 30.0;

/// The chart of `run`; `id` makes the log-scale toggle unique in the page.
pub(super) fn timeline(run: &RunRecord, id: &str) -> Markup {
    let seconds = run.load.as_ref().map(series::seconds).unwrap_or_default();
    let probe_rows = probes::rows(run);
    let has_resources = run.resources.as_ref().is_some_and(|r| !r.host.is_empty());
    if seconds.is_empty() && probe_rows.is_empty() && !has_resources {
        return html! { p.empty { "No timeline: the run stopped before any load or sampling." } };
    }
    let axis = TimeAxis::of(run, &seconds);
    // Fault labels on their rows, then the D/R markers' row, then the panels.
    let markers = LABEL_ROW * (LABEL_ROWS as f64 + 1.0) + 2.0;
    let mut top = markers + 6.0;
    let chart_top = top;
    let load_panels = (!seconds.is_empty()).then(|| {
        let rate = Panel::linear(&mut top, 80.0, series::max_rate(&seconds), f64::INFINITY);
        let errors = Panel::linear(&mut top, 60.0, series::max_error_pct(&seconds), 100.0);
        let latency = series::latency_panels(&mut top, &seconds);
        (rate, errors, latency)
    });
    let resource_lines = resources::lines(run, &mut top);
    let probes_top = top;
    top += TITLE + probes::ROW * probe_rows.len() as f64;
    let bottom = top;
    let height = bottom + AXIS;
    let toggle = format!("log-{id}");
    html! {
        figure.timeline {
            @if load_panels.is_some() {
                input.logtoggle type="checkbox" id=(toggle);
                label.logtoggle for=(toggle) { "latency on a log scale" }
            }
            svg viewBox={ "0 0 " (n(WIDTH)) " " (n(height)) } role="img"
                aria-label="Timeline of the run: load, errors, latency and steady-state probes, with fault windows" {
                (windows(run, &axis, chart_top, bottom))
                (axis.ticks(chart_top, bottom))
                @if let Some((rate, errors, latency)) = &load_panels {
                    (series::rate(&seconds, &axis, rate))
                    (series::errors(&seconds, &axis, errors))
                    (latency.draw(&seconds, &axis))
                }
                (resources::draw(&resource_lines, &axis, resources::interval(run)))
                (probes::draw(&probe_rows, &axis, probes_top))
                (instants(run, &axis, markers, chart_top, bottom))
                @if let Some((rate, _, latency)) = &load_panels {
                    (series::tooltips(&seconds, &run.steps, &axis, rate.top, latency.bottom()))
                }
            }
            figcaption {
                span.key.k-fault { "fault window" } " "
                span.key.k-action { "action" } " "
                span.key.k-det { "detected (D)" } " "
                span.key.k-rec { "recovered (R)" } " "
                @if load_panels.is_some() {
                    span.key.k-rps { "requests/s" } " "
                    span.key.k-inj { "injected errors" } " "
                    span.key.k-up { "other errors (upstream, network)" } " "
                    span.key.k-p50 { "p50" } " "
                    span.key.k-p99 { "p99" } " "
                }
                @if !resource_lines.is_empty() {
                    span.key.k-res { "resources (per watched process, and the host)" } " "
                }
                span.key.k-pass { "probe passed" } " "
                span.key.k-fail { "failed" } " "
                span.key.k-error { "no answer" }
                br;
                "Seconds since the method started; hover a second or a fault for its figures."
            }
        }
    }
}

/// Each fault window shaded and each action marked, across the whole chart, labelled above it.
fn windows(run: &RunRecord, axis: &TimeAxis, top: f64, bottom: f64) -> Markup {
    let started = run
        .steps
        .iter()
        .filter_map(|s| Some((s, s.injected_at?.as_secs_f64())))
        .enumerate();
    html! {
        @for (i, (step, from)) in started {
            @let to = step.removed_at.map_or(axis.t1, |d| d.as_secs_f64());
            @let label_y = LABEL_ROW * ((i % LABEL_ROWS) as f64 + 1.0);
            @let tip = window_tip(step);
            g.window {
                title { (tip) }
                @if step.kind == "fault" {
                    rect.fault x=(n(axis.x(from))) y=(n(top)) width=(n((axis.x(to) - axis.x(from)).max(1.0)))
                        height=(n(bottom - top)) {}
                } @else {
                    line.action x1=(n(axis.x(from))) x2=(n(axis.x(from))) y1=(n(top)) y2=(n(bottom)) {}
                }
                line.tick-label x1=(n(axis.x(from))) x2=(n(axis.x(from))) y1=(n(label_y + 3.0)) y2=(n(top)) {}
                // Near the right edge a label ends at its line instead of starting there.
                @if axis.x(from) > WIDTH - 160.0 {
                    text.label x=(n(axis.x(from) - 3.0)) y=(n(label_y)) text-anchor="end" { (step.name) }
                } @else {
                    text.label x=(n(axis.x(from) + 3.0)) y=(n(label_y)) { (step.name) }
                }
            }
        }
    }
}

/// `latency on kv (fault): injected 2.00 s, removed 5.00 s`, and what was measured from it.
fn window_tip(step: &StepRecord) -> String {
    let mut tip = format!(
        "{} ({}): injected {}, removed {}",
        step.name,
        step.kind,
        secs(step.injected_at),
        secs(step.removed_at)
    );
    if let Some(m) = step.measurement {
        tip.push_str(&format!(
            "; detected {} (TTD {}), recovered {} (TTR {} from injection, {} from removal)",
            secs(m.detected_at),
            secs(m.time_to_detect),
            secs(m.recovered_at),
            secs(m.recovery_from_injection),
            secs(m.recovery_from_removal),
        ));
    }
    tip
}

/// The detection (D) and recovery (R) instants of every measured step: a dashed line across the
/// chart and a marker on the row above it.
fn instants(run: &RunRecord, axis: &TimeAxis, row: f64, top: f64, bottom: f64) -> Markup {
    let marks = run.steps.iter().filter_map(|s| Some((s, s.measurement?)));
    html! {
        @for (step, m) in marks {
            @for (class, letter, at, what) in [
                ("det", "D", m.detected_at, format!("detected at {} (TTD {})", secs(m.detected_at), secs(m.time_to_detect))),
                ("rec", "R", m.recovered_at, format!("recovered at {} (TTR {} from injection, {} from removal)",
                    secs(m.recovered_at), secs(m.recovery_from_injection), secs(m.recovery_from_removal))),
            ] {
                @if let Some(at) = at {
                    @let x = axis.x(at.as_secs_f64());
                    g.instant.(class) {
                        title { (step.name) ": " (what) }
                        line x1=(n(x)) x2=(n(x)) y1=(n(top)) y2=(n(bottom)) {}
                        text x=(n(x)) y=(n(row)) text-anchor="middle" { (letter) }
                    }
                }
            }
        }
    }
}
