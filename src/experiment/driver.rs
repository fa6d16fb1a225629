//! The experiment's load: the `load:` section handed to the load driver, sampled live for
//! load probes and stopped for its report and keyed-write read-back.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::probe::{LoadStats, LoadWindow};
use crate::clock::Clock;

/// What the load driver reported at the end.
#[derive(Debug, Clone, Default)]
pub struct LoadOutcome {
    /// The full report (percentiles, per-second timeline, errors by class).
    pub report: Option<Value>,
    /// The keyed-write check, when the load wrote keys.
    pub writes: Option<Value>,
    /// Acknowledged writes lost (from `writes.lost`).
    pub lost: Option<u64>,
}

/// A running load.
#[derive(Debug)]
pub struct Load {
    _private: (),
}

/// Check the `load:` section against the load driver's format.
pub fn check(_spec: &Value) -> Result<(), String> {
    Ok(())
}

impl Load {
    /// Start the load on `clock`.
    pub fn start(_spec: &Value, _clock: Clock, _seed: Option<u64>) -> Result<Self, String> {
        Err("the load driver is not merged yet".to_string())
    }

    /// A handle load probes can sample.
    pub fn window(&self) -> Arc<dyn LoadWindow> {
        Arc::new(Idle)
    }

    /// Stop sending, wait for in-flight requests, run the read-back, and report.
    pub async fn stop(self) -> LoadOutcome {
        LoadOutcome::default()
    }
}

struct Idle;
impl LoadWindow for Idle {
    fn stats(&self, _window: Duration) -> LoadStats {
        LoadStats::default()
    }
}
