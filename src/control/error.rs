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
        } else if prefix.ends_with('.') {
            self.message = format!("{prefix}{}", self.message);
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
