//! Game days (`shakedown gameday`): an experiment's services, proxies, continuous load and
//! steady-state sampling on a running control server, with nothing injected: the people do,
//! through the control API and its console (`/ui`).
//!
//! - `load`: the experiment's `load:` run continuously (its duration dropped, a plan that ends
//!   on its own started again), with each second's figures published.
//! - `probes`: the steady-state probes sampled every `interval`; each probe's state change
//!   (pass → fail, fail → pass) is journaled and every sample published as a strip.
//!
//! What the game day reports goes through a [`Feed`] (the control server's journal and event
//! stream in `shakedown gameday`; a recorder in tests).

mod load;
mod probes;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::control::events::Events;
use crate::control::journal::{Entry, EventKind, Journal};
use crate::control::{ControlServer, ProxyRequest};
use crate::experiment::action;
use crate::experiment::client::Http;
use crate::experiment::service::Services;
use crate::experiment::spec::Experiment;

/// Where a game day reports what it sees.
pub trait Feed: Send + Sync + 'static {
    /// A probe changed state: `pass` is the new state, `detail` what the probe saw.
    fn probe_changed(&self, probe: &str, pass: bool, detail: &str);
    /// A live figure for the event stream: `event` is `load` or `probe`, `data` its JSON.
    fn publish(&self, event: &str, data: Value);
}

/// The actor the journal names for what the game day itself records.
pub const ACTOR: &str = "shakedown-gameday";

/// The control server's journal and event stream as a [`Feed`]: a probe's change is journaled
/// (`kind: probe`, `detail: {"probe", "pass", "detail"}`), figures go to `GET /events`.
#[derive(Debug, Clone)]
pub struct ServerFeed {
    journal: Arc<Journal>,
    events: Events,
}

impl ServerFeed {
    /// The feed of `server`.
    pub fn of(server: &ControlServer) -> Self {
        Self {
            journal: server.journal(),
            events: server.events(),
        }
    }
}

impl Feed for ServerFeed {
    fn probe_changed(&self, probe: &str, pass: bool, detail: &str) {
        let text = if pass {
            format!("probe `{probe}` passes again: {detail}")
        } else {
            format!("probe `{probe}` fails: {detail}")
        };
        let entry = Entry::new(EventKind::Probe, text)
            .detail(json!({"probe": probe, "pass": pass, "detail": detail}));
        self.journal.record(ACTOR, entry);
    }

    fn publish(&self, event: &str, data: Value) {
        self.events.publish(event, data);
    }
}

/// A running game day: services started, proxies created, load and sampling running.
#[derive(Debug)]
pub struct GameDay {
    services: Services,
    rollbacks: Vec<crate::experiment::spec::CommandSpec>,
    load: Option<Arc<load::Continuous>>,
    tasks: Vec<JoinHandle<()>>,
    stop: CancellationToken,
}

impl GameDay {
    /// Start `experiment`'s services (each until ready), create its proxies on `server` (its
    /// `control:` is not used: the game day's own server holds them), then its load and the
    /// sampling of its steady state, timed on `clock`. Service logs go to `logs/NAME.log`.
    /// On an error, what was started is stopped again before it is returned.
    pub async fn start(
        experiment: &Experiment,
        server: &ControlServer,
        logs: &Path,
        clock: Clock,
        feed: Arc<dyn Feed>,
    ) -> anyhow::Result<GameDay> {
        let http = Http::default();
        let mut services = Services::new(&experiment.services, logs, http.clone());
        let started = async {
            for s in &experiment.services {
                services
                    .start(&s.name)
                    .await
                    .with_context(|| format!("starting service `{}`", s.name))?;
            }
            server
                .populate(experiment.proxies.iter().map(proxy_request).collect())
                .await
                // Its field as the experiment file has it: `proxies[1].listen`.
                .map_err(|e| {
                    anyhow::anyhow!("creating the proxies: {}", e.within("proxies").message)
                })
        };
        if let Err(e) = started.await {
            services.stop_all().await;
            return Err(e);
        }
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        let load = match &experiment.load {
            None => None,
            Some(spec) => match load::Continuous::start(spec, clock, experiment.seed) {
                Ok(l) => Some(Arc::new(l)),
                Err(e) => {
                    services.stop_all().await;
                    return Err(anyhow::anyhow!("load: {e}"));
                }
            },
        };
        if let Some(l) = &load {
            tasks.push(tokio::spawn(load::report(
                l.clone(),
                clock,
                feed.clone(),
                stop.clone(),
            )));
        }
        // The resource sampler, for resource and growth probes (services keep the pid they
        // started with for the game day).
        let pids: std::collections::HashMap<String, u32> = experiment
            .services
            .iter()
            .filter_map(|s| services.pid(&s.name).map(|p| (s.name.clone(), p)))
            .collect();
        let resources = crate::resource::Live::new(&experiment.watch, clock);
        tasks.push(tokio::spawn({
            let (watch, live, stop) = (experiment.watch.clone(), resources.clone(), stop.clone());
            async move {
                let resolve = move |name: &str| pids.get(name).copied();
                let _ = crate::resource::run(watch, clock, resolve, live, stop).await;
            }
        }));
        tasks.push(tokio::spawn(probes::sample(
            probes::Sampling {
                resources: Some(resources),
                probes: experiment.steady_state.probes.clone(),
                interval: experiment.steady_state.interval,
                http,
                load: load
                    .clone()
                    .map(|l| l as Arc<dyn crate::experiment::probe::LoadWindow>),
                clock,
            },
            feed,
            stop.clone(),
        )));
        Ok(GameDay {
            services,
            rollbacks: experiment.rollbacks.clone(),
            load,
            tasks,
            stop,
        })
    }

    /// Stop sampling and the load (in-flight requests end within the load's timeout), run the
    /// experiment's rollbacks, then stop every service; returns one line per rollback and per
    /// service saying how it went.
    pub async fn stop(mut self) -> Vec<String> {
        self.stop.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(load) = self.load.take() {
            load.stop().await;
        }
        let mut lines = Vec::new();
        for rb in &self.rollbacks {
            let detail = match action::run_command(&rb.argv, rb.timeout).await {
                Ok(f) => f.summary(),
                Err(e) => e.to_string(),
            };
            lines.push(format!("rollback `{}`: {detail}", rb.argv.join(" ")));
        }
        let stopped = self.services.stop_all().await;
        lines.extend(
            stopped
                .into_iter()
                .map(|(name, how)| format!("service `{name}`: {how}")),
        );
        lines
    }
}

/// The control API's request for an experiment's proxy.
fn proxy_request(p: &crate::experiment::spec::Proxy) -> ProxyRequest {
    ProxyRequest {
        name: p.name.clone(),
        listen: p.listen.clone(),
        upstream: p.upstream.clone(),
        enabled: true,
        protocol: Some(p.protocol),
        header_faults: None,
        header_timeout: p.header_timeout,
        tls: (&p.tls).into(),
        toxics: Vec::new(),
    }
}
