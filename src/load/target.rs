//! URLs: the one strict `http://` and `https://` parser of shakedown, and the load target
//! built on it.
//!
//! [`parse_http_url`] is used for the load target and for the experiment's HTTP probe
//! and `ready` URLs, so that every URL is judged by the same rule: scheme `http` or
//! `https`, a host, and a port that is absent (80 or 443) or in 1–65535. `http::Uri` alone accepts any digits
//! as a port and its users fall back to port 80 when they do not fit in 16 bits; here a
//! port out of range is an error.

use std::net::SocketAddr;

use http::{HeaderValue, Uri};
use rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::tls::{self, TlsOptions};

/// The highest TCP port.
const MAX_PORT: u32 = 65_535;

/// An `http://` or `https://` URL, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Whether the scheme is `https`.
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// TCP port: the URL's (1–65535), or 80 (443 for `https`) when it names none.
    pub port: u16,
    /// `host[:port]` as written, for the `Host` header.
    pub authority: String,
    /// Path and query (`/` when empty).
    pub path: String,
}

/// Parse `url` as `http[s]://host[:port][/path][?query]`.
///
/// # Errors
/// A message naming the URL and what is wrong: not a URL, a scheme other than `http` or
/// `https`, no host, or a port that is 0 or above 65535.
pub fn parse_http_url(url: &str) -> Result<HttpUrl, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
    let tls = match uri.scheme_str() {
        Some("http") => false,
        Some("https") => true,
        Some(other) => {
            return Err(format!(
                "unsupported scheme {other:?} in {url:?} (http or https)"
            ));
        }
        None => return Err(format!("URL {url:?} needs a scheme, e.g. http://{url}")),
    };
    let authority = uri
        .authority()
        .ok_or_else(|| format!("URL {url:?} has no host"))?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if host.is_empty() {
        return Err(format!("URL {url:?} has no host"));
    }
    let port = match port_text(authority.as_str()) {
        None | Some("") if tls => 443,
        None | Some("") => 80,
        Some(p) => match p.parse::<u32>() {
            Ok(n @ 1..=MAX_PORT) => n as u16,
            _ => {
                return Err(format!(
                    "port {p} in {url:?} is out of range (1-{MAX_PORT})"
                ));
            }
        },
    };
    Ok(HttpUrl {
        tls,
        host,
        port,
        authority: authority.as_str().to_string(),
        path: uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
    })
}

/// The port as written in `authority` (`[user@]host[:port]`, the host possibly `[v6]`):
/// read here because `http::Authority::port` answers `None` for digits that do not fit in
/// 16 bits, which its users take for "no port" (80).
fn port_text(authority: &str) -> Option<&str> {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(_, rest)| rest),
        None => host_port.find(':').map_or("", |i| &host_port[i..]),
    };
    after_host.strip_prefix(':')
}

/// Where requests go.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// The URL as given.
    pub(crate) url: String,
    /// Host name or address.
    pub(crate) host: String,
    /// TCP port.
    pub(crate) port: u16,
    /// The address when the host is an IP literal (no resolution needed).
    pub(crate) addr: Option<SocketAddr>,
    /// The `Host` header value.
    pub(crate) authority: HeaderValue,
    /// Path and query of the URL (the default request's path).
    pub(crate) path: String,
    /// `https`: how connections are secured; `None` for `http`.
    pub(crate) tls: Option<TargetTls>,
}

/// How the load driver secures its connections to an `https` target.
#[derive(Clone)]
pub(crate) struct TargetTls {
    /// The client settings (roots, `ca`, `insecure`, ALPN h2 and http/1.1).
    pub(crate) connector: TlsConnector,
    /// The name sent (SNI) and verified: the URL's host.
    pub(crate) name: ServerName<'static>,
    /// Why handshakes and connections failed as [`super::ErrorClass::Tls`], as they do (the
    /// report's `error_reasons`).
    pub(crate) reasons: std::sync::Arc<super::errors::ReasonLog>,
}

impl std::fmt::Debug for TargetTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetTls")
            .field("name", &self.name)
            .finish()
    }
}

/// Why a target cannot be used: the field at fault and the message.
pub(crate) type TargetError = (&'static str, String);

impl Target {
    /// Parse an `http://` or `https://` URL (see [`parse_http_url`]); an `https` target
    /// verifies servers following `options`.
    ///
    /// # Errors
    /// `("target", why)` for the URL, `("tls.ca", why)` for a CA file that cannot be used,
    /// `("tls.cert", why)` or `("tls.key", why)` for a client identity that cannot be.
    pub(crate) fn parse(url: &str, options: &TlsOptions) -> Result<Self, TargetError> {
        let u = parse_http_url(url).map_err(|e| ("target", e))?;
        let tls = if u.tls {
            let config = tls::client_config(options).map_err(|e| (e.field(), e.to_string()))?;
            Some(TargetTls {
                connector: TlsConnector::from(config),
                name: tls::server_name(&u.host).map_err(|e| ("target", e))?,
                reasons: std::sync::Arc::default(),
            })
        } else {
            None
        };
        Ok(Self {
            tls,
            url: url.to_string(),
            addr: u.host.parse().ok().map(|ip| SocketAddr::new(ip, u.port)),
            authority: HeaderValue::from_str(&u.authority)
                .map_err(|e| ("target", format!("invalid host in {url:?}: {e}")))?,
            host: u.host,
            port: u.port,
            path: u.path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Result<Target, String> {
        Target::parse(url, &TlsOptions::default()).map_err(|(_, e)| e)
    }

    #[test]
    fn urls_parse_or_say_why_not() {
        let t = parse("http://127.0.0.1:9/x?y=1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (9, "/x?y=1"));
        assert!(t.addr.is_some() && t.tls.is_none());
        let t = parse("http://localhost").unwrap();
        assert_eq!((t.port, t.addr, t.path.as_str()), (80, None, "/"));
        assert_eq!(parse("http://[::1]:8/").unwrap().host, "::1");
        let t = parse("https://localhost/x").unwrap();
        assert_eq!((t.port, t.path.as_str()), (443, "/x"));
        assert!(t.tls.is_some());
        assert_eq!(parse("https://127.0.0.1:8443").unwrap().port, 8443);
        assert!(parse("ftp://a").unwrap_err().contains("(http or https)"));
        assert!(parse("a:80").is_err());
        assert!(parse("http://").is_err());
        let missing = TlsOptions {
            ca: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let (field, e) = Target::parse("https://localhost/", &missing).unwrap_err();
        assert_eq!(field, "tls.ca");
        assert!(e.starts_with("/nonexistent/ca.pem: "), "{e}");
        // A CA file matters only to https.
        assert!(Target::parse("http://localhost/", &missing).is_ok());
    }

    #[test]
    fn a_port_is_in_range_or_an_error() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:65535/").unwrap().port,
            65535
        );
        assert_eq!(parse_http_url("http://127.0.0.1:1").unwrap().port, 1);
        assert_eq!(parse_http_url("http://[::1]:443/x").unwrap().port, 443);
        for bad in ["0", "65536", "99999", "18446744073709551617"] {
            let e = parse_http_url(&format!("http://127.0.0.1:{bad}/")).unwrap_err();
            assert!(e.contains(&format!("port {bad} ")), "{bad}: {e}");
            assert!(e.contains("out of range (1-65535)"), "{bad}: {e}");
        }
    }
}
