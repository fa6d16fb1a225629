//! The framing of what an HTTP toxic fabricates or rewrites belongs to the proxy: which
//! headers a toxic may not set or remove ([`RESERVED`]), and which statuses carry no body
//! ([`bodiless`]).
//!
//! A `content-length` that disagrees with the body, or a `transfer-encoding` the body does
//! not follow, breaks the exchange for the client (and a keep-alive client reads the next
//! response out of step); the hop-by-hop headers belong to one connection, not to the
//! message. So the toxics' `headers`, `set_headers` and `remove_headers` refuse them, and the
//! proxy sets the framing of every response from its body (`crate::proxy::http`).

use http::{HeaderName, StatusCode};

use crate::fault::FaultError;

/// The headers no HTTP toxic may set or remove: `content-length` and `transfer-encoding`
/// (the body's framing, which the proxy sets from the body it sends), and the hop-by-hop
/// headers of RFC 9110 §7.6.1 (`connection`, `keep-alive`, `proxy-connection`, `te`,
/// `trailer`, `upgrade`, `proxy-authenticate`, `proxy-authorization`), which concern one
/// connection and which the proxy never forwards. Lowercase, as header names compare.
pub const RESERVED: [&str; 10] = [
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Whether `name` is one of [`RESERVED`].
pub fn is_reserved(name: &HeaderName) -> bool {
    RESERVED.contains(&name.as_str())
}

/// `Err` naming `field` when `name` is one of [`RESERVED`].
pub(super) fn check(field: impl FnOnce() -> String, name: &HeaderName) -> Result<(), FaultError> {
    if !is_reserved(name) {
        return Ok(());
    }
    let why = if matches!(name.as_str(), "content-length" | "transfer-encoding") {
        "frames the body, which the proxy sets from the body it sends"
    } else {
        "is a hop-by-hop header, which the proxy never forwards"
    };
    Err(FaultError::field(
        field(),
        format!(
            "{name} cannot be set or removed by a toxic: it {why} (reserved: {})",
            RESERVED.join(", ")
        ),
    ))
}

/// Whether a response of `status` has no body: 1xx, 204 No Content and 304 Not Modified
/// (RFC 9110 §6.4.1). Such a response goes out with neither a body nor `content-length` /
/// `transfer-encoding`.
pub fn bodiless(status: StatusCode) -> bool {
    status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
}

/// Whether a response of `status` carries no content: a [`bodiless`] one, or 205 Reset
/// Content, which "MUST NOT" (RFC 9110 §15.3.6) but is framed (`content-length: 0`).
pub fn contentless(status: StatusCode) -> bool {
    bodiless(status) || status == StatusCode::RESET_CONTENT
}

/// `Err` at `attributes.{field}` when a `field` (`body`, `truncate`) is given with a
/// [`contentless`] `status`.
pub(super) fn check_body(
    status: Option<StatusCode>,
    field: &str,
    given: bool,
) -> Result<(), FaultError> {
    match status {
        Some(s) if given && contentless(s) => Err(FaultError::field(
            format!("attributes.{field}"),
            format!(
                "a {} response has no body: remove `{field}` or choose another status",
                s.as_u16()
            ),
        )),
        _ => Ok(()),
    }
}
