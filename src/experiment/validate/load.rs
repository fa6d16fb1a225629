//! Checks of the `load:` section (by the load driver itself) and of the expectations it feeds.

use std::time::Duration;

use serde_json::Value;

use super::super::spec::{Check, Expect, Guard, LoadMetric, SteadyState};
use super::Ctx;
use crate::load::{LoadError, LoadSpec};

/// The `load:` section: the load driver's format, then its own validation, with every
/// problem's field path under `load.`.
pub(super) fn section(ctx: &mut Ctx, value: &Value) -> Option<LoadSpec> {
    let spec = ctx.de::<LoadSpec>("load", value)?;
    match super::super::driver::check(&spec) {
        Ok(()) => Some(spec),
        Err(LoadError::Invalid { field, message }) => {
            let path = if field.is_empty() {
                "load".to_string()
            } else {
                format!("load.{field}")
            };
            ctx.problem(&path, message);
            None
        }
        Err(e) => {
            ctx.problem("load", e.to_string());
            None
        }
    }
}

/// `lost_writes` and `rpo_within` need write scenarios; the load must outlast the method.
pub(super) fn expectations(
    ctx: &mut Ctx,
    load: Option<&LoadSpec>,
    has_load: bool,
    expect: &Expect,
    duration: Option<Duration>,
) {
    let writes = load.is_some_and(|l| l.scenarios.iter().any(|s| s.write.is_some()));
    for (field, set) in [
        ("lost_writes", expect.lost_writes.is_some()),
        ("rpo_within", expect.rpo_within.is_some()),
    ] {
        if set && !has_load {
            ctx.problem(
                &format!("expect.{field}"),
                "needs a `load:` section with write scenarios to count writes",
            );
        } else if set && load.is_some() && !writes {
            ctx.problem(
                &format!("expect.{field}"),
                "needs a `write` scenario (with `read_back`) in `load.scenarios`",
            );
        }
    }
    if let (Some(l), Some(d)) = (load, duration)
        && l.duration.is_none()
    {
        // Without a duration a stage plan ends at its last point: traffic would stop mid-run.
        let last = |points: Vec<Duration>| points.into_iter().max();
        let ends = [
            (
                "load.stages",
                l.stages
                    .as_ref()
                    .and_then(|s| last(s.0.iter().map(|p| p.at).collect())),
            ),
            (
                "load.users_stages",
                l.users_stages
                    .as_ref()
                    .and_then(|s| last(s.0.iter().map(|p| p.at).collect())),
            ),
        ];
        for (field, end) in ends {
            if let Some(end) = end.filter(|end| *end < d) {
                ctx.problem(
                    field,
                    format!(
                        "the plan ends at its last point, {}, before the method ends at {};                          add a last point at {} or later to hold the final level",
                        humantime::format_duration(end),
                        humantime::format_duration(d),
                        humantime::format_duration(d)
                    ),
                );
            }
        }
    }
    if let (Some(l), Some(d)) = (load.and_then(|l| l.duration), duration)
        && l < d
    {
        ctx.problem(
            "load.duration",
            format!(
                "the load would stop at {}, before the method ends at {}; leave it out \
                 (the runner stops the load after the recovery wait)",
                humantime::format_duration(l),
                humantime::format_duration(d)
            ),
        );
    }
}

/// The fewest requests a percentile probe's window should hold: below it the percentile is the
/// window's largest few values (p99 of 50 requests is their maximum), so one slow request decides.
const MIN_PERCENTILE_SAMPLES: f64 = 100.0;

/// Warn about each percentile probe (steady state or guard) whose window holds fewer than
/// [`MIN_PERCENTILE_SAMPLES`] requests at the open model's peak rate. Closed-model loads send at
/// the pace the target allows, so nothing is expected of them.
pub(super) fn percentile_windows(
    ctx: &mut Ctx,
    load: Option<&LoadSpec>,
    steady: &SteadyState,
    guards: &[Guard],
) {
    let Some(rate) = load.and_then(peak_rate) else {
        return;
    };
    let probes = steady
        .probes
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("steady_state.probes[{i}].window"), p))
        .chain(
            guards
                .iter()
                .enumerate()
                .map(|(i, g)| (format!("guards[{i}].window"), &g.probe)),
        );
    for (path, probe) in probes {
        let Check::Load {
            metric: LoadMetric::Latency(p),
            window,
            ..
        } = &probe.check
        else {
            continue;
        };
        let expected = rate * window.as_secs_f64();
        if expected < MIN_PERCENTILE_SAMPLES {
            let needed = Duration::try_from_secs_f64((MIN_PERCENTILE_SAMPLES / rate).ceil())
                .unwrap_or(Duration::MAX);
            ctx.warn(
                &path,
                format!(
                    "p{p} over {} at {rate}/s holds about {expected:.0} requests, fewer than \
                     {MIN_PERCENTILE_SAMPLES}: its p{p} is then the largest few of them (one slow \
                     request decides); give the window at least {} at this rate, or raise the rate",
                    humantime::format_duration(*window),
                    humantime::format_duration(needed)
                ),
            );
        }
    }
}

/// The highest planned rate of an open-model load, in requests per second.
fn peak_rate(load: &LoadSpec) -> Option<f64> {
    match (&load.rate, &load.stages) {
        (Some(r), _) => Some(r.per_second),
        (None, Some(stages)) => stages.0.iter().map(|s| s.rate.per_second).reduce(f64::max),
        _ => None,
    }
}
