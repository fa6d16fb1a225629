//! The named figures of a run that a baseline keeps: what each is, its unit, which direction is
//! better, and how it is read from a run's record (one line each in [`CATALOGUE`]).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::noise::median;
use crate::experiment::record::{ExperimentRecord, RunRecord, Status};
use crate::load::units;
use crate::load::{Latency, Summary as LoadSummary};
use crate::resource::ProcessSample;

// A superset of the load's `crate::load::Unit` that keeps its own wire names (`fraction`
// where a threshold says `ratio`: the baseline file's and the journal's schema); values read
// for people through the same `load::units` helpers.
/// The unit of a figure's value (values are in SI base units: seconds, not milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Unit {
    /// Seconds (latencies, TTD, TTR, MTTR).
    #[serde(rename = "s")]
    Seconds,
    /// Per second (request rate).
    #[serde(rename = "1/s")]
    PerSecond,
    /// A fraction 0..1 (error rate).
    #[serde(rename = "fraction")]
    Fraction,
    /// Bytes (memory).
    #[serde(rename = "bytes")]
    Bytes,
    /// Bytes per second (a memory slope; may be negative).
    #[serde(rename = "bytes/s")]
    BytesPerSecond,
    /// Percent of one core (CPU).
    #[serde(rename = "%")]
    Percent,
    /// A count (file descriptors, threads).
    #[serde(rename = "count")]
    Count,
}

impl Unit {
    /// A value of this unit for people: `12.3 ms`, `0.20 %`, `98.0/s`, `512.0 MB`.
    pub fn for_people(self, v: f64) -> String {
        match self {
            Unit::Seconds if v.abs() < 1.0 => units::millis_for_people(v),
            Unit::Seconds => format!("{v:.2} s"),
            Unit::PerSecond => units::rate_for_people(v),
            Unit::Fraction => units::percent_for_people(v),
            Unit::Bytes => format!("{:.1} MB", v / 1e6),
            Unit::BytesPerSecond => format!("{:.1} kB/s", v / 1e3),
            Unit::Percent => format!("{v:.1} %"),
            Unit::Count => format!("{v:.0}"),
        }
    }

    /// Whether a value may be negative (only a slope may).
    pub fn signed(self) -> bool {
        self == Unit::BytesPerSecond
    }
}

/// Which way a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Lower is better (latency, error rate, TTR, memory).
    Lower,
    /// Higher is better (request rate).
    Higher,
}

/// One named figure: its value (the median of the runs' samples), unit, better direction, and
/// the per-run samples it was taken from (one per run that measured it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The median of `samples`, in `unit`.
    pub value: f64,
    /// The unit of `value` and `samples`.
    pub unit: Unit,
    /// Which way is better.
    pub direction: Direction,
    /// One value per run that measured it (`--repeat N`: up to N).
    #[serde(default)]
    pub samples: Vec<f64>,
}

/// How a figure of the catalogue is read from one run (`None`: not measured in that run).
type Read = fn(&RunRecord) -> Option<f64>;

/// A figure the catalogue knows: name, unit, better direction, what it is, how it is read.
#[derive(Debug, Clone, Copy)]
pub struct Def {
    /// The name in baselines and in `expect.regression.figures`.
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// Which way is better.
    pub direction: Direction,
    /// What it is, for the docs and errors.
    pub what: &'static str,
    read: Read,
}

const fn def(
    name: &'static str,
    unit: Unit,
    direction: Direction,
    what: &'static str,
    read: Read,
) -> Def {
    Def {
        name,
        unit,
        direction,
        what,
        read,
    }
}

/// A latency percentile of the run's load, in seconds.
fn latency(run: &RunRecord, pick: fn(&Latency) -> Option<Duration>) -> Option<f64> {
    pick(&run.load.as_ref()?.summary.latency).map(|d| d.as_secs_f64())
}

/// The load's request rate or error rate (only when it completed a request).
fn totals(run: &RunRecord, pick: fn(&LoadSummary) -> f64) -> Option<f64> {
    let s = &run.load.as_ref()?.summary;
    (s.requests > 0).then(|| pick(s))
}

/// The median TTR from injection of the run's recovered measured steps.
fn mttr(run: &RunRecord) -> Option<f64> {
    let ttrs: Vec<f64> = run
        .steps
        .iter()
        .filter_map(|s| s.measurement?.recovery_from_injection)
        .map(|d| d.as_secs_f64())
        .collect();
    median(&ttrs)
}

/// A figure of the watched processes, summed over them at each sample time (the sampler reads
/// every process at the same instants), and its largest value; `None` without resources.
fn resource_peak(run: &RunRecord, pick: fn(&ProcessSample) -> Option<f64>) -> Option<f64> {
    let mut by_time: BTreeMap<Duration, f64> = BTreeMap::new();
    for p in &run.resources.as_ref()?.processes {
        for s in &p.samples {
            if let Some(v) = pick(s) {
                *by_time.entry(s.at).or_default() += v;
            }
        }
    }
    by_time.values().copied().reduce(f64::max)
}

/// The fitted RSS growth of the watched processes together, bytes per second: the sum of their
/// least-squares slopes over the run (`None` when none had enough samples for one).
fn rss_slope(run: &RunRecord) -> Option<f64> {
    let slopes: Vec<f64> = run
        .resources
        .as_ref()?
        .processes
        .iter()
        .filter_map(|p| p.rss_slope.map(|f| f.slope))
        .collect();
    (!slopes.is_empty()).then(|| slopes.iter().sum())
}

/// Every figure a baseline may hold besides the per-step `ttd.STEP` and `ttr.STEP`. A new
/// figure is one line here.
#[rustfmt::skip]
pub static CATALOGUE: &[Def] = &[
    def("p50",          Unit::Seconds,        Direction::Lower,  "median latency of the load", |r| latency(r, |l| l.p50)),
    def("p90",          Unit::Seconds,        Direction::Lower,  "90th percentile latency", |r| latency(r, |l| l.p90)),
    def("p99",          Unit::Seconds,        Direction::Lower,  "99th percentile latency", |r| latency(r, |l| l.p99)),
    def("p99.9",        Unit::Seconds,        Direction::Lower,  "99.9th percentile latency", |r| latency(r, |l| l.p999)),
    def("max",          Unit::Seconds,        Direction::Lower,  "largest latency", |r| latency(r, |l| l.max)),
    def("rps",          Unit::PerSecond,      Direction::Higher, "completed requests per second", |r| totals(r, |s| s.rps)),
    def("error_rate",   Unit::Fraction,       Direction::Lower,  "failed / completed requests", |r| totals(r, |s| s.error_rate)),
    def("mttr",         Unit::Seconds,        Direction::Lower,  "median TTR from injection of the measured steps", mttr),
    // The resource sampler's figures (docs/resources.md), over the watched processes together.
    def("rss_peak",     Unit::Bytes,          Direction::Lower,  "peak resident memory of the watched processes", |r| resource_peak(r, |s| Some(s.rss_bytes as f64))),
    def("rss_slope",    Unit::BytesPerSecond, Direction::Lower,  "fitted growth of resident memory", rss_slope),
    def("cpu_peak",     Unit::Percent,        Direction::Lower,  "peak CPU of the watched processes", |r| resource_peak(r, |s| Some(s.cpu_percent))),
    def("fds_peak",     Unit::Count,          Direction::Lower,  "peak open file descriptors", |r| resource_peak(r, |s| s.fds.map(|f| f as f64))),
    def("threads_peak", Unit::Count,          Direction::Lower,  "peak threads", |r| resource_peak(r, |s| Some(s.threads as f64))),
];

/// The prefixes of the per-step figures: `ttd.STEP` (time to detect) and `ttr.STEP` (time to
/// recover from injection) of the measured step named STEP.
pub const STEP_PREFIXES: [&str; 2] = ["ttd.", "ttr."];

/// The catalogue entry of `name`, if it is not a per-step figure.
pub fn find(name: &str) -> Option<&'static Def> {
    CATALOGUE.iter().find(|d| d.name == name)
}

/// Whether `name` is a figure an experiment with these step names can have.
pub fn is_known(name: &str, steps: &[&str]) -> bool {
    find(name).is_some()
        || STEP_PREFIXES
            .iter()
            .any(|p| name.strip_prefix(p).is_some_and(|s| steps.contains(&s)))
}

/// The unit and direction a figure named `name` must have (`None`: not a known figure).
pub fn expected_shape(name: &str) -> Option<(Unit, Direction)> {
    match find(name) {
        Some(d) => Some((d.unit, d.direction)),
        None if STEP_PREFIXES.iter().any(|p| name.starts_with(p)) => {
            Some((Unit::Seconds, Direction::Lower))
        }
        None => None,
    }
}

/// The named figures of one run.
fn run_figures(run: &RunRecord) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = CATALOGUE
        .iter()
        .filter_map(|d| Some((d.name.to_string(), (d.read)(run)?)))
        .collect();
    for step in run.steps.iter().filter(|s| s.measured) {
        let Some(m) = step.measurement else { continue };
        let [ttd, ttr] = STEP_PREFIXES;
        let per_step = [(ttd, m.time_to_detect), (ttr, m.recovery_from_injection)];
        for (prefix, d) in per_step {
            let name = format!("{prefix}{}", step.name);
            // Two steps of one name: the first one's figure (one sample per run).
            if let Some(d) = d.filter(|_| out.iter().all(|(n, _)| *n != name)) {
                out.push((name, d.as_secs_f64()));
            }
        }
    }
    out
}

/// The figures of an experiment's runs: each the median of one sample per run that measured
/// it. Runs that ended early (aborted, preflight failed) contribute nothing.
pub fn figures(record: &ExperimentRecord) -> BTreeMap<String, Figure> {
    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let complete = record
        .runs
        .iter()
        .filter(|r| matches!(r.status, Some(Status::Passed | Status::Failed)));
    for (name, v) in complete.flat_map(run_figures) {
        samples.entry(name).or_default().push(v);
    }
    samples
        .into_iter()
        .filter_map(|(name, samples)| {
            let (unit, direction) = expected_shape(&name)?;
            Some((
                name,
                Figure {
                    value: median(&samples)?,
                    unit,
                    direction,
                    samples,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{Fit, ProcessSeries, Resources, Target};

    /// The resource figures read the sampler's series: peaks of the processes summed at each
    /// instant (not the sum of peaks that did not coincide), slopes added.
    #[test]
    fn resource_figures_sum_the_watched_processes_at_each_instant() {
        let series = |name: &str, rss: [u64; 2], fds: [u64; 2], slope: f64| {
            let mut p = ProcessSeries::new(Target::Service(name.into()));
            for (i, (r, f)) in rss.iter().zip(fds).enumerate() {
                p.samples.push(ProcessSample {
                    at: Duration::from_secs(i as u64),
                    rss_bytes: *r,
                    fds: Some(f),
                    threads: 2,
                    cpu_percent: 10.0,
                    ..Default::default()
                });
            }
            p.rss_slope = Some(Fit {
                n: 8,
                slope,
                half_width: 0.0,
                r2: 1.0,
            });
            p
        };
        let run = RunRecord {
            resources: Some(Resources {
                processes: vec![
                    series("a", [100, 300], [5, 1], 10.0),
                    series("b", [400, 100], [1, 2], -4.0),
                ],
                ..Default::default()
            }),
            ..Default::default()
        };
        let read = |name: &str| (find(name).unwrap().read)(&run);
        assert_eq!(read("rss_peak"), Some(500.0), "max(100+400, 300+100)");
        assert_eq!(read("fds_peak"), Some(6.0));
        assert_eq!(read("threads_peak"), Some(4.0));
        assert_eq!(read("cpu_peak"), Some(20.0));
        assert_eq!(read("rss_slope"), Some(6.0));
        assert_eq!(
            (find("rss_peak").unwrap().read)(&RunRecord::default()),
            None
        );
    }
}
