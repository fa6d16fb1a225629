//! Variables in experiment files: `${env.NAME:-default}`, `${var.NAME:-default}`,
//! `${run.dir}` and `${service.NAME.pid}`; `$${` writes a literal `${`.
//!
//! `env`, `var` and `run` are expanded when the file is loaded; `service.NAME.pid` is
//! checked then and expanded when the step that uses it runs.

use std::collections::BTreeMap;

/// One `${…}` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Reference {
    /// The dotted name inside the braces, without the default.
    pub name: String,
    /// The text after `:-`, if any.
    pub default: Option<String>,
}

/// A variable that could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum VarError {
    /// `${` without its closing `}`.
    #[error("unclosed `${{` in {0:?}")]
    Unclosed(String),
    /// A namespace other than env, var, run or service.
    #[error("unknown variable `${{{0}}}` (use env.NAME, var.NAME, run.dir or service.NAME.pid)")]
    Unknown(String),
    /// A variable with no value and no default.
    #[error("variable `${{{0}}}` is not set and has no default (write `${{{0}:-value}}`)")]
    Unset(String),
    /// A `service.NAME.pid` whose service is not declared.
    #[error("`${{{0}}}` names a service that is not declared under `services`")]
    NoSuchService(String),
}

/// Expand every reference in `text`; `resolve` returns `Ok(None)` to leave one as written.
pub(super) fn expand(
    text: &str,
    mut resolve: impl FnMut(&Reference) -> Result<Option<String>, VarError>,
) -> Result<String, VarError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix("$${") {
            out.push_str("${");
            rest = after;
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| VarError::Unclosed(text.to_string()))?;
            let inner = &after[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n.trim(), Some(d.to_string())),
                None => (inner.trim(), None),
            };
            let reference = Reference {
                name: name.to_string(),
                default,
            };
            match resolve(&reference)? {
                Some(value) => out.push_str(&value),
                None => out.push_str(&tail[..end + 3]),
            }
            rest = &after[end + 1..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The values known when a file is loaded.
#[derive(Debug, Clone, Default)]
pub(super) struct LoadVars {
    /// `--var key=value` pairs.
    pub vars: BTreeMap<String, String>,
    /// The run's scratch directory (`${run.dir}`).
    pub run_dir: String,
    /// Declared service names (for checking `${service.NAME.pid}`).
    pub services: Vec<String>,
}

impl LoadVars {
    /// Resolve a reference at load time: env, var and run now; service references checked and kept.
    pub(super) fn resolve(&self, r: &Reference) -> Result<Option<String>, VarError> {
        let value = match r.name.split_once('.') {
            Some(("env", name)) => std::env::var(name).ok(),
            Some(("var", name)) => self.vars.get(name).cloned(),
            Some(("run", "dir")) => Some(self.run_dir.clone()),
            Some(("service", rest)) => {
                return match rest.rsplit_once('.') {
                    Some((svc, "pid")) if self.services.iter().any(|s| s == svc) => Ok(None),
                    Some((_, "pid")) => Err(VarError::NoSuchService(r.name.clone())),
                    _ => Err(VarError::Unknown(r.name.clone())),
                };
            }
            _ => return Err(VarError::Unknown(r.name.clone())),
        };
        match value.or_else(|| r.default.clone()) {
            Some(v) => Ok(Some(v)),
            None => Err(VarError::Unset(r.name.clone())),
        }
    }
}

/// Expand `${service.NAME.pid}` with the live process ids (`pid_of` gives `None` when stopped).
pub(super) fn expand_pids(
    text: &str,
    pid_of: impl Fn(&str) -> Option<u32>,
) -> Result<String, VarError> {
    expand(text, |r| {
        let svc = r
            .name
            .strip_prefix("service.")
            .and_then(|s| s.strip_suffix(".pid"));
        match svc {
            Some(name) => match pid_of(name) {
                Some(pid) => Ok(Some(pid.to_string())),
                None => r
                    .default
                    .clone()
                    .map(Some)
                    .ok_or_else(|| VarError::Unset(r.name.clone())),
            },
            None => Ok(None),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> LoadVars {
        LoadVars {
            vars: BTreeMap::from([("port".to_string(), "9000".to_string())]),
            run_dir: "/tmp/run1".to_string(),
            services: vec!["kv".to_string()],
        }
    }

    #[test]
    fn expands_vars_defaults_and_run_dir_and_keeps_service_pids() {
        let v = vars();
        let out = expand(
            "127.0.0.1:${var.port} ${var.host:-localhost} ${run.dir}/x ${service.kv.pid} $${lit}",
            |r| v.resolve(r),
        )
        .unwrap();
        assert_eq!(
            out,
            "127.0.0.1:9000 localhost /tmp/run1/x ${service.kv.pid} ${lit}"
        );
        assert_eq!(
            expand("${env.SHAKEDOWN_SURELY_UNSET_VAR:-d}", |r| v.resolve(r)).unwrap(),
            "d"
        );
    }

    #[test]
    fn reports_unknown_unset_unclosed_and_undeclared_services() {
        let v = vars();
        let err = |s: &str| expand(s, |r| v.resolve(r)).unwrap_err();
        assert!(matches!(err("${nope.x}"), VarError::Unknown(_)));
        assert!(matches!(err("${var.missing}"), VarError::Unset(_)));
        assert!(matches!(err("a ${var.port"), VarError::Unclosed(_)));
        assert!(matches!(
            err("${service.db.pid}"),
            VarError::NoSuchService(_)
        ));
    }

    #[test]
    fn pids_expand_at_run_time() {
        let out = expand_pids("kill -9 ${service.kv.pid}", |n| (n == "kv").then_some(42));
        assert_eq!(out.unwrap(), "kill -9 42");
        assert!(expand_pids("${service.db.pid}", |_| None).is_err());
    }
}
