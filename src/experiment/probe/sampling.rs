//! Probes sampled on a fixed schedule, for the runner (steady state and guards) and the game
//! day (steady state): every `interval` from the clock's origin, one round runs every probe
//! concurrently (each bounded by its timeout). A slow round does not delay the next: rounds
//! overlap, and are handed over in schedule order, each stamped with the time it started.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesOrdered;
use tokio_util::sync::CancellationToken;

use super::{LoadWindow, Outcome};
use crate::clock::Clock;
use crate::experiment::client::Http;
use crate::experiment::spec::Probe;
use crate::resource::Live;

/// One round: when it started (on the clock) and each probe's and guard's outcome, in order.
#[derive(Debug)]
pub(crate) struct Round {
    /// When the round started, on the sampler's clock.
    pub(crate) at: Duration,
    /// The probes' outcomes, in the order given.
    pub(crate) probes: Vec<Outcome>,
    /// The guards' probes' outcomes, in the order given.
    pub(crate) guards: Vec<Outcome>,
}

/// What is sampled, how often, with what.
pub(crate) struct Sampler {
    /// The probes.
    pub(crate) probes: Vec<Probe>,
    /// The guards' probes (sampled alongside, judged by the caller).
    pub(crate) guards: Vec<Probe>,
    /// Time between the starts of two rounds.
    pub(crate) interval: Duration,
    /// The probes' HTTP client.
    pub(crate) http: Http,
    /// The load, for load probes.
    pub(crate) load: Option<Arc<dyn LoadWindow>>,
    /// The clock rounds are scheduled and stamped on (the first round at its origin).
    pub(crate) clock: Clock,
}

impl Sampler {
    /// Sample until `stop`, handing each round to `each` in schedule order; `resources` gives
    /// the resource samples (for resource and growth probes) as each round starts. A round
    /// still running at `stop` is dropped.
    pub(crate) async fn run(
        self,
        resources: impl Fn() -> Option<Live>,
        stop: CancellationToken,
        mut each: impl FnMut(Round),
    ) {
        let shared = Arc::new(self);
        let mut tick = tokio::time::interval_at(shared.clock.origin(), shared.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut in_flight = FuturesOrdered::new();
        loop {
            let round = tokio::select! {
                biased;
                Some(done) = in_flight.next() => done,
                _ = stop.cancelled() => break,
                _ = tick.tick() => {
                    let at = shared.clock.now();
                    let (s, resources) = (shared.clone(), resources());
                    in_flight.push_back(async move { s.round(at, resources.as_ref()).await });
                    continue;
                }
            };
            each(round);
        }
    }

    async fn round(&self, at: Duration, resources: Option<&Live>) -> Round {
        let load = self.load.as_deref();
        let each = |p| super::run(p, &self.http, load, resources);
        let (probes, guards) = tokio::join!(
            join_all(self.probes.iter().map(each)),
            join_all(self.guards.iter().map(each))
        );
        Round { at, probes, guards }
    }
}
