//! `http_tamper {status?, set_headers?, remove_headers?, body?, truncate?}`: rewrite the
//! upstream's response. `body` replaces the body; `truncate` (bytes) ends it after that many
//! bytes (absent: no cut; 0: an empty body). The proxy frames the result from the body it
//! sends (`content-length` or chunked); a bodiless `status` (204, 304) sends no body, so
//! `body` and `truncate` are refused with one. Framing and hop-by-hop headers are refused in
//! `set_headers` and `remove_headers` ([`super::framing::RESERVED`]).

use bytes::Bytes;
use http::{HeaderName, StatusCode};
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::{Header, HttpFault, Matcher, Verdict, http_behaviour};
use crate::fault::FaultError;
use crate::fault::attrs::Attributes;
use crate::fault::catalog::Attr;
use crate::fault::kind::Kind;

/// What to change in a response.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tamper {
    /// A new status. A bodiless one (204, 304) drops the body and its framing headers; a 205 sends an empty one.
    pub status: Option<StatusCode>,
    /// Headers to set (replacing any of the same name), none of
    /// [`framing::RESERVED`](super::framing::RESERVED).
    pub set_headers: Vec<Header>,
    /// Headers to remove, none of [`framing::RESERVED`](super::framing::RESERVED).
    pub remove_headers: Vec<HeaderName>,
    /// A new body.
    pub body: Option<Bytes>,
    /// Keep only this many bytes of the body (`None`: no cut; `Some(0)`: an empty body).
    pub truncate: Option<u64>,
}

/// Rewrite a response.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpTamper {
    /// Which requests.
    pub matcher: Box<Matcher>,
    /// The change.
    pub tamper: Box<Tamper>,
}

impl Kind for HttpTamper {
    const NAME: &'static str = "http_tamper";
    const ATTRIBUTES: &'static [Attr] = http_attributes!(
        Attr::count("status", "A new status.")
            .range(200, 599)
            .optional(),
        Attr::object(
            "set_headers",
            "Headers to set, replacing any of the same name."
        ),
        Attr::array("remove_headers", "Names of headers to remove."),
        Attr::text("body", "A new body."),
        Attr::bytes("truncate", "Keep only this many bytes of the body.").optional(),
    );
    const HTTP: bool = true;

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let remove_headers = a
            .strings("remove_headers")?
            .into_iter()
            .enumerate()
            .map(|(i, h)| {
                let field = || format!("attributes.remove_headers[{i}]");
                let name = HeaderName::from_bytes(h.as_bytes())
                    .map_err(|_| FaultError::field(field(), format!("not a header name: {h:?}")))?;
                super::framing::check(field, &name)?;
                Ok(name)
            })
            .collect::<Result<_, _>>()?;
        let status = super::status(a, "status")?;
        let body = super::body(a, "body")?;
        let truncate = a.has("truncate").then(|| a.bytes("truncate")).transpose()?;
        super::framing::check_body(status, "body", body.is_some())?;
        super::framing::check_body(status, "truncate", truncate.is_some())?;
        Ok(Self {
            matcher: Box::new(Matcher::from_attributes(a)?),
            tamper: Box::new(Tamper {
                status,
                set_headers: super::headers(a, "set_headers")?,
                remove_headers,
                body,
                truncate,
            }),
        })
    }
}

impl HttpTamper {
    fn render_own(&self, map: &mut Map<String, Value>) {
        let t = &self.tamper;
        if let Some(s) = t.status {
            map.insert("status".into(), Value::from(s.as_u16()));
        }
        if !t.set_headers.is_empty() {
            map.insert("set_headers".into(), super::render_headers(&t.set_headers));
        }
        if !t.remove_headers.is_empty() {
            let names = t.remove_headers.iter().map(|h| Value::from(h.as_str()));
            map.insert("remove_headers".into(), Value::Array(names.collect()));
        }
        if let Some(b) = &t.body {
            super::render_body(map, "body", b);
        }
        if let Some(n) = t.truncate {
            map.insert("truncate".into(), Value::from(n));
        }
    }
}

impl HttpFault for HttpTamper {
    fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    fn verdict(&self, _: &mut StdRng) -> Verdict {
        Verdict::Tamper((*self.tamper).clone())
    }
}

http_behaviour!(HttpTamper);
