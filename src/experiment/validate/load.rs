//! Checks of the `load:` section (by the load driver itself) and of the expectations it feeds.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use super::super::raw::{AGENT_LOAD_KEYS, RawAgentLoad, RawAgents};
use super::super::spec::{
    AgentSource, Agents, Check, DEFAULT_AGENTS_READY, Expect, Guard, LoadMetric, SteadyState,
};
use super::Ctx;
use crate::bearer::Token;
use crate::load::{LoadError, LoadSpec, Threshold};

/// Whether the `load:` section names agents (`load: {agents: …}`) rather than a local load.
pub(super) fn names_agents(value: &Value) -> bool {
    value.get("agents").is_some()
}

/// `load: {agents: …}`: the agents' URLs (or DNS name), thresholds and loss policy. A local
/// load's field beside `agents` is a problem at that field: one load or the other.
pub(super) fn agents(ctx: &mut Ctx, value: &Value) -> Option<Agents> {
    let mut mixed = false;
    for key in value.as_object().into_iter().flat_map(|m| m.keys()) {
        if !AGENT_LOAD_KEYS.contains(&key.as_str()) && LOCAL_KEYS.contains(&key.as_str()) {
            mixed = true;
            ctx.problem(
                &format!("load.{key}"),
                format!(
                    "a load either names `agents` or is sent by the runner, not both: `{key}` \
                     belongs to the agents' own `shakedown load` command line"
                ),
            );
        }
    }
    if mixed {
        return None;
    }
    let raw = ctx.de::<RawAgentLoad>("load", value)?;
    let source = match raw.agents {
        RawAgents::Urls(urls) if urls.is_empty() => {
            ctx.problem(
                "load.agents",
                "no agents: name at least one `http://host:port`, or `{dns: NAME:PORT}`",
            );
            return None;
        }
        RawAgents::Urls(urls) => {
            for (i, url) in urls.iter().enumerate() {
                if let Err(message) = agent_url(url) {
                    ctx.problem(&format!("load.agents[{i}]"), message);
                }
                if let Some(j) = urls[..i].iter().position(|u| u == url) {
                    ctx.problem(
                        &format!("load.agents[{i}]"),
                        format!("{url} is named twice (also load.agents[{j}])"),
                    );
                }
            }
            AgentSource::Urls(urls)
        }
        RawAgents::Dns(dns) => match dns_name(&dns.dns) {
            Ok((name, port)) => AgentSource::Dns { name, port },
            Err(message) => {
                ctx.problem("load.agents.dns", message);
                return None;
            }
        },
    };
    for (i, t) in raw.thresholds.iter().enumerate() {
        if let Err(e) = t.parse::<Threshold>() {
            ctx.problem(&format!("load.thresholds[{i}]"), e.to_string());
        }
    }
    let token = agent_token(ctx, raw.token_env.as_deref(), raw.token_file.as_deref());
    Some(Agents {
        source,
        allow_loss: raw.allow_agent_loss,
        thresholds: raw.thresholds,
        ready_timeout: raw.ready_timeout.unwrap_or(DEFAULT_AGENTS_READY),
        token,
    })
}

/// The agents' bearer token, read now from the runner's environment variable `env` or from
/// `file` (at most one of them), so that a missing one is a problem at its line: the secret
/// itself is never written in the experiment file (nor in its record).
fn agent_token(ctx: &mut Ctx, env: Option<&str>, file: Option<&Path>) -> Option<Token> {
    let (field, text) = match (env, file) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            ctx.problem(
                "load.token_file",
                "give the agents' token once: token_env or token_file, not both",
            );
            return None;
        }
        (Some(name), None) => {
            let valid = name.chars().next().is_some_and(|c| !c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                ctx.problem(
                    "load.token_env",
                    format!("{name:?} is not an environment variable name (A-Z, 0-9, _)"),
                );
                return None;
            }
            match std::env::var(name) {
                Ok(text) => ("load.token_env", text),
                Err(_) => {
                    ctx.problem(
                        "load.token_env",
                        format!(
                            "{name} is not set: the runner reads the agents' bearer token \
                             from it"
                        ),
                    );
                    return None;
                }
            }
        }
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(text) => ("load.token_file", text),
            Err(e) => {
                ctx.problem("load.token_file", format!("{}: {e}", path.display()));
                return None;
            }
        },
    };
    match Token::new(&text) {
        Ok(token) => Some(token),
        Err(e) => {
            ctx.problem(field, e);
            None
        }
    }
}

/// The top-level fields of a local load (`LoadSpec`), for the "not both" problem.
const LOCAL_KEYS: &[&str] = &[
    "target",
    "rate",
    "stages",
    "arrival",
    "duration",
    "connections",
    "threads",
    "users",
    "users_stages",
    "spawn_rate",
    "think",
    "requests_per_user",
    "timeout",
    "max_rate",
    "segment",
    "headers",
    "scenarios",
];

/// An agent's base URL: `http://host:port` with no path beyond `/`.
fn agent_url(url: &str) -> Result<(), String> {
    let parsed = crate::load::parse_http_url(url)?;
    if parsed.path != "/" {
        return Err(format!(
            "{url}: an agent is named by its base URL `http://host:port` (the runner asks \
             it for /intervals), not {}",
            parsed.path
        ));
    }
    Ok(())
}

/// `NAME:PORT` of `{dns: …}`.
fn dns_name(text: &str) -> Result<(String, u16), String> {
    let bad = || format!("{text:?}: expected NAME:PORT, e.g. shakedown-agents:9000");
    let (name, port) = text.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    if name.is_empty() || port == 0 || name.contains(['/', ' ']) {
        return Err(bad());
    }
    Ok((name.to_string(), port))
}

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
