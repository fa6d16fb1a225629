//! The resource sampler of a run: started with the run's clock, stopped with the steady-state
//! sampler (or by an abort), its record taken into the run's at the end.

use std::collections::HashMap;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Resources, Shared};
use crate::clock::Clock;
use crate::experiment::spec::Experiment;
use crate::resource::Live;

/// The running sampler.
pub(super) struct Watching {
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// Start sampling what `experiment.watch` names, on `clock`; an abort of the run stops it too.
pub(super) fn start(
    experiment: &Experiment,
    shared: &Arc<Shared>,
    res: &Arc<tokio::sync::Mutex<Resources>>,
    clock: Clock,
) -> Watching {
    let live = Live::new(&experiment.watch, clock);
    let _ = shared.resources.set(live.clone());
    let stop = shared.abort.child_token();
    let res = res.clone();
    // A service's pid is read without waiting: while an action holds the services (a start
    // waiting for readiness), the pid last seen stands.
    let mut known: HashMap<String, Option<u32>> = HashMap::new();
    let resolve = move |name: &str| {
        if let Ok(r) = res.try_lock() {
            known.insert(name.to_string(), r.services.pid(name));
        }
        known.get(name).copied().flatten()
    };
    let (watch, token, progress) = (experiment.watch.clone(), stop.clone(), shared.progress);
    let task = tokio::spawn(async move {
        if let Err(why) = crate::resource::run(watch, clock, resolve, live, token).await {
            progress.say(None, format!("resources are not sampled: {why}"));
        }
    });
    Watching { stop, task }
}

impl Watching {
    /// Stop sampling and wait for the last sample to be recorded.
    pub(super) async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}
