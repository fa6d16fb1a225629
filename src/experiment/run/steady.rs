//! The steady-state gates around the method: preflight before the load, the last sample before
//! the first step, and the wait for recovery after the last one.

use std::time::Duration;

use futures_util::future::join_all;

use super::Shared;
use crate::clock::Clock;
use crate::experiment::client::Http;
use crate::experiment::probe::{self, Outcome, Status as ProbeStatus};
use crate::experiment::record::Status;
use crate::experiment::spec::{Check, Experiment};

/// How long preflight retries the steady state before giving up.
const PREFLIGHT_PATIENCE: Duration = Duration::from_secs(5);

/// The probes that did not pass, as `name: detail; …`.
fn failing(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .filter(|o| o.status != ProbeStatus::Pass)
        .map(|o| format!("{}: {}", o.probe, o.detail))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Services answer and the probes that need no load pass; retried for a few seconds.
pub(super) async fn preflight(experiment: &Experiment, shared: &Shared, http: &Http) -> bool {
    let outcomes = probes_before_load(experiment, http).await;
    let pass = outcomes.iter().all(|o| o.status == ProbeStatus::Pass);
    let failing = failing(&outcomes);
    shared.journal().preflight = outcomes;
    if !pass {
        shared.stop(
            Status::PreflightFailed,
            format!("the steady state does not hold before any fault ({failing})"),
        );
    }
    pass
}

/// Run the probes that need no load (all but `load` probes) until every one passes or
/// [`PREFLIGHT_PATIENCE`] is over, one round per sampling interval (100 ms at least); the
/// outcomes of the last round.
pub(crate) async fn probes_before_load(experiment: &Experiment, http: &Http) -> Vec<Outcome> {
    let probes: Vec<_> = experiment
        .steady_state
        .probes
        .iter()
        .filter(|p| !matches!(p.check, Check::Load { .. }))
        .collect();
    let deadline = tokio::time::Instant::now() + PREFLIGHT_PATIENCE;
    loop {
        let outcomes = join_all(probes.iter().map(|p| probe::run(p, http, None))).await;
        if outcomes.iter().all(|o| o.status == ProbeStatus::Pass)
            || tokio::time::Instant::now() >= deadline
        {
            return outcomes;
        }
        tokio::time::sleep(
            experiment
                .steady_state
                .interval
                .max(Duration::from_millis(100)),
        )
        .await;
    }
}

/// The last sample before the first step must pass; otherwise nothing is injected.
pub(super) async fn steady_before_faults(
    experiment: &Experiment,
    shared: &Shared,
    clock: Clock,
) -> bool {
    if experiment.steady_state.probes.is_empty() {
        return true;
    }
    // Wait (bounded) for a first sample when the first step is at 0s.
    for _ in 0..100 {
        if !shared.journal().samples.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let last = shared.journal().samples.last().cloned();
    match last {
        Some(s) if s.pass => true,
        Some(s) => {
            shared.stop(
                Status::PreflightFailed,
                format!(
                    "the steady state does not hold at {:.2}s, before the first step ({})",
                    clock.now().as_secs_f64(),
                    failing(&s.probes)
                ),
            );
            false
        }
        None => {
            shared.stop(
                Status::PreflightFailed,
                "no steady-state sample before the first step",
            );
            false
        }
    }
}

/// After the method, keep sampling until the steady state has been sampled `recovered_after`
/// times since the last removal and every measured step recovered, or until the deadline. Without
/// the samples after the last removal, a step that breaks the system at the very end of the method
/// would read as "never breached" and the hypothesis would be judged on a sample taken before it.
pub(super) async fn wait_for_recovery(experiment: &Experiment, shared: &Shared, clock: Clock) {
    if experiment.steady_state.probes.is_empty() {
        return;
    }
    let Some(planned_end) = experiment.method.iter().map(|s| s.end()).max() else {
        return;
    };
    // An action's removal is its completion (a `start` waits until ready): count from the later.
    let confirmed = shared.journal().last_removal();
    let last_end = planned_end.max(confirmed);
    let k = experiment.steady_state.recovered_after;
    let interval = experiment.steady_state.interval;
    let grace = (experiment.expect.recovered_within.unwrap_or(Duration::ZERO))
        .saturating_add(interval.saturating_mul(k.saturating_add(1)));
    let deadline = last_end.saturating_add(grace).max(experiment.duration);
    // Bounded by the deadline; one check per interval.
    while clock.now() < deadline {
        if settled(experiment, shared, k) {
            return;
        }
        tokio::select! {
            _ = shared.abort.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// `k` samples started after the last confirmed removal, and every measured step recovered.
fn settled(experiment: &Experiment, shared: &Shared, k: u32) -> bool {
    let j = shared.journal();
    let last_removal = j.last_removal();
    if j.samples.iter().filter(|s| s.at >= last_removal).count() < k as usize {
        return false;
    }
    crate::experiment::verdict::measurements(experiment, &j)
        .iter()
        .flatten()
        .all(|m| m.recovered())
}
