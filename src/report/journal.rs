//! The JSON journal of runs: every sample, fault window, measurement and verdict.
//!
//! Its JSON Schema is generated from these types and committed as
//! `docs/journal.schema.json`; a test keeps the two in step.

use serde::Serialize;
use serde_json::Value;

use crate::experiment::measure::{Measurement, Summary};
use crate::experiment::probe;

/// Journal format version.
pub const VERSION: u32 = 1;

/// The document `--json FILE` writes, for `run` (one experiment) and `test` (a suite).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Document {
    /// Format version (1).
    pub version: u32,
    /// One entry per experiment file.
    pub experiments: Vec<ExperimentReport>,
    /// Experiments that passed.
    pub passed: usize,
    /// Experiments that failed, were aborted, invalid or failed preflight.
    pub failed: usize,
    /// Experiments skipped by the filters.
    pub skipped: usize,
}

/// The outcome of a run or of an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
}

/// One experiment file: its runs (`--repeat N`) and the MTTR across them.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExperimentReport {
    /// The file.
    pub file: String,
    /// Its title (empty when invalid).
    pub title: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Overall status: the worst of its runs.
    pub status: Status,
    /// Why, when not passed.
    pub reason: Option<String>,
    /// Each run.
    pub runs: Vec<RunJournal>,
    /// Time to recover from injection, across every measured step of every run.
    pub mttr: Option<Summary>,
    /// Time to recover from removal, likewise.
    pub mttr_from_removal: Option<Summary>,
    /// Measured steps that never recovered.
    pub unrecovered: usize,
}

/// One run of an experiment. Times are seconds since the method started.
#[derive(Debug, Clone, Default, Serialize, schemars::JsonSchema)]
pub struct RunJournal {
    /// 1-based run number.
    pub run: u32,
    /// Status of this run.
    pub status: Option<Status>,
    /// Why, when not passed.
    pub reason: Option<String>,
    /// Wall-clock start, RFC 3339.
    pub started: String,
    /// Seconds from method start to the end of teardown.
    pub elapsed: f64,
    /// The preflight check.
    pub preflight: Vec<probe::Outcome>,
    /// Every steady-state sample.
    pub samples: Vec<SampleRecord>,
    /// Every step of the method.
    pub steps: Vec<StepRecord>,
    /// Each expectation and how it came out.
    pub expectations: Vec<ExpectationRecord>,
    /// Writes, when the load had keyed writes (the load driver's `WriteReport`).
    pub writes: Option<Value>,
    /// The load driver's report (percentiles, per-second timeline, errors).
    pub load: Option<Value>,
    /// The guard that aborted the run, if any.
    pub guard: Option<String>,
    /// Rollbacks and how each ended.
    pub rollbacks: Vec<CommandRecord>,
    /// What teardown did: faults removed, services stopped, and any failure.
    pub cleanup: Vec<String>,
}

/// One sample of the steady state.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct SampleRecord {
    /// When (seconds since method start).
    pub at: f64,
    /// Whether every probe passed.
    pub pass: bool,
    /// Each probe.
    pub probes: Vec<probe::Outcome>,
}

/// One step of the method and what was measured from it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StepRecord {
    /// Label.
    pub name: String,
    /// `fault` or `action`.
    pub kind: String,
    /// Planned time.
    pub planned_at: f64,
    /// When the control API confirmed the fault (or the action completed).
    pub injected_at: Option<f64>,
    /// When the control API confirmed the removal (equal to injected_at for actions).
    pub removed_at: Option<f64>,
    /// Whether detection and recovery are measured from it.
    pub measured: bool,
    /// The measurement, once computed.
    pub measurement: Option<Measurement>,
    /// Recovered within `expect.recovered_within` of removal (when that is set).
    pub recovered_in_time: Option<bool>,
    /// What happened (exit code, error).
    pub detail: Option<String>,
    /// Whether the step did what it should.
    pub ok: bool,
}

/// One expectation.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExpectationRecord {
    /// e.g. `recovered_within (reset_peer on kv)`, `lost_writes`.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was expected.
    pub expected: String,
    /// What was observed, and by how much it missed.
    pub observed: String,
}

/// A command and how it ended.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct CommandRecord {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Exit code 0 within the time limit.
    pub ok: bool,
    /// Exit code, error or stderr.
    pub detail: String,
}
