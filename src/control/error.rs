//! Control API errors: a status and a message, rendered as Toxiproxy's `{"error": …, "status": N}`.

use serde_json::json;

use crate::fault::FaultError;

/// An error answered by the control API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (HTTP {status})")]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// The message, worded as Toxiproxy words it where it has an equivalent.
    pub message: String,
}

impl ApiError {
    /// An error with this status and message.
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400 `bad request body: {detail}`.
    pub fn bad_body(detail: impl std::fmt::Display) -> Self {
        Self::new(400, format!("bad request body: {detail}"))
    }

    /// 400 `missing required field: {field}`.
    pub fn missing(field: &str) -> Self {
        Self::new(400, format!("missing required field: {field}"))
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

    /// The same error with a field path prefix (`[2].` for populate entries).
    pub fn within(mut self, prefix: &str) -> Self {
        if prefix.is_empty() {
            return self;
        }
        if let Some(rest) = self.message.strip_prefix("bad request body: ") {
            self.message = format!("bad request body: {prefix}{rest}");
        } else if let Some(rest) = self.message.strip_prefix("missing required field: ") {
            self.message = format!("missing required field: {prefix}{rest}");
        } else if let Some(field) = prefix.strip_suffix('.') {
            // Before a message that starts with a field path (an inner prefix), the paths
            // join: `[1].toxics[0]: …`; before a sentence, the path is its subject:
            // `toxics[1]: invalid toxic type: …` (it read `toxics[1].invalid toxic type`).
            let first = self.message.split(' ').next().unwrap_or_default();
            let word = first.strip_suffix(':').unwrap_or(first);
            let led_by_path = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c))
                && (word.contains(['[', '.']) || first.ends_with(':'));
            self.message = if led_by_path {
                format!("{prefix}{}", self.message)
            } else {
                format!("{field}: {}", self.message)
            };
        } else {
            self.message = format!("{prefix}: {}", self.message);
        }
        self
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"error": self.message, "status": self.status})
    }
}

impl From<FaultError> for ApiError {
    fn from(error: FaultError) -> Self {
        match &error {
            FaultError::InvalidType(_) | FaultError::InvalidStream(_) => {
                ApiError::new(400, error.to_string())
            }
            FaultError::Field { .. } => ApiError::bad_body(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path prefix reads as the subject of a sentence, and joins an inner path.
    #[test]
    fn a_field_path_prefix_reads_as_a_subject() {
        let invalid = || ApiError::new(400, "invalid toxic type: \"nope\"");
        assert_eq!(
            invalid().within("toxics[1].").message,
            "toxics[1]: invalid toxic type: \"nope\""
        );
        assert_eq!(
            invalid().within("toxics[0].").within("[1].").message,
            "[1].toxics[0]: invalid toxic type: \"nope\""
        );
        assert_eq!(
            ApiError::toxic_exists()
                .within("toxics[1] \"a\"")
                .within("[0].")
                .message,
            "[0].toxics[1] \"a\": toxic already exists"
        );
        assert_eq!(
            ApiError::bad_body("attributes.latency: too long")
                .within("toxics[1].")
                .message,
            "bad request body: toxics[1].attributes.latency: too long"
        );
    }
}
