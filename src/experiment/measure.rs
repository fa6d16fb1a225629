//! Time to detect, time to recover and MTTR: pure functions of a sample series and fault windows.
//!
//! Definitions (docs/experiments.md, "Measurements"):
//! - a sample passes when every steady-state probe passed (an erroring probe fails it);
//! - a *breach* is a run of consecutive failing samples; it belongs to the step most recently
//!   injected among the steps *in effect* at its first sample: a
//!   fault from `t_inject` to `t_clear`, an action from its start until the next step starts
//!   (a kill stays killed), each widened by a grace of one sampling interval on both sides (a
//!   sample is stamped when it starts, so one in flight as a step lands may see it; one that
//!   starts just after a removal may still see the fault). A breach no step was in effect for
//!   belongs to none;
//! - detected at = the first sample the step owns; TTD = detected − `t_inject` (0 when that
//!   sample was in flight as the step landed);
//! - recovered at = the start of the first run of `k` consecutive passing samples that
//!   follows both the detection and the step's last failing sample taken before `t_clear`
//!   (a flapping system has not recovered while the fault is still in place); a run of passes
//!   cut short by a later step's breach still counts (the system was well until the next step);
//! - TTR from injection = recovered − `t_inject`; from removal = recovered − `t_clear`
//!   (zero when the system recovered while the fault was still in place);
//! - a step never detected needs no recovery: it is "undetected" and counts as recovered.
//!
//! [`measure_steps`] attributes each breach to a step (`attribution`) and measures each step
//! from its own breaches ([`Measurement`]); [`summarize`] gives the percentiles of repeated
//! runs' figures (MTTR).

mod attribution;
mod measurement;
mod summary;

use std::time::Duration;

pub use attribution::Span;
pub use measurement::Measurement;
pub use summary::{Summary, summarize};

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

/// Measure every step against the samples (in time order): `spans[i]` is step `i` (`None`
/// when it never ran, giving `None`), `grace` how long after a step stops being in effect a
/// breach may still begin and be its own (one sampling interval), `k` passes mean recovered.
pub fn measure_steps(
    samples: &[Sample],
    spans: &[Option<Span>],
    grace: Duration,
    k: u32,
) -> Vec<Option<Measurement>> {
    let owners = attribution::breach_owners(samples, spans, grace);
    spans
        .iter()
        .enumerate()
        .map(|(step, span)| {
            span.map(|s| measurement::measure_owned(samples, &owners, step, s.window, k))
        })
        .collect()
}

#[cfg(test)]
mod tests;
