//! Which toxics a fault may name, and their attributes: the proxy's own vocabulary
//! ([`crate::fault::ToxicKind`]), so a file is checked exactly as the control API would.

use serde_json::{Map, Value};

use crate::fault::{FaultError, ToxicKind};

/// A toxic the control API would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ToxicError {
    /// Not a known toxic type (empty: none given).
    #[error("{}, expected one of {list}", if .0.is_empty() { "the toxic type is empty".to_string() } else { format!("unknown toxic type `{}`", .0) }, list = ToxicKind::TYPES.join(", "))]
    UnknownType(String),
    /// An attribute unknown to the type, or of the wrong kind.
    #[error("{message}")]
    Attribute {
        /// Attribute name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// A toxic type and its attributes, as the control API would read them.
pub(super) fn parse(kind: &str, attributes: &Map<String, Value>) -> Result<ToxicKind, ToxicError> {
    match ToxicKind::from_wire(kind, attributes) {
        Ok(kind) => Ok(kind),
        Err(FaultError::InvalidType(t)) => Err(ToxicError::UnknownType(t)),
        Err(FaultError::Field { field, message }) => Err(ToxicError::Attribute {
            name: field.trim_start_matches("attributes.").to_string(),
            message,
        }),
        Err(e) => Err(ToxicError::Attribute {
            name: String::new(),
            message: e.to_string(),
        }),
    }
}
