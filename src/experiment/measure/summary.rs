//! Percentiles of a set of durations: the MTTR of repeated runs.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::experiment::record::secs;

/// p50, p90, max and count of a set of durations (nearest-rank percentiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    /// Median.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub p50: Duration,
    /// 90th percentile.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub p90: Duration,
    /// Largest.
    #[serde(with = "secs")]
    #[schemars(with = "f64")]
    pub max: Duration,
    /// How many values.
    pub n: usize,
}

/// Summarize `values`; `None` when empty.
pub fn summarize(values: &[Duration]) -> Option<Summary> {
    let mut v = values.to_vec();
    v.sort();
    let n = v.len();
    let rank = |p: f64| v[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
    (n > 0).then(|| Summary {
        p50: rank(0.5),
        p90: rank(0.9),
        max: v[n - 1],
        n,
    })
}
