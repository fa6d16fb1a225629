//! The method task: services, proxies, preflight, load, the timeline of steps, the wait for
//! recovery, and the load's report.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use super::{Resources, Shared};
use crate::clock::Clock;
use crate::experiment::action;
use crate::experiment::client::Http;
use crate::experiment::driver::Load;
use crate::experiment::embedded::Embedded;
use crate::experiment::inject::Injector;
use crate::experiment::measure;
use crate::experiment::probe::{self, Status as ProbeStatus};
use crate::experiment::spec::{Action, Check, Control, EXTERNAL_LEASE, Experiment, StepKind};
use crate::experiment::vars;
use crate::report::journal::{Status, StepRecord};

/// How long preflight retries the steady state before giving up.
const PREFLIGHT_PATIENCE: Duration = Duration::from_secs(5);

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
    for s in &experiment.services {
        say(None, format!("starting service `{}`", s.name));
        if let Err(e) = res.lock().await.services.start(&s.name).await {
            return shared.stop(Status::PreflightFailed, e.to_string());
        }
    }
    if !experiment.proxies.is_empty() {
        let (base, lease) = match &experiment.control {
            Control::External(url) => (url.clone(), Some(EXTERNAL_LEASE)),
            Control::Embedded => match Embedded::start(experiment.seed).await {
                Ok((server, base)) => {
                    res.lock().await.embedded = Some(server);
                    (base, None)
                }
                Err(e) => {
                    return shared.stop(Status::Aborted, format!("embedded control server: {e}"));
                }
            },
        };
        // The clock starts with the load; proxies are created first (no timing involved).
        let mut injector = Injector::new(base, http.clone(), lease, Clock::start());
        let created = injector.create_proxies(&experiment.proxies).await;
        res.lock().await.injector = Some(injector);
        if let Err(e) = created {
            return shared.stop(Status::PreflightFailed, e.to_string());
        }
    }
    if !preflight(&experiment, &shared, &http).await {
        return;
    }
    let clock = Clock::start();
    if let Some(inj) = res.lock().await.injector.as_mut() {
        inj.set_clock(clock);
    }
    let load = match &experiment.load {
        None => None,
        Some(spec) => match Load::start(spec, clock, experiment.seed) {
            Ok(l) => Some(l),
            Err(e) => return shared.stop(Status::PreflightFailed, format!("load driver: {e}")),
        },
    };
    say(
        Some(0.0),
        if load.is_some() {
            "load started, sampling the steady state".into()
        } else {
            "sampling the steady state".into()
        },
    );
    let stop_sampling = CancellationToken::new();
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
    if let Some(load) = load {
        say(
            Some(clock.now().as_secs_f64()),
            "stopping the load, reading writes back".into(),
        );
        let outcome = load.stop().await;
        let mut j = shared.journal();
        j.writes = outcome.writes;
        j.load_summary = outcome.summary;
        j.load = outcome.report;
    }
}

/// Services answer and the probes that need no load pass; retried for a few seconds.
async fn preflight(experiment: &Experiment, shared: &Shared, http: &Http) -> bool {
    let probes: Vec<_> = experiment
        .steady_state
        .probes
        .iter()
        .filter(|p| !matches!(p.check, Check::Load { .. }))
        .collect();
    let deadline = tokio::time::Instant::now() + PREFLIGHT_PATIENCE;
    loop {
        let outcomes = join_all(probes.iter().map(|p| probe::run(p, http, None))).await;
        let pass = outcomes.iter().all(|o| o.status == ProbeStatus::Pass);
        let failing: Vec<String> = outcomes
            .iter()
            .filter(|o| o.status != ProbeStatus::Pass)
            .map(|o| format!("{}: {}", o.probe, o.detail))
            .collect();
        shared.journal().preflight = outcomes;
        if pass {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            shared.stop(
                Status::PreflightFailed,
                format!(
                    "the steady state does not hold before any fault ({})",
                    failing.join("; ")
                ),
            );
            return false;
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

async fn timeline(experiment: &Experiment, shared: &Shared, res: &Res, clock: Clock) {
    let mut events: Vec<(Duration, Event)> = Vec::new();
    for (i, step) in experiment.method.iter().enumerate() {
        events.push((step.at, Event::Start(i)));
        if matches!(step.kind, StepKind::Fault { .. }) {
            events.push((step.end(), Event::Remove(i)));
        }
        shared.journal().steps.push(StepRecord {
            name: step.name.clone(),
            kind: if matches!(step.kind, StepKind::Fault { .. }) {
                "fault"
            } else {
                "action"
            }
            .to_string(),
            planned_at: step.at.as_secs_f64(),
            injected_at: None,
            removed_at: None,
            measured: step.measure,
            measurement: None,
            recovered_in_time: None,
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
        let now = |c: &Clock| c.now().as_secs_f64();
        match event {
            Event::Start(i) => {
                let step = &experiment.method[i];
                match &step.kind {
                    StepKind::Fault { fault, .. } => {
                        let inject = match res.lock().await.injector.as_mut() {
                            Some(inj) => inj.inject(&toxic_name(i, &fault.kind), fault).await,
                            None => return,
                        };
                        match inject {
                            Ok(t) => {
                                shared.progress.say(
                                    Some(t.as_secs_f64()),
                                    format!(
                                        "+ {} (for {})",
                                        step.name,
                                        humantime::format_duration(step.end() - step.at)
                                    ),
                                );
                                let mut j = shared.journal();
                                j.steps[i].injected_at = Some(t.as_secs_f64());
                                j.steps[i].ok = true;
                            }
                            Err(e) => {
                                shared.journal().steps[i].detail = Some(e.to_string());
                                return shared.stop(Status::Aborted, e.to_string());
                            }
                        }
                    }
                    StepKind::Action(a) => {
                        let started = now(&clock);
                        let (ok, detail) = act(a, res).await;
                        let done = now(&clock);
                        shared
                            .progress
                            .say(Some(started), format!("! {}: {detail}", step.name));
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
                let removed = match res.lock().await.injector.as_mut() {
                    Some(inj) => {
                        inj.remove(&toxic_name(
                            i,
                            match &step.kind {
                                StepKind::Fault { fault, .. } => &fault.kind,
                                _ => "",
                            },
                        ))
                        .await
                    }
                    None => return,
                };
                match removed {
                    Ok(t) => {
                        shared
                            .progress
                            .say(Some(t.as_secs_f64()), format!("- {}", step.name));
                        shared.journal().steps[i].removed_at = Some(t.as_secs_f64());
                    }
                    Err(e) => return shared.stop(Status::Aborted, e.to_string()),
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

/// The last sample before the first step must pass; otherwise nothing is injected.
async fn steady_before_faults(experiment: &Experiment, shared: &Shared, clock: Clock) -> bool {
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
            let failing: Vec<String> = s
                .probes
                .iter()
                .filter(|o| o.status != ProbeStatus::Pass)
                .map(|o| format!("{}: {}", o.probe, o.detail))
                .collect();
            shared.stop(
                Status::PreflightFailed,
                format!(
                    "the steady state does not hold at {:.2}s, before the first step ({})",
                    clock.now().as_secs_f64(),
                    failing.join("; ")
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
            Ok(()) => (true, format!("sent SIG{signal} to `{service}`")),
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

/// After the method, keep sampling until the steady state has been sampled `recovered_after`
/// times since the last removal and every measured step recovered, or until the deadline. Without
/// the samples after the last removal, a step that breaks the system at the very end of the method
/// would read as "never breached" and the hypothesis would be judged on a sample taken before it.
async fn wait_for_recovery(experiment: &Experiment, shared: &Shared, clock: Clock) {
    if experiment.steady_state.probes.is_empty() {
        return;
    }
    let Some(planned_end) = experiment.method.iter().map(|s| s.end()).max() else {
        return;
    };
    // An action's removal is its completion (a `start` waits until ready): count from the later.
    let confirmed = shared
        .journal()
        .steps
        .iter()
        .filter_map(|s| s.removed_at)
        .fold(0.0, f64::max);
    let last_end = planned_end.max(Duration::from_secs_f64(confirmed));
    let k = experiment.steady_state.recovered_after;
    let interval = experiment.steady_state.interval;
    let grace = experiment.expect.recovered_within.unwrap_or(Duration::ZERO) + interval * (k + 1);
    let deadline = (last_end + grace).max(experiment.duration);
    // Bounded by the deadline; one check per interval.
    while clock.now() < deadline {
        if settled(shared, k) {
            return;
        }
        tokio::select! {
            _ = shared.abort.cancelled() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// `k` samples started after the last confirmed removal, and every measured step recovered.
fn settled(shared: &Shared, k: u32) -> bool {
    let j = shared.journal();
    let last_removal = j
        .steps
        .iter()
        .filter_map(|s| s.removed_at)
        .fold(0.0, f64::max);
    if j.samples.iter().filter(|s| s.at >= last_removal).count() < k as usize {
        return false;
    }
    let samples = super::super::verdict::samples(&j);
    j.steps
        .iter()
        .filter(|s| s.measured)
        .all(|s| match (s.injected_at, s.removed_at) {
            (Some(i), Some(r)) => measure::measure(
                &samples,
                measure::Window {
                    injected: Duration::from_secs_f64(i),
                    removed: Duration::from_secs_f64(r),
                },
                k,
            )
            .recovered(),
            _ => true,
        })
}
