//! The load driver: open and closed models, schedules, scenarios, histograms, thresholds and the keyed-write check.
//!
//! [`start`] validates a [`LoadSpec`] and starts the workers on the current
//! tokio runtime; the returned [`LoadRun`] answers live [`LoadRun::window`]
//! queries and ends with [`LoadRun::finish`] (when the plan ends) or
//! [`LoadRun::stop`] (now), either of which returns a [`LoadReport`].
//! `shakedown load` (in [`cli`]) is a thin layer over the same functions.
//!
//! | module | owns |
//! |---|---|
//! | [`spec`] | the file/section format (`LoadSpec`), rates, stages, think times |
//! | [`plan`] | validation into a runnable plan, the target URL |
//! | [`schedule`] | intended send times: constant, ramps, steps, Poisson |
//! | [`scenario`] | templates, weighted choice, step sequences and extraction |
//! | [`client`] | keep-alive HTTP/1.1 connections owned by workers |
//! | [`worker`] | pacing, sending and recording without locks |
//! | [`histogram`] | HDR histograms and the per-second timeline |
//! | [`errors`] | error classes, injected versus upstream |
//! | [`thresholds`] | pass/fail expressions, whole-run and sliding windows |
//! | [`writes`] | the keyed-write (lost acknowledged writes) check |
//! | [`report`] | the JSON report and the summary table |

pub mod cli;
pub mod client;
pub mod errors;
pub mod histogram;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod schedule;
pub mod spec;
pub mod thresholds;
pub mod worker;
pub mod writes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use cli::{LoadArgs, cli_main};
pub use errors::ErrorClass;
pub use histogram::{TimelinePoint, WindowStats};
pub use report::{Latency, LoadReport, ScenarioReport, Summary};
pub use spec::{Arrival, LoadSpec, Rate, RequestSpec, ScenarioSpec, Stage, Stages, ThinkTime};
pub use thresholds::{Threshold, ThresholdOutcome};
pub use writes::WriteReport;

use crate::clock::Clock;
use histogram::{Timeline, merge, run_histogram};
use plan::{Model, Plan};
use report::Latency as Lat;
use thresholds::{Metric, WindowCheck};
use worker::{Shared, WorkerResult};

/// The Rust examples of the user guide, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../docs/load.md")]
pub struct UserGuideExamples;

/// Why a load run could not start.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The spec is invalid; `field` names where (`rate`, `scenarios[1].write.path`, …).
    #[error("{field}: {message}")]
    Invalid {
        /// The offending field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// `start` was called outside a tokio runtime.
    #[error("the load driver needs a tokio runtime")]
    NoRuntime,
}

/// A running load.
#[derive(Debug)]
pub struct LoadRun {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<WorkerResult>>,
    monitor: JoinHandle<Vec<WindowCheck>>,
    monitor_stop: CancellationToken,
    aborted: Arc<AtomicBool>,
    seed: u64,
    /// Dropping a run without `stop`/`finish` stops its workers.
    _stop_on_drop: tokio_util::sync::DropGuard,
}

/// Validate `spec` and start sending on the current runtime. Times are read
/// from `clock` (the run starts now on it); `seed` fixes every random choice
/// (scenario picks, `{{uuid}}`, `{{random}}`, Poisson gaps, think times).
pub fn start(spec: LoadSpec, clock: Clock, seed: Option<u64>) -> Result<LoadRun, LoadError> {
    let plan = plan::validate(&spec)?;
    let handle = tokio::runtime::Handle::try_current().map_err(|_| LoadError::NoRuntime)?;
    raise_fd_limit(plan.connections);
    let seed = seed.unwrap_or_else(rand::random);
    let horizon = Duration::from_secs(120).max(plan.timeout + Duration::from_secs(10));
    let shared = Arc::new(Shared {
        plan,
        clock,
        start: clock.now(),
        timeline: Mutex::new(Timeline::new(horizon)),
        stop: CancellationToken::new(),
    });
    let workers = (0..shared.plan.threads)
        .map(|i| handle.spawn(worker::run(shared.clone(), i, seed)))
        .collect();
    let monitor_stop = CancellationToken::new();
    let aborted = Arc::new(AtomicBool::new(false));
    let monitor = handle.spawn(monitor(
        shared.clone(),
        monitor_stop.clone(),
        aborted.clone(),
    ));
    let stop_on_drop = shared.stop.clone().drop_guard();
    Ok(LoadRun {
        shared,
        workers,
        monitor,
        monitor_stop,
        aborted,
        seed,
        _stop_on_drop: stop_on_drop,
    })
}

fn raise_fd_limit(connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < connections as u64 + 64 => tracing::warn!(
            limit,
            connections,
            "the open-file limit is below the connection count; connects may fail with `connect_error`"
        ),
        Ok(limit) => tracing::debug!(limit, "open-file soft limit raised to the hard limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
}

/// Check windowed thresholds once a second on complete seconds; abort when asked.
async fn monitor(
    shared: Arc<Shared>,
    done: CancellationToken,
    aborted: Arc<AtomicBool>,
) -> Vec<WindowCheck> {
    let mut checks: Vec<WindowCheck> = shared
        .plan
        .thresholds
        .iter()
        .filter(|t| t.window.is_some())
        .map(|t| WindowCheck {
            threshold: t.clone(),
            worst: None,
            breaches: 0,
            aborted: false,
        })
        .collect();
    if checks.is_empty() {
        return checks;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = done.cancelled() => return checks,
            _ = tick.tick() => {}
        }
        let elapsed = shared.clock.now().saturating_sub(shared.start).as_secs();
        for c in &mut checks {
            let w = c.threshold.window.map_or(1, |d| d.as_secs().max(1));
            if elapsed < w + 1 {
                continue;
            }
            // The last `w` complete seconds.
            let stats = match shared.timeline.lock() {
                Ok(t) => t.window(elapsed - w, elapsed, Duration::from_secs(w)),
                Err(_) => continue,
            };
            if c.check(&stats) {
                aborted.store(true, Ordering::SeqCst);
                shared.stop.cancel();
            }
        }
    }
}

impl LoadRun {
    /// Statistics of the requests whose intended send time falls in the last
    /// `last`, in whole seconds: every second that overlaps it, the current one
    /// included (so a window never shrinks to a second that has barely begun);
    /// `rps` is over the time those seconds cover so far. Cheap, callable from
    /// any thread; at most ~100 ms behind the workers.
    pub fn window(&self, last: Duration) -> WindowStats {
        let now = self.elapsed().as_secs_f64();
        let first = (now - last.as_secs_f64()).max(0.0).floor();
        let covered = Duration::from_secs_f64((now - first).max(0.0));
        match self.shared.timeline.lock() {
            Ok(t) => t.window(first as u64, u64::MAX, covered),
            Err(_) => WindowStats::default(),
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.shared.clock.now().saturating_sub(self.shared.start)
    }

    /// Whether every worker has finished (the plan ended, or a stop drained).
    pub fn is_finished(&self) -> bool {
        self.workers.iter().all(|w| w.is_finished())
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Stop sending now, wait for in-flight requests (at most the request
    /// timeout), run the keyed-write read-back and return the report.
    pub async fn stop(self) -> LoadReport {
        self.shared.stop.cancel();
        self.collect().await
    }

    /// Wait for the plan's own end (duration, last stage, or every user's
    /// request limit), then as [`stop`](Self::stop). A plan without an end
    /// (a rate and no duration) is stopped at once.
    pub async fn finish(self) -> LoadReport {
        if !self.shared.plan.is_bounded() {
            self.shared.stop.cancel();
        }
        self.collect().await
    }

    async fn collect(self) -> LoadReport {
        let mut results = Vec::new();
        for w in self.workers {
            match w.await {
                Ok(r) => results.push(r),
                Err(e) => tracing::error!(error = %e, "a load worker failed"),
            }
        }
        // Sending and draining, up to the last worker's end (not when the caller noticed).
        let elapsed = results
            .iter()
            .map(|r| self.shared.clock.at(r.ended))
            .max()
            .unwrap_or_else(|| self.shared.clock.now())
            .saturating_sub(self.shared.start);
        self.monitor_stop.cancel();
        let checks = self.monitor.await.unwrap_or_default();
        let plan = &self.shared.plan;
        let mut writes = writes::WriteLog::default();
        let mut total = results.pop().map(|r| {
            writes.merge(r.writes);
            r.rec
        });
        let stopped = self.shared.stop.is_cancelled();
        if let Some(t) = total.as_mut() {
            for r in results {
                writes.merge(r.writes);
                let o = r.rec;
                merge(&mut t.latency, &o.latency);
                merge(&mut t.service, &o.service);
                merge(&mut t.lag, &o.lag);
                t.requests += o.requests;
                t.ok += o.ok;
                t.errors.merge(&o.errors);
                t.late += o.late;
                t.cancelled += o.cancelled;
                for (a, b) in t.scenarios.iter_mut().zip(o.scenarios) {
                    a.requests += b.requests;
                    a.ok += b.ok;
                    a.errors += b.errors;
                    merge(&mut a.latency, &b.latency);
                }
            }
        }
        let has_writes = plan
            .scenarios
            .iter()
            .any(|s| matches!(s.kind, scenario::Kind::Write { .. }));
        let write_report = if has_writes {
            Some(writes::check(writes, plan, &self.shared.clock).await)
        } else {
            None
        };
        let empty = run_histogram();
        let summary = match &total {
            Some(t) => {
                let secs = elapsed.as_secs_f64();
                Summary {
                    requests: t.requests,
                    ok: t.ok,
                    errors: t.errors.total(),
                    error_rate: if t.requests > 0 {
                        t.errors.total() as f64 / t.requests as f64
                    } else {
                        0.0
                    },
                    rps: if secs > 0.0 {
                        t.requests as f64 / secs
                    } else {
                        0.0
                    },
                    planned: None,
                    late: t.late,
                    cancelled: t.cancelled,
                    latency: Lat::of(&t.latency),
                    service_time: Lat::of(&t.service),
                    schedule_lag: Lat::of(&t.lag),
                }
            }
            None => Summary::default(),
        };
        let (model, arrival, planned) = match &plan.model {
            Model::Open { schedule, arrival } => {
                let until = if stopped {
                    elapsed.min(schedule.end().unwrap_or(elapsed))
                } else {
                    schedule.end().unwrap_or(elapsed)
                };
                (
                    "open",
                    Some(*arrival),
                    Some(schedule.expected_by(until).ceil() as u64),
                )
            }
            Model::Closed { .. } => ("closed", None, None),
        };
        let summary = Summary { planned, ..summary };
        let hist = total.as_ref().map_or(&empty, |t| &t.latency);
        let mut outcomes = Vec::new();
        for t in &plan.thresholds {
            if t.window.is_some() {
                if let Some(c) = checks.iter().find(|c| c.threshold == *t) {
                    outcomes.push(c.outcome());
                }
                continue;
            }
            let observed = match t.metric {
                Metric::Quantile(q) => histogram::quantile(hist, q).map(|d| d.as_secs_f64()),
                Metric::Mean => (!hist.is_empty()).then(|| hist.mean() / 1e6),
                Metric::ErrorRate => Some(summary.error_rate),
                Metric::Rps => Some(summary.rps),
            };
            outcomes.push(ThresholdOutcome {
                threshold: t.text.clone(),
                passed: observed.is_some_and(|v| t.holds(v)),
                observed,
                unit: t.unit(),
                window_s: None,
                breaches: u64::from(!observed.is_some_and(|v| t.holds(v))),
                aborted: false,
            });
        }
        let scenarios = plan
            .scenarios
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let r = total.as_ref().and_then(|t| t.scenarios.get(i));
                ScenarioReport {
                    name: s.name.clone(),
                    weight: s.weight,
                    requests: r.map_or(0, |r| r.requests),
                    ok: r.map_or(0, |r| r.ok),
                    errors: r.map_or(0, |r| r.errors),
                    latency: r.map_or_else(Lat::default, |r| Lat::of(&r.latency)),
                }
            })
            .collect();
        let timeline = self
            .shared
            .timeline
            .lock()
            .map(|t| t.points())
            .unwrap_or_default();
        LoadReport {
            version: 1,
            target: plan.target.url.clone(),
            model,
            arrival,
            seed: self.seed,
            connections: plan.connections,
            threads: plan.threads,
            started: self.shared.start,
            elapsed,
            passed: outcomes.iter().all(|o| o.passed),
            aborted: self.aborted.load(Ordering::SeqCst),
            errors_by_class: total.as_ref().map(|t| t.errors).unwrap_or_default(),
            summary,
            scenarios,
            timeline,
            thresholds: outcomes,
            writes: write_report,
        }
    }
}

/// The validated plan of a spec, for `validate`-style checks without running.
pub fn validate(spec: &LoadSpec) -> Result<(), LoadError> {
    plan::validate(spec).map(|_: Plan| ())
}
