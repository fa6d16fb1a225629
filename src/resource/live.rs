//! The sampling task: every interval on the run's clock, the host and each watched tree, into a
//! shared [`Live`] record that probes read while the run goes on.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio_util::sync::CancellationToken;

use super::sampler::{Query, Sampler};
use super::series::{ProcessSeries, Resources};
use super::target::{Target, Watch};
use crate::clock::Clock;

/// The record being filled, shared between the sampling task and the probes that read it.
#[derive(Debug, Clone)]
pub struct Live(Arc<Mutex<Resources>>);

impl Live {
    /// An empty record of `watch` on `clock`: every watched series is there (without samples)
    /// from the start, so a probe that reads it before the first sample sees a warm-up, not an
    /// unwatched process.
    pub fn new(watch: &Watch, clock: Clock) -> Self {
        let origin = std::time::SystemTime::now() - clock.now();
        Live(Arc::new(Mutex::new(Resources {
            interval: watch.interval,
            origin_wall: humantime::format_rfc3339_millis(origin).to_string(),
            host: Vec::new(),
            processes: watch
                .targets
                .iter()
                .cloned()
                .map(ProcessSeries::new)
                .collect(),
        })))
    }

    /// The record so far.
    pub fn lock(&self) -> MutexGuard<'_, Resources> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The finished record: figures computed, the shared one left empty.
    pub fn finish(&self) -> Resources {
        let mut r = std::mem::take(&mut *self.lock());
        r.finish();
        r
    }
}

/// Sample `watch` every interval of `clock` (the first sample at its origin) until `stop`, into
/// `live` (made by [`Live::new`] of the same watch); `resolve` gives a service's current pid. Returns at once, recording nothing, when the system
/// cannot be read (the reason is the error).
///
/// Sampling reads `/proc` for every process, so each tick runs on a blocking thread; a tick that
/// takes longer than the interval skips the ticks it missed.
pub async fn run(
    watch: Watch,
    clock: Clock,
    mut resolve: impl FnMut(&str) -> Option<u32> + Send,
    live: Live,
    stop: CancellationToken,
) -> Result<(), String> {
    let mut sampler = tokio::task::spawn_blocking(Sampler::new)
        .await
        .map_err(|e| e.to_string())??;
    {
        let mut r = live.lock();
        r.interval = watch.interval;
        let origin = std::time::SystemTime::now() - clock.now();
        r.origin_wall = humantime::format_rfc3339_millis(origin).to_string();
        r.processes = watch
            .targets
            .iter()
            .cloned()
            .map(ProcessSeries::new)
            .collect();
    }
    let mut tick = tokio::time::interval_at(clock.origin(), watch.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return Ok(()),
            _ = tick.tick() => {}
        }
        let queries: Vec<Query> = watch
            .targets
            .iter()
            .map(|t| match t {
                Target::Pid(p) => Query::Pids(vec![*p]),
                Target::Name(n) => Query::Name(n.clone()),
                Target::Service(s) => resolve(s).map_or(Query::Absent, |p| Query::Pids(vec![p])),
            })
            .collect();
        let at = clock.now();
        let joined = tokio::task::spawn_blocking(move || {
            let host = sampler.host(at);
            let trees = sampler.processes(at, &queries);
            (sampler, host, trees)
        })
        .await;
        let Ok((back, host, trees)) = joined else {
            return Err("the sampler stopped (its thread panicked)".into());
        };
        sampler = back;
        let mut r = live.lock();
        r.host.push(host);
        for (series, (presence, sample)) in r.processes.iter_mut().zip(trees) {
            series.note(at, presence);
            series.samples.extend(sample);
        }
    }
}
