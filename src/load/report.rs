//! The records of a load run: plain data, serialised as the JSON report (stable, `version: 1`,
//! see docs/load.md) and read back from it; [`table`] renders them for people.
//!
//! Nothing here sends a request or reads the system: [`super::collect`] fills a
//! [`LoadReport`] from the workers, [`super::writes`] a [`WriteReport`] from the read-back,
//! [`super::usage`] a [`Generator`] from the process.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::errors::{ClassCounts, ErrorReasons};
use super::histogram::{Hist, TimelinePoint, quantile};
use super::intervals::Intervals;
use super::spec::Arrival;
use super::thresholds::ThresholdOutcome;
use super::units::{serde_ms, unix_ms};

mod table;

/// A latency distribution summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Number of samples.
    pub count: u64,
    /// Smallest.
    #[serde(rename = "min_ms", with = "serde_ms::option")]
    pub min: Option<Duration>,
    /// Mean.
    #[serde(rename = "mean_ms", with = "serde_ms::option")]
    pub mean: Option<Duration>,
    /// Median.
    #[serde(rename = "p50_ms", with = "serde_ms::option")]
    pub p50: Option<Duration>,
    /// 90th percentile.
    #[serde(rename = "p90_ms", with = "serde_ms::option")]
    pub p90: Option<Duration>,
    /// 95th percentile.
    #[serde(rename = "p95_ms", with = "serde_ms::option")]
    pub p95: Option<Duration>,
    /// 99th percentile.
    #[serde(rename = "p99_ms", with = "serde_ms::option")]
    pub p99: Option<Duration>,
    /// 99.9th percentile.
    #[serde(rename = "p999_ms", with = "serde_ms::option")]
    pub p999: Option<Duration>,
    /// Largest.
    #[serde(rename = "max_ms", with = "serde_ms::option")]
    pub max: Option<Duration>,
}

impl Latency {
    /// Summarise a histogram (microseconds).
    pub fn of(h: &Hist) -> Self {
        let some = !h.is_empty();
        Self {
            count: h.len(),
            min: some.then(|| Duration::from_micros(h.min())),
            mean: some
                .then(|| Duration::try_from_secs_f64(h.mean() / 1e6).ok())
                .flatten(),
            p50: quantile(h, 0.5),
            p90: quantile(h, 0.9),
            p95: quantile(h, 0.95),
            p99: quantile(h, 0.99),
            p999: quantile(h, 0.999),
            max: some.then(|| Duration::from_micros(h.max())),
        }
    }
}

/// Whole-run totals.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Completed requests.
    pub requests: u64,
    /// Successes (1xx–3xx, not injected).
    pub ok: u64,
    /// Failures (every class).
    pub errors: u64,
    /// `errors / requests`.
    pub error_rate: f64,
    /// Completed requests per second of the run's span (`LoadReport::span`).
    pub rps: f64,
    /// Requests the open-model schedule planned up to the end (or the stop).
    pub planned: Option<u64>,
    /// Planned requests never sent (the generator fell behind its plan):
    /// `planned = requests + cancelled + unsent`. Open model only.
    #[serde(default)]
    pub unsent: Option<u64>,
    /// Requests that waited for a free connection (in-flight cap reached).
    pub late: u64,
    /// Requests still in flight when a stop's drain period ran out.
    pub cancelled: u64,
    /// Latency from the intended send time (what users feel).
    pub latency: Latency,
    /// Service time from the actual send (what the server took, connect included).
    pub service_time: Latency,
    /// Actual send − intended send.
    pub schedule_lag: Latency,
}

/// One scenario's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    /// Name.
    pub name: String,
    /// Weight.
    pub weight: u32,
    /// Completed requests.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub errors: u64,
    /// Latency from intended send time.
    pub latency: Latency,
}

/// The whole-run histograms of a report (microseconds), each the base64 text of its
/// V2-deflate encoding ([`super::to_base64`]): what `shakedown merge` adds exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// Latency from the intended send time (3 significant figures).
    pub latency: String,
    /// Service time from the actual send.
    pub service_time: String,
    /// Schedule lag.
    pub schedule_lag: String,
}

/// Everything a load run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Format version of this JSON (1).
    pub version: u32,
    /// Target URL.
    pub target: String,
    /// `open` or `closed`.
    pub model: String,
    /// Arrival process (open model only).
    pub arrival: Option<Arrival>,
    /// The seed of every random choice (pass it back with `--seed` to repeat them).
    pub seed: u64,
    /// Maximum connections.
    pub connections: usize,
    /// Worker tasks.
    pub threads: usize,
    /// When the run started, on the run's clock.
    #[serde(rename = "started_ms", with = "serde_ms")]
    pub started: Duration,
    /// How long sending and draining took (read-back excluded).
    #[serde(rename = "elapsed_ms", with = "serde_ms")]
    pub elapsed: Duration,
    /// The span every rate is over: the plan's duration, or from the start to the stop
    /// when the run was stopped first (or to the last answer when users finished sooner).
    #[serde(rename = "span_ms", with = "serde_ms", default)]
    pub span: Duration,
    /// Totals and latency distributions.
    pub summary: Summary,
    /// Failures by class (every class present).
    pub errors_by_class: ClassCounts,
    /// Failures in words, by class: `{"tls": [{"reason", "count"}, …]}` (the classes that
    /// have reasons; empty when none failed so). Absent from older reports: empty.
    #[serde(default)]
    pub error_reasons: ErrorReasons,
    /// Per scenario.
    pub scenarios: Vec<ScenarioReport>,
    /// Per second of intended send time.
    pub timeline: Vec<TimelinePoint>,
    /// Threshold outcomes, in the order given.
    pub thresholds: Vec<ThresholdOutcome>,
    /// Whether every threshold held.
    pub passed: bool,
    /// Whether a threshold aborted the run.
    pub aborted: bool,
    /// The keyed-write check, when a scenario writes.
    pub writes: Option<WriteReport>,
    /// The generator's own resources and whether it was the bottleneck.
    pub generator: Generator,
    /// The agent's share of a split plan (`"1/4"`); absent for a whole plan (and in a merge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<super::Segment>,
    /// The whole-run histograms (`--histograms`), what `shakedown merge` adds exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
    /// Every second's histograms (`--hlog`); not in the JSON (written as an interval log).
    #[serde(skip)]
    pub intervals: Intervals,
    /// The wall-clock instant of the run's second 0 (its `--start-at`, or when it started);
    /// `wall_start_ms` (milliseconds since 1970) in the JSON, absent when unknown: what
    /// `shakedown merge` aligns agents' seconds by.
    #[serde(
        default,
        rename = "wall_start_ms",
        with = "unix_ms::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub wall_start: Option<std::time::SystemTime>,
}

/// What the generator used, and whether it limited the measurement (measured by the
/// `usage` module; the rules are in docs/load.md).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    /// CPU time (user + system) the process used during the run.
    #[serde(rename = "cpu_ms", with = "serde_ms::option")]
    pub cpu: Option<Duration>,
    /// `cpu / elapsed` in percent of one CPU (200 = two CPUs busy).
    pub cpu_percent: Option<f64>,
    /// CPUs available to the process.
    pub cpus: usize,
    /// One-minute load average of the machine at the end (`null` where unknown).
    pub load_average: Option<f64>,
    /// Peak resident memory of the process so far, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Open-file soft limit after raising it.
    pub fd_limit: Option<u64>,
    /// Most connections open at once.
    pub peak_connections: usize,
    /// Whether the generator, not the target, likely limited the run.
    pub bottleneck: bool,
    /// Why, one sentence each (empty when it kept up).
    pub warnings: Vec<String>,
}

/// The outcome of the keyed-write check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteReport {
    /// Writes sent.
    pub attempted: u64,
    /// Writes answered 2xx.
    pub acknowledged: u64,
    /// Writes definitely refused (connect refused, 4xx, 5xx, injected).
    pub refused: u64,
    /// Writes with no answer (timeout, reset, cancelled): neither acknowledged nor refused.
    pub unknown: u64,
    /// Acknowledged writes whose key reads back as missing.
    pub lost: u64,
    /// Acknowledged writes whose key reads back with a value that was never written to it.
    pub unexpected: u64,
    /// Acknowledged writes whose read-back failed three times (not judged).
    pub read_failed: u64,
    /// `lost / acknowledged` (0 when nothing was acknowledged).
    pub loss_rate: f64,
    /// The lost keys, sorted.
    pub lost_keys: Vec<String>,
    /// The unexpected keys, sorted.
    pub unexpected_keys: Vec<String>,
    /// The keys whose read-back failed, sorted.
    pub read_failed_keys: Vec<String>,
    /// When the earliest-acknowledged lost write was acknowledged, on the run's clock
    /// (`null` when nothing was lost).
    #[serde(rename = "lost_first_ack_ms", with = "serde_ms::option")]
    pub lost_first_ack: Option<Duration>,
    /// When the latest-acknowledged lost write was acknowledged, on the run's clock.
    #[serde(rename = "lost_last_ack_ms", with = "serde_ms::option")]
    pub lost_last_ack: Option<Duration>,
}

impl WriteReport {
    /// Acknowledged writes whose key read back with the written value:
    /// `acknowledged − lost − unexpected − read_failed`.
    pub fn read_back(&self) -> u64 {
        self.acknowledged.saturating_sub(
            self.lost
                .saturating_add(self.unexpected)
                .saturating_add(self.read_failed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summaries_serialise_in_milliseconds() {
        let mut h = crate::load::histogram::run_histogram();
        crate::load::histogram::record(&mut h, Duration::from_micros(1500));
        let json = serde_json::to_value(Latency::of(&h)).unwrap();
        assert_eq!(json["count"], 1);
        assert!((json["p50_ms"].as_f64().unwrap() - 1.5).abs() < 0.01);
        let empty = serde_json::to_value(Latency::default()).unwrap();
        assert!(empty["p99_ms"].is_null());
    }
}
