//! One experiment file's record: its runs, MTTR across them, provenance and baseline comparison.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{RunRecord, Status, Summary};

/// One experiment file: its runs (`--repeat N`) and the MTTR across them.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(rename = "ExperimentReport")]
pub struct ExperimentRecord {
    /// The file.
    pub file: String,
    /// Its title (empty when invalid).
    pub title: String,
    /// Its description (empty when it has none; absent from older journals).
    #[serde(default)]
    pub description: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Overall status: the worst of its runs.
    pub status: Status,
    /// Why, when not passed.
    pub reason: Option<String>,
    /// Each run.
    pub runs: Vec<RunRecord>,
    /// Time to recover from injection, across every measured step of every run.
    pub mttr: Option<Summary>,
    /// Time to recover from removal, likewise.
    pub mttr_from_removal: Option<Summary>,
    /// Measured steps that never recovered.
    pub unrecovered: usize,
    /// Where and with what it ran (absent from older journals).
    #[serde(flatten)]
    pub provenance: Provenance,
    /// How it compared with `--baseline` (absent without one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<crate::experiment::baseline::Comparison>,
}

/// Where, with what, and from which text an experiment ran: the report's "as it ran" facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Provenance {
    /// The experiment file as it ran: YAML with every `${…}` resolved (the first run's, when
    /// `--repeat` gave each run its own `${run.dir}`). `None` when it did not validate.
    #[serde(default)]
    pub resolved: Option<String>,
    /// The host name of the machine that ran it.
    #[serde(default)]
    pub host: Option<String>,
    /// The shakedown release that ran it, e.g. `0.2.0`.
    #[serde(default)]
    pub shakedown_version: Option<String>,
}

impl Provenance {
    /// This machine and this release, with the resolved file when there is one.
    pub fn here(resolved: Option<String>) -> Self {
        Self {
            resolved,
            host: nix::unistd::gethostname()
                .ok()
                .map(|h| h.to_string_lossy().into_owned()),
            shakedown_version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }
    }

    /// The newly added journal fields, for the test that reads a 0.1.0 journal back.
    #[cfg(test)]
    pub(super) const FIELDS: [&str; 3] = ["resolved", "host", "shakedown_version"];
}

impl ExperimentRecord {
    /// A file that did not run: skipped by a filter (or, with `status` changed, invalid).
    pub fn not_run(file: &Path, title: &str, tags: &[String], status: Status, why: String) -> Self {
        Self {
            file: file.display().to_string(),
            title: title.to_string(),
            description: String::new(),
            tags: tags.to_vec(),
            status,
            reason: Some(why),
            runs: Vec::new(),
            mttr: None,
            mttr_from_removal: None,
            unrecovered: 0,
            provenance: Provenance::here(None),
            baseline: None,
        }
    }

    /// Wall time of all its runs.
    pub fn elapsed(&self) -> Duration {
        self.runs.iter().map(|r| r.elapsed).sum()
    }
}
