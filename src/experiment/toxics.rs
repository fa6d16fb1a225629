//! Which toxics a fault may name, and their attributes (Toxiproxy's vocabulary).

use serde_json::{Map, Value};

/// Toxic types and their attribute names; every attribute is a non-negative integer.
pub const TOXICS: &[(&str, &[&str])] = &[
    ("latency", &["latency", "jitter"]),
    ("bandwidth", &["rate"]),
    ("slow_close", &["delay"]),
    ("timeout", &["timeout"]),
    ("reset_peer", &["timeout"]),
    ("slicer", &["average_size", "size_variation", "delay"]),
    ("limit_data", &["bytes"]),
    ("noop", &[]),
];

/// A toxic the control API would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToxicError {
    /// Not a known toxic type.
    #[error("unknown toxic type `{0}`, expected one of {list}", list = type_names())]
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

fn type_names() -> String {
    TOXICS
        .iter()
        .map(|(t, _)| *t)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Check a toxic type and its attributes.
pub fn check(kind: &str, attributes: &Map<String, Value>) -> Result<(), ToxicError> {
    let Some((_, names)) = TOXICS.iter().find(|(t, _)| *t == kind) else {
        return Err(ToxicError::UnknownType(kind.to_string()));
    };
    for (name, value) in attributes {
        if !names.contains(&name.as_str()) {
            return Err(ToxicError::Attribute {
                name: name.clone(),
                message: format!(
                    "`{kind}` has no attribute `{name}` (it has: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            });
        }
        if value.as_u64().is_none() {
            return Err(ToxicError::Attribute {
                name: name.clone(),
                message: format!("{value} must be a non-negative integer"),
            });
        }
    }
    Ok(())
}
