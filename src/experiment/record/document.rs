//! The journal document (`--json FILE`): its shape, its version, reading a saved one back,
//! and its JSON Schema.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{ExperimentRecord, Status};

/// Journal format version.
pub const VERSION: u32 = 1;

/// The document `--json FILE` writes, for `run` (one experiment) and `test` (a suite).
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Document {
    /// Format version (1).
    pub version: u32,
    /// One entry per experiment file.
    pub experiments: Vec<ExperimentRecord>,
    /// Experiments that passed.
    pub passed: usize,
    /// Experiments that failed, were aborted, invalid or failed preflight.
    pub failed: usize,
    /// Experiments skipped by the filters.
    pub skipped: usize,
}

impl Document {
    /// The document of a set of experiment records, with its counts.
    pub fn of(experiments: Vec<ExperimentRecord>) -> Self {
        let count = |f: fn(Status) -> bool| experiments.iter().filter(|e| f(e.status)).count();
        Document {
            version: VERSION,
            passed: count(|s| s == Status::Passed),
            skipped: count(|s| s == Status::Skipped),
            failed: count(|s| !matches!(s, Status::Passed | Status::Skipped)),
            experiments,
        }
    }

    /// `2 passed, 1 failed, 1 aborted, 3 skipped`: the suite's counts for people, the same in
    /// the terminal, the HTML page and the Markdown summary. `failed` (the journal's field counts
    /// every experiment that did not pass) is here only the failed ones; an aborted run (a guard,
    /// a signal, a failed preflight) and an invalid file are named for what they are, and a
    /// count of 0 is left out except for `passed` and `failed`.
    pub fn counts(&self) -> String {
        let count = |f: fn(Status) -> bool| self.experiments.iter().filter(|e| f(e.status)).count();
        let mut line = format!(
            "{} passed, {} failed",
            self.passed,
            count(|s| s == Status::Failed)
        );
        for (n, word) in [
            (
                count(|s| matches!(s, Status::Aborted | Status::PreflightFailed)),
                "aborted",
            ),
            (count(|s| s == Status::Invalid), "invalid"),
            (self.skipped, "skipped"),
        ] {
            if n > 0 {
                line.push_str(&format!(", {n} {word}"));
            }
        }
        line
    }

    /// Read a saved journal (`--json FILE`, this release or an earlier one of version 1).
    ///
    /// Errors: the file cannot be read or is not a regular UTF-8 text file of at most
    /// [`MAX_JOURNAL_BYTES`] (a folder, `/dev/zero` or a FIFO is refused unopened), is not JSON of this shape (the message names the
    /// field path, line and column), or has another `version`.
    pub fn read(path: &Path) -> Result<Self, ReadError> {
        let text = crate::config::read_text_within(path, MAX_JOURNAL_BYTES).map_err(|e| {
            // The caller names the file: keep the position and the message.
            let problem = e.problems.first();
            let message = problem.map_or_else(String::new, |p| p.message.clone());
            match problem.map(|p| p.position).filter(|at| at.line > 0) {
                Some(at) => ReadError::Io(format!("{}:{}: {message}", at.line, at.column)),
                None => ReadError::Io(message),
            }
        })?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let document: Document = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_data() {
                ReadError::Shape(format!("{path}: {inner}"))
            } else {
                ReadError::Shape(format!("not JSON: {inner}"))
            }
        })?;
        if document.version != VERSION {
            return Err(ReadError::Version(document.version));
        }
        document.check().map_err(ReadError::Shape)?;
        Ok(document)
    }

    /// What a journal written by shakedown always satisfies and an edited one may not: at least
    /// one experiment, and write counts that add up (`lost`, `unexpected` and `read_failed` are
    /// parts of `acknowledged`, which with `refused` and `unknown` is part of `attempted`).
    fn check(&self) -> Result<(), String> {
        if self.experiments.is_empty() {
            return Err("experiments: holds no experiment".into());
        }
        for (i, e) in self.experiments.iter().enumerate() {
            for (j, run) in e.runs.iter().enumerate() {
                let Some(w) = run.load.as_ref().and_then(|l| l.writes.as_ref()) else {
                    continue;
                };
                let at = format!("experiments[{i}].runs[{j}].load.writes");
                let judged = w
                    .lost
                    .saturating_add(w.unexpected)
                    .saturating_add(w.read_failed);
                if judged > w.acknowledged {
                    return Err(format!(
                        "{at}: lost + unexpected + read_failed ({judged}) exceeds acknowledged ({})",
                        w.acknowledged
                    ));
                }
                let answered = w
                    .acknowledged
                    .saturating_add(w.refused)
                    .saturating_add(w.unknown);
                if answered > w.attempted {
                    return Err(format!(
                        "{at}: acknowledged + refused + unknown ({answered}) exceeds attempted ({})",
                        w.attempted
                    ));
                }
            }
        }
        Ok(())
    }

    /// The journal as pretty JSON, one trailing newline.
    pub fn to_json(&self) -> String {
        // Serializing plain data to a string cannot fail (no maps with non-string keys).
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// The largest journal `shakedown report` reads, in bytes (1 GiB).
pub const MAX_JOURNAL_BYTES: u64 = 1024 * 1024 * 1024;

/// Why a saved journal could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("{0}")]
    Io(String),
    /// Not a journal: `field.path: what at line L column C`, or not JSON at all.
    #[error("not a shakedown journal: {0}")]
    Shape(String),
    /// A journal of another format version.
    #[error("journal version {0} is not supported (this release reads version {VERSION})")]
    Version(u32),
}

/// The JSON Schema of the journal (committed as `docs/journal.schema.json`).
pub fn schema() -> String {
    let schema = schemars::schema_for!(Document);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
