//! The validation context: every problem found so far, where each field was written, and
//! deserialization that turns a failure into a located problem instead of stopping the check.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::node::Locations;
use crate::config::{ConfigError, Position, Problem};

/// Problems found so far and where things are.
pub(super) struct Ctx {
    file: PathBuf,
    /// Positions of the fields, by path.
    pub(super) locs: Locations,
    problems: Vec<Problem>,
    /// Doubtful but valid: reported, never a reason to refuse the file.
    warnings: Vec<Problem>,
}

impl Ctx {
    /// A context for `file`, positions not yet known.
    pub(super) fn new(file: &Path) -> Self {
        Self {
            file: file.to_path_buf(),
            locs: Locations::new(),
            problems: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Whether no problem was found.
    pub(super) fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    pub(super) fn into_error(mut self) -> ConfigError {
        self.problems
            .sort_by_key(|p| (p.position.line, p.position.column));
        self.problems.dedup();
        ConfigError {
            file: self.file,
            problems: self.problems,
            snippet: None,
        }
    }

    /// A problem at a known position.
    pub(super) fn at(&mut self, position: Position, field: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            position,
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// The position of `path`, or of its nearest located parent.
    fn position(&self, path: &str) -> Position {
        crate::config::node::locate(&self.locs, path)
    }

    /// A name (of a service, proxy or probe) at `path` must follow [`crate::config::name`]:
    /// names become file names and URL path segments.
    pub(super) fn name(&mut self, path: &str, name: &str) {
        if let Err(e) = crate::config::name::check(name) {
            self.problem(path, format!("name `{}` {e}", name.escape_debug()));
        }
    }

    /// A `host:port` address at `path`: a host, and a port of digits in 1..=65535 (0 too when
    /// `listening`, where it picks a free port). Proxies' `listen` and `upstream`, tcp probes
    /// and `tcp://` ready checks all go through here.
    pub(super) fn host_port(&mut self, path: &str, addr: &str, listening: bool) {
        let lowest = u16::from(!listening);
        let fits = addr.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p >= lowest)
        });
        if !fits {
            self.problem(
                path,
                format!("`{addr}` must be host:port with a port in {lowest}..65535"),
            );
        }
    }

    /// A warning about the value at `path`.
    pub(super) fn warn(&mut self, path: &str, message: impl Into<String>) {
        self.warnings.push(Problem {
            position: self.position(path),
            field: path.to_string(),
            message: format!("warning: {}", message.into()),
        });
    }

    /// The warnings, each rendered as `file:line:col: field: warning: message`.
    pub(super) fn warnings(&self) -> Vec<String> {
        self.warnings
            .iter()
            .map(|w| {
                ConfigError {
                    file: self.file.clone(),
                    problems: vec![w.clone()],
                    snippet: None,
                }
                .to_string()
            })
            .collect()
    }

    /// A problem with the value at `path`.
    pub(super) fn problem(&mut self, path: &str, message: impl Into<String>) {
        let position = self.position(path);
        self.at(position, path, message);
    }

    /// Deserialize `value` (found at `path`) as `T`; a failure becomes a problem
    /// ([`crate::config::typed::deserialize`]: at its place, in plain words).
    pub(super) fn de<T: DeserializeOwned>(&mut self, path: &str, value: &Value) -> Option<T> {
        match crate::config::typed::deserialize(path, value, &self.locs) {
            Ok(t) => Some(t),
            Err(p) => {
                self.at(p.position, &p.field, p.message);
                None
            }
        }
    }

    /// Deserialize each item of the list at `path`.
    pub(super) fn de_list<T: DeserializeOwned>(
        &mut self,
        path: &str,
        value: Option<&Value>,
    ) -> Vec<(String, T)> {
        match value {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| {
                    let p = format!("{path}[{i}]");
                    self.de::<T>(&p, v).map(|t| (p, t))
                })
                .collect(),
            Some(_) => {
                self.problem(path, "expected a list");
                Vec::new()
            }
        }
    }
}
