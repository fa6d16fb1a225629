//! Checks of steady-state probes and guards.

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;
use serde_json_path::JsonPath;

use super::super::quantity;
use super::super::raw::{RawExpectAnswer, RawHttp, RawProbe};
use super::super::spec::*;
use super::Ctx;

/// What a probe may refer to: a load, and the services declared.
#[derive(Debug)]
pub(super) struct Scope<'a> {
    /// The file has a `load:` section.
    pub(super) has_load: bool,
    /// The services it declares.
    pub(super) services: &'a BTreeSet<String>,
}

/// Validate the probes listed at `path`; each comes with its `for:` (guards only).
pub(super) fn list(
    ctx: &mut Ctx,
    path: &str,
    items: &[Value],
    scope: &Scope<'_>,
    guard: bool,
) -> Vec<(Probe, std::time::Duration)> {
    let value = Value::Array(items.to_vec());
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (p, raw) in ctx.de_list::<RawProbe>(path, Some(&value)) {
        ctx.name(&format!("{p}.name"), &raw.name);
        if !seen.insert(raw.name.clone()) {
            ctx.problem(
                &format!("{p}.name"),
                format!("probe `{}` is declared twice", raw.name),
            );
        }
        if raw.for_.is_some() && !guard {
            ctx.problem(&format!("{p}.for"), "`for` is only meaningful in `guards`");
        }
        let for_ = raw.for_.unwrap_or_default();
        if let Some(probe) = probe(ctx, &p, raw, scope) {
            out.push((probe, for_));
        }
    }
    out
}

/// Validate `guards:`.
pub(super) fn guards(ctx: &mut Ctx, value: Option<&Value>, scope: &Scope<'_>) -> Vec<Guard> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(_) => {
            ctx.problem("guards", "expected a list of probes");
            return Vec::new();
        }
    };
    list(ctx, "guards", &items, scope, true)
        .into_iter()
        .map(|(probe, for_)| Guard { probe, for_ })
        .collect()
}

/// One probe: exactly one kind, a timeout, and the fields of its kind.
fn probe(ctx: &mut Ctx, p: &str, raw: RawProbe, scope: &Scope<'_>) -> Option<Probe> {
    let kinds = [
        raw.http.is_some(),
        raw.tcp.is_some(),
        raw.command.is_some(),
        raw.load.is_some(),
        raw.resource.is_some(),
    ];
    if kinds.iter().filter(|k| **k).count() != 1 {
        ctx.problem(
            p,
            "a probe has exactly one of `http`, `tcp`, `command`, `load` or `resource`",
        );
        return None;
    }
    let timeout = raw.timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT);
    if timeout.is_zero() {
        ctx.problem(&format!("{p}.timeout"), "must be greater than zero");
    }
    if raw.resource.is_none() {
        super::resource_probes::only_resource_fields(ctx, p, &raw);
    }
    if raw.load.is_none() && raw.resource.is_none() {
        for (field, set) in [
            ("window", raw.window.is_some()),
            ("below", raw.below.is_some()),
            ("above", raw.above.is_some()),
        ] {
            if set {
                ctx.problem(
                    &format!("{p}.{field}"),
                    "only load and resource probes take `window`, `below` and `above`",
                );
            }
        }
    }
    let name = raw.name.clone();
    let check = if let Some(http) = raw.http {
        http_check(ctx, p, http, raw.expect.unwrap_or_else(empty_expect))
    } else if let Some(addr) = raw.tcp {
        tcp_check(ctx, p, addr, raw.expect.is_some())
    } else if let Some(argv) = raw.command {
        command_check(ctx, p, argv, raw.expect.unwrap_or_else(empty_expect))?
    } else if raw.resource.is_some() {
        super::resource_probes::check(ctx, p, raw, scope.services)?
    } else {
        load_check(ctx, p, raw, scope.has_load)?
    };
    Some(Probe {
        name,
        check,
        timeout,
    })
}

/// `http: {url, method, headers, body}` with `expect: {status, body, json}`.
fn http_check(ctx: &mut Ctx, p: &str, http: RawHttp, expect: RawExpectAnswer) -> Check {
    answer_fields(ctx, p, &expect, true);
    if let Err(why) = crate::load::parse_http_url(&http.url) {
        ctx.problem(
            &format!("{p}.http.url"),
            format!("must be an http:// URL: {why}"),
        );
    }
    let method = match http
        .method
        .as_deref()
        .unwrap_or("GET")
        .parse::<http::Method>()
    {
        Ok(m) => m,
        Err(_) => {
            ctx.problem(&format!("{p}.http.method"), "not an HTTP method");
            http::Method::GET
        }
    };
    let status = statuses(ctx, &format!("{p}.expect.status"), expect.status.as_ref());
    let body_regex = regex(ctx, &format!("{p}.expect.body"), expect.body.as_deref());
    let mut json = Vec::new();
    for (query, want) in expect.json {
        match JsonPath::parse(&query) {
            Ok(path) => json.push((query, path, want)),
            Err(e) => ctx.problem(
                &format!("{p}.expect.json"),
                format!("`{query}` is not a JSONPath: {e}"),
            ),
        }
    }
    Check::Http(HttpCheck {
        url: http.url,
        method,
        headers: http.headers,
        body: http.body,
        status,
        body_regex,
        json,
    })
}

/// `tcp: host:port`, which takes no `expect`.
fn tcp_check(ctx: &mut Ctx, p: &str, addr: String, has_expect: bool) -> Check {
    if has_expect {
        ctx.problem(
            &format!("{p}.expect"),
            "a tcp probe passes when it connects; it takes no `expect`",
        );
    }
    ctx.host_port(&format!("{p}.tcp"), &addr, false);
    Check::Tcp(addr)
}

/// `command: [...]` with `expect: {exit, stdout}`.
fn command_check(
    ctx: &mut Ctx,
    p: &str,
    argv: Vec<String>,
    expect: RawExpectAnswer,
) -> Option<Check> {
    answer_fields(ctx, p, &expect, false);
    let cmd = ctx.command(&format!("{p}.command"), argv, None)?;
    let stdout = regex(ctx, &format!("{p}.expect.stdout"), expect.stdout.as_deref());
    let exit = expect.exit.unwrap_or(0);
    if !(0..=255).contains(&exit) {
        // A process exits with 0..=255: any other code could never be met.
        ctx.problem(
            &format!("{p}.expect.exit"),
            format!("{exit} is not an exit code (0..255)"),
        );
    }
    Some(Check::Command {
        argv: cmd.argv,
        exit,
        stdout,
    })
}

/// `load: METRIC` over a `window`, `below` or `above` a limit in the metric's unit.
fn load_check(ctx: &mut Ctx, p: &str, raw: RawProbe, has_load: bool) -> Option<Check> {
    if !has_load {
        ctx.problem(&format!("{p}.load"), "a load probe needs a `load:` section");
    }
    if raw.expect.is_some() {
        ctx.problem(
            &format!("{p}.expect"),
            "a load probe uses `below` or `above`, not `expect`",
        );
    }
    let metric = load_metric(ctx, p, raw.load.as_deref().unwrap_or_default())?;
    let window = raw.window.unwrap_or(std::time::Duration::from_secs(2));
    if window.is_zero() {
        ctx.problem(&format!("{p}.window"), "must be greater than zero");
    } else if window > crate::load::WINDOW_HORIZON {
        ctx.problem(
            &format!("{p}.window"),
            format!(
                "at most {} (the load driver keeps latency histograms that far back)",
                humantime::format_duration(crate::load::WINDOW_HORIZON)
            ),
        );
    }
    let (field, value, below) = match (&raw.below, &raw.above) {
        (Some(v), None) => ("below", v, true),
        (None, Some(v)) => ("above", v, false),
        _ => {
            ctx.problem(p, "a load probe has exactly one of `below` or `above`");
            return None;
        }
    };
    let parsed = match metric {
        LoadMetric::ErrorRate => quantity::fraction(value),
        LoadMetric::Rps => quantity::per_second(value),
        LoadMetric::Latency(_) => quantity::duration(value).map(|d| d.as_secs_f64()),
    };
    let limit = match parsed {
        Ok(v) => v,
        Err(e) => {
            ctx.problem(&format!("{p}.{field}"), e);
            return None;
        }
    };
    Some(Check::Load {
        metric,
        window,
        bound: if below {
            Bound::Below(limit)
        } else {
            Bound::Above(limit)
        },
    })
}

/// The metric a load probe reads.
fn load_metric(ctx: &mut Ctx, p: &str, name: &str) -> Option<LoadMetric> {
    Some(match name {
        "error_rate" => LoadMetric::ErrorRate,
        "rps" => LoadMetric::Rps,
        "p50" => LoadMetric::Latency(50),
        "p90" => LoadMetric::Latency(90),
        "p95" => LoadMetric::Latency(95),
        "p99" => LoadMetric::Latency(99),
        other => {
            ctx.problem(
                &format!("{p}.load"),
                format!(
                    "unknown metric `{other}`, expected one of {}",
                    super::super::raw::METRICS.join(", ")
                ),
            );
            return None;
        }
    })
}

fn empty_expect() -> RawExpectAnswer {
    RawExpectAnswer {
        status: None,
        body: None,
        json: Default::default(),
        exit: None,
        stdout: None,
    }
}

fn answer_fields(ctx: &mut Ctx, p: &str, e: &RawExpectAnswer, http: bool) {
    let wrong: &[(&str, bool)] = if http {
        &[("exit", e.exit.is_some()), ("stdout", e.stdout.is_some())]
    } else {
        &[
            ("status", e.status.is_some()),
            ("body", e.body.is_some()),
            ("json", !e.json.is_empty()),
        ]
    };
    for (field, set) in wrong {
        if *set {
            let kind = if http { "an http" } else { "a command" };
            ctx.problem(
                &format!("{p}.expect.{field}"),
                format!("{kind} probe does not take `{field}`"),
            );
        }
    }
}

fn statuses(ctx: &mut Ctx, path: &str, value: Option<&Value>) -> Vec<u16> {
    let items = match value {
        None => return Vec::new(),
        Some(Value::Array(items)) => items.clone(),
        Some(v) => vec![v.clone()],
    };
    let mut out = Vec::new();
    for v in items {
        match v.as_u64().filter(|s| (100..=599).contains(s)) {
            Some(s) => out.push(s as u16),
            None => ctx.problem(path, format!("{v} is not an HTTP status (100..599)")),
        }
    }
    out
}

fn regex(ctx: &mut Ctx, path: &str, pattern: Option<&str>) -> Option<Regex> {
    let pattern = pattern?;
    match Regex::new(pattern) {
        Ok(r) => Some(r),
        Err(e) => {
            ctx.problem(path, format!("not a valid regex: {e}"));
            None
        }
    }
}
