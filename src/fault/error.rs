//! Why a toxic cannot be built: an unknown type or stream, or a field's bad value.

use super::ToxicKind;

/// A toxic that cannot be built from what was supplied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The `type` is not one of [`ToxicKind::TYPES`]; empty when it is missing or `null`
    /// (said so: `invalid toxic type: missing, null or empty (expected one of …)`).
    #[error("invalid toxic type: {} (expected one of {types})", shown_type(.0), types = ToxicKind::TYPES.join(", "))]
    InvalidType(String),
    /// The `stream` is neither `upstream` nor `downstream`.
    #[error("stream was invalid, can be either upstream or downstream (got {0:?})")]
    InvalidStream(String),
    /// A field has a bad value.
    #[error("{field}: {message}")]
    Field {
        /// Field path such as `attributes.rate`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

/// The type as an error shows it: quoted, or `missing` for none.
fn shown_type(type_name: &str) -> String {
    if type_name.is_empty() {
        "missing, null or empty".to_string()
    } else {
        format!("{type_name:?}")
    }
}

impl FaultError {
    /// A bad value in `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        FaultError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}
