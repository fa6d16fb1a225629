//! Checks of the method: steps in time order, within the duration, faults on declared
//! proxies with known toxics, actions on declared services.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::Value;

use super::super::quantity;
use super::super::raw::{RawAction, RawFault, RawStep};
use super::super::spec::*;
use super::super::toxics;
use super::Ctx;
use super::resource;
use crate::fault::{Stream, Toxicity};

/// The declared services' names, and those of them without a `ready` check (no address).
pub(super) type Services = (BTreeSet<String>, BTreeSet<String>);

/// Signals an action may send.
pub(crate) const SIGNALS: &[&str] = &[
    "KILL", "TERM", "INT", "HUP", "STOP", "CONT", "QUIT", "USR1", "USR2",
];

/// Validate `method:`.
pub(super) fn steps(
    ctx: &mut Ctx,
    value: Option<&Value>,
    proxies: &BTreeMap<String, String>,
    services: &Services,
    duration: Option<Duration>,
) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut previous: Option<Duration> = None;
    for (p, raw) in ctx.de_list::<RawStep>("method", value) {
        if let Some(prev) = previous.filter(|prev| raw.at < *prev) {
            ctx.problem(
                &format!("{p}.at"),
                format!(
                    "{} comes before the previous step's {}; list steps in time order",
                    humantime::format_duration(raw.at),
                    humantime::format_duration(prev)
                ),
            );
        }
        previous = Some(raw.at);
        let held = raw.fault.is_some() || raw.action.as_ref().is_some_and(resource::named);
        let end = raw.at.saturating_add(if held {
            raw.for_.unwrap_or_default()
        } else {
            Duration::ZERO
        });
        if let Some(d) = duration.filter(|d| end > *d) {
            let field = if held { "for" } else { "at" };
            ctx.problem(
                &format!("{p}.{field}"),
                format!(
                    "the step ends at {}, after the experiment's duration {}",
                    humantime::format_duration(end),
                    humantime::format_duration(d)
                ),
            );
        }
        if let Some(step) = step(ctx, &p, raw, proxies, services) {
            out.push(step);
        }
    }
    out
}

fn step(
    ctx: &mut Ctx,
    p: &str,
    raw: RawStep,
    proxies: &BTreeMap<String, String>,
    (services, unaddressed): &Services,
) -> Option<Step> {
    let kind = match (raw.fault, raw.action) {
        (Some(fault), None) => {
            let fault = self::fault(ctx, &format!("{p}.fault"), fault, proxies);
            let Some(for_) = raw.for_ else {
                ctx.problem(p, "a fault needs `for` (how long it stays in place)");
                return None;
            };
            let for_ = positive(ctx, &format!("{p}.for"), for_);
            StepKind::Fault {
                fault: fault?,
                for_: for_?,
            }
        }
        (None, Some(action)) if resource::named(&action) => {
            let pa = format!("{p}.action");
            if !exactly_one(ctx, &pa, &action) {
                return None;
            }
            let fault = resource::fault(ctx, &pa, action, (services, unaddressed), proxies);
            let Some(for_) = raw.for_ else {
                ctx.problem(
                    &pa,
                    "a resource fault needs `for` on its step (how long it stays in place)",
                );
                return None;
            };
            StepKind::Resource {
                fault: fault?,
                for_: positive(ctx, &format!("{p}.for"), for_)?,
            }
        }
        (None, Some(action)) => {
            if raw.for_.is_some() {
                ctx.problem(
                    &format!("{p}.for"),
                    "an action is instantaneous; `for` applies to faults",
                );
            }
            StepKind::Action(self::action(ctx, &format!("{p}.action"), action, services)?)
        }
        _ => {
            ctx.problem(p, "a step has exactly one of `fault` or `action`");
            return None;
        }
    };
    let measure = raw.measure.unwrap_or(!matches!(kind, StepKind::Action(_)));
    let name = raw.name.unwrap_or_else(|| describe(&kind));
    Some(Step {
        at: raw.at,
        name,
        measure,
        kind,
    })
}

/// A fault's `for`, which must be greater than zero.
fn positive(ctx: &mut Ctx, path: &str, for_: Duration) -> Option<Duration> {
    if for_.is_zero() {
        ctx.problem(path, "must be greater than zero");
        return None;
    }
    Some(for_)
}

/// Exactly one kind of action or resource fault is named.
fn exactly_one(ctx: &mut Ctx, p: &str, raw: &RawAction) -> bool {
    let actions = [
        raw.command.is_some(),
        raw.kill.is_some(),
        raw.stop.is_some(),
        raw.start.is_some(),
        raw.restart.is_some(),
    ];
    let named = actions
        .iter()
        .chain(resource::chosen(raw).iter())
        .filter(|c| **c)
        .count();
    if named != 1 {
        ctx.problem(
            p,
            format!(
                "an action has exactly one of `command`, `kill`, `stop`, `start`, `restart`, {}",
                resource::NAMES
            ),
        );
    }
    named == 1
}

/// A short label for a step.
pub(crate) fn describe(kind: &StepKind) -> String {
    match kind {
        StepKind::Fault { fault, .. } => format!("{} on {}", fault.kind.type_name(), fault.proxy),
        StepKind::Action(Action::Command(c)) => c.argv.join(" "),
        StepKind::Action(Action::Kill { service, signal }) => format!("kill -{signal} {service}"),
        StepKind::Action(Action::Stop(s)) => format!("stop {s}"),
        StepKind::Action(Action::Start(s)) => format!("start {s}"),
        StepKind::Action(Action::Restart(s)) => format!("restart {s}"),
        StepKind::Resource { fault, .. } => fault.describe(),
    }
}

/// `proxies`: each declared proxy's name and protocol as written.
fn fault(
    ctx: &mut Ctx,
    p: &str,
    raw: RawFault,
    proxies: &BTreeMap<String, String>,
) -> Option<Fault> {
    let mut ok = true;
    if !proxies.contains_key(&raw.proxy) {
        ctx.problem(
            &format!("{p}.proxy"),
            format!("proxy `{}` is not declared under `proxies`", raw.proxy),
        );
        ok = false;
    }
    let stream = match raw.stream.as_deref().map(Stream::parse).transpose() {
        Ok(s) => s.unwrap_or_default(),
        Err(_) => {
            ctx.problem(
                &format!("{p}.stream"),
                format!(
                    "`{}` must be downstream or upstream",
                    raw.stream.unwrap_or_default()
                ),
            );
            ok = false;
            Stream::default()
        }
    };
    let toxicity = raw
        .toxicity
        .as_ref()
        .map(|t| quantity::fraction(t).and_then(|v| Toxicity::new(v).map_err(|e| e.to_string())))
        .transpose();
    let toxicity = match toxicity {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => {
            ctx.problem(&format!("{p}.toxicity"), e);
            ok = false;
            Toxicity::default()
        }
    };
    let kind = match toxics::parse(&raw.kind, &raw.attributes) {
        Ok(kind) => Some(kind),
        Err(e) => {
            let field = match &e {
                toxics::ToxicError::UnknownType(_) => format!("{p}.type"),
                toxics::ToxicError::Attribute { name, .. } => format!("{p}.attributes.{name}"),
            };
            ctx.problem(&field, e.to_string());
            None
        }
    };
    if let (Some(kind), Some(protocol)) = (&kind, proxies.get(&raw.proxy))
        && kind.is_http()
        && protocol != "http"
    {
        ctx.problem(
            &format!("{p}.type"),
            format!(
                "`{}` needs an HTTP-mode proxy: set `protocol: http` on proxy `{}`",
                kind.type_name(),
                raw.proxy
            ),
        );
        ok = false;
    }
    Some(Fault {
        proxy: raw.proxy,
        kind: kind?,
        stream,
        toxicity,
    })
    .filter(|_| ok)
}

/// `name` if it is one of `services`, else a problem at `at` (an action's or a resource
/// fault's service field) and `None`.
pub(super) fn declared_service(
    ctx: &mut Ctx,
    services: &BTreeSet<String>,
    at: &str,
    name: String,
) -> Option<String> {
    if services.contains(&name) {
        return Some(name);
    }
    ctx.problem(
        at,
        format!("service `{name}` is not declared under `services`"),
    );
    None
}

fn action(ctx: &mut Ctx, p: &str, raw: RawAction, services: &BTreeSet<String>) -> Option<Action> {
    if !exactly_one(ctx, p, &raw) {
        return None;
    }
    if raw.signal.is_some() && raw.kill.is_none() {
        ctx.problem(&format!("{p}.signal"), "`signal` goes with `kill`");
    }
    if raw.timeout.is_some() && raw.command.is_none() {
        ctx.problem(&format!("{p}.timeout"), "`timeout` goes with `command`");
    }
    let mut service =
        |field: &str, name: String| declared_service(ctx, services, &format!("{p}.{field}"), name);
    if let Some(name) = raw.kill {
        let name = service("kill", name);
        let signal = raw.signal.unwrap_or_else(|| "KILL".to_string());
        let signal = signal.trim_start_matches("SIG").to_ascii_uppercase();
        if !SIGNALS.contains(&signal.as_str()) {
            ctx.problem(
                &format!("{p}.signal"),
                format!(
                    "unknown signal `{signal}`, expected one of {}",
                    SIGNALS.join(", ")
                ),
            );
            return None;
        }
        return Some(Action::Kill {
            service: name?,
            signal,
        });
    }
    if let Some(name) = raw.stop {
        return service("stop", name).map(Action::Stop);
    }
    if let Some(name) = raw.start {
        return service("start", name).map(Action::Start);
    }
    if let Some(name) = raw.restart {
        return service("restart", name).map(Action::Restart);
    }
    let argv = raw.command.unwrap_or_default();
    ctx.command(&format!("{p}.command"), argv, raw.timeout)
        .map(Action::Command)
}
