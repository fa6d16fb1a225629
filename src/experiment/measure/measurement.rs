//! One step's detection and recovery, measured from the breaches it owns.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Sample, Window};
use crate::experiment::record::secs;

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

/// The measurement of `step`, whose breaches are marked in `owners`.
pub(super) fn measure_owned(
    samples: &[Sample],
    owners: &[Option<usize>],
    step: usize,
    window: Window,
    k: u32,
) -> Measurement {
    let k = k.max(1) as usize;
    let mine = |i: usize| owners[i] == Some(step);
    let Some(breach) = (0..samples.len()).find(|&i| mine(i)) else {
        return Measurement::default();
    };
    let detected_at = samples[breach].at;
    // The search starts after the breach and after the step's last failure while in place.
    let last_fail_in_place = (breach..samples.len())
        .rfind(|&i| mine(i) && samples[i].at < window.removed)
        .unwrap_or(breach);
    // The first run of `k` consecutive passes: its start is the first pass after the latest
    // failure. Another step's breach ends the search: a run it cuts short still counts.
    let mut run_start = None;
    let mut recovered_at = None;
    for (i, s) in samples.iter().enumerate().skip(last_fail_in_place + 1) {
        if !s.pass {
            if owners[i].is_some_and(|o| o != step) {
                recovered_at = run_start.map(|r: usize| samples[r].at);
                break;
            }
            run_start = None;
            continue;
        }
        let start = *run_start.get_or_insert(i);
        if i + 1 - start == k {
            recovered_at = Some(samples[start].at);
            break;
        }
    }
    Measurement {
        detected_at: Some(detected_at),
        time_to_detect: Some(detected_at.saturating_sub(window.injected)),
        recovered_at,
        recovery_from_injection: recovered_at.map(|r| r.saturating_sub(window.injected)),
        recovery_from_removal: recovered_at.map(|r| r.saturating_sub(window.removed)),
    }
}
