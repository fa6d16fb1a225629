//! Resource probes: a watched process's latest figure against a bound, and growth probes: the
//! least-squares slope of a figure over a trailing window against a limit.

use std::time::Duration;

use super::Status;
use crate::experiment::spec::{Bound, ResourceMetric};
use crate::resource::fit::MIN_POINTS;
use crate::resource::{Fit, Live, Presence, ProcessSample, ProcessSeries, Target, human_bytes};

/// The value of `metric` in `sample` (absent when it could not be read).
pub(crate) fn value(metric: &ResourceMetric, sample: &ProcessSample) -> Option<f64> {
    Some(match metric {
        ResourceMetric::Cpu => sample.cpu_percent,
        ResourceMetric::Rss => sample.rss_bytes as f64,
        ResourceMetric::Threads => sample.threads as f64,
        ResourceMetric::Fds => sample.fds? as f64,
        ResourceMetric::Connections(state) => {
            let tcp = sample.tcp.as_ref()?;
            match state {
                Some(s) => tcp.get(s).copied().unwrap_or(0) as f64,
                None => tcp.values().sum::<u64>() as f64,
            }
        }
    })
}

/// The figure's name: `rss`, `cpu`, `connections (ESTABLISHED)`.
fn name(metric: &ResourceMetric) -> String {
    match metric {
        ResourceMetric::Cpu => "cpu".into(),
        ResourceMetric::Rss => "rss".into(),
        ResourceMetric::Fds => "fds".into(),
        ResourceMetric::Threads => "threads".into(),
        ResourceMetric::Connections(None) => "connections".into(),
        ResourceMetric::Connections(Some(s)) => format!("connections ({s})"),
    }
}

/// `metric` for people: `rss 12.3 MB`, `cpu 45.0%`, `fds 12`, `connections (ESTABLISHED) 3`.
fn shown(metric: &ResourceMetric, v: f64) -> String {
    match metric {
        ResourceMetric::Cpu => format!("cpu {v:.1}%"),
        ResourceMetric::Rss => format!("rss {}", human_bytes(v)),
        _ => format!("{} {v}", name(metric)),
    }
}

/// A rate of `metric` per second for people: `2.00 MB/s`, `0.50/s`.
fn rate(metric: &ResourceMetric, per_second: f64) -> String {
    match metric {
        ResourceMetric::Rss => format!("{}/s", human_bytes(per_second)),
        ResourceMetric::Cpu => format!("{per_second:.3}%/s"),
        _ => format!("{per_second:.3}/s"),
    }
}

/// The series of `target`, or why it cannot be judged: not watched, gone, or not readable.
fn series<'a>(
    resources: &'a crate::resource::Resources,
    target: &Target,
    metric: &ResourceMetric,
) -> Result<&'a ProcessSeries, (Status, String)> {
    let s = resources
        .series(target)
        .ok_or_else(|| (Status::Error, format!("{target} is not watched")))?;
    match s.presence() {
        Some(Presence::Gone) => Err((Status::Error, format!("{target} is gone (no such process)"))),
        Some(Presence::Unreadable { why })
            if matches!(metric, ResourceMetric::Fds | ResourceMetric::Connections(_)) =>
        {
            Err((Status::Error, format!("{target} may not be read: {why}")))
        }
        _ => Ok(s),
    }
}

/// `judge` applied to the series of `target`, or why there is none to judge (no sampler, a
/// target not watched or not readable): the one lookup of the level and growth probes.
fn on_series(
    live: Option<&Live>,
    target: &Target,
    metric: &ResourceMetric,
    judge: impl FnOnce(&ProcessSeries) -> (Status, String),
) -> (Status, String) {
    let Some(live) = live else {
        return (Status::Error, "no resource sampler is running".into());
    };
    let resources = live.lock();
    match series(&resources, target, metric) {
        Ok(series) => judge(series),
        Err(e) => e,
    }
}

/// The latest sample of `target` against `bound`.
pub(super) fn judge(
    live: Option<&Live>,
    target: &Target,
    metric: &ResourceMetric,
    bound: Bound,
) -> (Status, String) {
    on_series(live, target, metric, |series| {
        let Some(last) = series.samples.last() else {
            return (
                Status::Pass,
                format!("warming up: no sample of {target} yet"),
            );
        };
        let Some(v) = value(metric, last) else {
            return (
                Status::Error,
                format!("{target}: this figure could not be read"),
            );
        };
        let pass = match bound {
            Bound::Below(limit) => v < limit,
            Bound::Above(limit) => v > limit,
        };
        (
            if pass { Status::Pass } else { Status::Fail },
            shown(metric, v),
        )
    })
}

/// The slope of `metric` over the last `window` of samples of `target`: it fails when the lower
/// end of the slope's 95% interval is above `limit` (per second), that is when the growth is
/// above the limit beyond the noise. Fewer than [`MIN_POINTS`] samples in the window is a
/// warm-up while the series is younger than the window, and an error after.
pub(super) fn growth(
    live: Option<&Live>,
    target: &Target,
    metric: &ResourceMetric,
    limit: f64,
    window: Duration,
) -> (Status, String) {
    on_series(live, target, metric, |series| {
        let (Some(first), Some(last)) = (series.samples.first(), series.samples.last()) else {
            return (
                Status::Pass,
                format!("warming up: no sample of {target} yet"),
            );
        };
        let since = last.at.saturating_sub(window);
        let points: Vec<(f64, f64)> = series
            .samples
            .iter()
            .filter(|s| s.at >= since)
            .filter_map(|s| value(metric, s).map(|v| (s.at.as_secs_f64(), v)))
            .collect();
        if points.len() < MIN_POINTS {
            let enough = format!("not enough samples ({} of {MIN_POINTS})", points.len());
            return if last.at.saturating_sub(first.at) < window {
                (Status::Pass, format!("warming up: {enough}"))
            } else {
                (
                    Status::Error,
                    format!(
                        "{enough} in the {} window: widen it or sample more often",
                        humantime::format_duration(window)
                    ),
                )
            };
        }
        let Some(fit) = Fit::of(&points) else {
            return (Status::Error, "no slope: the samples share one time".into());
        };
        let verdict = if fit.low() > limit {
            Status::Fail
        } else {
            Status::Pass
        };
        (verdict, describe(metric, &fit, limit))
    })
}

/// `rss growth 2.00 MB/s ± 40.0 kB/s (R² 0.998, 17 samples; limit 83.3 kB/s)`.
fn describe(metric: &ResourceMetric, fit: &Fit, limit: f64) -> String {
    format!(
        "{} growth {} ± {} (R² {:.3}, {} samples; limit {})",
        name(metric),
        rate(metric, fit.slope),
        rate(metric, fit.half_width),
        fit.r2,
        fit.n,
        rate(metric, limit)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::resource::{Watch, fit::MIN_POINTS};

    /// A live record of `service kv` with RSS `rss(i)` at `i × 250 ms`, `n` samples.
    fn live(n: usize, rss: impl Fn(usize) -> u64) -> (Live, Target) {
        let target = Target::Service("kv".into());
        let watch = Watch {
            interval: Duration::from_millis(250),
            targets: vec![target.clone()],
        };
        let live = Live::new(&watch, Clock::start());
        {
            let mut r = live.lock();
            let series = &mut r.processes[0];
            series.note(Duration::ZERO, Presence::Running { pids: vec![42] });
            for i in 0..n {
                series.samples.push(ProcessSample {
                    at: Duration::from_millis(250 * i as u64),
                    rss_bytes: rss(i),
                    fds: Some(7),
                    ..Default::default()
                });
            }
        }
        (live, target)
    }

    #[test]
    fn a_bound_reads_the_last_sample_and_a_gone_process_is_an_error() {
        let (live, kv) = live(3, |i| 1_000_000 * (i as u64 + 1));
        let rss = ResourceMetric::Rss;
        assert_eq!(
            judge(Some(&live), &kv, &rss, Bound::Below(5e6)),
            (Status::Pass, "rss 3.00 MB".into())
        );
        assert_eq!(
            judge(Some(&live), &kv, &ResourceMetric::Fds, Bound::Below(5.0)),
            (Status::Fail, "fds 7".into())
        );
        live.lock().processes[0].note(Duration::from_secs(1), Presence::Gone);
        assert_eq!(
            judge(Some(&live), &kv, &rss, Bound::Below(5e6)),
            (Status::Error, "service kv is gone (no such process)".into())
        );
        let (empty, kv) = live_empty();
        assert_eq!(
            judge(Some(&empty), &kv, &rss, Bound::Below(1.0)).0,
            Status::Pass
        );
    }

    fn live_empty() -> (Live, Target) {
        live(0, |_| 0)
    }

    /// 4 MB/s exactly against a limit of 1 MB/s fails; against 5 MB/s passes; a flat series
    /// passes; too few samples is a warm-up inside the window and an error after it.
    #[test]
    fn growth_fails_when_the_interval_clears_the_limit() {
        let rss = ResourceMetric::Rss;
        let window = Duration::from_secs(3);
        let (leak, kv) = live(20, |i| 10_000_000 + 1_000_000 * i as u64);
        let (status, detail) = growth(Some(&leak), &kv, &rss, 1e6, window);
        assert_eq!(status, Status::Fail, "{detail}");
        assert_eq!(
            detail,
            "rss growth 4.00 MB/s ± 0 B/s (R² 1.000, 13 samples; limit 1.00 MB/s)"
        );
        assert_eq!(growth(Some(&leak), &kv, &rss, 5e6, window).0, Status::Pass);
        let (flat, kv) = live(20, |i| 10_000_000 + (i as u64 % 2) * 4096);
        assert_eq!(growth(Some(&flat), &kv, &rss, 1e3, window).0, Status::Pass);
        let (young, kv) = live(4, |_| 1);
        assert_eq!(
            growth(Some(&young), &kv, &rss, 1.0, window),
            (
                Status::Pass,
                format!("warming up: not enough samples (4 of {MIN_POINTS})")
            )
        );
        let short = Duration::from_secs(1);
        let (status, detail) = growth(Some(&flat), &kv, &rss, 1.0, short);
        assert_eq!(status, Status::Error);
        assert_eq!(
            detail,
            format!(
                "not enough samples (5 of {MIN_POINTS}) in the 1s window: widen it or sample \
                 more often"
            )
        );
    }
}
