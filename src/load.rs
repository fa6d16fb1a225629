//! The load driver: open and closed models, schedules, scenarios, histograms, thresholds and the keyed-write check.
//!
//! [`start`] validates a [`LoadSpec`] and starts the workers on the current
//! tokio runtime; the returned [`LoadRun`] answers live [`LoadRun::window`]
//! queries and ends with [`LoadRun::finish`] (when the plan ends) or
//! [`LoadRun::stop`] (now), either of which returns a [`LoadReport`].
//! `shakedown load` (in `crate::cli::load`) is a thin layer over the same functions.
//!
//! | module | owns |
//! |---|---|
//! | `spec` | the file/section format (`LoadSpec`), rates, stages, think times, their bounds |
//! | `plan` | validation into a runnable plan |
//! | `target` | the one strict `http://` URL parser (also used for probe and `ready` URLs) |
//! | `users` | closed-model user counts: spawn rate, user stages |
//! | `schedule` | intended send times: constant, ramps, steps, Poisson |
//! | `segment` | one agent's exact share (`I/N`) of a plan split across agents |
//! | `scenario` | weighted choice, step sequences and extraction |
//! | `template` | placeholders (`{{seq}}`, …) and request templates |
//! | `client` | keep-alive HTTP/1.1 connections owned by workers |
//! | `worker` | pacing and sending without locks: one loop per model |
//! | `recorder` | a worker's counts and histograms |
//! | `histogram` | HDR histograms and the per-second timeline |
//! | `intervals` | per-second histograms kept compressed; `.hlog` interval logs; base64 histograms |
//! | `errors` | error classes, injected versus upstream |
//! | `thresholds` | pass/fail expressions, whole-run and sliding windows |
//! | `writes` | the keyed-write (lost acknowledged writes) check: the log and the read-back |
//! | `live` | a running agent's recent seconds, for `load --serve` |
//! | `merge` | agents' reports added exactly, thresholds judged once on the sum; their live seconds added while they run (`LiveMerge`) |
//! | `collect` | merging worker results into the report at the end |
//! | `report` | the records (plain data: `LoadReport`, `WriteReport`, `Generator`) and the summary table |
//! | `usage` | the generator's own CPU, memory and connections; bottleneck warnings |
//! | `units` | durations as milliseconds on the wire |

mod client;
mod collect;
mod errors;
mod histogram;
mod intervals;
mod live;
mod merge;
mod plan;
mod recorder;
mod report;
mod scenario;
mod schedule;
mod segment;
mod spec;
mod target;
mod template;
mod thresholds;
pub(crate) mod units;
mod usage;
mod users;
mod worker;
mod writes;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use errors::{ClassCounts, ErrorClass, ErrorReasons, ReasonCount};
pub use histogram::{TimelinePoint, WindowStats};
pub use intervals::{
    Interval, Intervals, LATENCY_TAG, SERVICE_TAG, from_base64, read_hlog, to_base64,
};
pub use live::{LiveHandle, LiveIntervals, LiveSecond};
pub use merge::{
    AgentResult, LiveMerge, MergeError, align as align_agents, merge, offset as agent_offset,
    shift as shift_agent,
};
pub use report::{
    Generator, Histograms, Latency, LoadReport, ScenarioReport, Summary, WriteReport,
};
pub use segment::Segment;
pub use spec::{
    Arrival, ExtractSpec, LoadSpec, Rate, RequestSpec, ScenarioSpec, Stage, Stages, StepSpec,
    ThinkTime,
};
pub use target::{HttpUrl, parse_http_url};
pub use thresholds::{Threshold, ThresholdOutcome, Unit};
pub use users::{UserStage, UserStages};

use crate::clock::Clock;
use histogram::Timeline;
use plan::Plan;
use thresholds::WindowCheck;
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
    /// Set once every worker has ended (for [`LiveHandle`]).
    finished: Arc<AtomicBool>,
    seed: u64,
    cpu: usage::CpuMark,
    fd_limit: Option<u64>,
    /// Dropping a run without `stop`/`finish` stops its workers.
    _stop_on_drop: tokio_util::sync::DropGuard,
}

/// The longest window [`LoadRun::window`] and windowed thresholds answer exactly: the timeline
/// keeps full latency histograms this far back; older seconds keep only their counts, p50 and
/// p99, so a longer window would mix exact counts with percentiles of its recent part alone.
pub const WINDOW_HORIZON: Duration = Duration::from_secs(120);

/// Validate `spec` and start sending on the current runtime. Times are read
/// from `clock` (the run starts now on it); `seed` fixes every random choice
/// (scenario picks, `{{uuid}}`, `{{random}}`, Poisson gaps, think times).
pub fn start(spec: LoadSpec, clock: Clock, seed: Option<u64>) -> Result<LoadRun, LoadError> {
    start_with(
        spec,
        clock,
        StartOptions {
            seed,
            ..StartOptions::default()
        },
    )
}

/// What [`start_with`] may add to [`start`].
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Fixes every random choice (random when `None`).
    pub seed: Option<u64>,
    /// Begin the plan at this wall-clock instant rather than now.
    pub start_at: Option<SystemTime>,
    /// Keep every second's histograms for [`LoadReport::intervals`] (about 1 KiB a second).
    pub intervals: bool,
    /// Put the whole-run histograms in the report ([`LoadReport::histograms`]).
    pub histograms: bool,
}

/// As [`start`], with options. With `start_at`, the plan begins at that wall-clock instant
/// (so that agents started at different moments send one plan together): until then the
/// workers wait, and the run's start (`started_ms`, every offset of the plan) is that instant
/// on `clock`. A late wake-up shows as schedule lag. An instant already past is
/// [`LoadError::Invalid`] (`start_at`): the plan's first slots would be due before this agent
/// existed.
pub fn start_with(
    spec: LoadSpec,
    clock: Clock,
    options: StartOptions,
) -> Result<LoadRun, LoadError> {
    let seed = options.seed;
    let delay = match options.start_at {
        None => Duration::ZERO,
        Some(at) => at
            .duration_since(SystemTime::now())
            .map_err(|past| LoadError::Invalid {
                field: "start_at".into(),
                message: format!(
                    "{} is {:.3}s in the past: give an instant ahead of every agent's start",
                    humantime::format_rfc3339_millis(at),
                    past.duration().as_secs_f64()
                ),
            })?,
    };
    let plan = plan::validate(&spec)?;
    if let plan::Model::Open { schedule, .. } = &plan.model
        && let Some(whole) = schedule.cut_from()
    {
        tracing::warn!(
            "the plan holds {whole:.0} requests, more than the cap of {}: only the first {} are scheduled (the run still ends at its duration)",
            schedule::MAX_PLANNED,
            schedule::MAX_PLANNED
        );
    }
    if let plan::Model::Open {
        arrival: Arrival::Poisson,
        ..
    } = &plan.model
        && !plan.segment.is_whole()
        && seed.is_none()
    {
        return Err(LoadError::Invalid {
            field: "segment".into(),
            message: "Poisson arrivals split into segments need a seed (`--seed`): every agent must draw the same arrivals".into(),
        });
    }
    let handle = tokio::runtime::Handle::try_current().map_err(|_| LoadError::NoRuntime)?;
    let cpu = usage::CpuMark::now();
    let fd_limit = raise_fd_limit(plan.connections);
    let seed = seed.unwrap_or_else(rand::random);
    let horizon = WINDOW_HORIZON.max(plan.timeout.saturating_add(Duration::from_secs(10)));
    let shared = Arc::new(Shared {
        plan,
        clock,
        start: clock.now().saturating_add(delay),
        timeline: Mutex::new(Timeline::new(horizon, options.intervals)),
        wall_start: SystemTime::now() + delay,
        histograms: options.histograms,
        stop: CancellationToken::new(),
        stopped_at: std::sync::OnceLock::new(),
        gauge: Arc::default(),
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
        finished: Arc::default(),
        seed,
        cpu,
        fd_limit,
        _stop_on_drop: stop_on_drop,
    })
}

/// Raise the open-file soft limit to the hard limit; the soft limit in force after.
fn raise_fd_limit(connections: usize) -> Option<u64> {
    let needed = (connections as u64).saturating_add(64);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) if limit < needed => {
            tracing::warn!(
                limit,
                connections,
                "the open-file limit is below the connection count plus headroom; connects may fail with `connect_error` (raise the hard limit: `ulimit -Hn`)"
            );
            Some(limit)
        }
        Ok(limit) => {
            tracing::debug!(limit, "open-file soft limit raised to the hard limit");
            Some(limit)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-file limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|l| l.0)
        }
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
                shared.stop_now();
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
        match self.shared.timeline.lock() {
            Ok(t) => t.trailing(last, self.elapsed()),
            Err(_) => WindowStats::default(),
        }
    }

    /// Time since the run started.
    pub fn elapsed(&self) -> Duration {
        self.shared.clock.now().saturating_sub(self.shared.start)
    }

    /// A handle on the live timeline (for `load --serve`), valid after the run ends too.
    pub fn live(&self) -> LiveHandle {
        LiveHandle {
            shared: self.shared.clone(),
            finished: self.finished.clone(),
        }
    }

    /// Whether every worker has finished (the plan ended, or a stop drained).
    pub fn is_finished(&self) -> bool {
        self.workers.iter().all(|w| w.is_finished())
    }

    /// Stop sending now, wait for in-flight requests (at most the request
    /// timeout), run the keyed-write read-back and return the report.
    pub async fn stop(self) -> LoadReport {
        self.shared.stop_now();
        self.collect().await
    }

    /// Wait for the plan's own end (duration, last stage, or every user's
    /// request limit), then as [`stop`](Self::stop). A plan without an end
    /// (a rate and no duration) is stopped at once.
    pub async fn finish(self) -> LoadReport {
        if !self.shared.plan.is_bounded() {
            self.shared.stop_now();
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
        self.finished.store(true, Ordering::SeqCst);
        self.monitor_stop.cancel();
        let checks = self.monitor.await.unwrap_or_default();
        collect::report(collect::Ending {
            shared: &self.shared,
            results,
            checks,
            seed: self.seed,
            aborted: self.aborted.load(Ordering::SeqCst),
            cpu: self.cpu,
            fd_limit: self.fd_limit,
        })
        .await
    }
}

/// The validated plan of a spec, for `validate`-style checks without running.
pub fn validate(spec: &LoadSpec) -> Result<(), LoadError> {
    plan::validate(spec).map(|_: Plan| ())
}
