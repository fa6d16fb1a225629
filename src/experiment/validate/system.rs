//! The system under test: services, proxies, the control API, and command lines.

use std::collections::BTreeSet;

use serde_json::Value;

use super::super::raw::{RawProxy, RawService};
use super::super::spec::*;
use super::Ctx;
use crate::proxy::Protocol;

impl Ctx {
    /// A command line (`[program, arg, …]`) with its timeout; an empty one is a problem.
    pub(super) fn command(
        &mut self,
        path: &str,
        argv: Vec<String>,
        timeout: Option<std::time::Duration>,
    ) -> Option<CommandSpec> {
        if argv.first().is_none_or(|p| p.trim().is_empty()) {
            self.problem(path, "must name a program: [program, arg, …]");
            return None;
        }
        // The operating system takes C strings: a NUL byte cannot be passed, and the run would
        // fail only when it starts the command.
        if let Some(i) = argv.iter().position(|a| a.contains('\0')) {
            self.problem(&format!("{path}[{i}]"), "contains a NUL byte (\\0)");
            return None;
        }
        Some(CommandSpec {
            argv,
            timeout: timeout.unwrap_or(DEFAULT_COMMAND_TIMEOUT),
        })
    }

    pub(super) fn services(&mut self, value: Option<&Value>) -> Vec<Service> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        for (path, s) in self.de_list::<RawService>("services", value) {
            self.name(&format!("{path}.name"), &s.name);
            if !seen.insert(s.name.clone()) {
                self.problem(
                    &format!("{path}.name"),
                    format!("service `{}` is declared twice", s.name),
                );
            }
            let Some(cmd) = self.command(&format!("{path}.command"), s.command, None) else {
                continue;
            };
            let ready = s.ready.and_then(|r| {
                if crate::load::parse_http_url(&r).is_ok() {
                    Some(Ready::Http(r))
                } else if let Some(addr) = r.strip_prefix("tcp://") {
                    self.host_port(&format!("{path}.ready"), addr, false);
                    Some(Ready::Tcp(addr.to_string()))
                } else {
                    self.problem(
                        &format!("{path}.ready"),
                        format!("`{r}` must be an http:// URL (port 1-65535) or tcp://host:port"),
                    );
                    None
                }
            });
            for (key, value) in &s.env {
                // An environment entry is `KEY=VALUE` as a C string.
                if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
                    self.problem(
                        &format!("{path}.env.{key}"),
                        "a variable name is not empty and holds no `=` or NUL byte, nor does its value",
                    );
                }
            }
            out.push(Service {
                name: s.name,
                command: cmd.argv,
                ready,
                ready_timeout: s.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
                env: s.env,
                stop_timeout: s.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
            });
        }
        out
    }

    pub(super) fn proxies(&mut self, value: Option<&Value>) -> Vec<Proxy> {
        let mut seen = BTreeSet::new();
        let mut listening = BTreeSet::new();
        let mut out = Vec::new();
        for (path, p) in self.de_list::<RawProxy>("proxies", value) {
            self.name(&format!("{path}.name"), &p.name);
            if !seen.insert(p.name.clone()) {
                self.problem(
                    &format!("{path}.name"),
                    format!("proxy `{}` is declared twice", p.name),
                );
            }
            // Port 0 asks for any free port, so only a fixed address can be taken twice.
            if !p.listen.ends_with(":0") && !listening.insert(p.listen.clone()) {
                self.problem(
                    &format!("{path}.listen"),
                    format!("`{}` is the listen address of another proxy", p.listen),
                );
            }
            self.host_port(&format!("{path}.listen"), &p.listen, true);
            self.host_port(&format!("{path}.upstream"), &p.upstream, false);
            let protocol = match p.protocol.as_deref().map(Protocol::parse).transpose() {
                Ok(protocol) => protocol.unwrap_or_default(),
                Err(e) => {
                    self.problem(&format!("{path}.protocol"), e);
                    Protocol::default()
                }
            };
            let tls = crate::proxy::ProxyTls {
                upstream_tls: p.upstream_tls,
                upstream_ca: p.upstream_ca.map(Into::into),
                upstream_insecure: p.upstream_insecure,
                upstream_cert: p.upstream_cert.map(Into::into),
                upstream_key: p.upstream_key.map(Into::into),
                tls_cert: p.tls_cert.map(Into::into),
                tls_key: p.tls_key.map(Into::into),
                tls_client_ca: p.tls_client_ca.map(Into::into),
            };
            // At the first TLS field given, as the control API and `serve --config` say it.
            let given = tls.given();
            if let (Some(first), true) = (given.first(), protocol != Protocol::Http) {
                self.problem(
                    &format!("{path}.{first}"),
                    format!("TLS ({}) needs `protocol: http`", given.join(", ")),
                );
            }
            if p.http_header_timeout.is_some() && protocol != Protocol::Http {
                self.problem(
                    &format!("{path}.http_header_timeout"),
                    "needs `protocol: http` (a TCP proxy reads no request heads)",
                );
            }
            let range = crate::proxy::HEADER_TIMEOUT_RANGE;
            if let Some(t) = p.http_header_timeout
                && !range.contains(&t)
            {
                self.problem(
                    &format!("{path}.http_header_timeout"),
                    format!(
                        "must be between {:?} and {:?}, got {t:?}",
                        range.start(),
                        range.end()
                    ),
                );
            }
            if let Err((field, why)) = tls.build() {
                self.problem(&format!("{path}.{field}"), why);
            }
            out.push(Proxy {
                name: p.name,
                listen: p.listen,
                upstream: p.upstream,
                protocol,
                tls,
                header_timeout: p.http_header_timeout,
            });
        }
        out
    }

    pub(super) fn control(&mut self, value: Option<&Value>) -> Control {
        match value
            .and_then(|v| self.de::<Option<String>>("control", v))
            .flatten()
        {
            None => Control::Embedded,
            Some(url) if crate::load::parse_http_url(&url).is_ok() => {
                Control::External(url.trim_end_matches('/').to_string())
            }
            Some(url) => {
                self.problem(
                    "control",
                    format!("`{url}` must be an http:// URL of a control API"),
                );
                Control::Embedded
            }
        }
    }
}
