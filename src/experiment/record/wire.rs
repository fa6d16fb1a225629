//! The journal's shape of a run (`docs/journal.md`): the record plus two views of its load
//! report, `writes` and `load_summary`, computed on the way out and dropped on the way in.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    AgentRecord, CommandRecord, ExpectationRecord, RunRecord, SampleRecord, Status, StepRecord,
    observed_rpo, secs,
};
use crate::experiment::probe;
use crate::load::{ErrorClass, LoadReport, WriteReport};

/// One run of an experiment. Times are seconds since the method started.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub(super) struct RunJournal {
    /// 1-based run number.
    run: u32,
    /// Status of this run.
    status: Option<Status>,
    /// Why, when not passed.
    reason: Option<String>,
    /// Wall-clock start, RFC 3339.
    started: String,
    /// Seconds from method start to the end of teardown.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    elapsed: Duration,
    /// The preflight check.
    preflight: Vec<probe::Outcome>,
    /// Every steady-state sample.
    samples: Vec<SampleRecord>,
    /// Every step of the method.
    steps: Vec<StepRecord>,
    /// Each expectation and how it came out.
    expectations: Vec<ExpectationRecord>,
    /// The keyed-write check, when the load had write scenarios.
    writes: Option<WritesRecord>,
    /// The headline figures of the load.
    load_summary: Option<LoadSummaryRecord>,
    /// The load driver's full report (docs/load.md: percentiles, per-second timeline, errors).
    // Documented as any JSON: its own schema is docs/load.md's.
    #[schemars(with = "Option<serde_json::Value>")]
    load: Option<LoadReport>,
    /// The live load agents (`load: {agents: …}`) and how each ended (absent for a local load).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    agents: Vec<AgentRecord>,
    /// The guard that aborted the run, if any.
    guard: Option<String>,
    /// Rollbacks and how each ended.
    rollbacks: Vec<CommandRecord>,
    /// What teardown did: faults removed, services stopped, and any failure.
    cleanup: Vec<String>,
}

/// The record's schema is the journal's.
impl schemars::JsonSchema for RunRecord {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        RunJournal::schema_name()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        RunJournal::schema_id()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        RunJournal::json_schema(generator)
    }
}

impl From<RunRecord> for RunJournal {
    fn from(r: RunRecord) -> Self {
        Self {
            writes: r.writes().map(WritesRecord::of),
            load_summary: r.load.as_ref().map(LoadSummaryRecord::of),
            run: r.run,
            status: r.status,
            reason: r.reason,
            started: r.started,
            elapsed: r.elapsed,
            preflight: r.preflight,
            samples: r.samples,
            steps: r.steps,
            expectations: r.expectations,
            load: r.load,
            agents: r.agents,
            guard: r.guard,
            rollbacks: r.rollbacks,
            cleanup: r.cleanup,
        }
    }
}

/// The views `writes` and `load_summary` are dropped: the record recomputes them from `load`.
impl From<RunJournal> for RunRecord {
    fn from(j: RunJournal) -> Self {
        Self {
            run: j.run,
            status: j.status,
            reason: j.reason,
            started: j.started,
            elapsed: j.elapsed,
            preflight: j.preflight,
            samples: j.samples,
            steps: j.steps,
            expectations: j.expectations,
            load: j.load,
            agents: j.agents,
            guard: j.guard,
            rollbacks: j.rollbacks,
            cleanup: j.cleanup,
        }
    }
}

/// The keyed-write check (the load driver's `WriteReport`), times in seconds on the run's clock.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct WritesRecord {
    /// Writes sent.
    attempted: u64,
    /// Writes answered 2xx.
    acknowledged: u64,
    /// Writes definitely refused (connect refused, 4xx, 5xx, injected).
    refused: u64,
    /// Writes with no answer: neither acknowledged nor refused, never counted as lost.
    unknown: u64,
    /// Acknowledged writes whose key read back as missing.
    lost: u64,
    /// Acknowledged writes whose key read back with another value.
    unexpected: u64,
    /// Acknowledged writes whose read-back failed (not judged).
    read_failed: u64,
    /// The lost keys, sorted.
    lost_keys: Vec<String>,
    /// The unexpected keys, sorted.
    unexpected_keys: Vec<String>,
    /// When the earliest lost write was acknowledged.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    lost_first_ack: Option<Duration>,
    /// When the latest lost write was acknowledged.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    lost_last_ack: Option<Duration>,
    /// Observed RPO: `lost_last_ack − lost_first_ack`, 0 when nothing was lost.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    observed_rpo: Option<Duration>,
}

impl WritesRecord {
    fn of(w: &WriteReport) -> Self {
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
            lost_first_ack: w.lost_first_ack,
            lost_last_ack: w.lost_last_ack,
            observed_rpo: observed_rpo(w),
        }
    }
}

/// The headline figures of the load (the full report is in `load`). Latencies in seconds,
/// measured from each request's intended send time.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
struct LoadSummaryRecord {
    /// Completed requests.
    requests: u64,
    /// Successes.
    ok: u64,
    /// Failures.
    errors: u64,
    /// `errors / requests`.
    error_rate: f64,
    /// Completed requests per second.
    rps: f64,
    /// Median latency.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    p50: Option<Duration>,
    /// 90th percentile.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    p90: Option<Duration>,
    /// 99th percentile.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    p99: Option<Duration>,
    /// Largest latency.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    max: Option<Duration>,
    /// Failures by class, only the classes that occurred.
    errors_by_class: BTreeMap<String, u64>,
    /// Every threshold of the `load:` section held (true when there are none).
    thresholds_passed: bool,
}

impl LoadSummaryRecord {
    fn of(r: &LoadReport) -> Self {
        let s = &r.summary;
        Self {
            requests: s.requests,
            ok: s.ok,
            errors: s.errors,
            error_rate: s.error_rate,
            rps: s.rps,
            p50: s.latency.p50,
            p90: s.latency.p90,
            p99: s.latency.p99,
            max: s.latency.max,
            errors_by_class: ErrorClass::ALL
                .into_iter()
                .map(|c| (c.name().to_string(), r.errors_by_class.get(c)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            thresholds_passed: r.passed,
        }
    }
}
