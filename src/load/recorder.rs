//! The recorder: one worker's counts and HDR histograms, filled without locks and merged at the end.

use std::time::Duration;

use super::errors::{ClassCounts, ErrorClass};
use super::histogram::{Hist, LocalBuckets, merge, record, run_histogram};

/// Counts and histograms of one scenario.
#[derive(Debug, Clone)]
pub(super) struct ScenarioRec {
    /// Completed requests.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub errors: u64,
    /// Latency from intended send time.
    pub latency: Hist,
}

/// Everything one worker measured.
#[derive(Debug)]
pub(super) struct Recorder {
    /// Latency from intended send time.
    pub latency: Hist,
    /// Service time from actual send.
    pub service: Hist,
    /// Schedule lag: actual send − intended send.
    pub lag: Hist,
    /// Completed requests.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures by class.
    pub errors: ClassCounts,
    /// Requests that waited for a free connection (the in-flight cap).
    pub late: u64,
    /// Requests in flight when a stop's drain period ran out.
    pub cancelled: u64,
    /// Open model: slots due before sending stopped that were never sent.
    pub unsent: u64,
    /// Per scenario.
    pub scenarios: Vec<ScenarioRec>,
    /// Per-second buckets not yet flushed to the shared timeline.
    pub(super) local: LocalBuckets,
}

impl Recorder {
    /// Empty measurements for `scenarios` scenarios.
    pub(super) fn new(scenarios: usize) -> Self {
        Self {
            latency: run_histogram(),
            service: run_histogram(),
            lag: run_histogram(),
            requests: 0,
            ok: 0,
            errors: ClassCounts::default(),
            late: 0,
            cancelled: 0,
            unsent: 0,
            scenarios: (0..scenarios)
                .map(|_| ScenarioRec {
                    requests: 0,
                    ok: 0,
                    errors: 0,
                    latency: run_histogram(),
                })
                .collect(),
            local: LocalBuckets::default(),
        }
    }

    /// Record one completed (or failed) request.
    pub(super) fn record(
        &mut self,
        scenario: usize,
        second: u64,
        latency: Duration,
        service: Option<Duration>,
        error: Option<ErrorClass>,
    ) {
        self.requests += 1;
        record(&mut self.latency, latency);
        if let Some(s) = service {
            record(&mut self.service, s);
        }
        let s = &mut self.scenarios[scenario];
        s.requests += 1;
        record(&mut s.latency, latency);
        match error {
            None => {
                self.ok += 1;
                s.ok += 1;
            }
            Some(class) => {
                self.errors.add(class);
                s.errors += 1;
            }
        }
        self.local.record(second, latency, service, error);
    }

    /// Add another worker's measurements (the per-second buckets excepted:
    /// those are flushed to the shared timeline as the run goes).
    pub(super) fn merge(&mut self, o: &Recorder) {
        merge(&mut self.latency, &o.latency);
        merge(&mut self.service, &o.service);
        merge(&mut self.lag, &o.lag);
        self.requests += o.requests;
        self.ok += o.ok;
        self.errors.merge(&o.errors);
        self.late += o.late;
        self.cancelled += o.cancelled;
        self.unsent += o.unsent;
        for (a, b) in self.scenarios.iter_mut().zip(&o.scenarios) {
            a.requests += b.requests;
            a.ok += b.ok;
            a.errors += b.errors;
            merge(&mut a.latency, &b.latency);
        }
    }
}
