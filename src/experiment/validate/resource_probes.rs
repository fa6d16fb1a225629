//! Checks of resource probes: `{resource: rss, service: kv, below: 500MB}` and growth probes
//! `{resource: rss, service: kv, growth: below 5MB/min, window: 5m}`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::super::quantity;
use super::super::raw::{RESOURCES, RawProbe};
use super::super::spec::{Bound, Check, ResourceMetric};
use super::Ctx;

/// The fields only resource probes take are absent from another kind of probe.
pub(super) fn only_resource_fields(ctx: &mut Ctx, p: &str, raw: &RawProbe) {
    for (field, set) in [
        ("service", raw.service.is_some()),
        ("pid", raw.pid.is_some()),
        ("process", raw.process.is_some()),
        ("state", raw.state.is_some()),
        ("growth", raw.growth.is_some()),
    ] {
        if set {
            ctx.problem(
                &format!("{p}.{field}"),
                format!("only resource probes take `{field}`"),
            );
        }
    }
}

/// `resource: FIGURE` of one process, `below`/`above` a limit or `growth: below RATE` over a
/// `window`.
pub(super) fn check(
    ctx: &mut Ctx,
    p: &str,
    raw: RawProbe,
    services: &BTreeSet<String>,
) -> Option<Check> {
    if raw.expect.is_some() {
        ctx.problem(
            &format!("{p}.expect"),
            "a resource probe uses `below`, `above` or `growth`, not `expect`",
        );
    }
    let metric = metric(
        ctx,
        p,
        raw.resource.as_deref().unwrap_or_default(),
        raw.state,
    );
    let target = ctx.target(p, raw.pid, raw.process, raw.service, services, "process");
    let amount = metric.as_ref().map(amount_parser);
    let check = match (&raw.below, &raw.above, &raw.growth) {
        (Some(v), None, None) | (None, Some(v), None) => {
            if raw.window.is_some() {
                ctx.problem(
                    &format!("{p}.window"),
                    "only growth probes take `window` (a `below`/`above` probe reads the last sample)",
                );
            }
            let (field, below) = if raw.below.is_some() {
                ("below", true)
            } else {
                ("above", false)
            };
            let limit = parse(ctx, &format!("{p}.{field}"), amount?, v)?;
            Check::Resource {
                target: target?,
                metric: metric?,
                bound: if below {
                    Bound::Below(limit)
                } else {
                    Bound::Above(limit)
                },
            }
        }
        (None, None, Some(text)) => {
            let Some(window) = raw.window else {
                ctx.problem(
                    p,
                    "a growth probe needs a `window` to fit its slope over, e.g. `5m`",
                );
                return None;
            };
            if window.is_zero() {
                ctx.problem(&format!("{p}.window"), "must be greater than zero");
            }
            let path = format!("{p}.growth");
            let Some(rate) = text.trim().strip_prefix("below ") else {
                ctx.problem(
                    &path,
                    format!("`{text}` is not `below RATE`, e.g. `below 5MB/min`"),
                );
                return None;
            };
            let limit = match quantity::per_time(rate, amount?) {
                Ok(l) => l,
                Err(e) => {
                    ctx.problem(&path, e);
                    return None;
                }
            };
            Check::Growth {
                target: target?,
                metric: metric?,
                limit,
                window,
            }
        }
        _ => {
            ctx.problem(
                p,
                "a resource probe has exactly one of `below`, `above` or `growth`",
            );
            return None;
        }
    };
    Some(check)
}

fn parse(
    ctx: &mut Ctx,
    path: &str,
    amount: fn(&Value) -> Result<f64, String>,
    value: &Value,
) -> Option<f64> {
    amount(value).map_err(|e| ctx.problem(path, e)).ok()
}

/// How a limit on `metric` is written: bytes for rss, a percentage for cpu, a count otherwise.
fn amount_parser(metric: &ResourceMetric) -> fn(&Value) -> Result<f64, String> {
    match metric {
        ResourceMetric::Rss => quantity::size,
        ResourceMetric::Cpu => quantity::cpu_percent,
        _ => quantity::count,
    }
}

/// The TCP states `/proc/net/tcp` reports (`include/net/tcp_states.h`).
const TCP_STATES: &[&str] = &[
    "ESTABLISHED",
    "SYN_SENT",
    "SYN_RECV",
    "FIN_WAIT1",
    "FIN_WAIT2",
    "TIME_WAIT",
    "CLOSE",
    "CLOSE_WAIT",
    "LAST_ACK",
    "LISTEN",
    "CLOSING",
    "NEW_SYN_RECV",
];

fn metric(ctx: &mut Ctx, p: &str, name: &str, state: Option<String>) -> Option<ResourceMetric> {
    let metric = match name {
        "cpu" => ResourceMetric::Cpu,
        "rss" => ResourceMetric::Rss,
        "fds" => ResourceMetric::Fds,
        "threads" => ResourceMetric::Threads,
        "connections" => {
            let state = state.map(|s| s.to_ascii_uppercase());
            if let Some(s) = state.as_ref().filter(|s| !TCP_STATES.contains(&s.as_str())) {
                ctx.problem(
                    &format!("{p}.state"),
                    format!(
                        "unknown TCP state `{s}`, expected one of {}",
                        TCP_STATES.join(", ")
                    ),
                );
                return None;
            }
            return Some(ResourceMetric::Connections(state));
        }
        other => {
            ctx.problem(
                &format!("{p}.resource"),
                format!(
                    "unknown resource `{other}`, expected one of {}",
                    RESOURCES.join(", ")
                ),
            );
            return None;
        }
    };
    if state.is_some() {
        ctx.problem(
            &format!("{p}.state"),
            "only `connections` probes take `state`",
        );
    }
    Some(metric)
}
