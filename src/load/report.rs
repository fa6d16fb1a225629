//! The load report: JSON (stable, `version: 1`, see docs/load.md) and the terminal summary table.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::errors::{ClassCounts, ErrorClass};
use super::histogram::{Hist, TimelinePoint, quantile};
use super::spec::Arrival;
use super::thresholds::ThresholdOutcome;
use super::usage::Generator;
use super::writes::WriteReport;

/// Serialise durations as fractional milliseconds.
pub mod serde_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// A duration as milliseconds.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(ms(*d))
    }

    /// A duration from milliseconds (as [`serialize`] wrote it, so rounded to the microsecond).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        from_ms(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }

    fn from_ms(ms: f64) -> Result<Duration, String> {
        let micros = (ms * 1e3).round();
        if !(0.0..=u64::MAX as f64).contains(&micros) {
            return Err(format!("{ms} is not a duration in milliseconds"));
        }
        Ok(Duration::from_micros(micros as u64))
    }

    /// Milliseconds, rounded to the microsecond.
    pub fn ms(d: Duration) -> f64 {
        (d.as_secs_f64() * 1e6).round() / 1e3
    }

    /// An optional duration as milliseconds or `null`.
    pub mod option {
        use serde::Serializer;
        use std::time::Duration;

        /// `null` or milliseconds.
        pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
            match d {
                Some(d) => s.serialize_f64(super::ms(*d)),
                None => s.serialize_none(),
            }
        }

        /// `null` or a duration from milliseconds.
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Duration>, D::Error> {
            use serde::Deserialize;
            Option::<f64>::deserialize(d)?
                .map(|ms| super::from_ms(ms).map_err(serde::de::Error::custom))
                .transpose()
        }
    }
}

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
            mean: some.then(|| Duration::from_secs_f64(h.mean() / 1e6)),
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
    /// Completed requests per second of run.
    pub rps: f64,
    /// Requests the open-model schedule planned up to the end (or the stop).
    pub planned: Option<u64>,
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

/// Everything a load run measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    /// Format version of this JSON (1).
    pub version: u32,
    /// Target URL.
    pub target: String,
    /// `open` or `closed`.
    pub model: LoadModel,
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
    /// Totals and latency distributions.
    pub summary: Summary,
    /// Failures by class (every class present).
    pub errors_by_class: ClassCounts,
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
}

/// How requests were paced; on the wire `open` or `closed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadModel {
    /// A fixed arrival rate, whatever the latency.
    #[default]
    Open,
    /// Users that wait for each answer.
    Closed,
}

impl LoadModel {
    /// `open` or `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            LoadModel::Open => "open",
            LoadModel::Closed => "closed",
        }
    }
}

impl std::fmt::Display for LoadModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for LoadModel {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

fn ms(d: Option<Duration>) -> String {
    d.map_or("-".into(), |d| format!("{:.2}ms", serde_ms::ms(d)))
}

impl LoadReport {
    /// The human summary table.
    pub fn table(&self) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "target    {} ({} model, {} connections, {} threads, seed {})",
            self.target, self.model, self.connections, self.threads, self.seed
        );
        let _ = writeln!(
            out,
            "requests  {} in {:.2}s = {:.1}/s; ok {}, errors {} ({:.2}%)",
            s.requests,
            self.elapsed.as_secs_f64(),
            s.rps,
            s.ok,
            s.errors,
            s.error_rate * 100.0
        );
        if let Some(p) = s.planned {
            let _ = writeln!(
                out,
                "schedule  planned {p}, late {} (waited for a connection), lag p99 {} max {}, cancelled {}",
                s.late,
                ms(s.schedule_lag.p99),
                ms(s.schedule_lag.max),
                s.cancelled
            );
        }
        let _ = writeln!(
            out,
            "{:<14}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}",
            "", "p50", "p90", "p95", "p99", "p99.9", "max"
        );
        for (name, l) in [("latency", &s.latency), ("service time", &s.service_time)] {
            let _ = writeln!(
                out,
                "{name:<14}{:>11}{:>11}{:>11}{:>11}{:>11}{:>11}",
                ms(l.p50),
                ms(l.p90),
                ms(l.p95),
                ms(l.p99),
                ms(l.p999),
                ms(l.max)
            );
        }
        if s.errors > 0 {
            let classes: Vec<String> = ErrorClass::ALL
                .iter()
                .filter(|c| self.errors_by_class.get(**c) > 0)
                .map(|c| format!("{c} {}", self.errors_by_class.get(*c)))
                .collect();
            let _ = writeln!(out, "errors    {}", classes.join(", "));
        }
        if self.scenarios.len() > 1 {
            for sc in &self.scenarios {
                let _ = writeln!(
                    out,
                    "scenario  {:<30} weight {:>3}: {} requests, {} errors, p99 {}",
                    sc.name,
                    sc.weight,
                    sc.requests,
                    sc.errors,
                    ms(sc.latency.p99)
                );
            }
        }
        if let Some(w) = &self.writes {
            let _ = writeln!(
                out,
                "writes    attempted {}, acknowledged {}, refused {}, unknown {}, lost {}, unexpected {}, read failed {}",
                w.attempted,
                w.acknowledged,
                w.refused,
                w.unknown,
                w.lost,
                w.unexpected,
                w.read_failed
            );
            if !w.lost_keys.is_empty() {
                let shown: Vec<&str> = w.lost_keys.iter().take(10).map(String::as_str).collect();
                let _ = writeln!(
                    out,
                    "lost      {}{}",
                    shown.join(" "),
                    if w.lost_keys.len() > 10 { " …" } else { "" }
                );
            }
        }
        let g = &self.generator;
        let _ = writeln!(
            out,
            "generator cpu {}, peak rss {}, peak connections {}, open-file limit {}",
            g.cpu_percent
                .map_or("-".into(), |p| format!("{p:.0}% of {} CPUs", g.cpus)),
            g.peak_rss_bytes
                .map_or("-".into(), |b| format!("{:.1} MiB", b as f64 / 1048576.0)),
            g.peak_connections,
            g.fd_limit.map_or("-".into(), |l| l.to_string()),
        );
        for w in &g.warnings {
            let _ = writeln!(out, "WARNING   {w}");
        }
        for t in &self.thresholds {
            let observed = t
                .observed
                .map_or("no data".into(), |v| t.unit.for_people(v));
            let _ = writeln!(
                out,
                "threshold {:<40} {} (observed {observed}){}",
                t.threshold,
                if t.passed { "passed" } else { "FAILED" },
                if t.aborted { ", aborted the run" } else { "" }
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_summaries_serialise_in_milliseconds() {
        let mut h = super::super::histogram::run_histogram();
        super::super::histogram::record(&mut h, Duration::from_micros(1500));
        let json = serde_json::to_value(Latency::of(&h)).unwrap();
        assert_eq!(json["count"], 1);
        assert!((json["p50_ms"].as_f64().unwrap() - 1.5).abs() < 0.01);
        let empty = serde_json::to_value(Latency::default()).unwrap();
        assert!(empty["p99_ms"].is_null());
    }
}
