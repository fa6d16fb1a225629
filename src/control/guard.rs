//! Who may use the control API: the bearer token, the DNS-rebinding `Host` check, the
//! same-origin rule for browsers and JSON for state-changing requests.
//!
//! Checked on every request before anything else (docs/control-api.md, "Security"):
//!
//! 1. `Host` must name the server: a loopback address or `localhost`, the address it listens
//!    on (any IP literal when it listens on every interface), or a name given with
//!    `--allow-host`. Else `403` (a page on `evil.example` that rebinds its name to 127.0.0.1
//!    sends `Host: evil.example`).
//! 2. A request carrying `Origin` must come from the server's own origin (`http://` + its
//!    `Host`); `Sec-Fetch-Site: cross-site` or `same-site` is refused too. Else `403`.
//! 3. With a token (`--token`, `SHAKEDOWN_TOKEN`, `--token-file`), `Authorization: Bearer
//!    TOKEN` is required (compared in constant time), except for `GET /ui…`, the console's
//!    page, which asks for the token itself. Else `401`.
//! 4. A state-changing request (any method but `GET`, `HEAD`, `OPTIONS`) with a body must
//!    say `Content-Type: application/json`; one from a browser (carrying `Origin` or a
//!    `Sec-Fetch-*` header) must say so even without a body. Else `415`. Toxiproxy clients
//!    send bodiless `POST /reset` and `DELETE` without a content type, and a browser cannot
//!    send a request without those markers, so both keep working and no HTML form or
//!    `no-cors` fetch can change anything.

use std::net::{IpAddr, SocketAddr};

use http::{HeaderMap, Method, header};

use super::error::ApiError;

/// The rules one server applies.
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    token: Option<String>,
    listen: SocketAddr,
    allowed_hosts: Vec<String>,
    /// What the refusal of a `Host` suggests.
    host_hint: &'static str,
}

/// The host part of a `Host` value (`[::1]:8474` → `::1`, `Example.COM.` → `example.com`).
fn host_name(value: &str) -> String {
    let host = if let Some(rest) = value.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        value.rsplit_once(':').map_or(value, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                value
            }
        })
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn forbidden(message: String) -> ApiError {
    ApiError::new(403, message)
}

impl Guard {
    /// The rules of a server listening on `listen`.
    pub(crate) fn new(
        token: Option<String>,
        listen: SocketAddr,
        allowed_hosts: Vec<String>,
    ) -> Self {
        let allowed_hosts = allowed_hosts.iter().map(|h| host_name(h)).collect();
        Self {
            token,
            listen,
            allowed_hosts,
            host_hint: "allow a name with --allow-host",
        }
    }

    /// The same rules, suggesting `hint` when a `Host` is refused (a server without
    /// `--allow-host`).
    pub(crate) fn host_hint(self, hint: &'static str) -> Self {
        Self {
            host_hint: hint,
            ..self
        }
    }

    /// Check one request's method, path and headers.
    pub(crate) fn check(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let Some(host) = text(header::HOST) else {
            return Err(forbidden("the request has no Host header".into()));
        };
        if !self.host_allowed(&host_name(host)) {
            return Err(forbidden(format!(
                "Host {host:?} is not this server ({})",
                self.host_hint
            )));
        }
        let origin = text(header::ORIGIN);
        if let Some(origin) = origin
            && origin != format!("http://{host}")
        {
            return Err(forbidden(format!(
                "cross-origin request refused (Origin {origin:?})"
            )));
        }
        let site = text(header::HeaderName::from_static("sec-fetch-site"));
        if let Some(site @ ("cross-site" | "same-site")) = site {
            return Err(forbidden(format!(
                "cross-origin request refused (Sec-Fetch-Site {site})"
            )));
        }
        self.check_token(method, path, headers)?;
        let reading = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let browser =
            origin.is_some() || headers.keys().any(|k| k.as_str().starts_with("sec-fetch-"));
        let has_body = text(header::TRANSFER_ENCODING).is_some()
            || text(header::CONTENT_LENGTH).is_some_and(|n| n.trim() != "0");
        let json = text(header::CONTENT_TYPE).is_some_and(|t| {
            t.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
        if !reading && (has_body || browser) && !json {
            return Err(ApiError::new(
                415,
                "a request that changes state must send Content-Type: application/json",
            ));
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        match host.parse::<IpAddr>() {
            Ok(ip) => {
                ip.is_loopback()
                    || ip == self.listen.ip()
                    || self.listen.ip().is_unspecified()
                    || self.allowed_hosts.iter().any(|h| h.parse() == Ok(ip))
            }
            Err(_) => host == "localhost" || self.allowed_hosts.iter().any(|h| h == host),
        }
    }

    fn check_token(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        let console_page = *method == Method::GET && (path == "/ui" || path.starts_with("/ui/"));
        if console_page {
            return Ok(());
        }
        match crate::bearer::check(token, headers) {
            Ok(()) => Ok(()),
            Err(crate::bearer::Refused::Wrong) => Err(ApiError::new(401, "wrong bearer token")),
            Err(crate::bearer::Refused::Missing) => Err(ApiError::new(
                401,
                "this server requires a token: send Authorization: Bearer TOKEN",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_lose_their_port_case_and_final_dot() {
        assert_eq!(host_name("127.0.0.1:8474"), "127.0.0.1");
        assert_eq!(host_name("[::1]:8474"), "::1");
        assert_eq!(host_name("LocalHost."), "localhost");
        assert_eq!(host_name("example.com"), "example.com");
    }

    #[test]
    fn hosts_are_loopback_the_listen_address_or_allowed() {
        let listen: SocketAddr = "10.1.2.3:8474".parse().unwrap_or_else(|_| unreachable!());
        let g = Guard::new(None, listen, vec!["Chaos.Example:8474".into()]);
        for ok in ["127.0.0.1", "::1", "localhost", "10.1.2.3", "chaos.example"] {
            assert!(g.host_allowed(ok), "{ok}");
        }
        for bad in ["10.1.2.4", "evil.example", "localhost.evil.example", ""] {
            assert!(!g.host_allowed(bad), "{bad}");
        }
        let any: SocketAddr = "0.0.0.0:8474".parse().unwrap_or_else(|_| unreachable!());
        let g = Guard::new(Some("t".into()), any, Vec::new());
        assert!(g.host_allowed("192.168.1.9") && !g.host_allowed("evil.example"));
    }
}
