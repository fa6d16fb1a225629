//! The experiment's load, one of two [`LoadSource`]s: sent by the runner itself (the `load:`
//! section handed to the load driver) or by live agents whose seconds it merges
//! (`load: {agents: …}`, see `agents`). Either is sampled live by load probes and guards through
//! [`LoadWindow`], and stopped for the run's report.

mod agents;

pub(crate) use agents::Unstopped;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;

use super::client::Http;
use super::probe::{LoadStats, LoadWindow};
use super::record::AgentRecord;
use super::spec::{Check, Experiment};
use crate::clock::Clock;
use crate::load::{self, LoadError, LoadReport, LoadRun, LoadSpec};

/// How a load ended.
#[derive(Debug, Default)]
pub(super) struct Ending {
    /// The load's report (the agents' reports merged), when there is one.
    pub report: Option<LoadReport>,
    /// Each live agent and how it ended (empty for a local load).
    pub agents: Vec<AgentRecord>,
    /// Why the run must be aborted (an agent lost without `allow_agent_loss`), if it must.
    pub abort: Option<String>,
}

/// A running load: its live view, its failure, its end.
pub(super) trait LoadSource: Send + Sync + std::fmt::Debug {
    /// A handle load probes and guards sample.
    fn window(&self) -> Arc<dyn LoadWindow>;
    /// Resolves with the reason once the load cannot go on (an agent lost without
    /// `allow_agent_loss`); never for a local load.
    fn failure(&self) -> BoxFuture<'static, String>;
    /// Stop sending, wait for in-flight requests, read writes back, and report. Every
    /// [`window`](Self::window) handle must have been dropped first.
    fn stop(self: Box<Self>) -> BoxFuture<'static, Ending>;
    /// What the run's teardown must stop if [`stop`](Self::stop) is never called (the run
    /// interrupted): the live agents; `None` for a local load, which ends with its process.
    fn unstopped(&self) -> Option<Unstopped> {
        None
    }
}

/// Check a `load:` section with the load driver's own validation; the error names the
/// field relative to the section (`scenarios[0].write.method`).
pub(super) fn check(spec: &LoadSpec) -> Result<(), LoadError> {
    load::validate(spec)
}

/// Start the experiment's load, if it has one, and the run's clock with it: time 0 is when the
/// load starts (for agents, at the earliest agent's next whole second, so that the run's
/// seconds are the merged seconds, as a local load's are its own). An error is a preflight
/// failure.
pub(super) async fn start(
    experiment: &Experiment,
    http: &Http,
) -> Result<(Clock, Option<Box<dyn LoadSource>>), String> {
    if let Some(spec) = &experiment.agents {
        let (clock, agents) = agents::AgentLoad::start(spec, keep(experiment), http).await?;
        return Ok((clock, Some(Box::new(agents))));
    }
    let clock = Clock::start();
    let Some(spec) = &experiment.load else {
        return Ok((clock, None));
    };
    let run = load::start(spec.clone(), clock, experiment.seed)
        .map_err(|e| format!("load driver: {e}"))?;
    Ok((clock, Some(Box::new(Local { run: Arc::new(run) }))))
}

/// How far back the live view must reach: the longest load probe's or guard's window, and a
/// second to spare.
fn keep(experiment: &Experiment) -> Duration {
    experiment
        .steady_state
        .probes
        .iter()
        .chain(experiment.guards.iter().map(|g| &g.probe))
        .filter_map(|p| match &p.check {
            Check::Load { window, .. } => Some(*window),
            _ => None,
        })
        .max()
        .unwrap_or_default()
        .saturating_add(Duration::from_secs(2))
}

/// A load the runner sends itself.
#[derive(Debug)]
struct Local {
    run: Arc<LoadRun>,
}

impl LoadSource for Local {
    fn window(&self) -> Arc<dyn LoadWindow> {
        self.run.clone()
    }

    fn failure(&self) -> BoxFuture<'static, String> {
        Box::pin(std::future::pending())
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, Ending> {
        Box::pin(async move {
            // The sampler, the only other holder, has ended before the load is stopped.
            let report = match Arc::try_unwrap(self.run) {
                Ok(run) => Some(run.stop().await),
                Err(_) => {
                    tracing::warn!(
                        "the load is still referenced by a probe; its report is unavailable"
                    );
                    None
                }
            };
            Ending {
                report,
                ..Ending::default()
            }
        })
    }
}

impl LoadWindow for LoadRun {
    fn stats(&self, window: Duration) -> LoadStats {
        LoadStats::of(&self.window(window), None)
    }

    fn elapsed(&self) -> Duration {
        LoadRun::elapsed(self)
    }
}

impl LoadStats {
    /// The probe's view of the load driver's window statistics; `agents` as
    /// [`LoadStats::agents`].
    fn of(w: &load::WindowStats, agents: Option<(usize, usize)>) -> Self {
        LoadStats {
            requests: w.requests,
            error_rate: w.error_rate,
            rps: w.rps,
            p50: w.p50,
            p90: w.p90,
            p95: w.p95,
            p99: w.p99,
            agents,
        }
    }
}
