//! The record of runs: the runner's own typed value of everything that happened (every sample,
//! fault window, measurement, expectation, the load driver's report) and its JSON journal.
//!
//! Times are `Duration`s on the run's clock (time 0 is the method's start); on the wire they are
//! seconds (`docs/journal.md`, schema `docs/journal.schema.json`, generated from these types and
//! kept in step by a test). The load figures are held once, as the load driver's own
//! [`LoadReport`]; the journal's `writes` and `load_summary` are views of it computed when the
//! record is written (see `wire`), so a saved journal reads back into the same record.

pub mod secs;
mod wire;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::measure::{Measurement, Summary};
pub use super::probe::{Outcome as ProbeOutcome, Status as ProbeStatus};

use super::probe;
use crate::load::{LoadReport, WriteReport};

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
    pub baseline: Option<super::baseline::Comparison>,
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
    const FIELDS: [&str; 3] = ["resolved", "host", "shakedown_version"];
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
    /// Answers shakedown's faults fabricated (`x-shakedown-fault`, error class `injected`).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::ErrorClass;
    use crate::load::TimelinePoint;

    /// Seconds 0..6 of a load started at 10.5 s on the run's clock: second k has 10 requests,
    /// k injected failures and one 5xx.
    fn load() -> LoadReport {
        let mut load = LoadReport {
            started: Duration::from_millis(10_500),
            ..LoadReport::default()
        };
        for k in 0..6u64 {
            let mut p = TimelinePoint {
                second: k,
                requests: 10,
                ..TimelinePoint::default()
            };
            for _ in 0..k {
                p.errors_by_class.add(ErrorClass::Injected);
            }
            p.errors_by_class.add(ErrorClass::Http5xx);
            p.errors = p.errors_by_class.total();
            load.timeline.push(p);
        }
        load
    }

    /// A step counts the load's seconds that overlap its window, injected failures apart from
    /// the target's.
    #[test]
    fn a_step_counts_the_seconds_it_overlaps() {
        let load = load();
        // [12.0, 13.6] overlaps seconds 1 ([11.5, 12.5)), 2 and 3 ([13.5, 14.5)).
        let f = StepFailures::within(
            &load,
            Duration::from_secs(12),
            Duration::from_millis(13_600),
        );
        assert_eq!(
            f,
            StepFailures {
                requests: 30,
                injected: 1 + 2 + 3,
                upstream: 3
            }
        );
        // A window before the load, or ending exactly where a second starts.
        let none = StepFailures::within(&load, Duration::ZERO, Duration::from_secs(10));
        assert_eq!(none, StepFailures::default());
        let edge = StepFailures::within(&load, Duration::ZERO, Duration::from_millis(10_500));
        assert_eq!(edge.requests, 10);
    }

    /// Hundredths of a second, unless they would round a short duration away (under 10 ms).
    #[test]
    fn durations_for_people_never_round_a_limit_to_zero() {
        let ms = Duration::from_millis;
        assert_eq!(for_people(ms(1)), "1 ms");
        assert_eq!(for_people(Duration::from_micros(2500)), "2.5 ms");
        assert_eq!(for_people(ms(0)), "0.00 s");
        assert_eq!(for_people(ms(10)), "0.01 s");
        assert_eq!(for_people(ms(300)), "0.30 s");
        assert_eq!(for_people(ms(1234)), "1.23 s");
        assert_eq!(for_people(Duration::from_micros(799_107)), "0.80 s");
        assert_eq!(for_people(Duration::from_micros(9_999)), "9.999 ms");
    }

    /// One line of counts, the same wherever it is shown: aborted and invalid experiments are
    /// not folded into `failed` (the terminal said "1 invalid" where the page said "3 failed").
    #[test]
    fn the_counts_name_each_outcome() {
        let of = |status| {
            ExperimentRecord::not_run(Path::new("e.yaml"), "t", &[], status, String::new())
        };
        let doc = Document::of(vec![
            of(Status::Passed),
            of(Status::Failed),
            of(Status::Failed),
            of(Status::Aborted),
            of(Status::PreflightFailed),
            of(Status::Invalid),
            of(Status::Skipped),
        ]);
        assert_eq!(doc.failed, 5, "the journal's field keeps its meaning");
        assert_eq!(
            doc.counts(),
            "1 passed, 2 failed, 2 aborted, 1 invalid, 1 skipped"
        );
        assert_eq!(
            Document::of(vec![of(Status::Passed)]).counts(),
            "1 passed, 0 failed"
        );
    }

    #[test]
    fn the_committed_schema_is_current() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/journal.schema.json");
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        if committed != schema() {
            if std::env::var_os("SHAKEDOWN_BLESS").is_some() {
                std::fs::write(path, schema()).unwrap();
            } else {
                panic!("docs/journal.schema.json is stale: rerun with SHAKEDOWN_BLESS=1");
            }
        }
    }

    #[test]
    fn a_journal_of_release_0_1_0_reads_back_and_writes_out_the_same() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/journal-v0.1.0.json");
        let document = Document::read(Path::new(path)).unwrap();
        let run = &document.experiments[0].runs[0];
        assert_eq!(run.steps[0].injected_at.map(|d| d.as_secs()), Some(2));
        assert!(run.writes().is_some_and(|w| w.attempted > 0));
        // Every field survives the round trip: the record holds each figure once, and the
        // journal's views (`writes`, `load_summary`) are recomputed from it.
        let original: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut again: serde_json::Value = serde_json::from_str(&document.to_json()).unwrap();
        // Fields the load report gained after 0.1.0 (docs/load.md): written by this release,
        // absent from the old journal. Everything else must come back as it was.
        // Fields the experiment gained after 0.1.0 (docs/journal.md), empty on reading.
        let experiment = again["experiments"][0].as_object_mut().unwrap();
        for field in Provenance::FIELDS.iter().chain(&["description"]) {
            assert!(
                experiment
                    .remove(*field)
                    .is_some_and(|v| v.is_null() || v == "")
            );
        }
        for run in again["experiments"][0]["runs"].as_array_mut().unwrap() {
            // The resource samples (docs/resources.md) are newer than 0.1.0: none on reading.
            let fields = run.as_object_mut().unwrap();
            assert_eq!(fields.remove("resources"), Some(serde_json::Value::Null));
            let load = run["load"].as_object_mut().unwrap();
            assert!(load.remove("span_ms").is_some());
            let summary = load["summary"].as_object_mut().unwrap();
            assert!(summary.remove("unsent").is_some());
            // The `tls` error class (issue 9), 0 in every count of an old journal.
            let no_tls = |c: &mut serde_json::Value| {
                assert_eq!(c.as_object_mut().unwrap().remove("tls"), Some(0.into()));
            };
            no_tls(&mut load["errors_by_class"]);
            for p in load["timeline"].as_array_mut().unwrap() {
                no_tls(&mut p["errors_by_class"]);
            }
            // Per-step load failures (issue 9): computed when a run ends, none when read.
            for step in run["steps"].as_array_mut().unwrap() {
                let step = step.as_object_mut().unwrap();
                assert_eq!(step.remove("load_failures"), Some(serde_json::Value::Null));
            }
        }
        assert_eq!(again, original);
    }

    #[test]
    fn another_version_or_shape_is_refused_with_its_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("j.json");
        std::fs::write(
            &p,
            r#"{"version": 2, "experiments": [], "passed": 0, "failed": 0, "skipped": 0}"#,
        )
        .unwrap();
        assert_eq!(Document::read(&p).unwrap_err(), ReadError::Version(2));
        std::fs::write(&p, "{\"version\": 1,\n \"experiments\": 3}").unwrap();
        let e = Document::read(&p).unwrap_err().to_string();
        assert_eq!(
            e,
            "not a shakedown journal: experiments: invalid type: integer `3`, expected a sequence \
             at line 2 column 17"
        );
        std::fs::write(&p, "[package]").unwrap();
        let e = Document::read(&p).unwrap_err().to_string();
        assert!(e.starts_with("not a shakedown journal: not JSON: "), "{e}");
    }

    /// What is not a journal file is refused for what it is, without reading it: a device
    /// (`/dev/zero` would be read forever), a named pipe (opening it would wait for a writer),
    /// a folder; binary bytes with their position.
    #[test]
    fn a_device_a_pipe_or_a_folder_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("journal.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let binary = dir.path().join("binary.json");
        std::fs::write(&binary, b"{\"version\": 1\x00}").unwrap();
        let cases = [
            (
                Path::new("/dev/zero"),
                "is a character device, not a regular file",
            ),
            (fifo.as_path(), "is a named pipe (FIFO), not a regular file"),
            (dir.path(), "is a folder, not a regular file"),
            (
                binary.as_path(),
                "1:14: control byte 0x00 at byte offset 13",
            ),
        ];
        for (path, said) in cases {
            let path = path.to_path_buf();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || tx.send(Document::read(&path).map(|_| ())));
            let read = rx
                .recv_timeout(std::time::Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("reading {said:?} never returned"));
            let error = read.unwrap_err().to_string();
            assert!(error.starts_with(said), "{error}");
        }
    }
}
