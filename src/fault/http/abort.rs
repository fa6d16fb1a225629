//! `http_abort {status, body?, headers?}`: answer without contacting the upstream.

use bytes::Bytes;
use http::StatusCode;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::{Answer, Header, HttpFault, Matcher, Verdict, http_behaviour};
use crate::fault::FaultError;
use crate::fault::attrs::Attributes;
use crate::fault::catalog::Attr;
use crate::fault::kind::Kind;

/// Answer `status` with `headers` and `body`.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAbort {
    /// Which requests.
    pub matcher: Box<Matcher>,
    /// The status (200..=599; required). A 204, 205 or 304 has no body.
    pub status: StatusCode,
    /// Extra response headers, none of [`framing::RESERVED`](super::framing::RESERVED).
    pub headers: Vec<Header>,
    /// The response body (empty by default).
    pub body: Bytes,
}

impl Kind for HttpAbort {
    const NAME: &'static str = "http_abort";
    const ATTRIBUTES: &'static [Attr] = http_attributes!(
        Attr::count("status", "The status to answer.")
            .range(200, 599)
            .required(),
        Attr::text("body", "The response body (empty by default)."),
        Attr::object("headers", "Extra response headers, {\"name\": \"value\"}."),
    );
    const HTTP: bool = true;

    /// A `body` with a status that has none (204, 304) is refused, as is a
    /// [`framing::RESERVED`](super::framing::RESERVED) header in `headers`.
    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let status = super::status(a, "status")?.ok_or_else(|| {
            FaultError::field(
                "attributes.status",
                "required (a final HTTP status in 200..=599)",
            )
        })?;
        let body = super::body(a, "body")?.unwrap_or_default();
        super::framing::check_body(Some(status), "body", !body.is_empty())?;
        Ok(Self {
            status,
            headers: super::headers(a, "headers")?,
            body,
            matcher: Box::new(Matcher::from_attributes(a)?),
        })
    }
}

impl HttpAbort {
    fn render_own(&self, map: &mut Map<String, Value>) {
        map.insert("status".into(), Value::from(self.status.as_u16()));
        if !self.body.is_empty() {
            super::render_body(map, "body", &self.body);
        }
        if !self.headers.is_empty() {
            map.insert("headers".into(), super::render_headers(&self.headers));
        }
    }
}

impl HttpFault for HttpAbort {
    fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    fn verdict(&self, _: &mut StdRng) -> Verdict {
        Verdict::Answer(Answer {
            status: self.status,
            headers: self.headers.clone(),
            body: self.body.clone(),
            trailers: Vec::new(),
        })
    }
}

http_behaviour!(HttpAbort);
