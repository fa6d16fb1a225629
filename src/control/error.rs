//! Control API errors: a status and a message, rendered as Toxiproxy's `{"error": …, "status": N}`;
//! an error about a field of the request body also names it as a path ([`ApiError::field`]),
//! so a file's reader can point at where the field was written.

use serde_json::json;

use crate::fault::FaultError;

/// An error answered by the control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (HTTP {status})")]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// The message, worded as Toxiproxy words it where it has an equivalent; the field at
    /// fault leads what is wrong (`bad request body: [1].toxics[0].toxicity: must be …`).
    pub message: String,
    /// The request body's field at fault as a path from the body's root (`listen`,
    /// `toxics[0].attributes.rate`, `[1].tls_key`; empty for the body itself), when the error
    /// is about one.
    pub field: Option<String>,
    /// The words before the field: `bad request body: `, `missing required field: ` or none.
    lead: &'static str,
    /// What is wrong, without the lead or the field.
    reason: String,
    /// Whether the message names the field (Toxiproxy words some errors without one, e.g.
    /// `invalid toxic type: …`, until they are found within a list).
    named: bool,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self::of(status, "", None, message.into(), false)
    }

    fn of(
        status: u16,
        lead: &'static str,
        field: Option<String>,
        reason: String,
        named: bool,
    ) -> Self {
        let mut e = Self {
            status,
            message: String::new(),
            field,
            lead,
            reason,
            named,
        };
        e.render();
        e
    }

    /// Compose `message` from its parts.
    fn render(&mut self) {
        let reason = &self.reason;
        self.message = match &self.field {
            Some(f) if self.named && !f.is_empty() && reason.is_empty() => {
                format!("{}{f}", self.lead)
            }
            Some(f) if self.named && !f.is_empty() => format!("{}{f}: {reason}", self.lead),
            _ => format!("{}{reason}", self.lead),
        };
    }

    /// 400 `bad request body: {detail}`, about no field in particular.
    pub fn bad_body(detail: impl std::fmt::Display) -> Self {
        Self::of(400, "bad request body: ", None, detail.to_string(), false)
    }

    /// 400 `bad request body: {field}: {reason}`.
    pub fn bad_field(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::of(
            400,
            "bad request body: ",
            Some(field.into()),
            reason.to_string(),
            true,
        )
    }

    /// `{field}: {reason}` with another status (`409` for a listen address in use).
    pub fn at(status: u16, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::of(status, "", Some(field.into()), reason.into(), true)
    }

    /// 400 `missing required field: {field}`.
    pub fn missing(field: &str) -> Self {
        Self::of(
            400,
            "missing required field: ",
            Some(field.to_string()),
            String::new(),
            true,
        )
    }

    /// 404 `proxy not found`.
    pub fn proxy_not_found() -> Self {
        Self::new(404, "proxy not found")
    }

    /// 409 `proxy already exists`.
    pub fn proxy_exists() -> Self {
        Self::new(409, "proxy already exists")
    }

    /// 404 `toxic not found`.
    pub fn toxic_not_found() -> Self {
        Self::new(404, "toxic not found")
    }

    /// 409 `toxic already exists`.
    pub fn toxic_exists() -> Self {
        Self::new(409, "toxic already exists")
    }

    /// The same error, about `field`, keeping its words (Toxiproxy's `invalid toxic type: …`
    /// is about `type`).
    pub fn about(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    /// The same error found at `path` of a larger body (`[2]` for the third `/populate`
    /// entry, `toxics[0]` for a proxy's first toxic): its field's path gains the prefix and
    /// leads the message (`bad request body: [2].toxics[0].toxicity: …`). An error about no
    /// field is about the item at `path` itself.
    pub fn within(mut self, path: &str) -> Self {
        let field = self.field.take().unwrap_or_default();
        self.field = Some(join(path, &field));
        self.named = true;
        self.render();
        self
    }

    /// What is wrong, without the lead or the field (`must be > 0`); `missing` for a missing
    /// required field.
    pub fn reason(&self) -> &str {
        if self.reason.is_empty() && self.lead.starts_with("missing") {
            "missing (a required field)"
        } else {
            &self.reason
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": self.message, "status": self.status})
    }
}

/// `path` then `field`, as a field path: `[0]` + `toxics[1].type` is `[0].toxics[1].type`,
/// `proxies` + `[0].listen` is `proxies[0].listen`.
pub fn join(path: &str, field: &str) -> String {
    match (path.is_empty(), field.is_empty()) {
        (true, _) => field.to_string(),
        (_, true) => path.to_string(),
        _ if field.starts_with('[') => format!("{path}{field}"),
        _ => format!("{path}.{field}"),
    }
}

impl From<FaultError> for ApiError {
    fn from(error: FaultError) -> Self {
        match error {
            FaultError::InvalidType(_) => ApiError::new(400, error.to_string()).about("type"),
            FaultError::InvalidStream(_) => ApiError::new(400, error.to_string()).about("stream"),
            FaultError::Field { field, message } => ApiError::bad_field(field, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list's path joins the field's, which then leads the message; an error Toxiproxy
    /// words without its field names it once inside a list.
    #[test]
    fn a_path_prefix_joins_the_fields_path() {
        let invalid = || ApiError::from(FaultError::InvalidType("nope".into()));
        assert!(
            invalid()
                .message
                .starts_with("invalid toxic type: \"nope\"")
        );
        assert_eq!(invalid().field.as_deref(), Some("type"));
        let inner = invalid().within("toxics[1]");
        assert!(
            inner
                .message
                .starts_with("toxics[1].type: invalid toxic type: \"nope\""),
            "{}",
            inner.message
        );
        let outer = inner.within("[0]");
        assert_eq!(outer.field.as_deref(), Some("[0].toxics[1].type"));
        assert!(outer.message.starts_with("[0].toxics[1].type: invalid"));
        let rate = ApiError::bad_field("attributes.rate", "must be > 0")
            .within("toxics[1]")
            .within("[2]");
        assert_eq!(
            rate.message,
            "bad request body: [2].toxics[1].attributes.rate: must be > 0"
        );
        assert_eq!(rate.field.as_deref(), Some("[2].toxics[1].attributes.rate"));
        assert_eq!(rate.reason(), "must be > 0");
        let missing = ApiError::missing("upstream").within("[0]");
        assert_eq!(missing.message, "missing required field: [0].upstream");
        assert_eq!(missing.reason(), "missing (a required field)");
        // An error about the item itself.
        let item = ApiError::bad_body("expected a proxy as a JSON object, got 3").within("[1]");
        assert_eq!(
            item.message,
            "bad request body: [1]: expected a proxy as a JSON object, got 3"
        );
        assert_eq!(item.field.as_deref(), Some("[1]"));
        assert_eq!(join("proxies", "[0].listen"), "proxies[0].listen");
    }
}
