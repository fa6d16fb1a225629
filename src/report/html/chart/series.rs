//! The load's per-second series on the timeline: request rate, error rate (injected vs other)
//! and latency p50/p99, from the load driver's timeline.

use maud::{Markup, html};

use super::scale::{Panel, TimeAxis, n};
use crate::experiment::record::StepRecord;
use crate::load::{ErrorClass, LoadReport};

/// One second of load, placed on the run's clock.
#[derive(Debug, Clone, PartialEq)]
pub(in crate::report::html) struct Second {
    /// Start of the second on the run's clock, in seconds.
    pub(in crate::report::html) t: f64,
    /// Completed requests intended in it.
    pub(in crate::report::html) requests: u64,
    /// Failures made by shakedown's fault injection (class `injected`).
    pub(in crate::report::html) injected: u64,
    /// Every other failure (the upstream's answers, resets, timeouts, refused connections).
    pub(in crate::report::html) other: u64,
    /// Median latency, milliseconds.
    pub(in crate::report::html) p50_ms: Option<f64>,
    /// 99th percentile latency, milliseconds.
    pub(in crate::report::html) p99_ms: Option<f64>,
}

impl Second {
    /// Share of failed requests, in percent (0 when none completed).
    fn error_pct(&self, errors: u64) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            errors as f64 * 100.0 / self.requests as f64
        }
    }
}

/// The load's seconds on the run's clock (the load driver counts from its own start).
pub(in crate::report::html) fn seconds(load: &LoadReport) -> Vec<Second> {
    let start = load.started.as_secs_f64();
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1e3);
    load.timeline
        .iter()
        .map(|p| {
            let injected = p.errors_by_class.get(ErrorClass::Injected);
            Second {
                t: start + p.second as f64,
                requests: p.requests,
                injected,
                other: p.errors.saturating_sub(injected),
                p50_ms: ms(p.p50),
                p99_ms: ms(p.p99),
            }
        })
        .collect()
}

/// The largest request rate, per second.
pub(super) fn max_rate(seconds: &[Second]) -> f64 {
    seconds
        .iter()
        .map(|s| s.requests as f64)
        .fold(0.0, f64::max)
}

/// The largest error rate of a second, in percent.
pub(super) fn max_error_pct(seconds: &[Second]) -> f64 {
    seconds
        .iter()
        .map(|s| s.error_pct(s.injected + s.other))
        .fold(0.0, f64::max)
}

/// A path through `points`, broken where a value is missing.
pub(super) fn path(points: impl Iterator<Item = Option<(f64, f64)>>) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for p in points {
        match p {
            Some((x, y)) => {
                d.push_str(if pen_down { "L" } else { "M" });
                d.push_str(&format!("{} {}", n(x), n(y)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

/// The request rate as a line through the middle of each second.
pub(super) fn rate(seconds: &[Second], axis: &TimeAxis, panel: &Panel) -> Markup {
    let d = path(
        seconds
            .iter()
            .map(|s| Some((axis.x(s.t + 0.5), panel.y(s.requests as f64)))),
    );
    html! {
        (panel.frame("requests per second", |v| format!("{v}/s")))
        path.rps d=(d) {}
    }
}

/// The error rate of each second as a stacked bar: injected at the bottom, other errors on top.
pub(super) fn errors(seconds: &[Second], axis: &TimeAxis, panel: &Panel) -> Markup {
    let bars = |class_errors: fn(&Second) -> (u64, u64)| {
        let mut d = String::new();
        for s in seconds {
            let (below, this) = class_errors(s);
            if this == 0 {
                continue;
            }
            let y0 = panel.y(s.error_pct(below));
            let y1 = panel.y(s.error_pct(below + this));
            // A hairline gap between bars, when a second is wide enough to spare it.
            let width = axis.x(s.t + 1.0) - axis.x(s.t);
            let gap = if width > 4.0 { 0.5 } else { 0.0 };
            let (x0, x1) = (axis.x(s.t) + gap, axis.x(s.t + 1.0) - gap);
            d.push_str(&format!(
                "M{} {}H{}V{}H{}Z",
                n(x0),
                n(y0),
                n(x1),
                n(y1),
                n(x0)
            ));
        }
        d
    };
    html! {
        (panel.frame("errors, % of requests", |v| format!("{v} %")))
        path.inj d=(bars(|s| (0, s.injected))) {}
        path.up d=(bars(|s| (s.injected, s.other))) {}
    }
}

/// The two latency panels, linear and log; the page's toggle shows one.
pub(super) struct LatencyPanels {
    linear: Panel,
    log: Panel,
}

/// Place the latency panels at `*top`, scaled to the seconds' p50 and p99.
pub(super) fn latency_panels(top: &mut f64, seconds: &[Second]) -> LatencyPanels {
    let values = seconds.iter().flat_map(|s| [s.p50_ms, s.p99_ms]).flatten();
    let (min, max) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let log = Panel::log(*top, 100.0, min, max);
    let linear = Panel::linear(top, 100.0, max, f64::INFINITY);
    LatencyPanels { linear, log }
}

impl LatencyPanels {
    /// Bottom of the plotting area.
    pub(super) fn bottom(&self) -> f64 {
        self.linear.bottom()
    }

    /// p50 and p99 on both scales.
    pub(super) fn draw(&self, seconds: &[Second], axis: &TimeAxis) -> Markup {
        let line = |panel: &Panel, value: fn(&Second) -> Option<f64>| {
            path(
                seconds
                    .iter()
                    .map(|s| value(s).map(|v| (axis.x(s.t + 0.5), panel.y(v)))),
            )
        };
        let label = |v: f64| format!("{v} ms");
        html! {
            @for (class, panel) in [("lin", &self.linear), ("log", &self.log)] {
                g class=(class) {
                    (panel.frame("latency p50 and p99", label))
                    path.p50 d=(line(panel, |s| s.p50_ms)) {}
                    path.p99 d=(line(panel, |s| s.p99_ms)) {}
                }
            }
        }
    }
}

/// The names of the fault windows that overlap the second from `t`, as ` (during a, b)`.
fn during(t: f64, steps: &[StepRecord]) -> String {
    let names: Vec<&str> = steps
        .iter()
        .filter(|s| s.kind == "fault")
        .filter(|s| {
            let from = s.injected_at.map(|d| d.as_secs_f64());
            let to = s.removed_at.map_or(f64::INFINITY, |d| d.as_secs_f64());
            from.is_some_and(|from| from < t + 1.0 && to > t)
        })
        .map(|s| s.name.as_str())
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" (during {})", names.join(", "))
    }
}

/// One transparent column per second over the load panels, with that second's figures and the
/// faults active in it.
pub(super) fn tooltips(
    seconds: &[Second],
    steps: &[StepRecord],
    axis: &TimeAxis,
    top: f64,
    bottom: f64,
) -> Markup {
    let ms = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{v:.1} ms"));
    html! {
        g.seconds {
            @for s in seconds {
                rect x=(n(axis.x(s.t))) y=(n(top)) width=(n(axis.x(s.t + 1.0) - axis.x(s.t)))
                    height=(n(bottom - top)) {
                    title {
                        (format!("{:.0}–{:.0} s{}: {} requests, {} injected errors, {} other errors ({:.2} %), p50 {}, p99 {}",
                            s.t, s.t + 1.0, during(s.t, steps), s.requests, s.injected, s.other,
                            s.error_pct(s.injected + s.other), ms(s.p50_ms), ms(s.p99_ms)))
                    }
                }
            }
        }
    }
}
