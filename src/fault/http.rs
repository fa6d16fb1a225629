//! HTTP toxics: per-request faults of an HTTP-mode proxy, as pure decisions.
//!
//! An HTTP toxic is a [`Kind`](super::Kind) like the TCP ones, registered in `toxic_kinds!`,
//! whose [`Behaviour::http`](super::Behaviour::http) returns it as an [`HttpFault`]: a
//! [`Matcher`] (which requests it considers) and a [`Verdict`] (what it does to one of them).
//! Whether a matching request is faulted is [`faults`], a pure function of the toxicity, the
//! matcher's `first_n` and the request's number; the proxy (`crate::proxy::http`) acts on the
//! verdict and enforces `max_active`, the one rule that depends on what is in flight.
//!
//! Every HTTP toxic takes the matcher attributes ([`Matcher::ATTRIBUTES`]) beside its own.

/// An HTTP kind's attributes: its own, then the matcher's, which every HTTP toxic takes.
/// The one list of the matcher's attributes ([`Matcher::ATTRIBUTES`] is `http_attributes!()`).
macro_rules! http_attributes {
    ($($own:expr),* $(,)?) => {
        &[
            $($own,)*
            $crate::fault::catalog::Attr::text("method", "Only requests with this method (GET, POST, …)."),
            $crate::fault::catalog::Attr::text("path", "Only requests whose path starts with this prefix (/orders)."),
            $crate::fault::catalog::Attr::text("path_regex", "Only requests whose path matches this regular expression."),
            $crate::fault::catalog::Attr::text("header", "Only requests with this header: \"name\" or \"name: value\"."),
            $crate::fault::catalog::Attr::count("first_n", "Fault only the first N matching requests (0: no limit)."),
            $crate::fault::catalog::Attr::count("max_active", "At most this many faulted requests in flight (0: no limit)."),
        ]
    };
}

mod abort;
mod delay;
pub mod framing;
mod grpc_abort;
mod matcher;
mod reset;
mod tamper;
mod throttle;

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, StatusCode};
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::attrs::Attributes;
use super::{FaultError, Toxicity};

pub use abort::HttpAbort;
pub use delay::HttpDelay;
pub use grpc_abort::GrpcAbort;
pub use matcher::{Matcher, Pattern};
pub use reset::HttpReset;
pub use tamper::{HttpTamper, Tamper};
pub use throttle::HttpThrottle;

/// The response header that marks the response to every request a toxic faulted (whatever
/// the fault changed, even nothing: an `http_delay` of 0), one value per such toxic: its
/// name (`header` for a header-driven fault). The proxy's own 400 and 502 answers are not
/// marked.
pub const MARKER: &str = "x-shakedown-fault";

/// A header to set: name and value, both validated.
pub type Header = (HeaderName, HeaderValue);

/// An HTTP toxic: which requests it considers and what it does to a faulted one.
pub trait HttpFault {
    /// The requests it considers.
    fn matcher(&self) -> &Matcher;
    /// What it does to one faulted request; `rng` is that request's own generator.
    fn verdict(&self, rng: &mut StdRng) -> Verdict;
}

/// What the proxy does to one faulted request.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Answer without contacting the upstream.
    Answer(Answer),
    /// Wait `request` before forwarding, and `response` before passing the response head on.
    Delay {
        /// Before the request is forwarded.
        request: Duration,
        /// Before the response head is passed on.
        response: Duration,
    },
    /// Drop the client connection with a TCP RST.
    Reset,
    /// Pass the response body on at this many bytes per second.
    Throttle {
        /// Bytes per second.
        bytes_per_sec: u64,
    },
    /// Rewrite the upstream's response.
    Tamper(Tamper),
}

/// A fabricated response.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Headers beyond the marker.
    pub headers: Vec<Header>,
    /// Its body.
    pub body: Bytes,
    /// Trailers sent after the body (gRPC's `grpc-status`); empty for none.
    pub trailers: Vec<Header>,
}

/// Whether a matching request is faulted: it is among the first `first_n` matching requests
/// (when `first_n` > 0) and its draw is below the toxicity. `number` counts the toxic's
/// matching requests from 1 since the toxic was created; `draw` is that request's fixed draw
/// ([`super::roll::DecisionKey::request_draw`]).
pub fn faults(toxicity: Toxicity, matcher: &Matcher, number: u64, draw: f64) -> bool {
    (matcher.first_n == 0 || number <= matcher.first_n) && toxicity.affects(draw)
}

/// A status attribute in 200..=599: a final response (a 1xx is informational, never an
/// answer, so clients would see a broken exchange instead of the fault).
fn status(a: &Attributes<'_>, name: &str) -> Result<Option<StatusCode>, FaultError> {
    if !a.has(name) {
        return Ok(None);
    }
    let n = a.integer(name)?;
    u16::try_from(n)
        .ok()
        .filter(|n| (200..=599).contains(n))
        .and_then(|n| StatusCode::from_u16(n).ok())
        .map(Some)
        .ok_or_else(|| {
            FaultError::field(
                format!("attributes.{name}"),
                format!("must be a final HTTP status in 200..=599, got {n}"),
            )
        })
}

/// A header object attribute (`{"name": "value"}`), each name and value checked; a
/// [`framing::RESERVED`] name is refused.
fn headers(a: &Attributes<'_>, name: &str) -> Result<Vec<Header>, FaultError> {
    a.string_map(name)?
        .into_iter()
        .map(|(k, v)| {
            let field = || format!("attributes.{name}.{k}");
            let bad = |what: &str| FaultError::field(field(), format!("invalid header {what}"));
            let header = HeaderName::from_bytes(k.as_bytes()).map_err(|_| bad("name"))?;
            framing::check(field, &header)?;
            Ok((header, HeaderValue::from_str(v).map_err(|_| bad("value"))?))
        })
        .collect()
}

/// Render headers back to the wire object.
fn render_headers(headers: &[Header]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    Value::from(String::from_utf8_lossy(v.as_bytes()).into_owned()),
                )
            })
            .collect(),
    )
}

/// A body attribute (a string), as bytes.
fn body(a: &Attributes<'_>, name: &str) -> Result<Option<Bytes>, FaultError> {
    Ok(a.text(name)?.map(|s| Bytes::copy_from_slice(s.as_bytes())))
}

/// Render a body back to the wire string.
fn render_body(map: &mut Map<String, Value>, name: &str, body: &Bytes) {
    map.insert(
        name.to_string(),
        Value::from(String::from_utf8_lossy(body).into_owned()),
    );
}

#[cfg(test)]
mod tests;

/// The [`Behaviour`](super::Behaviour) of an HTTP kind: it acts through
/// [`Behaviour::http`](super::Behaviour::http) only, and renders its matcher and its own
/// attributes (written by the kind's `render_own`).
macro_rules! http_behaviour {
    ($ty:ty) => {
        impl $crate::fault::kind::Behaviour for $ty {
            fn http(&self) -> Option<&dyn $crate::fault::http::HttpFault> {
                Some(self)
            }

            fn to_wire(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
                let mut map = serde_json::Map::new();
                self.render_own(&mut map);
                $crate::fault::http::HttpFault::matcher(self).render(&mut map);
                Some(map)
            }
        }
    };
}
use http_behaviour;
