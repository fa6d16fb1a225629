//! The steady-state sampler: every `interval`, all probes and guards, recorded on the run's clock.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesOrdered;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::clock::Clock;
use crate::experiment::client::Http;
use crate::experiment::probe::{self, LoadWindow, Status as ProbeStatus};
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
    // Samples are taken on a fixed schedule: a slow probe (bounded by its timeout) does not
    // delay the next sample; samples run concurrently and are recorded in schedule order,
    // each at the time it was started.
    let mut tick = tokio::time::interval_at(clock.origin(), experiment.steady_state.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut failing_since: Vec<Option<Duration>> = vec![None; experiment.guards.len()];
    let mut in_flight = FuturesOrdered::new();
    loop {
        let (at, outcomes, guard_outcomes) = tokio::select! {
            biased;
            Some(done) = in_flight.next() => done,
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                let at = clock.now();
                let (experiment, http, load) = (experiment.clone(), http.clone(), load.clone());
                let resources = shared.resources.get().cloned();
                in_flight.push_back(async move {
                    let load = load.as_deref();
                    let resources = resources.as_ref();
                    let probes = join_all(
                        experiment
                            .steady_state
                            .probes
                            .iter()
                            .map(|p| probe::run(p, &http, load, resources)),
                    );
                    let guards = join_all(
                        experiment
                            .guards
                            .iter()
                            .map(|g| probe::run(&g.probe, &http, load, resources)),
                    );
                    let (outcomes, guard_outcomes) = tokio::join!(probes, guards);
                    (at, outcomes, guard_outcomes)
                });
                continue;
            }
        };
        let pass = outcomes.iter().all(|o| o.status == ProbeStatus::Pass);
        shared.journal().samples.push(SampleRecord {
            at,
            pass,
            probes: outcomes,
        });
        for ((guard, outcome), since) in experiment
            .guards
            .iter()
            .zip(guard_outcomes)
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
}
