//! The target: an `http://` URL parsed once into what the client needs to connect and address requests.

use std::net::SocketAddr;

use http::{HeaderValue, Uri};

/// Where requests go.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// The address when the host is an IP literal (no resolution needed).
    pub addr: Option<SocketAddr>,
    /// The `Host` header value.
    pub authority: HeaderValue,
    /// Path and query of the URL (the default request's path).
    pub path: String,
}

impl Target {
    /// Parse an `http://` URL.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("invalid URL {url:?}: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(other) => {
                return Err(format!(
                    "unsupported scheme {other:?} in {url:?} (http only)"
                ));
            }
            None => return Err(format!("URL {url:?} needs a scheme, e.g. http://{url}")),
        }
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
        let port = authority.port_u16().unwrap_or(80);
        let addr = host.parse().ok().map(|ip| SocketAddr::new(ip, port));
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
        Ok(Self {
            url: url.to_string(),
            host,
            port,
            addr,
            authority: HeaderValue::from_str(authority.as_str())
                .map_err(|e| format!("invalid host in {url:?}: {e}"))?,
            path,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_say_why_not() {
        let t = Target::parse("http://127.0.0.1:9/x?y=1").unwrap();
        assert_eq!((t.port, t.path.as_str()), (9, "/x?y=1"));
        assert!(t.addr.is_some());
        let t = Target::parse("http://localhost").unwrap();
        assert_eq!((t.port, t.addr, t.path.as_str()), (80, None, "/"));
        assert_eq!(Target::parse("http://[::1]:8/").unwrap().host, "::1");
        assert!(
            Target::parse("https://a")
                .unwrap_err()
                .contains("http only")
        );
        assert!(Target::parse("a:80").is_err());
        assert!(Target::parse("http://").is_err());
    }
}
