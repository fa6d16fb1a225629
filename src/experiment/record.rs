//! The record of runs: the runner's own typed value of everything that happened (every sample,
//! fault window, measurement, expectation, the load driver's report) and its JSON journal.
//!
//! Times are `Duration`s on the run's clock (time 0 is the method's start); on the wire they are
//! seconds (`docs/journal.md`, schema `docs/journal.schema.json`, generated from these types and
//! kept in step by a test). The load figures are held once, as the load driver's own
//! [`LoadReport`]; the journal's `writes` and `load_summary` are views of it computed when the
//! record is written (see `wire`), so a saved journal reads back into the same record.

mod document;
mod experiment;
mod run;
pub mod secs;
mod wire;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::measure::{Measurement, Summary};
pub use super::probe::{Outcome as ProbeOutcome, Status as ProbeStatus};

use super::probe;
use crate::load::{LoadReport, WriteReport};
pub use document::{Document, MAX_JOURNAL_BYTES, ReadError, VERSION, schema};
pub use experiment::{ExperimentRecord, Provenance};
pub use run::{
    AgentRecord, CommandRecord, ExpectationRecord, RunRecord, SampleRecord, StepFailures,
    StepRecord,
};

/// The outcome of a run or of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// An expectation did not hold.
    Failed,
    /// A guard, a signal, a panic or the infrastructure stopped the run.
    Aborted,
    /// The steady state did not hold (or a service did not start) before any fault: nothing injected.
    PreflightFailed,
    /// The file did not validate.
    Invalid,
    /// Filtered out by `-k` or `--tag`.
    Skipped,
}

impl Status {
    /// Lower-case name as printed.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Aborted => "aborted",
            Status::PreflightFailed => "preflight failed",
            Status::Invalid => "invalid",
            Status::Skipped => "skipped",
        }
    }

    /// How serious, for "the worst of its runs": skipped < passed < failed < invalid <
    /// preflight failed < aborted.
    pub fn rank(self) -> u8 {
        match self {
            Status::Skipped => 0,
            Status::Passed => 1,
            Status::Failed => 2,
            Status::Invalid => 3,
            Status::PreflightFailed => 4,
            Status::Aborted => 5,
        }
    }
}

/// A duration for people, to the hundredth of a second: `1.00 s` (the journal keeps full
/// precision). A value under 10 ms, which hundredths would round away, is given in
/// milliseconds instead (`1 ms`, `2.5 ms`), so a limit of `1ms` never reads `0.00 s`.
pub fn for_people(d: Duration) -> String {
    if !d.is_zero() && d < Duration::from_millis(10) {
        let ms = format!("{:.3}", d.as_secs_f64() * 1e3);
        let ms = ms.trim_end_matches('0').trim_end_matches('.');
        return format!("{ms} ms");
    }
    format!("{:.2} s", d.as_secs_f64())
}

/// Observed RPO of a write check: from the earliest to the latest acknowledgement of a write
/// that was lost; zero when nothing was lost, `None` when the times are unknown.
pub fn observed_rpo(w: &WriteReport) -> Option<Duration> {
    match (w.lost, w.lost_first_ack, w.lost_last_ack) {
        (0, _, _) => Some(Duration::ZERO),
        (_, Some(first), Some(last)) => Some(last.saturating_sub(first)),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
