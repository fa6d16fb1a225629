//! A toxic as the control API stores it: its name, the [`Stream`] it acts on, its
//! [`Toxicity`] and its kind.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{FaultError, ToxicKind};

/// Which direction of a connection a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client → upstream (requests).
    Upstream,
    /// Upstream → client (responses). Toxiproxy's default.
    #[default]
    Downstream,
}

impl Stream {
    /// The wire name, `upstream` or `downstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }

    /// Parse a wire name.
    pub fn parse(text: &str) -> Result<Self, FaultError> {
        match text {
            "upstream" => Ok(Stream::Upstream),
            "downstream" => Ok(Stream::Downstream),
            _ => Err(FaultError::InvalidStream(text.to_string())),
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The probability, in `0.0..=1.0`, that a toxic affects a given connection.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Toxicity(f64);

impl Toxicity {
    /// Every connection is affected (the default).
    pub const ALWAYS: Toxicity = Toxicity(1.0);

    /// A validated toxicity.
    pub fn new(value: f64) -> Result<Self, FaultError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Toxicity(value))
        } else {
            Err(FaultError::field(
                "toxicity",
                format!("must be between 0 and 1, got {value}"),
            ))
        }
    }

    /// The probability as a number.
    pub fn value(self) -> f64 {
        self.0
    }

    /// Whether a connection whose fixed draw (uniform in `[0, 1)`) is `draw`
    /// is affected: `draw < toxicity`. Toxicity 1 affects every connection,
    /// 0 none, and raising the toxicity only ever adds connections.
    pub fn affects(self, draw: f64) -> bool {
        draw < self.0
    }
}

impl Default for Toxicity {
    fn default() -> Self {
        Toxicity::ALWAYS
    }
}

/// As a plain number: `1`, `0.5` (never `1.0`): how the journal and the `fault` commands print
/// it.
impl fmt::Display for Toxicity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A toxic view's (the control API's JSON for one toxic) `toxicity` as printed: as
/// [`Toxicity`]'s `Display`; `1` when absent, the number as given when out of range.
pub fn toxicity_text(view: &Value) -> String {
    match view["toxicity"].as_f64() {
        None => Toxicity::ALWAYS.to_string(),
        Some(t) => Toxicity::new(t).map_or_else(|_| t.to_string(), |t| t.to_string()),
    }
}

/// A fault that can be attached to a proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique per proxy; defaults to `<type>_<stream>`.
    pub name: String,
    /// The direction it acts on.
    pub stream: Stream,
    /// The probability that it affects a given connection.
    pub toxicity: Toxicity,
    /// What it does, with typed attributes.
    pub kind: ToxicKind,
}
