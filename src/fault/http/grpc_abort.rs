//! `grpc_abort {code, message?}`: a gRPC error: HTTP 200, `content-type: application/grpc`,
//! no message, and `grpc-status` / `grpc-message` in the trailers.

use http::{HeaderName, HeaderValue, StatusCode};
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::{Answer, HttpFault, Matcher, Verdict, http_behaviour};
use crate::fault::FaultError;
use crate::fault::attrs::Attributes;
use crate::fault::catalog::Attr;
use crate::fault::kind::Kind;

/// Answer with gRPC status `code` (1..=16) and `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct GrpcAbort {
    /// Which requests.
    pub matcher: Box<Matcher>,
    /// The gRPC status code, 1..=16 (14 is UNAVAILABLE).
    pub code: u8,
    /// The status message (sent percent-encoded in `grpc-message`).
    pub message: Option<String>,
}

impl Kind for GrpcAbort {
    const NAME: &'static str = "grpc_abort";
    const ATTRIBUTES: &'static [Attr] = http_attributes!(
        Attr::count("code", "The gRPC status code (14 is UNAVAILABLE).")
            .range(1, 16)
            .required(),
        Attr::text("message", "The status message."),
    );
    const HTTP: bool = true;

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        let code = a.integer("code")?;
        let code = u8::try_from(code)
            .ok()
            .filter(|c| (1..=16).contains(c))
            .ok_or_else(|| {
                FaultError::field(
                    "attributes.code",
                    format!("must be a gRPC status in 1..=16, got {code}"),
                )
            })?;
        let message = a.text("message")?.map(str::to_string);
        Ok(Self {
            matcher: Box::new(Matcher::from_attributes(a)?),
            code,
            message,
        })
    }
}

/// gRPC's percent-encoding of `grpc-message`: bytes outside printable ASCII and `%`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl GrpcAbort {
    fn render_own(&self, map: &mut Map<String, Value>) {
        map.insert("code".into(), Value::from(self.code));
        if let Some(m) = &self.message {
            map.insert("message".into(), Value::from(m.as_str()));
        }
    }
}

impl HttpFault for GrpcAbort {
    fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    fn verdict(&self, _: &mut StdRng) -> Verdict {
        let mut trailers = vec![(
            HeaderName::from_static("grpc-status"),
            HeaderValue::from(u16::from(self.code)),
        )];
        if let Some(m) = &self.message {
            // Printable ASCII after percent-encoding: always a valid header value.
            if let Ok(v) = HeaderValue::from_str(&percent_encode(m)) {
                trailers.push((HeaderName::from_static("grpc-message"), v));
            }
        }
        Verdict::Answer(Answer {
            status: StatusCode::OK,
            headers: vec![(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc"),
            )],
            body: bytes::Bytes::new(),
            trailers,
        })
    }
}

http_behaviour!(GrpcAbort);
