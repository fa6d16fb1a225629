//! Scales of the timeline chart: seconds → x on the shared axis, values → y in a panel.

use maud::{Markup, html};

use super::series::Second;
use super::{AXIS, LEFT, RIGHT, TITLE, WIDTH};
use crate::experiment::record::RunRecord;

/// A coordinate for SVG, to a tenth of a unit (keeps the file small).
pub(in crate::report::html) fn n(v: f64) -> String {
    // `+ 0.0` turns a negative zero into zero.
    let v = (v * 10.0).round() / 10.0 + 0.0;
    if v == v.trunc() {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The smallest of 1, 2 or 5 × 10^k at or above `v` (1 for nothing positive).
pub(in crate::report::html) fn nice(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let decade = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|c| *c >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// A round value at or above `v`, finer than [`nice`] (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k),
/// for the top of a panel; 1 for nothing positive.
pub(super) fn ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let decade = 10f64.powf(v.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .into_iter()
        .map(|m| m * decade)
        .find(|c| *c >= v * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade)
}

/// The shared time axis: `t0..t1` seconds on the run's clock, drawn from `LEFT` to
/// `WIDTH - RIGHT`.
pub(super) struct TimeAxis {
    /// Start, seconds (0: the method's start).
    pub(super) t0: f64,
    /// End, seconds: the latest of the run's end, its last sample, load second and step.
    pub(super) t1: f64,
}

impl TimeAxis {
    /// The axis that holds everything `run` recorded.
    pub(super) fn of(run: &RunRecord, seconds: &[Second]) -> Self {
        let steps = run
            .steps
            .iter()
            .flat_map(|s| [s.injected_at, s.removed_at])
            .flatten();
        let samples = run.samples.iter().map(|s| s.at);
        let end = steps
            .chain(samples)
            .map(|d| d.as_secs_f64())
            .chain(seconds.iter().map(|s| s.t + 1.0))
            .fold(run.elapsed.as_secs_f64(), f64::max);
        TimeAxis {
            t0: 0.0,
            // A hair's tolerance: the load's last second ends a fraction of a millisecond after
            // a round second, which should not add a whole empty second.
            t1: (end - 0.01).ceil().max(1.0),
        }
    }

    /// x of `t` seconds.
    pub(super) fn x(&self, t: f64) -> f64 {
        LEFT + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - LEFT - RIGHT)
    }

    /// Vertical grid lines at round seconds from `top` to `bottom`, labelled below.
    pub(super) fn ticks(&self, top: f64, bottom: f64) -> Markup {
        let step = nice((self.t1 - self.t0) / 12.0);
        let count = ((self.t1 - self.t0) / step).floor() as usize;
        html! {
            g.axis {
                @for i in 0..=count {
                    @let t = self.t0 + i as f64 * step;
                    @let x = self.x(t);
                    line.grid x1=(n(x)) x2=(n(x)) y1=(n(top)) y2=(n(bottom)) {}
                    text x=(n(x)) y=(n(bottom + 14.0)) text-anchor="middle" { (t) " s" }
                }
                line.frame x1=(n(self.x(self.t0))) x2=(n(self.x(self.t1))) y1=(n(bottom)) y2=(n(bottom)) {}
                text x=(n(WIDTH - RIGHT)) y=(n(bottom + AXIS - 2.0)) text-anchor="end" { "time since the method started" }
            }
        }
    }
}

/// One panel of the chart: its vertical extent and its value scale (linear from zero, or log).
pub(super) struct Panel {
    /// Top of the plotting area.
    pub(super) top: f64,
    /// Height of the plotting area.
    pub(super) height: f64,
    /// The value at the top.
    pub(super) max: f64,
    /// The value at the bottom, for a log scale.
    pub(super) log_min: Option<f64>,
}

impl Panel {
    /// A linear panel from 0 to a round value above `max` (with headroom, so a flat line at the
    /// maximum does not run along the panel's title) and at most `cap`, placed at `*top` (after
    /// its title); `*top` moves below it.
    pub(super) fn linear(top: &mut f64, height: f64, max: f64, cap: f64) -> Self {
        let panel = Panel {
            top: *top + TITLE,
            height,
            max: ceiling(max * 1.1).min(cap),
            log_min: None,
        };
        *top = panel.bottom();
        panel
    }

    /// A log panel over the decades that hold `min..=max`, placed like [`Panel::linear`].
    pub(super) fn log(top: f64, height: f64, min: f64, max: f64) -> Self {
        let low = 10f64.powf(min.max(1e-3).log10().floor());
        let high = 10f64.powf(max.max(low * 10.0).log10().ceil());
        Panel {
            top: top + TITLE,
            height,
            max: high,
            log_min: Some(low),
        }
    }

    /// Bottom of the plotting area.
    pub(super) fn bottom(&self) -> f64 {
        self.top + self.height
    }

    /// y of value `v` (clamped to the panel).
    pub(super) fn y(&self, v: f64) -> f64 {
        let share = match self.log_min {
            Some(low) => (v.max(low).log10() - low.log10()) / (self.max.log10() - low.log10()),
            None => v / self.max,
        };
        self.bottom() - share.clamp(0.0, 1.0) * self.height
    }

    /// The panel's title, frame and value grid, labelled with `label(value)`.
    pub(super) fn frame(&self, title: &str, label: impl Fn(f64) -> String) -> Markup {
        let values: Vec<f64> = match self.log_min {
            Some(low) => std::iter::successors(Some(low), |v| Some(v * 10.0))
                .take_while(|v| *v <= self.max * 1.0001)
                .collect(),
            None => vec![0.0, self.max / 2.0, self.max],
        };
        html! {
            g.panel {
                text.ptitle x=(n(LEFT)) y=(n(self.top - 6.0)) { (title) }
                @for v in values {
                    @let y = self.y(v);
                    line.grid x1=(n(LEFT)) x2=(n(WIDTH - RIGHT)) y1=(n(y)) y2=(n(y)) {}
                    text x=(n(LEFT - 4.0)) y=(n(y + 4.0)) text-anchor="end" { (label(v)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_rounds_up_to_one_two_or_five() {
        assert_eq!(nice(0.0), 1.0);
        assert_eq!(nice(1.0), 1.0);
        assert_eq!(nice(1.2), 2.0);
        assert_eq!(nice(3.0), 5.0);
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(120.0), 200.0);
        assert_eq!(nice(0.03), 0.05);
    }

    #[test]
    fn a_panel_tops_out_at_a_round_value_with_headroom_under_its_cap() {
        assert_eq!(ceiling(110.0), 120.0);
        assert_eq!(ceiling(335.0), 400.0);
        assert_eq!(ceiling(0.0), 1.0);
        let mut top = 0.0;
        assert_eq!(
            Panel::linear(&mut top, 50.0, 100.0, f64::INFINITY).max,
            120.0
        );
        assert_eq!(top, TITLE + 50.0);
        assert_eq!(Panel::linear(&mut top, 50.0, 100.0, 100.0).max, 100.0);
    }

    #[test]
    fn a_log_panel_spans_whole_decades_and_clamps() {
        let p = Panel::log(0.0, 100.0, 3.2, 305.0);
        assert_eq!(p.log_min, Some(1.0));
        assert_eq!(p.max, 1000.0);
        assert_eq!(p.y(1000.0), p.top);
        assert_eq!(p.y(0.1), p.bottom());
        assert!((p.y(10.0) - (p.bottom() - 100.0 / 3.0)).abs() < 1e-9);
    }

    #[test]
    fn coordinates_are_rounded_to_a_tenth() {
        assert_eq!(n(12.0), "12");
        assert_eq!(n(12.345), "12.3");
        assert_eq!(n(-0.04), "0");
    }
}
