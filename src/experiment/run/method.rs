//! The method task: services, proxies, load, the timeline of steps and its actions, and the
//! load's report; the steady-state gates around it live in `steady`.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::steady::{preflight, steady_before_faults, wait_for_recovery};
use super::{Resources, Shared};
use crate::clock::Clock;
use crate::experiment::action;
use crate::experiment::client::Http;
use crate::experiment::driver;
use crate::experiment::embedded::control_for;
use crate::experiment::record::{Status, StepRecord};
use crate::experiment::spec::{Action, Experiment, StepKind};
use crate::experiment::vars;

type Res = Arc<tokio::sync::Mutex<Resources>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Remove(usize),
    Start(usize),
}

/// Run the method; problems end it through `shared.stop`.
pub(super) async fn execute(experiment: Experiment, shared: Arc<Shared>, res: Res, http: Http) {
    let say = |at: Option<f64>, m: String| shared.progress.say(at, m);
    let experiment = Arc::new(experiment);
    // Known before anything starts: a resource fault this host does not allow.
    let refused: Vec<String> = crate::experiment::resource::permitted(&experiment)
        .into_iter()
        .filter_map(|(step, verdict)| verdict.err().map(|why| format!("{step}: {why}")))
        .collect();
    if !refused.is_empty() {
        return shared.stop(Status::PreflightFailed, refused.join("; "));
    }
    for s in &experiment.services {
        say(None, format!("starting service `{}`", s.name));
        if let Err(e) = res.lock().await.services.start(&s.name).await {
            return shared.stop(Status::PreflightFailed, e.to_string());
        }
    }
    if !experiment.proxies.is_empty() {
        // The clock starts with the load; proxies are created first (no timing involved).
        let mut injector = match control_for(&experiment, &http).await {
            Ok((injector, server)) => {
                res.lock().await.embedded = server;
                injector
            }
            Err(e) => return shared.stop(Status::Aborted, e),
        };
        let created = injector.create_proxies(&experiment.proxies).await;
        res.lock().await.injector = Some(injector);
        if let Err(e) = created {
            return shared.stop(Status::PreflightFailed, e.to_string());
        }
    }
    if !preflight(&experiment, &shared, &http).await {
        return;
    }
    let (clock, load) = match driver::start(&experiment, &http).await {
        Ok(started) => started,
        Err(e) => return shared.stop(Status::PreflightFailed, e),
    };
    let _ = shared.clock.set(clock);
    {
        let mut r = res.lock().await;
        r.load_agents = load.as_ref().and_then(|l| l.unstopped());
        if let Some(inj) = r.injector.as_mut() {
            inj.set_clock(clock);
        }
    }
    // A load that cannot go on (an agent lost, not allowed) aborts the run.
    let failure = load.as_ref().map(|l| {
        let (failure, shared) = (l.failure(), shared.clone());
        tokio::spawn(async move { shared.stop(Status::Aborted, failure.await) })
    });
    say(
        Some(0.0),
        match (&load, &experiment.agents) {
            (Some(_), Some(_)) => "load agents answer, sampling their merged seconds".into(),
            (Some(_), None) => "load started, sampling the steady state".into(),
            (None, _) => "sampling the steady state".into(),
        },
    );
    let stop_sampling = CancellationToken::new();
    let watching = super::resources::start(&experiment, &shared, &res, clock);
    let sampler = tokio::spawn(super::sampler::sample(
        experiment.clone(),
        shared.clone(),
        http.clone(),
        load.as_ref().map(|l| l.window()),
        clock,
        stop_sampling.clone(),
    ));
    timeline(&experiment, &shared, &res, clock).await;
    if shared.stopped().is_none() {
        wait_for_recovery(&experiment, &shared, clock).await;
    }
    stop_sampling.cancel();
    let _ = sampler.await;
    watching.stop().await;
    if let Some(load) = load {
        say(
            Some(clock.now().as_secs_f64()),
            "stopping the load, reading writes back".into(),
        );
        let ending = load.stop().await;
        res.lock().await.load_agents = None;
        if let Some(why) = ending.abort {
            shared.stop(Status::Aborted, why);
        }
        let mut journal = shared.journal();
        journal.load = ending.report;
        journal.agents = ending.agents;
        crate::experiment::record::StepFailures::fill(&mut journal);
    }
    if let Some(failure) = failure {
        failure.abort();
    }
}

async fn timeline(experiment: &Experiment, shared: &Shared, res: &Res, clock: Clock) {
    let mut events: Vec<(Duration, Event)> = Vec::new();
    for (i, step) in experiment.method.iter().enumerate() {
        events.push((step.at, Event::Start(i)));
        if step.held() {
            events.push((step.end(), Event::Remove(i)));
        }
        shared.journal().steps.push(StepRecord {
            name: step.name.clone(),
            // A resource fault is a window like a toxic's: measured and drawn the same way.
            kind: if step.held() { "fault" } else { "action" }.to_string(),
            planned_at: step.at,
            injected_at: None,
            removed_at: None,
            measured: step.measure,
            measurement: None,
            recovered_in_time: None,
            load_failures: None,
            detail: None,
            ok: false,
        });
    }
    events.sort();
    let mut checked = false;
    for (at, event) in events {
        tokio::select! {
            _ = shared.abort.cancelled() => return,
            _ = tokio::time::sleep_until(clock.instant(at)) => {}
        }
        if !checked {
            checked = true;
            if !steady_before_faults(experiment, shared, clock).await {
                return;
            }
        }
        match event {
            Event::Start(i) => {
                let step = &experiment.method[i];
                match &step.kind {
                    StepKind::Fault { fault, .. } => {
                        let inject = match res.lock().await.injector.as_mut() {
                            Some(inj) => {
                                inj.inject(&toxic_name(i, fault.kind.type_name()), fault)
                                    .await
                            }
                            None => return,
                        };
                        match inject {
                            Ok(t) => {
                                shared.progress.say(
                                    Some(t.as_secs_f64()),
                                    format!(
                                        "+ {} (for {})",
                                        step.name,
                                        humantime::format_duration(
                                            step.end().saturating_sub(step.at)
                                        )
                                    ),
                                );
                                let mut j = shared.journal();
                                j.steps[i].injected_at = Some(t);
                                j.steps[i].ok = true;
                            }
                            Err(e) => {
                                shared.journal().steps[i].detail = Some(e.to_string());
                                return shared.stop(Status::Aborted, e.to_string());
                            }
                        }
                    }
                    StepKind::Resource { fault, for_ } => {
                        let started = {
                            let mut r = res.lock().await;
                            let Resources { held, services, .. } = &mut *r;
                            held.start(i, fault, *for_, experiment, services).await
                        };
                        let t = clock.now();
                        let mut j = shared.journal();
                        match started {
                            Ok(detail) => {
                                shared.progress.say(
                                    Some(t.as_secs_f64()),
                                    format!(
                                        "+ {}: {detail} (for {})",
                                        step.name,
                                        humantime::format_duration(*for_)
                                    ),
                                );
                                j.steps[i].injected_at = Some(t);
                                j.steps[i].ok = true;
                                j.steps[i].detail = Some(detail);
                            }
                            Err(e) => {
                                j.steps[i].detail = Some(e.clone());
                                drop(j);
                                return shared.stop(Status::Aborted, format!("{}: {e}", step.name));
                            }
                        }
                    }
                    StepKind::Action(a) => {
                        let started = clock.now();
                        let (ok, detail) = act(a, res).await;
                        let done = clock.now();
                        shared.progress.say(
                            Some(started.as_secs_f64()),
                            format!("! {}: {detail}", step.name),
                        );
                        let mut j = shared.journal();
                        j.steps[i].injected_at = Some(started);
                        j.steps[i].removed_at = Some(done);
                        j.steps[i].ok = ok;
                        j.steps[i].detail = Some(detail);
                    }
                }
            }
            Event::Remove(i) => {
                let step = &experiment.method[i];
                let removed = match &step.kind {
                    StepKind::Fault { fault, .. } => match res.lock().await.injector.as_mut() {
                        Some(inj) => inj
                            .remove(&toxic_name(i, fault.kind.type_name()))
                            .await
                            .map(|t| (t, None))
                            .map_err(|e| e.to_string()),
                        None => return,
                    },
                    _ => {
                        let lifted = res.lock().await.held.end(i).await;
                        lifted.map(|how| (clock.now(), Some(how)))
                    }
                };
                match removed {
                    Ok((t, how)) => {
                        let line = match &how {
                            Some(how) => format!("- {}: {how}", step.name),
                            None => format!("- {}", step.name),
                        };
                        shared.progress.say(Some(t.as_secs_f64()), line);
                        let mut j = shared.journal();
                        j.steps[i].removed_at = Some(t);
                        if let Some(how) = how {
                            let before = j.steps[i].detail.take().unwrap_or_default();
                            j.steps[i].detail = Some(format!("{before}; {how}"));
                        }
                    }
                    Err(e) => return shared.stop(Status::Aborted, e),
                }
            }
        }
    }
    tokio::select! {
        _ = shared.abort.cancelled() => {}
        _ = tokio::time::sleep_until(clock.instant(experiment.duration)) => {}
    }
}

/// The toxic name of step `i`.
pub(crate) fn toxic_name(i: usize, kind: &str) -> String {
    format!("shakedown_{i}_{kind}")
}

async fn act(a: &Action, res: &Res) -> (bool, String) {
    let mut r = res.lock().await;
    match a {
        Action::Command(c) => {
            let argv: Result<Vec<String>, _> = c
                .argv
                .iter()
                .map(|s| vars::expand_pids(s, |n| r.services.pid(n)))
                .collect();
            drop(r);
            match argv {
                Err(e) => (false, e.to_string()),
                Ok(argv) => match action::run_command(&argv, c.timeout).await {
                    Ok(f) => (f.success(), f.summary()),
                    Err(e) => (false, e.to_string()),
                },
            }
        }
        Action::Kill { service, signal } => match r.services.signal(service, signal) {
            Ok(how) => (true, how),
            Err(e) => (false, e.to_string()),
        },
        Action::Stop(s) => match r.services.stop(s).await {
            Ok(how) => (true, how),
            Err(e) => (false, e.to_string()),
        },
        Action::Start(s) => match r.services.start(s).await {
            Ok(()) => (true, format!("`{s}` started and ready")),
            Err(e) => (false, e.to_string()),
        },
        Action::Restart(s) => {
            let stopped = r.services.stop(s).await.unwrap_or_else(|e| e.to_string());
            match r.services.start(s).await {
                Ok(()) => (true, format!("`{s}` {stopped}; started and ready")),
                Err(e) => (false, e.to_string()),
            }
        }
    }
}
