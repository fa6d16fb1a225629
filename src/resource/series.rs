//! The recorded series: host samples and one series per watched process tree, on the run's clock,
//! with each series' peak and end figures and its RSS slope (what baselines compare).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::fit::Fit;
use super::target::Target;
use crate::experiment::record::secs;

/// Everything the sampler recorded in one run. Times are on the run's clock (time 0 is the
/// method's start, the same clock that marks fault windows); the journal writes them in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Resources {
    /// Time between samples.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub interval: Duration,
    /// Wall-clock time of time 0, RFC 3339 with milliseconds (a sample's wall time is this
    /// plus its `at`).
    pub origin_wall: String,
    /// The host, once per interval.
    pub host: Vec<HostSample>,
    /// One series per watched process tree, in the order they were named.
    pub processes: Vec<ProcessSeries>,
}

/// One sample of the whole host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostSample {
    /// When, on the run's clock (seconds in the journal).
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub at: Duration,
    /// CPU busy over the last interval, percent of all cores (0..100).
    pub cpu_percent: f64,
    /// Memory in use (total minus available), bytes.
    pub memory_used_bytes: u64,
    /// Physical memory, bytes.
    pub memory_total_bytes: u64,
    /// Load average over 1, 5 and 15 minutes.
    pub load: [f64; 3],
    /// Bytes received on every interface since sampling started.
    pub net_rx_bytes: u64,
    /// Bytes sent on every interface since sampling started.
    pub net_tx_bytes: u64,
    /// Bytes read from every disk since sampling started.
    pub disk_read_bytes: u64,
    /// Bytes written to every disk since sampling started.
    pub disk_write_bytes: u64,
}

/// One watched process tree over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessSeries {
    /// What was watched.
    pub target: Target,
    /// A sample per interval while the process was there.
    pub samples: Vec<ProcessSample>,
    /// Each change of presence (found, gone, unreadable), in time order.
    pub changes: Vec<Change>,
    /// Largest value of each figure over the run (each figure's own maximum).
    pub peak: Option<Figures>,
    /// The figures of the last sample.
    pub end: Option<Figures>,
    /// Least-squares slope of RSS over the whole run, bytes per second, with its 95% interval
    /// (absent with fewer than `fit::MIN_POINTS` samples).
    pub rss_slope: Option<Fit>,
}

/// The watched processes at one instant, summed over the tree (the process and its descendants).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessSample {
    /// When, on the run's clock (seconds in the journal).
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub at: Duration,
    /// The processes summed (the tree's root pids first).
    pub pids: Vec<u32>,
    /// CPU time over the last interval, percent of one core (two busy cores: 200).
    pub cpu_percent: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors; absent when `/proc/PID/fd` may not be read.
    pub fds: Option<u64>,
    /// TCP sockets by state (`ESTABLISHED`, `LISTEN`, `TIME_WAIT`, …), IPv4 and IPv6; absent when
    /// the descriptors may not be read.
    pub tcp: Option<BTreeMap<String, u64>>,
}

/// A change of a watched process's presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Change {
    /// When it was seen (seconds in the journal).
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub at: Duration,
    /// What was seen.
    pub presence: Presence,
}

/// Whether a watched process could be sampled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Presence {
    /// Found, with these root pids.
    Running {
        /// The root pids.
        pids: Vec<u32>,
    },
    /// No such process (it exited, was never started, or a service is stopped): recorded, not
    /// a crash.
    Gone,
    /// Found but not readable (another user's process without the privilege to read it).
    Unreadable {
        /// Why, as the system said it.
        why: String,
    },
}

/// The headline figures of a process tree: a peak or an end value of each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Figures {
    /// CPU, percent of one core.
    pub cpu_percent: f64,
    /// Resident set size, bytes.
    pub rss_bytes: u64,
    /// Threads.
    pub threads: u64,
    /// Open file descriptors (absent when unreadable).
    pub fds: Option<u64>,
    /// TCP sockets in any state (absent when unreadable).
    pub connections: Option<u64>,
}

impl ProcessSample {
    /// Its headline figures.
    pub fn figures(&self) -> Figures {
        Figures {
            cpu_percent: self.cpu_percent,
            rss_bytes: self.rss_bytes,
            threads: self.threads,
            fds: self.fds,
            connections: self.tcp.as_ref().map(|t| t.values().sum()),
        }
    }
}

impl Figures {
    /// Each figure's larger value.
    fn max(self, other: Figures) -> Figures {
        Figures {
            cpu_percent: self.cpu_percent.max(other.cpu_percent),
            rss_bytes: self.rss_bytes.max(other.rss_bytes),
            threads: self.threads.max(other.threads),
            fds: self.fds.max(other.fds),
            connections: self.connections.max(other.connections),
        }
    }
}

impl ProcessSeries {
    /// An empty series of `target`.
    pub fn new(target: Target) -> Self {
        Self {
            target,
            samples: Vec::new(),
            changes: Vec::new(),
            peak: None,
            end: None,
            rss_slope: None,
        }
    }

    /// Record a change of presence, unless it is the same as the last one.
    pub fn note(&mut self, at: Duration, presence: Presence) {
        if self.changes.last().map(|c| &c.presence) != Some(&presence) {
            self.changes.push(Change { at, presence });
        }
    }

    /// The last presence seen.
    pub fn presence(&self) -> Option<&Presence> {
        self.changes.last().map(|c| &c.presence)
    }

    /// Compute `peak`, `end` and `rss_slope` from the samples.
    pub fn finish(&mut self) {
        self.peak = self
            .samples
            .iter()
            .map(ProcessSample::figures)
            .reduce(Figures::max);
        self.end = self.samples.last().map(ProcessSample::figures);
        let points: Vec<(f64, f64)> = self
            .samples
            .iter()
            .map(|s| (s.at.as_secs_f64(), s.rss_bytes as f64))
            .collect();
        self.rss_slope = Fit::of(&points);
    }
}

impl Resources {
    /// Compute every series' figures (at the end of the run).
    pub fn finish(&mut self) {
        self.processes.iter_mut().for_each(ProcessSeries::finish);
    }

    /// The series of `target`, if it was watched.
    pub fn series(&self, target: &Target) -> Option<&ProcessSeries> {
        self.processes.iter().find(|p| &p.target == target)
    }
}
