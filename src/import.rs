//! Converting other tools' experiments into shakedown experiment files (`shakedown import`).
//!
//! An importer reads the other format as plain JSON, writes a shakedown experiment as YAML text
//! (`import::yaml`), and lists every item it could not translate with its JSON path ([`Dropped`]),
//! so nothing is lost silently. One submodule per format: [`chaostoolkit`].
#![warn(unreachable_pub)]

pub mod chaostoolkit;
mod yaml;

use std::fmt;

/// An imported experiment: the shakedown file and what was left out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Translation {
    /// The shakedown experiment, YAML text ending in a newline.
    pub yaml: String,
    /// Every item of the input that is not in `yaml`, in input order.
    pub dropped: Vec<Dropped>,
}

/// One item of the input that could not be translated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// Where it is in the input, as a JSON path (`$.method[2].provider`).
    pub path: String,
    /// What it is and why it was left out.
    pub reason: String,
}

impl Dropped {
    pub(crate) fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// An input that is not an experiment of the format at all (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a {format} experiment: {why}")]
pub struct NotAnExperiment {
    /// The format expected.
    pub format: &'static str,
    /// What is missing or malformed.
    pub why: String,
}
