//! The experiment's load: the `load:` section handed to the load driver, sampled live for
//! load probes and stopped for its report and keyed-write read-back.

use std::sync::Arc;
use std::time::Duration;

use super::probe::{LoadStats, LoadWindow};
use crate::clock::Clock;
use crate::load::{self, LoadError, LoadReport, LoadRun, LoadSpec};

/// A running load.
#[derive(Debug)]
pub(super) struct Load {
    run: Arc<LoadRun>,
}

/// Check a `load:` section with the load driver's own validation; the error names the
/// field relative to the section (`scenarios[0].write.method`).
pub(super) fn check(spec: &LoadSpec) -> Result<(), LoadError> {
    load::validate(spec)
}

impl Load {
    /// Start the load on `clock` (its time 0 is the run's).
    pub(super) fn start(
        spec: &LoadSpec,
        clock: Clock,
        seed: Option<u64>,
    ) -> Result<Self, LoadError> {
        let run = load::start(spec.clone(), clock, seed)?;
        Ok(Self { run: Arc::new(run) })
    }

    /// A handle load probes can sample.
    pub(super) fn window(&self) -> Arc<dyn LoadWindow> {
        self.run.clone()
    }

    /// Stop sending, wait for in-flight requests, run the read-back, and report (with the
    /// keyed-write check). Every [`window`](Self::window) handle must have been dropped first;
    /// `None` when one was not.
    pub(super) async fn stop(self) -> Option<LoadReport> {
        // The sampler, the only other holder, has ended before the load is stopped.
        let Ok(run) = Arc::try_unwrap(self.run) else {
            tracing::warn!("the load is still referenced by a probe; its report is unavailable");
            return None;
        };
        Some(run.stop().await)
    }
}

impl LoadWindow for LoadRun {
    fn stats(&self, window: Duration) -> LoadStats {
        let w = self.window(window);
        LoadStats {
            requests: w.requests,
            error_rate: w.error_rate,
            rps: w.rps,
            p50: w.p50,
            p90: w.p90,
            p95: w.p95,
            p99: w.p99,
        }
    }

    fn elapsed(&self) -> Duration {
        LoadRun::elapsed(self)
    }
}
