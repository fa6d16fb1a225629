//! Chaos Toolkit activities: the hypothesis's probes, the method's actions and pauses, and the
//! rollbacks; each provider is translated in [`super::provider`] or [`super::toxiproxy`].

use std::time::Duration;

use serde_json::{Value, json};

use super::super::yaml::Y;
use super::{Importer, Step};

/// What a toxiproxy call or an action became.
pub(super) enum Effect {
    /// A step of the method.
    Step(Step),
    /// Handled without a step (a proxy declared, a toxic's end recorded).
    Done,
}

impl Importer {
    /// `steady-state-hypothesis.probes` → `steady_state.probes`.
    pub(super) fn hypothesis(&mut self, hypothesis: Option<&Value>) -> Vec<Y> {
        let Some(h) = hypothesis.and_then(Value::as_object) else {
            return Vec::new();
        };
        for key in h
            .keys()
            .filter(|k| !["title", "probes"].contains(&k.as_str()))
        {
            self.drop(
                format!("$.steady-state-hypothesis.{key}"),
                "not part of a shakedown steady state",
            );
        }
        let probes = h.get("probes").and_then(Value::as_array).cloned();
        let mut out = Vec::new();
        for (i, p) in probes.iter().flatten().enumerate() {
            let path = format!("$.steady-state-hypothesis.probes[{i}]");
            if let Some(p) = self.resolve(&path, p)
                && let Some(y) = self.probe(&path, &p)
            {
                out.push(y);
            }
        }
        out
    }

    /// `{"ref": NAME}` → the activity it names (a dropped item when there is none).
    fn resolve(&mut self, path: &str, activity: &Value) -> Option<Value> {
        let Some(name) = activity.get("ref").and_then(Value::as_str) else {
            return Some(activity.clone());
        };
        let found = self.named.get(name).cloned();
        if found.is_none() {
            self.drop(
                format!("{path}.ref"),
                format!("no activity is named `{name}`"),
            );
        }
        found
    }

    /// One hypothesis probe: an HTTP or process provider with a tolerance it can express.
    fn probe(&mut self, path: &str, p: &Value) -> Option<Y> {
        self.activity_extras(path, p);
        let provider = p.get("provider").unwrap_or(&Value::Null);
        let name = self.probe_name(p.get("name").and_then(Value::as_str).unwrap_or("probe"));
        let tolerance = p.get("tolerance").unwrap_or(&Value::Null);
        let tpath = format!("{path}.tolerance");
        let ppath = format!("{path}.provider");
        let (check, expect) = match provider.get("type").and_then(Value::as_str) {
            Some("http") => {
                let (request, timeout) = self.http(&ppath, provider)?;
                let expect = self.http_tolerance(&tpath, tolerance)?;
                (("http", request, timeout), expect)
            }
            Some("process") => {
                let (argv, timeout) = self.process(&ppath, provider)?;
                let expect = self.process_tolerance(&tpath, tolerance)?;
                (("command", argv, timeout), expect)
            }
            other => {
                self.drop(ppath, unsupported_provider(other, provider));
                return None;
            }
        };
        let (kind, body, timeout) = check;
        Some(Y::Map(
            [
                Some(("name".to_string(), Y::str(name))),
                Some((kind.to_string(), body)),
                timeout.map(|t| ("timeout".to_string(), t)),
                expect.map(|e| ("expect".to_string(), e)),
            ]
            .into_iter()
            .flatten()
            .collect(),
        ))
    }

    /// Keys of an activity shakedown does not keep.
    fn activity_extras(&mut self, path: &str, a: &Value) {
        for key in ["controls", "secrets"] {
            if a.get(key).is_some_and(|v| !v.is_null()) {
                self.drop(
                    format!("{path}.{key}"),
                    format!("an activity's `{key}` have no shakedown equivalent"),
                );
            }
        }
    }

    /// `method:` → steps at the time the pauses add up to.
    pub(super) fn method(&mut self, method: &[Value]) {
        for (i, written) in method.iter().enumerate() {
            let path = format!("$.method[{i}]");
            let Some(a) = self.resolve(&path, written) else {
                continue;
            };
            self.pause(&format!("{path}.pauses.before"), &a, "before");
            match a.get("type").and_then(Value::as_str) {
                Some("action") => {
                    // A `ref` repeats an activity whose extras were listed where it is defined.
                    if written.get("ref").is_none() {
                        self.activity_extras(&path, &a);
                    }
                    if let Some(Effect::Step(step)) = self.action(&path, &a, false) {
                        self.steps.push(step);
                    }
                }
                Some("probe") => self.drop(
                    path.clone(),
                    "a probe in the method (its result only goes to the journal): \
                     shakedown samples its steady-state probes throughout the run",
                ),
                other => self.drop(
                    format!("{path}.type"),
                    format!("activity type {} is neither action nor probe", json!(other)),
                ),
            }
            self.pause(&format!("{path}.pauses.after"), &a, "after");
        }
    }

    /// Advance the clock by `pauses.WHICH` (seconds).
    fn pause(&mut self, path: &str, a: &Value, which: &str) {
        let Some(p) = a.get("pauses").and_then(|p| p.get(which)) else {
            return;
        };
        let secs = match p {
            Value::String(s) => self.text(s).trim().parse::<f64>().ok(),
            other => other.as_f64(),
        };
        match secs.filter(|s| (0.0..=super::MAX_SECONDS).contains(s)) {
            Some(s) => self.clock = self.clock.saturating_add(Duration::from_secs_f64(s)),
            None => self.drop(
                path.to_string(),
                format!(
                    "{p} is not a number of seconds from 0 to {}",
                    super::MAX_SECONDS
                ),
            ),
        }
    }

    /// One action: a command, an HTTP call (through curl), or a toxiproxy call.
    fn action(&mut self, path: &str, a: &Value, rollback: bool) -> Option<Effect> {
        let provider = a.get("provider").unwrap_or(&Value::Null);
        let ppath = format!("{path}.provider");
        let name = a.get("name").and_then(Value::as_str).unwrap_or("action");
        let (argv, timeout) = match provider.get("type").and_then(Value::as_str) {
            Some("process") => self.process(&ppath, provider)?,
            Some("http") => self.curl(&ppath, provider)?,
            Some("python") if toxiproxy_module(provider) => {
                return self.toxiproxy(&ppath, provider, name, rollback);
            }
            other => {
                self.drop(ppath, unsupported_provider(other, provider));
                return None;
            }
        };
        let command = Y::map([("command", Some(argv)), ("timeout", timeout)]);
        Some(Effect::Step(Step {
            at: self.clock,
            name: self.text(name),
            kind: ("action", command),
            until: None,
            toxic: None,
        }))
    }

    /// `rollbacks:` → commands; toxiproxy clean-up is implied (faults end, proxies go).
    pub(super) fn rollbacks(&mut self, rollbacks: Option<&Value>) -> Vec<Y> {
        let mut out = Vec::new();
        for (i, a) in rollbacks
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("$.rollbacks[{i}]");
            let Some(a) = self.resolve(&path, a) else {
                continue;
            };
            self.activity_extras(&path, &a);
            if let Some(Effect::Step(step)) = self.action(&path, &a, true) {
                out.push(step.kind.1);
            }
        }
        out
    }
}

fn toxiproxy_module(provider: &Value) -> bool {
    let module = provider
        .get("module")
        .and_then(Value::as_str)
        .unwrap_or_default();
    ["chaostoxi.", "toxiproxy."]
        .iter()
        .any(|prefix| module.starts_with(prefix))
}

fn unsupported_provider(kind: Option<&str>, provider: &Value) -> String {
    match kind {
        Some("python") => format!(
            "the Python function {}.{} has no shakedown equivalent",
            provider
                .get("module")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            provider.get("func").and_then(Value::as_str).unwrap_or("?")
        ),
        Some(other) => format!("a `{other}` provider has no shakedown equivalent"),
        None => "an activity without a provider type".to_string(),
    }
}
