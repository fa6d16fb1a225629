//! From an experiment file to a validated [`Experiment`], reporting every problem at once.
//!
//! The file is read into a located tree ([`crate::config::node`]), variables are expanded, each
//! section and each list item is deserialized on its own (unknown fields and wrong types
//! are problems, not the end of the check), and semantic checks follow (times in order,
//! faults on declared proxies, known toxics). Every problem carries `file:line:col` and
//! the field path. `ctx` holds the problems and the located deserialization; one file per
//! part of the experiment: `system` (services, proxies, control), `probes`, `method`,
//! `load`.

mod ctx;
mod load;
mod method;
mod probes;
mod regression;
mod resolved;
mod resource;
mod resource_probes;
mod system;
mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::raw::{self, RawExpect, RawRollback, RawSteadyState};
use super::spec::*;
use super::vars::{self, LoadVars};
use crate::config::ConfigError;
use crate::config::node::{self, Node, NodeValue};
use ctx::Ctx;

/// The shortest `steady_state.interval` accepted.
pub const MIN_INTERVAL: std::time::Duration = std::time::Duration::from_millis(10);

/// The most consecutive passing samples `steady_state.recovered_after` may ask for.
pub const MAX_RECOVERED_AFTER: u32 = 1000;

/// What a file is loaded with.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--var key=value` pairs.
    pub vars: BTreeMap<String, String>,
    /// The value of `${run.dir}`.
    pub run_dir: PathBuf,
    /// `--watch-pid`, `--watch-name` and `--sample-interval`, added to the file's `watch:`.
    pub watch: WatchFlags,
}

/// The command line's additions to what the resource sampler watches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchFlags {
    /// `--watch-pid PID` (repeatable).
    pub pids: Vec<u32>,
    /// `--watch-name NAME` (repeatable).
    pub names: Vec<String>,
    /// `--sample-interval`: replaces `watch.interval` (the caller checks it is at least
    /// [`crate::resource::MIN_INTERVAL`]).
    pub interval: Option<std::time::Duration>,
}

/// Read, expand and validate an experiment file.
pub fn load_file(path: &Path, options: &LoadOptions) -> Result<Experiment, ConfigError> {
    let text = crate::config::read_text(path)?;
    parse_str(path, &text, options)
}

/// Validate experiment `text`, labelled `file` in errors.
pub fn parse_str(
    file: &Path,
    text: &str,
    options: &LoadOptions,
) -> Result<Experiment, ConfigError> {
    let mut root = node::parse(file, text)?;
    let mut ctx = Ctx::new(file);
    if !matches!(root.value, NodeValue::Map(_)) {
        ctx.at(
            root.at,
            "",
            "an experiment file is a mapping (title:, method:, …)",
        );
        return Err(ctx.into_error());
    }
    let load_vars = LoadVars {
        vars: options.vars.clone(),
        run_dir: options.run_dir.display().to_string(),
        services: service_names(&root),
    };
    let mut var_errors = Vec::new();
    root.map_strings(
        &mut |s, _| {
            let out = vars::expand(s, |r| load_vars.resolve(r))?;
            Ok::<_, vars::VarError>(if out == s { None } else { Some(retype(s, out)) })
        },
        &mut var_errors,
    );
    for (at, e) in var_errors {
        ctx.at(at, "", e.to_string());
    }
    let json = root.to_json("", &mut ctx.locs);
    let experiment = ctx.experiment(file, &json);
    match experiment {
        Some(mut e) if ctx.is_clean() => {
            watch::add_flags(&mut e.watch, &options.watch);
            Ok(Experiment {
                resolved: resolved::yaml(&root),
                ..e
            })
        }
        _ => Err(ctx.into_error()),
    }
}

/// A string that was exactly one `${…}` becomes a number or boolean when its value reads as one.
fn retype(original: &str, expanded: String) -> Value {
    let single = original.starts_with("${")
        && original.ends_with('}')
        && original.matches("${").count() == 1;
    if single {
        if let Ok(Value::Number(n)) = serde_json::from_str::<Value>(&expanded) {
            return Value::Number(n);
        }
        if let Ok(b) = expanded.parse::<bool>() {
            return Value::Bool(b);
        }
    }
    Value::String(expanded)
}

fn service_names(root: &Node) -> Vec<String> {
    match root.get("services").map(|n| &n.value) {
        Some(NodeValue::Seq(items)) => items
            .iter()
            .filter_map(|i| match i.get("name").map(|n| &n.value) {
                Some(NodeValue::Scalar(Value::String(s))) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Each proxy's name and `protocol` as written (`tcp` when absent).
fn protocols(list: Option<&Value>) -> BTreeMap<String, String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let name = item.get("name").and_then(Value::as_str)?;
            let protocol = item
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("tcp");
            Some((name.to_string(), protocol.to_string()))
        })
        .collect()
}

fn names(list: Option<&Value>) -> BTreeSet<String> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("name").and_then(Value::as_str).map(str::to_string))
        .collect()
}

impl Ctx {
    fn experiment(&mut self, file: &Path, json: &Value) -> Option<Experiment> {
        let Value::Object(top) = json else {
            return None;
        };
        self.unknown_sections(top);
        let title = self.title(top);
        let description = top
            .get("description")
            .and_then(|v| self.de::<Option<String>>("description", v))
            .flatten();
        let tags = top
            .get("tags")
            .and_then(|v| self.de::<Vec<String>>("tags", v))
            .unwrap_or_default();
        let seed = top
            .get("seed")
            .and_then(|v| self.de::<Option<u64>>("seed", v))
            .flatten();
        let services = self.services(top.get("services"));
        let proxies = self.proxies(top.get("proxies"));
        let control = self.control(top.get("control"));
        let tls = self.tls(top.get("tls"));
        let has_load = top.get("load").is_some_and(|v| !v.is_null());
        let (mut load, agents) = match top.get("load").filter(|v| !v.is_null()) {
            None => (None, None),
            Some(v) if load::names_agents(v) => (None, load::agents(self, v)),
            Some(v) => (load::section(self, v), None),
        };
        if let Some(load) = load.as_mut()
            && load.tls.is_none()
            && tls != crate::tls::TlsOptions::default()
        {
            load.tls = Some(tls.clone());
        }
        let duration = self.duration(top);
        // Names as written, so a typo elsewhere in a proxy does not hide the faults' checks.
        let proxy_names = protocols(top.get("proxies"));
        let service_names = names(top.get("services"));
        let scope = probes::Scope {
            has_load,
            services: &service_names,
        };
        let steady_state = self.steady_state(top.get("steady_state"), &scope);
        let guards = probes::guards(self, top.get("guards"), &scope);
        let watch = self.watch(
            top.get("watch"),
            &services,
            &steady_state,
            &guards,
            &service_names,
        );
        // Services with no `ready` check have no address `hold_connections` could connect to.
        let unaddressed = services
            .iter()
            .filter(|s| s.ready.is_none())
            .map(|s| s.name.clone())
            .collect();
        let method = method::steps(
            self,
            top.get("method"),
            &proxy_names,
            &(service_names, unaddressed),
            duration,
        );
        let expect = self.expect(top.get("expect"), &method);
        load::expectations(self, load.as_ref(), has_load, &expect, duration);
        load::percentile_windows(self, load.as_ref(), &steady_state, &guards);
        let rollbacks = self
            .de_list::<RawRollback>("rollbacks", top.get("rollbacks"))
            .into_iter()
            .filter_map(|(p, r)| self.command(&format!("{p}.command"), r.command, r.timeout))
            .collect();
        Some(Experiment {
            file: file.to_path_buf(),
            title,
            description,
            tags,
            seed,
            services,
            proxies,
            control,
            tls,
            load,
            agents,
            steady_state,
            watch,
            guards,
            method,
            duration: duration?,
            expect,
            rollbacks,
            warnings: self.warnings(),
            resolved: String::new(),
        })
    }

    /// The `tls` section: its files are read now, so a bad one is a problem at `tls.ca`,
    /// `tls.cert` or `tls.key`.
    fn tls(&mut self, value: Option<&Value>) -> crate::tls::TlsOptions {
        let tls = value
            .and_then(|v| self.de::<Option<crate::tls::TlsOptions>>("tls", v))
            .flatten()
            .unwrap_or_default();
        if let Err(e) = crate::tls::client_config(&tls) {
            self.problem(e.field(), e.to_string());
        }
        tls
    }

    /// Every top-level key that is not a section is a problem at its own position.
    fn unknown_sections(&mut self, top: &serde_json::Map<String, Value>) {
        for key in top.keys() {
            if !raw::SECTIONS.contains(&key.as_str()) {
                let at = self
                    .locs
                    .get(&format!("{key}#key"))
                    .copied()
                    .unwrap_or_default();
                self.at(
                    at,
                    key,
                    format!(
                        "unknown field `{key}`, expected one of {}",
                        raw::SECTIONS.join(", ")
                    ),
                );
            }
        }
    }

    /// `title:`, required and not blank.
    fn title(&mut self, top: &serde_json::Map<String, Value>) -> String {
        let title = match top.get("title") {
            Some(v) => self.de::<String>("title", v).unwrap_or_default(),
            None => {
                self.problem("", "missing field `title`");
                String::new()
            }
        };
        if top.contains_key("title") && title.trim().is_empty() {
            self.problem("title", "must not be empty");
        }
        if let Some(c) = title.chars().find(|c| c.is_control()) {
            // A title is one line of every report; an escape sequence would drive the terminal.
            self.problem("title", format!("must be one line of text, without {c:?}"));
        }
        title
    }

    /// `duration:`, required.
    fn duration(&mut self, top: &serde_json::Map<String, Value>) -> Option<std::time::Duration> {
        match top.get("duration") {
            Some(v) => {
                self.de::<Value>("duration", v)
                    .and_then(|v| match super::quantity::duration(&v) {
                        Ok(d) => Some(d),
                        Err(e) => {
                            self.problem("duration", e);
                            None
                        }
                    })
            }
            None => {
                self.problem(
                    "",
                    "missing field `duration` (how long the method runs, e.g. `30s`)",
                );
                None
            }
        }
    }

    /// `expect:` (every expectation optional).
    fn expect(&mut self, value: Option<&Value>, method: &[Step]) -> Expect {
        value
            .and_then(|v| self.de::<RawExpect>("expect", v))
            .map(|e| Expect {
                recovered_within: e.recovered_within,
                detected_within: e.detected_within,
                lost_writes: e.lost_writes,
                rpo_within: e.rpo_within,
                regression: e.regression.and_then(|r| self.regression(r, method)),
            })
            .unwrap_or_default()
    }

    fn steady_state(&mut self, value: Option<&Value>, scope: &probes::Scope<'_>) -> SteadyState {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return SteadyState {
                interval: DEFAULT_INTERVAL,
                recovered_after: DEFAULT_RECOVERED_AFTER,
                probes: Vec::new(),
            };
        };
        // A bad interval must not hide the probes' problems: fall back to the list as written.
        let raw = self
            .de::<RawSteadyState>("steady_state", value)
            .unwrap_or_else(|| RawSteadyState {
                interval: None,
                recovered_after: None,
                probes: value
                    .get("probes")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            });
        let interval = raw.interval.unwrap_or(DEFAULT_INTERVAL);
        if interval < MIN_INTERVAL {
            self.problem(
                "steady_state.interval",
                format!(
                    "must be at least {} (sampling faster measures the runner, not the system, \
                     and fills the journal)",
                    humantime::format_duration(MIN_INTERVAL)
                ),
            );
        }
        let recovered_after = raw.recovered_after.unwrap_or(DEFAULT_RECOVERED_AFTER);
        if !(1..=MAX_RECOVERED_AFTER).contains(&recovered_after) {
            self.problem(
                "steady_state.recovered_after",
                format!("must be from 1 to {MAX_RECOVERED_AFTER}"),
            );
        }
        let probes = probes::list(self, "steady_state.probes", &raw.probes, scope, false)
            .into_iter()
            .map(|(probe, _)| probe)
            .collect();
        SteadyState {
            interval,
            recovered_after,
            probes,
        }
    }
}

#[cfg(test)]
mod tests;
