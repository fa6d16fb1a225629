//! The steady-state sampler: every `interval`, all probes and guards
//! ([`crate::experiment::probe::sampling`]), recorded on the run's clock; a guard failing for
//! its `for` aborts the run.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::clock::Clock;
use crate::experiment::client::Http;
use crate::experiment::probe::sampling::{Round, Sampler};
use crate::experiment::probe::{LoadWindow, Status as ProbeStatus};
use crate::experiment::record::{SampleRecord, Status, for_people};
use crate::experiment::spec::Experiment;

/// Sample until `stop` is cancelled.
pub(super) async fn sample(
    experiment: Arc<Experiment>,
    shared: Arc<Shared>,
    http: Http,
    load: Option<Arc<dyn LoadWindow>>,
    clock: Clock,
    stop: CancellationToken,
) {
    let sampler = Sampler {
        probes: experiment.steady_state.probes.clone(),
        guards: experiment.guards.iter().map(|g| g.probe.clone()).collect(),
        interval: experiment.steady_state.interval,
        http,
        load,
        clock,
    };
    let mut failing_since: Vec<Option<Duration>> = vec![None; experiment.guards.len()];
    let resources = || shared.resources.get().cloned();
    sampler
        .run(resources, stop, |round| {
            record(&experiment, &shared, round, &mut failing_since)
        })
        .await;
}

/// Record one round; abort the run when a guard has failed for its `for`.
fn record(
    experiment: &Experiment,
    shared: &Shared,
    round: Round,
    failing_since: &mut [Option<Duration>],
) {
    let Round { at, probes, guards } = round;
    let pass = probes.iter().all(|o| o.status == ProbeStatus::Pass);
    shared
        .journal()
        .samples
        .push(SampleRecord { at, pass, probes });
    for ((guard, outcome), since) in experiment
        .guards
        .iter()
        .zip(guards)
        .zip(failing_since.iter_mut())
    {
        if outcome.status == ProbeStatus::Pass {
            *since = None;
            continue;
        }
        let start = *since.get_or_insert(at);
        if at.saturating_sub(start) >= guard.for_ {
            let reason = format!(
                "guard `{}` failed for {} ({})",
                guard.probe.name,
                for_people(at.saturating_sub(start)),
                outcome.detail
            );
            shared.journal().guard = Some(reason.clone());
            shared.stop(Status::Aborted, reason);
        }
    }
}
