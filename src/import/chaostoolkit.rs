//! Chaos Toolkit experiments (JSON or YAML, read as JSON) → shakedown experiments.
//!
//! The mapping (docs/chaostoolkit.md has the full table): title, description and tags as they
//! are; `configuration` values become variables (`{type: env, key, default}` →
//! `${env.KEY:-default}`, a literal → `${var.NAME:-literal}`) wherever `${NAME}` is used; the
//! steady-state hypothesis's HTTP and process probes become `steady_state.probes` (checked before
//! and after the method, as Chaos Toolkit does, and sampled during it); the method's actions
//! become steps at the time their `pauses` add up to; the `chaostoolkit-toxiproxy` extension's
//! proxies and toxics become `proxies` and fault steps (`chaostoolkit::toxiproxy`); rollbacks become
//! `rollbacks`. Everything else is listed as [`Dropped`], one item per JSON path.

mod activity;
mod provider;
#[cfg(test)]
mod tests;
mod toxiproxy;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Map, Value};

use super::yaml::{Y, document};
use super::{Dropped, NotAnExperiment, Translation};

/// Top-level keys that carry no behaviour shakedown needs.
/// The longest pause or timeout imported, in seconds: 7 days, the longest duration an experiment
/// file accepts (longer ones are listed as left out).
const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

const IGNORED: &[&str] = &["version"];

/// Convert the Chaos Toolkit experiment `doc`; `source` names it in the output's first comment.
///
/// # Errors
/// [`NotAnExperiment`] when `doc` is not a mapping with a `title` and a `method` list.
pub fn import(doc: &Value, source: &str) -> Result<Translation, NotAnExperiment> {
    let top = doc
        .as_object()
        .ok_or_else(|| not("the file is not a mapping"))?;
    let title = top
        .get("title")
        .and_then(Value::as_str)
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| not("no `title`"))?;
    let method = top
        .get("method")
        .and_then(Value::as_array)
        .ok_or_else(|| not("no `method` list"))?;
    let mut ctk = Importer::new(top);
    for (key, value) in top {
        let known = [
            "title",
            "description",
            "tags",
            "configuration",
            "steady-state-hypothesis",
            "method",
            "rollbacks",
        ];
        if !known.contains(&key.as_str()) && !IGNORED.contains(&key.as_str()) {
            let empty = value.is_null() || value.as_object().is_some_and(Map::is_empty);
            if !empty {
                ctk.drop(format!("$.{key}"), section_reason(key));
            }
        }
    }
    let mut out: Vec<(String, Y)> = vec![("title".into(), Y::str(ctk.text(title)))];
    match top.get("description") {
        Some(Value::String(d)) => out.push(("description".into(), Y::str(ctk.text(d)))),
        None | Some(Value::Null) => {}
        Some(_) => ctk.drop("$.description", "a description that is not text"),
    }
    let tags = ctk.tags(top.get("tags"));
    if !tags.is_empty() {
        out.push(("tags".into(), Y::List(tags)));
    }
    let probes = ctk.hypothesis(top.get("steady-state-hypothesis"));
    ctk.method(method);
    let rollbacks = ctk.rollbacks(top.get("rollbacks"));
    let duration = ctk.duration();
    let steps = ctk.steps(duration);
    push_list(&mut out, "proxies", std::mem::take(&mut ctk.proxies));
    if !probes.is_empty() {
        out.push((
            "steady_state".into(),
            Y::map([("probes", Some(Y::List(probes)))]),
        ));
    }
    push_list(&mut out, "method", steps);
    out.push(("duration".into(), Y::str(seconds(duration))));
    push_list(&mut out, "rollbacks", rollbacks);
    let comment = format!(
        "Imported from the Chaos Toolkit experiment {source} by `shakedown import chaostoolkit`.\n\
         docs/chaostoolkit.md says how each part maps; step times are the sum of the pauses."
    );
    Ok(Translation {
        yaml: document(&comment, &out),
        dropped: ctk.dropped,
    })
}

fn not(why: &str) -> NotAnExperiment {
    NotAnExperiment {
        format: "Chaos Toolkit",
        why: why.to_string(),
    }
}

fn section_reason(key: &str) -> String {
    match key {
        "secrets" => "secrets have no shakedown equivalent: pass them as environment variables \
                      (`${env.NAME}`)"
            .into(),
        "controls" => "controls (hooks around activities) have no shakedown equivalent".into(),
        "extensions" => "extensions have no shakedown equivalent".into(),
        "contributions" => "contributions (what the experiment informs) are not kept".into(),
        "runtime" => "runtime settings (rollback strategy, hypothesis strategy) are not kept; \
                      shakedown samples the steady state throughout and always runs rollbacks"
            .into(),
        other => format!("`{other}` is not part of the Chaos Toolkit format shakedown reads"),
    }
}

fn push_list(out: &mut Vec<(String, Y)>, key: &str, items: Vec<Y>) {
    if !items.is_empty() {
        out.push((key.into(), Y::List(items)));
    }
}

/// A duration as shakedown writes it: `5s`, `1500ms`.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A step of the method being built: its time, what it is, and (for faults) its end.
struct Step {
    at: Duration,
    name: String,
    /// `fault: {...}` or `action: {...}`.
    kind: (&'static str, Y),
    /// When the fault is removed; `None` until the end of the method.
    until: Option<Duration>,
    /// For a toxic: its proxy, its name, and the path of the call that added it.
    toxic: Option<(String, String, String)>,
}

/// The state of one import.
struct Importer {
    /// `${NAME}` → the shakedown text it becomes.
    config: BTreeMap<String, String>,
    /// Every activity with a name, for `{"ref": NAME}`.
    named: BTreeMap<String, Value>,
    dropped: Vec<Dropped>,
    /// The time the next activity starts at.
    clock: Duration,
    steps: Vec<Step>,
    proxies: Vec<Y>,
    proxy_names: BTreeSet<String>,
    probe_names: BTreeSet<String>,
}

impl Importer {
    fn new(top: &Map<String, Value>) -> Self {
        let mut ctk = Importer {
            config: BTreeMap::new(),
            named: BTreeMap::new(),
            dropped: Vec::new(),
            clock: Duration::ZERO,
            steps: Vec::new(),
            proxies: Vec::new(),
            proxy_names: BTreeSet::new(),
            probe_names: BTreeSet::new(),
        };
        ctk.configuration(top.get("configuration"));
        let hypothesis = top
            .get("steady-state-hypothesis")
            .and_then(|h| h.get("probes"));
        for list in [hypothesis, top.get("method"), top.get("rollbacks")] {
            for a in list.and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = a.get("name").and_then(Value::as_str) {
                    ctk.named.entry(name.to_string()).or_insert(a.clone());
                }
            }
        }
        ctk
    }

    /// Record that the item at `path` was not translated.
    fn drop(&mut self, path: impl Into<String>, reason: impl Into<String>) {
        self.dropped.push(Dropped::new(path, reason));
    }

    /// `tags:` → the tags that are text; any other is a dropped item.
    fn tags(&mut self, tags: Option<&Value>) -> Vec<Y> {
        let mut out = Vec::new();
        match tags {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, tag) in items.iter().enumerate() {
                    match tag.as_str() {
                        Some(t) => out.push(Y::str(t)),
                        None => self.drop(format!("$.tags[{i}]"), format!("tag {tag} is not text")),
                    }
                }
            }
            Some(_) => self.drop("$.tags", "tags that are not a list"),
        }
        out
    }

    /// `configuration:` → the replacement of each `${NAME}`.
    fn configuration(&mut self, value: Option<&Value>) {
        let Some(map) = value.and_then(Value::as_object) else {
            return;
        };
        for (name, v) in map {
            let path = format!("$.configuration.{name}");
            let text = match v {
                Value::String(s) => literal(name, s),
                Value::Number(n) => literal(name, &n.to_string()),
                Value::Bool(b) => literal(name, &b.to_string()),
                Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("env") => {
                    match o.get("key").and_then(Value::as_str) {
                        Some(key) => match o.get("default") {
                            Some(Value::String(d)) if !d.contains(['}', '$']) => {
                                format!("${{env.{key}:-{d}}}")
                            }
                            Some(d @ (Value::Number(_) | Value::Bool(_))) => {
                                format!("${{env.{key}:-{d}}}")
                            }
                            None | Some(Value::Null) => format!("${{env.{key}}}"),
                            Some(_) => {
                                self.drop(
                                    format!("{path}.default"),
                                    "a default that is not a plain value",
                                );
                                format!("${{env.{key}}}")
                            }
                        },
                        None => {
                            self.drop(path, "an environment value without `key`");
                            continue;
                        }
                    }
                }
                _ => {
                    self.drop(
                        path,
                        "only literal and environment (`type: env`) values translate",
                    );
                    continue;
                }
            };
            self.config.insert(name.clone(), text);
        }
    }

    /// `s` with every `${NAME}` of the configuration replaced by its shakedown variable; a
    /// name not in the configuration becomes `${var.NAME}` (set it with `--var NAME=…`).
    fn text(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return out;
            };
            let name = &after[..end];
            match self.config.get(name) {
                Some(text) => out.push_str(text),
                None => out.push_str(&format!("${{var.{name}}}")),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// Names used in `${…}` that the configuration does not define, as dropped items.
    fn check_refs(&mut self, path: &str, s: &str) {
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else { return };
            let name = &after[..end];
            if !self.config.contains_key(name) {
                self.drop(
                    path.to_string(),
                    format!(
                        "`${{{name}}}` is not in the configuration: written as `${{var.{name}}}` \
                         (set it with --var {name}=…)"
                    ),
                );
            }
            rest = &after[end + 1..];
        }
    }

    /// A string argument at `path`, substituted.
    fn string(&mut self, path: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => {
                self.check_refs(path, s);
                Some(self.text(s))
            }
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A JSON value with its strings substituted (a `${NAME}` alone keeps the variable, which
    /// shakedown turns back into a number when its value reads as one).
    fn value(&mut self, path: &str, value: &Value) -> Value {
        match value {
            Value::String(_) => Value::String(self.string(path, value).unwrap_or_default()),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.value(&format!("{path}[{i}]"), v))
                    .collect(),
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(&format!("{path}.{k}"), v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// A name shakedown accepts ([`crate::config::name`]), unique among probes.
    fn probe_name(&mut self, name: &str) -> String {
        let mut base: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        base = base.trim_start_matches('.').chars().take(120).collect();
        if base.is_empty() {
            base = "probe".into();
        }
        let mut candidate = base.clone();
        let mut n = 2;
        while !self.probe_names.insert(candidate.clone()) {
            candidate = format!("{base}-{n}");
            n += 1;
        }
        candidate
    }

    /// How long the method runs: until its last pause ends, at least 1s, and 1s past the start
    /// of a fault added at the very end (it would otherwise last no time at all).
    fn duration(&self) -> Duration {
        let last_open = self
            .steps
            .iter()
            .filter(|s| s.kind.0 == "fault" && s.until.is_none())
            .map(|s| s.at + Duration::from_secs(1))
            .max()
            .unwrap_or_default();
        self.clock.max(last_open).max(Duration::from_secs(1))
    }

    /// The method's steps, each fault lasting until its `delete_toxic` or the end (`duration`).
    fn steps(&mut self, duration: Duration) -> Vec<Y> {
        let mut steps = std::mem::take(&mut self.steps);
        steps.sort_by_key(|s| s.at);
        steps
            .into_iter()
            .map(|s| {
                let mut pairs = vec![
                    ("at".to_string(), Y::str(seconds(s.at))),
                    ("name".to_string(), Y::str(s.name)),
                ];
                if s.kind.0 == "fault" {
                    let end = s.until.unwrap_or(duration).min(duration);
                    pairs.push(("for".into(), Y::str(seconds(end.saturating_sub(s.at)))));
                }
                pairs.push((s.kind.0.to_string(), s.kind.1));
                Y::Map(pairs)
            })
            .collect()
    }
}

/// A literal configuration value as an overridable variable (`${var.NAME:-value}`), or the value
/// itself when it cannot be a default (it holds `}` or `$`) or the name is not a plain word.
fn literal(name: &str, value: &str) -> String {
    let word = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if word && !value.contains(['}', '$']) {
        format!("${{var.{name}:-{value}}}")
    } else {
        value.to_string()
    }
}
