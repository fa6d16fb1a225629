//! Thresholds: pass/fail criteria such as `p95 < 300ms` or `error_rate < 1% over 10s abort`.
//!
//! Grammar: `METRIC OP VALUE [over WINDOW] [abort]` where METRIC is `p50`,
//! `p90`, `p95`, `p99`, `p99.9`, `max`, `mean` (latency from intended send
//! time), `error_rate` or `rps`; OP is `<`, `<=`, `>` or `>=`; VALUE is a
//! duration (`300ms`, `1s`) for latencies, a percentage (`1%`) or fraction
//! (`0.01`) for `error_rate`, and a number for `rps`. Without `over`, the
//! threshold is checked once on the whole run. With `over W` it is checked
//! every second on the last `W` of complete seconds and fails if any check
//! fails; `abort` then stops the run at the first failing check.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::histogram::WindowStats;
pub use super::units::Unit;

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency quantile (0..=1; 1 is the maximum).
    Quantile(f64),
    /// Mean latency.
    Mean,
    /// Errors over requests, 0..=1.
    ErrorRate,
    /// Completed requests per second.
    Rps,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, observed: f64, limit: f64) -> bool {
        match self {
            Op::Lt => observed < limit,
            Op::Le => observed <= limit,
            Op::Gt => observed > limit,
            Op::Ge => observed >= limit,
        }
    }
}

/// A parsed threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written.
    pub text: String,
    /// What is measured.
    pub metric: Metric,
    /// How it is compared.
    pub op: Op,
    /// The limit: seconds for latencies, a fraction for `error_rate`, per second for `rps`.
    pub limit: f64,
    /// Sliding window, or `None` for the whole run.
    pub window: Option<Duration>,
    /// Stop the run at the first failing check.
    pub abort: bool,
}

/// A threshold that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("threshold {text:?}: {message}")]
pub struct ThresholdError {
    /// The expression.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

const METRICS: &str = "unknown metric (p50, p95, p99, p99.9, max, mean, error_rate, rps)";

impl std::str::FromStr for Threshold {
    type Err = ThresholdError;

    /// `METRIC OP VALUE [over WINDOW [abort]]`, e.g. `p99 < 300ms over 10s abort`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |message: String| ThresholdError {
            text: text.to_string(),
            message,
        };
        let mut words = text.split_whitespace();
        let metric_word = words.next().ok_or_else(|| err("empty expression".into()))?;
        // Allow `p95<300ms` as well as `p95 < 300ms`.
        let (metric_word, glued) = split_op(metric_word);
        let metric = parse_metric(metric_word).map_err(err)?;
        let rest = match glued {
            Some(r) if !r.is_empty() => r.to_string(),
            _ => words
                .next()
                .ok_or_else(|| err("missing operator".into()))?
                .to_string(),
        };
        let (op, value) = parse_op(&rest).map_err(err)?;
        let value = match value {
            "" => words.next().ok_or_else(|| err("missing value".into()))?,
            glued => glued,
        };
        let limit = parse_limit(metric, value).map_err(err)?;
        let (window, abort) = parse_window(metric, words).map_err(err)?;
        Ok(Threshold {
            text: text.trim().to_string(),
            metric,
            op,
            limit,
            window,
            abort,
        })
    }
}

/// `p50`, `p99.9`, `max`, `mean`/`avg`, `error_rate` or `rps`. A percentile is in (0, 100]:
/// `p0` would be the fastest request, which no threshold means.
fn parse_metric(word: &str) -> Result<Metric, String> {
    Ok(match word {
        "max" => Metric::Quantile(1.0),
        "mean" | "avg" => Metric::Mean,
        "error_rate" => Metric::ErrorRate,
        "rps" => Metric::Rps,
        p if p.starts_with('p') => {
            let n: f64 = p[1..].parse().map_err(|_| METRICS.to_string())?;
            if !(n > 0.0 && n <= 100.0) {
                return Err("a percentile is above 0 and at most 100 (p50, p99.9, p100)".into());
            }
            Metric::Quantile(n / 100.0)
        }
        _ => return Err(METRICS.into()),
    })
}

/// The operator at the start of `rest` and what follows it (empty when the value is the next
/// word).
fn parse_op(rest: &str) -> Result<(Op, &str), String> {
    Ok(match rest {
        r if r.starts_with("<=") => (Op::Le, &r[2..]),
        r if r.starts_with(">=") => (Op::Ge, &r[2..]),
        r if r.starts_with('<') => (Op::Lt, &r[1..]),
        r if r.starts_with('>') => (Op::Gt, &r[1..]),
        _ => return Err("operator must be <, <=, > or >=".into()),
    })
}

/// The limit in the metric's unit: seconds for latencies, a fraction in [0, 1] for
/// `error_rate` (`1%` or `0.01`), requests per second for `rps`.
fn parse_limit(metric: Metric, value: &str) -> Result<f64, String> {
    let limit = match metric {
        Metric::Quantile(_) | Metric::Mean => humantime::parse_duration(value)
            .map_err(|_| "latency limits are durations such as 300ms or 1s")?
            .as_secs_f64(),
        Metric::ErrorRate => match value.strip_suffix('%') {
            Some(p) => p.parse::<f64>().map_err(|_| "bad percentage")? / 100.0,
            None => value.parse::<f64>().map_err(|_| "bad fraction")?,
        },
        Metric::Rps => value
            .trim_end_matches("/s")
            .parse::<f64>()
            .map_err(|_| "rps limit must be a number")?,
    };
    if !limit.is_finite() || limit < 0.0 {
        return Err("limit must be a non-negative number".into());
    }
    if metric == Metric::ErrorRate && limit > 1.0 {
        return Err("an error rate is between 0% and 100% (0 and 1 as a fraction)".into());
    }
    Ok(limit)
}

/// The optional `over WINDOW [abort]` tail.
fn parse_window<'a>(
    metric: Metric,
    mut words: impl Iterator<Item = &'a str>,
) -> Result<(Option<Duration>, bool), String> {
    let mut window = None;
    let mut abort = false;
    while let Some(word) = words.next() {
        match word {
            "over" => {
                let w = words.next().ok_or("`over` needs a duration")?;
                let d = humantime::parse_duration(w)
                    .map_err(|_| "`over` needs a duration such as 10s")?;
                if d < Duration::from_secs(1) {
                    return Err("windows are whole seconds, at least 1s".into());
                }
                if d > super::WINDOW_HORIZON {
                    return Err("windows are at most 2m (the latency histograms kept)".into());
                }
                window = Some(d);
            }
            "abort" => abort = true,
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    let windowed = match metric {
        Metric::Mean => false,
        Metric::Quantile(q) => [0.5, 0.9, 0.95, 0.99].contains(&q),
        _ => true,
    };
    if window.is_some() && !windowed {
        return Err("windowed thresholds support p50, p90, p95, p99, error_rate and rps".into());
    }
    if abort && window.is_none() {
        return Err("`abort` needs a window (`over 10s abort`)".into());
    }
    Ok((window, abort))
}

fn split_op(word: &str) -> (&str, Option<&str>) {
    match word.find(['<', '>']) {
        Some(i) => (&word[..i], Some(&word[i..])),
        None => (word, None),
    }
}

impl Threshold {
    /// Whether `observed` (in the limit's unit) passes.
    pub fn holds(&self, observed: f64) -> bool {
        self.op.holds(observed, self.limit)
    }

    /// The observed value in a window, `None` when the window has no data for it.
    pub fn observe_window(&self, w: &WindowStats) -> Option<f64> {
        let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
        match self.metric {
            Metric::ErrorRate => (w.requests > 0).then_some(w.error_rate),
            Metric::Rps => Some(w.rps),
            Metric::Quantile(0.5) => secs(w.p50),
            Metric::Quantile(0.9) => secs(w.p90),
            Metric::Quantile(0.95) => secs(w.p95),
            Metric::Quantile(_) => secs(w.p99),
            Metric::Mean => None,
        }
    }

    /// The unit of observed values, for reports.
    pub fn unit(&self) -> Unit {
        match self.metric {
            Metric::Quantile(_) | Metric::Mean => Unit::Seconds,
            Metric::ErrorRate => Unit::Ratio,
            Metric::Rps => Unit::PerSecond,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// How one threshold fared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdOutcome {
    /// The expression as written.
    pub threshold: String,
    /// Whether it held.
    pub passed: bool,
    /// The observed value (whole run), or the worst one seen (windowed); unit in `unit`.
    pub observed: Option<f64>,
    /// `s`, `ratio` or `1/s`.
    pub unit: Unit,
    /// Window length in seconds, when windowed.
    pub window_s: Option<f64>,
    /// Number of windowed checks that failed.
    pub breaches: u64,
    /// Whether this threshold aborted the run.
    pub aborted: bool,
}

/// Running state of a windowed threshold.
#[derive(Debug, Clone)]
pub(super) struct WindowCheck {
    /// The threshold.
    pub threshold: Threshold,
    /// Worst observed value so far.
    pub worst: Option<f64>,
    /// Failing checks so far.
    pub breaches: u64,
    /// Whether it aborted the run.
    pub aborted: bool,
}

impl WindowCheck {
    /// Check one window; returns true when the run should abort now.
    pub(super) fn check(&mut self, w: &WindowStats) -> bool {
        let Some(v) = self.threshold.observe_window(w) else {
            return false;
        };
        let worse = match self.threshold.op {
            Op::Lt | Op::Le => self.worst.is_none_or(|x| v > x),
            Op::Gt | Op::Ge => self.worst.is_none_or(|x| v < x),
        };
        if worse {
            self.worst = Some(v);
        }
        if !self.threshold.holds(v) {
            self.breaches += 1;
            if self.threshold.abort && !self.aborted {
                self.aborted = true;
                return true;
            }
        }
        false
    }

    /// The outcome so far.
    pub(super) fn outcome(&self) -> ThresholdOutcome {
        ThresholdOutcome {
            threshold: self.threshold.text.clone(),
            passed: self.breaches == 0,
            observed: self.worst,
            unit: self.threshold.unit(),
            window_s: self.threshold.window.map(|d| d.as_secs_f64()),
            breaches: self.breaches,
            aborted: self.aborted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Threshold {
        s.parse().unwrap()
    }

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(t("p95 < 300ms").metric, Metric::Quantile(0.95));
        assert!((t("p95 < 300ms").limit - 0.3).abs() < 1e-12);
        assert!((t("p99<1s").limit - 1.0).abs() < 1e-12);
        assert!((t("error_rate < 1%").limit - 0.01).abs() < 1e-12);
        assert!((t("error_rate <= 0.05").limit - 0.05).abs() < 1e-12);
        assert_eq!(t("rps > 900").op, Op::Gt);
        assert!(matches!(t("p99.9 < 2s").metric, Metric::Quantile(q) if (q - 0.999).abs() < 1e-12));
        let w = t("error_rate < 5% over 10s abort");
        assert_eq!(w.window, Some(Duration::from_secs(10)));
        assert!(w.abort);
        for bad in [
            "",
            "p95",
            "p95 ~ 3ms",
            "p95 < fast",
            "latency < 3s",
            "rps > many",
            "p95 < 1s abort",
            "p99.9 < 1s over 5s",
            "p95 < 1s over 10ms",
            "p95 < 1s over 3m",
            "p95 < 1s later",
        ] {
            assert!(bad.parse::<Threshold>().is_err(), "{bad}");
        }
        assert_eq!(t("p100 < 1s").metric, Metric::Quantile(1.0));
        assert!((t("error_rate <= 100%").limit - 1.0).abs() < 1e-12);
    }

    /// Numbers outside a metric's range are refused with the range: a percentile is in
    /// (0, 100], an error rate in [0%, 100%].
    #[test]
    fn out_of_range_limits_say_the_range() {
        for (bad, message) in [
            ("p0 < 1s", "a percentile is above 0 and at most 100"),
            ("p-5 < 1s", "a percentile is above 0 and at most 100"),
            ("p100.5 < 1s", "a percentile is above 0 and at most 100"),
            ("pnan < 1s", "a percentile is above 0 and at most 100"),
            ("error_rate < 200%", "an error rate is between 0% and 100%"),
            ("error_rate < 1.5", "an error rate is between 0% and 100%"),
            ("error_rate < -1%", "limit must be a non-negative number"),
            ("rps > inf", "limit must be a non-negative number"),
        ] {
            let e = bad.parse::<Threshold>().unwrap_err();
            assert!(e.message.starts_with(message), "{bad}: {e}");
        }
    }

    #[test]
    fn window_checks_track_the_worst_and_abort_once() {
        let mut c = WindowCheck {
            threshold: t("p99 < 1s over 5s abort"),
            worst: None,
            breaches: 0,
            aborted: false,
        };
        let w = |ms| WindowStats {
            requests: 10,
            p99: Some(Duration::from_millis(ms)),
            ..WindowStats::default()
        };
        assert!(!c.check(&w(200)));
        assert!(c.check(&w(1500)), "first breach aborts");
        assert!(!c.check(&w(1800)), "only once");
        assert!(!c.check(&WindowStats::default()), "no data, no verdict");
        let o = c.outcome();
        assert!(!o.passed && o.aborted);
        assert_eq!(o.breaches, 2);
        assert_eq!(o.observed, Some(1.8));
    }
}
