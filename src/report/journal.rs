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
    /// The keyed-write check, when the load had write scenarios.
    pub writes: Option<WritesRecord>,
    /// The headline figures of the load.
    pub load_summary: Option<LoadSummaryRecord>,
    /// The load driver's full report (docs/load.md: percentiles, per-second timeline, errors).
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

/// The keyed-write check (the load driver's `WriteReport`), times in seconds on the run's clock.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WritesRecord {
    /// Writes sent.
    pub attempted: u64,
    /// Writes answered 2xx.
    pub acknowledged: u64,
    /// Writes definitely refused (connect refused, 4xx, 5xx, injected).
    pub refused: u64,
    /// Writes with no answer: neither acknowledged nor refused, never counted as lost.
    pub unknown: u64,
    /// Acknowledged writes whose key read back as missing.
    pub lost: u64,
    /// Acknowledged writes whose key read back with another value.
    pub unexpected: u64,
    /// Acknowledged writes whose read-back failed (not judged).
    pub read_failed: u64,
    /// The lost keys, sorted.
    pub lost_keys: Vec<String>,
    /// The unexpected keys, sorted.
    pub unexpected_keys: Vec<String>,
    /// When the earliest lost write was acknowledged.
    pub lost_first_ack: Option<f64>,
    /// When the latest lost write was acknowledged.
    pub lost_last_ack: Option<f64>,
    /// Observed RPO: `lost_last_ack − lost_first_ack`, 0 when nothing was lost.
    pub observed_rpo: Option<f64>,
}

impl WritesRecord {
    /// The journal's view of the load driver's write report.
    pub fn from_report(w: &crate::load::WriteReport) -> Self {
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64());
        let observed_rpo = match (w.lost, w.lost_first_ack, w.lost_last_ack) {
            (0, _, _) => Some(0.0),
            (_, Some(first), Some(last)) => Some(last.saturating_sub(first).as_secs_f64()),
            _ => None,
        };
        Self {
            attempted: w.attempted,
            acknowledged: w.acknowledged,
            refused: w.refused,
            unknown: w.unknown,
            lost: w.lost,
            unexpected: w.unexpected,
            read_failed: w.read_failed,
            lost_keys: w.lost_keys.clone(),
            unexpected_keys: w.unexpected_keys.clone(),
            lost_first_ack: secs(w.lost_first_ack),
            lost_last_ack: secs(w.lost_last_ack),
            observed_rpo,
        }
    }
}

/// The headline figures of the load (the full report is in `load`). Latencies in seconds,
/// measured from each request's intended send time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct LoadSummaryRecord {
    /// Completed requests.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub errors: u64,
    /// `errors / requests`.
    pub error_rate: f64,
    /// Completed requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// Largest latency.
    pub max: Option<f64>,
    /// Failures by class, only the classes that occurred.
    pub errors_by_class: std::collections::BTreeMap<String, u64>,
    /// Every threshold of the `load:` section held (true when there are none).
    pub thresholds_passed: bool,
}

impl LoadSummaryRecord {
    /// The headline figures of a load report.
    pub fn from_report(r: &crate::load::LoadReport) -> Self {
        let s = &r.summary;
        let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64());
        let errors_by_class = match serde_json::to_value(r.errors_by_class) {
            Ok(Value::Object(m)) => m
                .into_iter()
                .filter_map(|(k, v)| v.as_u64().filter(|n| *n > 0).map(|n| (k, n)))
                .collect(),
            _ => Default::default(),
        };
        Self {
            requests: s.requests,
            ok: s.ok,
            errors: s.errors,
            error_rate: s.error_rate,
            rps: s.rps,
            p50: secs(s.latency.p50),
            p90: secs(s.latency.p90),
            p99: secs(s.latency.p99),
            max: secs(s.latency.max),
            errors_by_class,
            thresholds_passed: r.passed,
        }
    }
}

/// One expectation.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ExpectationRecord {
    /// e.g. `recovered_within (reset_peer on kv)`, `lost_writes`.
    pub name: String,
    /// Whether it held (false also when it was not evaluated).
    pub passed: bool,
    /// False when the run ended before this expectation could be checked (aborted, or
    /// preflight failed); such an expectation is neither a pass nor a failure.
    pub evaluated: bool,
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
