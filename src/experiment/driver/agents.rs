//! Live load agents (`load: {agents: …}`): waited for, polled every [`POLL_EVERY`] for their
//! recent seconds, merged exactly (`load::LiveMerge`) for load probes and guards, stopped at the
//! end and their final reports merged (`load::merge`) with the thresholds judged once on the sum.
//!
//! Seconds are aligned by the wall-clock instant each agent's second 0 began: an agent is
//! placed `round(its start − the earliest start)` whole seconds later (0 for agents given one
//! `--start-at`), and the run's clock starts at the earliest agent's next whole second, so that
//! the run's second `t` is merged second `base + t`. An agent that misses more than
//! [`MISSED_POLLS`] polls in a row is lost: the run aborts, or goes on with the rest when the
//! file allows it; either way the record names it.

mod contact;
mod ending;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::future::{BoxFuture, join_all};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Ending, LoadSource};
use crate::clock::Clock;
use crate::experiment::client::Http;
use crate::experiment::probe::{LoadStats, LoadWindow};
use crate::experiment::spec::Agents;
use crate::load::{self, AgentResult, LiveMerge, Segment};

/// How often each agent is asked for its recent seconds.
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(100);
/// Polls in a row an agent may miss (no answer within a second, refused, an error status,
/// an unreadable answer) before it is counted lost.
pub(crate) const MISSED_POLLS: u32 = 5;
/// How long a stopped agent has to hand over its final report.
const REPORT_PATIENCE: Duration = Duration::from_secs(30);

/// One agent as the runner knows it.
#[derive(Debug)]
struct Agent {
    url: String,
    segment: Option<Segment>,
    /// Whole seconds its second 0 is behind the earliest agent's.
    offset: u64,
    /// Polls missed in a row.
    missed: u32,
    /// Its final report, once fetched.
    result: Option<AgentResult>,
    /// When (on the run's clock) and why it was counted lost.
    lost: Option<(Duration, String)>,
}

impl Agent {
    fn polled(&self) -> bool {
        self.result.is_none() && self.lost.is_none()
    }
}

#[derive(Debug)]
struct State {
    merge: LiveMerge,
    agents: Vec<Agent>,
}

/// The live view: the merged seconds on the run's clock.
#[derive(Debug)]
struct View {
    state: Mutex<State>,
    clock: Clock,
    /// The merged second at the run's time 0.
    base: u64,
}

impl View {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl LoadWindow for View {
    fn stats(&self, window: Duration) -> LoadStats {
        let now = self.elapsed();
        let s = self.state();
        let live = s.agents.iter().filter(|a| a.lost.is_none()).count();
        LoadStats::of(&s.merge.window(window, now), Some((live, s.agents.len())))
    }

    fn elapsed(&self) -> Duration {
        Duration::from_secs(self.base).saturating_add(self.clock.now())
    }
}

/// Live agents sending the experiment's load.
#[derive(Debug)]
pub(super) struct AgentLoad {
    view: Arc<View>,
    poller: JoinHandle<()>,
    stop_polling: CancellationToken,
    failed: watch::Receiver<Option<String>>,
    http: Http,
    thresholds: Vec<String>,
    allow_loss: bool,
    /// A run torn down without [`LoadSource::stop`] (interrupted) stops polling.
    _stop_on_drop: tokio_util::sync::DropGuard,
}

impl AgentLoad {
    /// Wait until every agent answers (at most `ready_timeout`), align their seconds, start the
    /// run's clock at the earliest agent's next whole second, and poll them from then on,
    /// keeping `keep` of merged seconds. Every request to an agent carries the spec's token
    /// (never the control API's, which `http` may carry). Errors: agents not ready (a
    /// preflight failure).
    pub(super) async fn start(
        spec: &Agents,
        keep: Duration,
        http: &Http,
    ) -> Result<(Clock, Self), String> {
        let token = spec.token.as_ref().map(|t| t.as_str().to_string());
        let http = &http.clone().with_bearer(token);
        let ready = contact::ready(spec, http).await?;
        let origin = ready
            .iter()
            .map(|(_, l)| l.wall_start)
            .min()
            .ok_or("no agents")?;
        let agents: Vec<Agent> = ready
            .iter()
            .map(|(url, live)| Agent {
                url: url.clone(),
                segment: live.segment,
                offset: load::agent_offset(live.wall_start, origin),
                missed: 0,
                result: None,
                lost: None,
            })
            .collect();
        // The earliest agent, asked again just now, says where its next second begins.
        let first = &ready
            .iter()
            .find(|(_, l)| l.wall_start == origin)
            .ok_or("no agents")?
            .0;
        let live = contact::ask(http, first, u64::MAX).await?;
        let (wait, base) = contact::next_second(&live, tokio::time::Instant::now());
        if wait > spec.ready_timeout {
            return Err(format!(
                "the load agents begin their plan in {:.1}s, later than ready_timeout {}",
                wait.as_secs_f64(),
                humantime::format_duration(spec.ready_timeout)
            ));
        }
        tokio::time::sleep(wait).await;
        let clock = Clock::start();
        let view = Arc::new(View {
            state: Mutex::new(State {
                merge: LiveMerge::new(agents.len()),
                agents,
            }),
            clock,
            base,
        });
        let (failed_tx, failed) = watch::channel(None);
        let stop_polling = CancellationToken::new();
        let poller = tokio::spawn(poll(
            view.clone(),
            http.clone(),
            keep,
            stop_polling.clone(),
            (!spec.allow_loss).then_some(failed_tx),
        ));
        Ok((
            clock,
            Self {
                view,
                poller,
                _stop_on_drop: stop_polling.clone().drop_guard(),
                stop_polling,
                failed,
                http: http.clone(),
                thresholds: spec.thresholds.clone(),
                allow_loss: spec.allow_loss,
            },
        ))
    }
}

/// Poll every live agent each [`POLL_EVERY`] until `stop`; an agent lost is reported on
/// `failed` (when given: the file does not allow losses).
async fn poll(
    view: Arc<View>,
    http: Http,
    keep: Duration,
    stop: CancellationToken,
    failed: Option<watch::Sender<Option<String>>>,
) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let keep_from = view.elapsed().saturating_sub(keep).as_secs();
        let asks: Vec<(usize, String, u64)> = view
            .state()
            .agents
            .iter()
            .enumerate()
            .filter(|(_, a)| a.polled())
            .map(|(i, a)| (i, a.url.clone(), a.offset))
            .collect();
        let answers = join_all(asks.iter().map(|(i, url, offset)| {
            let http = &http;
            async move {
                let live = contact::ask(http, url, keep_from.saturating_sub(*offset)).await?;
                // An agent that has ended hands over its report now: it may exit after.
                let result = match live.finished {
                    true => Some(contact::result(http, url).await?),
                    false => None,
                };
                Ok::<_, String>((*i, live, result))
            }
        }))
        .await;
        let mut s = view.state();
        let State { merge, agents } = &mut *s;
        for ((i, _, _), answer) in asks.iter().zip(answers) {
            let agent = &mut agents[*i];
            let answer = answer.and_then(|(i, live, result)| {
                merge.update(i, agent.offset, &live, keep_from)?;
                Ok(result)
            });
            match answer {
                Ok(result) => {
                    agent.missed = 0;
                    agent.result = result;
                }
                Err(e) => {
                    agent.missed += 1;
                    if agent.missed > MISSED_POLLS {
                        let why = format!(
                            "load agent {} lost: {e} ({} polls in a row)",
                            agent.url, agent.missed
                        );
                        tracing::warn!("{why}");
                        agent.lost = Some((view.clock.now(), why.clone()));
                        if let Some(tx) = &failed {
                            let _ = tx.send(Some(why));
                        }
                    }
                }
            }
        }
    }
}

/// The agents of a run that may still be sending, for the teardown of a run that ends without
/// [`LoadSource::stop`] (interrupted by a signal, or its method task gone): each is asked to
/// stop (`POST /stop`), so that none keeps loading the target after the runner has gone.
#[derive(Debug, Clone)]
pub(crate) struct Unstopped {
    urls: Vec<String>,
    http: Http,
}

impl Unstopped {
    /// Ask every agent to stop, all at once (each bounded by the contact's own timeout); one
    /// cleanup note per agent: `load agent URL: asked to stop` or `… not stopped: WHY`.
    pub(crate) async fn stop(self) -> Vec<String> {
        let http = &self.http;
        let asked = join_all(self.urls.iter().map(|url| contact::stop(http, url))).await;
        self.urls
            .iter()
            .zip(asked)
            .map(|(url, asked)| match asked {
                Ok(()) => format!("load agent {url}: asked to stop"),
                Err(e) => format!("FAILED: load agent {url}: not stopped: {e}"),
            })
            .collect()
    }
}

impl LoadSource for AgentLoad {
    fn window(&self) -> Arc<dyn LoadWindow> {
        self.view.clone()
    }

    fn unstopped(&self) -> Option<Unstopped> {
        let urls: Vec<String> = self
            .view
            .state()
            .agents
            .iter()
            .filter(|a| a.lost.is_none())
            .map(|a| a.url.clone())
            .collect();
        Some(Unstopped {
            urls,
            http: self.http.clone(),
        })
    }

    fn failure(&self) -> BoxFuture<'static, String> {
        let mut failed = self.failed.clone();
        Box::pin(async move {
            let why = failed
                .wait_for(Option::is_some)
                .await
                .ok()
                .map(|why| why.clone().unwrap_or_default());
            match why {
                Some(why) => why,
                // The poller ended without a loss: nothing more will come.
                None => std::future::pending().await,
            }
        })
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, Ending> {
        Box::pin(self.finish())
    }
}
