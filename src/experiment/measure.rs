//! Time to detect, time to recover and MTTR: pure functions of a sample series and fault windows.
//!
//! Definitions (docs/experiments.md, "Measurements"):
//! - a sample passes when every steady-state probe passed (an erroring probe fails it);
//! - detected at = the first failing sample at or after `t_inject`; TTD = detected − `t_inject`;
//! - recovered at = the start of the first run of `k` consecutive passing samples that
//!   follows both the detection and the last failing sample taken before `t_clear`
//!   (a flapping system has not recovered while the fault is still in place);
//! - TTR from injection = recovered − `t_inject`; from removal = recovered − `t_clear`
//!   (zero when the system recovered while the fault was still in place);
//! - a step never detected needs no recovery: it is "undetected" and counts as recovered.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::record::secs;

/// One steady-state sample on the run's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When the sample was taken.
    pub at: Duration,
    /// Whether every probe passed.
    pub pass: bool,
}

/// When a fault was in place: confirmed injected and confirmed removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// `t_inject`.
    pub injected: Duration,
    /// `t_clear` (equal to `injected` for an instantaneous action).
    pub removed: Duration,
}

/// Detection and recovery of one fault.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct Measurement {
    /// First failing sample at or after injection.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub detected_at: Option<Duration>,
    /// detected_at − t_inject.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub time_to_detect: Option<Duration>,
    /// Start of the first run of `recovered_after` passing samples after the breach.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub recovered_at: Option<Duration>,
    /// recovered_at − t_inject.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub recovery_from_injection: Option<Duration>,
    /// recovered_at − t_clear, zero when recovered before the fault was removed.
    #[serde(with = "secs::option")]
    #[schemars(with = "Option<f64>")]
    pub recovery_from_removal: Option<Duration>,
}

impl Measurement {
    /// Whether the steady state was breached at all.
    pub fn detected(&self) -> bool {
        self.detected_at.is_some()
    }

    /// Recovered, or never breached.
    pub fn recovered(&self) -> bool {
        !self.detected() || self.recovered_at.is_some()
    }

    /// Recovered within `deadline` of removal (never breached counts as in time).
    pub fn recovered_within(&self, deadline: Duration) -> bool {
        !self.detected() || self.recovery_from_removal.is_some_and(|r| r <= deadline)
    }
}

/// Measure one window against the samples (in time order), with `k` passes meaning recovered.
pub fn measure(samples: &[Sample], window: Window, k: u32) -> Measurement {
    let k = k.max(1) as usize;
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= window.injected).collect();
    let Some(breach) = after.iter().position(|s| !s.pass) else {
        return Measurement::default();
    };
    let detected_at = after[breach].at;
    // The search starts after the breach and after the last failure while the fault was in place.
    let last_fail_in_place = after
        .iter()
        .rposition(|s| !s.pass && s.at < window.removed)
        .unwrap_or(breach)
        .max(breach);
    // The first run of `k` consecutive passes: its start is the first pass after the latest failure.
    let mut run_start = None;
    let mut recovered_at = None;
    for (i, s) in after.iter().enumerate().skip(last_fail_in_place + 1) {
        if !s.pass {
            run_start = None;
            continue;
        }
        let start = *run_start.get_or_insert(i);
        if i + 1 - start == k {
            recovered_at = Some(after[start].at);
            break;
        }
    }
    Measurement {
        detected_at: Some(detected_at),
        time_to_detect: Some(detected_at - window.injected),
        recovered_at,
        recovery_from_injection: recovered_at.map(|r| r.saturating_sub(window.injected)),
        recovery_from_removal: recovered_at.map(|r| r.saturating_sub(window.removed)),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    /// Samples every 250 ms from 0; `fail(t_ms)` says which fail.
    fn series(until_ms: u64, fail: impl Fn(u64) -> bool) -> Vec<Sample> {
        (0..=until_ms / 250)
            .map(|i| Sample {
                at: MS(i * 250),
                pass: !fail(i * 250),
            })
            .collect()
    }

    fn window(inject: u64, clear: u64) -> Window {
        Window {
            injected: MS(inject),
            removed: MS(clear),
        }
    }

    #[test]
    fn outage_during_the_fault_recovers_after_removal() {
        // Fault 5 s..10 s; failing 5.25 s..10.5 s; passing from 10.75 s.
        let s = series(20_000, |t| (5_250..=10_500).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.time_to_detect, Some(MS(250)));
        assert_eq!(m.recovered_at, Some(MS(10_750)));
        assert_eq!(m.recovery_from_injection, Some(MS(5_750)));
        assert_eq!(m.recovery_from_removal, Some(MS(750)));
        assert!(m.recovered_within(MS(750)) && !m.recovered_within(MS(500)));
    }

    #[test]
    fn flapping_while_in_place_is_not_recovery() {
        // Fails on every third sample during 5..10 s: its runs of 2 passes reach k = 2 while the
        // fault is in place, yet recovery counts only after the last in-place failure at 9.75 s.
        let s = series(20_000, |t| {
            (5_000..10_000).contains(&t) && (t / 250) % 3 == 0
        });
        let m = measure(&s, window(5_000, 10_000), 2);
        assert_eq!(m.detected_at, Some(MS(5_250)));
        assert_eq!(m.recovered_at, Some(MS(10_000)));
        assert_eq!(m.recovery_from_removal, Some(Duration::ZERO));
    }

    #[test]
    fn failover_recovers_while_the_fault_is_in_place() {
        let s = series(20_000, |t| (5_000..=6_000).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.recovered_at, Some(MS(6_250)));
        assert_eq!(m.recovery_from_removal, Some(Duration::ZERO));
        assert_eq!(m.recovery_from_injection, Some(MS(1_250)));
    }

    #[test]
    fn late_detection_after_removal_counts_from_the_breach() {
        // A breaker that opens only after the fault is gone, then a 5 s cooldown.
        let s = series(20_000, |t| (10_500..15_500).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.time_to_detect, Some(MS(5_500)));
        assert_eq!(m.recovered_at, Some(MS(15_500)));
        assert_eq!(m.recovery_from_removal, Some(MS(5_500)));
    }

    #[test]
    fn undetected_and_unrecovered() {
        let s = series(20_000, |_| false);
        let m = measure(&s, window(5_000, 10_000), 3);
        assert!(!m.detected() && m.recovered() && m.recovered_within(Duration::ZERO));
        assert_eq!(m.time_to_detect, None);

        // Two passes at the end are not enough for k = 3.
        let s = series(20_000, |t| (5_000..19_750).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 3);
        assert!(m.detected() && !m.recovered() && !m.recovered_within(MS(60_000)));
        // Samples before the injection are ignored.
        let s = series(20_000, |t| t < 5_000);
        assert_eq!(measure(&s, window(5_000, 6_000), 3), Measurement::default());
    }

    #[test]
    fn a_relapse_after_removal_restarts_the_count() {
        let s = series(20_000, |t| (5_000..10_000).contains(&t) || t == 10_500);
        let m = measure(&s, window(5_000, 10_000), 3);
        assert_eq!(m.recovered_at, Some(MS(10_750)));
    }

    #[test]
    fn one_pass_suffices_when_k_is_1() {
        let s = series(20_000, |t| (5_000..7_000).contains(&t));
        let m = measure(&s, window(5_000, 10_000), 1);
        assert_eq!(m.recovered_at, Some(MS(7_000)));
        // k = 0 is treated as 1.
        assert_eq!(measure(&s, window(5_000, 10_000), 0), m);
    }

    #[test]
    fn nearest_rank_summary() {
        assert_eq!(summarize(&[]), None);
        let v: Vec<Duration> = (1..=10).rev().map(Duration::from_secs).collect();
        let s = summarize(&v).unwrap();
        assert_eq!(
            (s.p50, s.p90, s.max, s.n),
            (
                Duration::from_secs(5),
                Duration::from_secs(9),
                Duration::from_secs(10),
                10
            )
        );
        let one = summarize(&[MS(700)]).unwrap();
        assert_eq!(
            (one.p50, one.p90, one.max, one.n),
            (MS(700), MS(700), MS(700), 1)
        );
    }
}
