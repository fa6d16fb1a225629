//! Forwarding: the request as the upstream gets it, the response as the client gets it, and
//! the proxy's own error answers (400, 502) with their reason in `x-shakedown-error`.

use std::net::SocketAddr;

use bytes::Bytes;
use http::header::{self, HeaderName};
use http::request::Parts;
use http::uri::{self, Authority, PathAndQuery, Scheme};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Uri, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::ProxyBody;

/// The header carrying the reason of an error the proxy answered itself.
pub(crate) const ERROR_HEADER: &str = "x-shakedown-error";

/// Whether `name` is a hop-by-hop header, never forwarded (RFC 9110 §7.6.1). A `match` on
/// the name's text, which the compiler turns into a switch on its length: cheaper than
/// comparing `HeaderName`s one by one (a `const` array of them was also built and dropped at
/// each use, about 400 instructions per request).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
    )
}

/// Remove the hop-by-hop headers and those `connection` names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // One pass over the few headers a message has, comparing names (no parsing, no hashing),
    // then a removal for each one present: most messages carry none, or only `connection`.
    let mut present: Vec<HeaderName> = headers
        .keys()
        .filter(|k| is_hop_by_hop(k))
        .cloned()
        .collect();
    if present.is_empty() {
        return;
    }
    // The names `connection` lists, except its usual options (no header of those names).
    for value in headers.get_all(header::CONNECTION) {
        for option in value.to_str().unwrap_or_default().split(',') {
            let option = option.trim();
            if option.is_empty()
                || option.eq_ignore_ascii_case("keep-alive")
                || option.eq_ignore_ascii_case("close")
            {
                continue;
            }
            if let Ok(name) = HeaderName::from_bytes(option.as_bytes()) {
                present.push(name);
            }
        }
    }
    for name in present {
        headers.remove(name);
    }
}

fn via(version: Version) -> HeaderValue {
    HeaderValue::from_static(match version {
        Version::HTTP_2 => "2 shakedown",
        Version::HTTP_10 => "1.0 shakedown",
        _ => "1.1 shakedown",
    })
}

/// The form of the request target sent upstream.
#[derive(Debug, Clone, Copy)]
pub(super) enum Form {
    /// `scheme://upstream/path?query`, for the pooled clients (which connect to the URI's
    /// authority); the scheme is `http` or `https`.
    Absolute(&'static str),
    /// `/path?query`, for a connection already open to the upstream.
    Origin,
}

/// The request for `upstream` (`host:port`) with its target in `form`: HTTP/1.1 (the
/// upstream client may still choose h2 by ALPN), no hop-by-hop headers, the client's `host`
/// (from `:authority` on h2, else `upstream`) kept, `via` and `x-forwarded-for` (`xff`, the
/// client's address from [`forwarded_for`], when known) appended, the body streamed as it
/// comes.
///
/// # Errors
/// `upstream` is not a valid URI authority (absolute form only).
pub(super) fn request(
    mut parts: Parts,
    body: Incoming,
    form: Form,
    upstream: &str,
    xff: Option<HeaderValue>,
) -> Result<Request<ProxyBody>, String> {
    if !parts.headers.contains_key(header::HOST) {
        let host = parts.uri.authority().map_or(upstream, Authority::as_str);
        if let Ok(v) = HeaderValue::from_str(host) {
            parts.headers.insert(header::HOST, v);
        }
    }
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.append(header::VIA, via(parts.version));
    if let Some(v) = xff {
        parts.headers.append("x-forwarded-for", v);
    }
    let path = || {
        parts
            .uri
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"))
    };
    match form {
        // An HTTP/1 request's target is already `/path?query`, unless the client sent the
        // absolute form (or `*`).
        Form::Origin if parts.uri.scheme().is_none() && parts.uri.path().starts_with('/') => {}
        Form::Origin => parts.uri = Uri::from(path()),
        Form::Absolute(scheme) => {
            let mut uri = uri::Parts::default();
            uri.scheme = Some(if scheme == "https" {
                Scheme::HTTPS
            } else {
                Scheme::HTTP
            });
            uri.authority = Some(
                upstream
                    .parse::<Authority>()
                    .map_err(|e| format!("bad upstream URI: {e}"))?,
            );
            uri.path_and_query = Some(path());
            parts.uri = Uri::from_parts(uri).map_err(|e| format!("bad upstream URI: {e}"))?;
        }
    }
    parts.version = Version::HTTP_11;
    Ok(Request::from_parts(
        parts,
        body.map_err(Into::into).boxed_unsync(),
    ))
}

/// The `x-forwarded-for` value of client `peer`: its IP address.
pub(super) fn forwarded_for(peer: SocketAddr) -> Option<HeaderValue> {
    HeaderValue::from_str(&peer.ip().to_string()).ok()
}

/// `req` sent as HTTP/2 (to an h2c upstream, with prior knowledge).
pub(super) fn as_h2(mut req: Request<ProxyBody>) -> Request<ProxyBody> {
    *req.version_mut() = Version::HTTP_2;
    req
}

/// The upstream's response for the client (`version` is the client's): hop-by-hop headers
/// removed, `via` appended, the body streamed.
pub(super) fn response(response: Response<Incoming>, version: Version) -> Response<ProxyBody> {
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts.headers.append(header::VIA, via(version));
    parts.version = version;
    Response::from_parts(parts, body.map_err(Into::into).boxed_unsync())
}

/// A whole body.
pub(super) fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// The longest reason [`error`] answers, in characters; a longer one is cut there and ends
/// `...`, so no request can make the proxy echo an unbounded header back.
const REASON_MAX: usize = 1024;

/// An error the proxy answers itself: `status`, the reason in [`ERROR_HEADER`] and the body
/// (printable ASCII, at most [`REASON_MAX`] characters of it).
pub(super) fn error(status: StatusCode, reason: &str) -> Response<ProxyBody> {
    let mut printable: String = reason
        .chars()
        .take(REASON_MAX)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if reason.chars().nth(REASON_MAX).is_some() {
        printable.push_str("...");
    }
    let mut r = Response::new(full(Bytes::from(format!("shakedown: {printable}\n"))));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(&printable) {
        r.headers_mut().insert(ERROR_HEADER, v);
    }
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The reason an upstream exchange failed: `upstream: `, the error and its causes, `: `-joined.
pub(super) fn reason(error: &(dyn std::error::Error + 'static)) -> String {
    blamed("upstream", error)
}

/// `who: `, then `error` and its causes, `: `-joined (`client: …`, `upstream: …`).
pub(super) fn blamed(who: &str, error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = format!("{who}: {error}");
    let mut cause = error.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_those_connection_names_are_stripped() {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("connection", "keep-alive, X-Secret"),
            ("connection", "close"),
            ("keep-alive", "timeout=5"),
            ("x-secret", "1"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "h2c"),
            ("proxy-connection", "keep-alive"),
            ("x-kept", "1"),
            ("content-length", "2"),
        ] {
            h.append(k, HeaderValue::from_static(v));
        }
        strip_hop_by_hop(&mut h);
        let mut left: Vec<_> = h.keys().map(|k| k.as_str()).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-length", "x-kept"]);
        // None of them: nothing changes.
        let mut plain = HeaderMap::new();
        plain.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut plain);
        assert_eq!(plain.len(), 1);
    }
}
