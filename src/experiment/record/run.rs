//! One run's record: its samples, steps, expectations, commands and load agents.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{LoadReport, Measurement, Status, WriteReport, probe, secs, wire};

/// One run of an experiment. Times are on the run's clock (time 0 is the method's start).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(into = "wire::RunJournal", from = "wire::RunJournal")]
pub struct RunRecord {
    /// 1-based run number.
    pub run: u32,
    /// Status of this run.
    pub status: Option<Status>,
    /// Why, when not passed.
    pub reason: Option<String>,
    /// Wall-clock start, RFC 3339.
    pub started: String,
    /// From the method's start to the end of teardown.
    pub elapsed: Duration,
    /// The preflight check.
    pub preflight: Vec<probe::Outcome>,
    /// Every steady-state sample.
    pub samples: Vec<SampleRecord>,
    /// Every step of the method.
    pub steps: Vec<StepRecord>,
    /// Each expectation and how it came out.
    pub expectations: Vec<ExpectationRecord>,
    /// The load driver's report (with the keyed-write check), when the run had a load.
    pub load: Option<LoadReport>,
    /// The live load agents (`load: {agents: …}`) and how each ended; empty for a local load.
    pub agents: Vec<AgentRecord>,
    /// The guard that aborted the run, if any.
    pub guard: Option<String>,
    /// Rollbacks and how each ended.
    pub rollbacks: Vec<CommandRecord>,
    /// What teardown did: faults removed, services stopped, and any failure.
    pub cleanup: Vec<String>,
    /// The resource samples (host and watched processes) with each process's peak, end and
    /// RSS slope, when the run got as far as its clock.
    pub resources: Option<crate::resource::Resources>,
}

/// One live load agent of a run and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AgentRecord {
    /// Its base URL (`http://host:port`).
    pub url: String,
    /// Its share of the plan (`"0/2"`), when the plan was split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    /// Whole seconds its second 0 is behind the earliest agent's: how its seconds were aligned.
    pub offset_s: u64,
    /// When the runner counted it lost (seconds since the method's start), if it did.
    #[serde(
        default,
        with = "secs::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(with = "Option<f64>")]
    pub lost_at: Option<Duration>,
    /// Why it was counted lost (its last error); its seconds are then missing from every
    /// later window and from the merged report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

impl RunRecord {
    /// The keyed-write check, when the load had write scenarios.
    pub fn writes(&self) -> Option<&WriteReport> {
        self.load.as_ref().and_then(|l| l.writes.as_ref())
    }

    /// When the last step was confirmed removed (zero when none was).
    pub fn last_removal(&self) -> Duration {
        self.steps
            .iter()
            .filter_map(|s| s.removed_at)
            .max()
            .unwrap_or(Duration::ZERO)
    }
}

/// One sample of the steady state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SampleRecord {
    /// When (seconds since method start).
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub at: Duration,
    /// Whether every probe passed.
    pub pass: bool,
    /// Each probe.
    pub probes: Vec<probe::Outcome>,
}

/// One step of the method and what was measured from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StepRecord {
    /// Label.
    pub name: String,
    /// `fault` (a toxic or a resource fault: held from `injected_at` to `removed_at`) or `action`.
    pub kind: String,
    /// Planned time.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub planned_at: Duration,
    /// When the control API confirmed the fault (or the action completed).
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub injected_at: Option<Duration>,
    /// When the control API confirmed the removal (equal to injected_at for actions).
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub removed_at: Option<Duration>,
    /// Whether detection and recovery are measured from it.
    pub measured: bool,
    /// The measurement, once computed.
    pub measurement: Option<Measurement>,
    /// Recovered within `expect.recovered_within` of removal (when that is set).
    pub recovered_in_time: Option<bool>,
    /// A fault step under load: the load's failures while it was in effect, injected ones
    /// apart from the target's own.
    #[serde(default)]
    pub load_failures: Option<StepFailures>,
    /// What happened (exit code, error).
    pub detail: Option<String>,
    /// Whether the step did what it should.
    pub ok: bool,
}

/// The load's requests and failures over a fault step's window `[injected_at, removed_at]`,
/// by who caused them. The load counts per second of intended send time, so the window is
/// widened to whole seconds: every second that overlaps it counts.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct StepFailures {
    /// Requests intended in those seconds.
    pub requests: u64,
    /// Failed answers shakedown's faults made or altered (`x-shakedown-fault` on a 4xx/5xx, a
    /// failed body or a gRPC error: error class `injected`; a marked success is not counted).
    pub injected: u64,
    /// The target's own failures: every other error class (5xx, 4xx, resets, timeouts, TLS…).
    pub upstream: u64,
}

impl StepFailures {
    /// The counts of `load` over `[from, to]` (times on the run's clock, like the load's
    /// `started`).
    pub fn within(load: &LoadReport, from: Duration, to: Duration) -> Self {
        let mut out = StepFailures::default();
        for p in &load.timeline {
            let start = load.started + Duration::from_secs(p.second);
            let end = start + Duration::from_secs(1);
            if end <= from || start > to {
                continue;
            }
            let injected = p.errors_by_class.get(crate::load::ErrorClass::Injected);
            out.requests += p.requests;
            out.injected += injected;
            out.upstream += p.errors.saturating_sub(injected);
        }
        out
    }

    /// Fill in every fault step's counts from the run's load (nothing without a load).
    pub fn fill(run: &mut RunRecord) {
        let Some(load) = &run.load else { return };
        for s in run.steps.iter_mut().filter(|s| s.kind == "fault") {
            if let (Some(from), Some(to)) = (s.injected_at, s.removed_at) {
                s.load_failures = Some(StepFailures::within(load, from, to));
            }
        }
    }
}

/// One expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CommandRecord {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Exit code 0 within the time limit.
    pub ok: bool,
    /// Exit code, error or stderr.
    pub detail: String,
}
