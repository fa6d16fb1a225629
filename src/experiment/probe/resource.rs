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

/// `metric` for people: `rss 12.3 MB`, `cpu 45.0%`, `fds 12`, `connections (ESTABLISHED) 3`.
fn shown(metric: &ResourceMetric, v: f64) -> String {
    match metric {
        ResourceMetric::Cpu => format!("cpu {v:.1}%"),
        ResourceMetric::Rss => format!("rss {}", human_bytes(v)),
        ResourceMetric::Fds => format!("fds {v}"),
        ResourceMetric::Threads => format!("threads {v}"),
        ResourceMetric::Connections(None) => format!("connections {v}"),
        ResourceMetric::Connections(Some(s)) => format!("connections ({s}) {v}"),
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

/// The latest sample of `target` against `bound`.
pub(super) fn judge(
    live: Option<&Live>,
    target: &Target,
    metric: &ResourceMetric,
    bound: Bound,
) -> (Status, String) {
    let Some(live) = live else {
        return (Status::Error, "no resource sampler is running".into());
    };
    let resources = live.lock();
    let series = match series(&resources, target, metric) {
        Ok(s) => s,
        Err(e) => return e,
    };
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
    let Some(live) = live else {
        return (Status::Error, "no resource sampler is running".into());
    };
    let resources = live.lock();
    let series = match series(&resources, target, metric) {
        Ok(s) => s,
        Err(e) => return e,
    };
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
}

/// `rss growth 2.00 MB/s ± 40.0 kB/s (R² 0.998, 17 samples; limit 83.3 kB/s)`.
fn describe(metric: &ResourceMetric, fit: &Fit, limit: f64) -> String {
    let name = shown(metric, 0.0);
    let name = name.split(' ').next().unwrap_or_default();
    format!(
        "{name} growth {} ± {} (R² {:.3}, {} samples; limit {})",
        rate(metric, fit.slope),
        rate(metric, fit.half_width),
        fit.r2,
        fit.n,
        rate(metric, limit)
    )
}
