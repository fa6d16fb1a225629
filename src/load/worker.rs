//! A worker: one task that paces, sends and records its share of the load.
//!
//! Each worker owns its connections, its histograms and its random streams,
//! so the request path takes no lock. [`run`] hands the worker to the loop of
//! its model: [`open`] walks its slots of the schedule, [`closed`] runs its
//! share of virtual users. Both end the same way (see [`Pace`]): at the plan's
//! end (or on the stop signal) sending stops, requests in flight get the drain
//! period (the request timeout) to complete, and any still in flight after it
//! are counted `cancelled`. A bounded plan's worker lasts until the plan's end
//! even when its last request went out earlier, so a run lasts its duration.

use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::{Instant, Interval, Sleep, sleep_until};
use tokio_util::sync::CancellationToken;

use super::client::{Conn, Gauge};
use super::histogram::Timeline;
use super::plan::{Model, Plan};
use super::recorder::Recorder;
use super::segment::Lane;
use super::writes::WriteLog;
use crate::clock::Clock;

mod closed;
mod crowd;
mod exchange;
mod open;

/// How often a worker flushes its per-second buckets and looks at the stop signal.
const FLUSH_EVERY: Duration = Duration::from_millis(100);

/// What every worker shares: the plan, the clock, the live timeline, the stop signal.
#[derive(Debug)]
pub(super) struct Shared {
    /// The validated plan.
    pub(super) plan: Plan,
    /// The run's clock.
    pub(super) clock: Clock,
    /// When the run started, on `clock`.
    pub(super) start: Duration,
    /// When the run started, on the wall clock.
    pub(super) wall_start: std::time::SystemTime,
    /// Whether the report carries the whole-run histograms.
    pub(super) histograms: bool,
    /// Per-second statistics, fed by the workers.
    pub(super) timeline: Mutex<Timeline>,
    /// Cancelled to stop sending.
    pub(super) stop: CancellationToken,
    /// When the first stop was asked for, since the start (see [`Shared::stop_now`]).
    pub(super) stopped_at: OnceLock<Duration>,
    /// Connections open now and at most.
    pub(super) gauge: Arc<Gauge>,
}

impl Shared {
    /// The run's start as an instant.
    fn origin(&self) -> Instant {
        self.clock.instant(self.start)
    }

    /// Stop sending now; the first call's time (since the start) ends the run's span.
    pub(super) fn stop_now(&self) {
        let _ = self
            .stopped_at
            .set(self.clock.now().saturating_sub(self.start));
        self.stop.cancel();
    }
}

/// A worker's results.
#[derive(Debug)]
pub(super) struct WorkerResult {
    /// Measurements.
    pub(super) rec: Recorder,
    /// Keyed writes.
    pub(super) writes: WriteLog,
    /// When the worker finished (the plan's end, or its last request completed).
    pub(super) ended: Instant,
}

/// This worker's share of `total`.
pub(super) fn share(total: u64, workers: u64, index: u64) -> u64 {
    total / workers + u64::from(index < total % workers)
}

/// `origin + offset`, or a year past `origin` when that does not fit in an `Instant`.
fn after(origin: Instant, offset: Duration) -> Instant {
    origin
        .checked_add(offset)
        .or_else(|| origin.checked_add(Duration::from_secs(86_400 * 365)))
        .unwrap_or(origin)
}

/// What both models' loops own: the plan, the random stream, the measurements and the
/// idle connections.
struct Worker<'a> {
    shared: &'a Shared,
    plan: &'a Plan,
    /// This worker's index.
    index: u64,
    /// The global slot (or user) numbers this worker owns.
    lane: Lane,
    /// The run's seed (the plan's Poisson stream is drawn from it on every agent).
    run_seed: u64,
    rng: StdRng,
    rec: Recorder,
    writes: WriteLog,
    /// Connections not lent to a request.
    idle: Vec<Conn>,
    /// The run's start.
    origin: Instant,
}

impl Worker<'_> {
    /// The results, once the loop is done.
    fn finish(mut self) -> WorkerResult {
        self.rec.local.flush(&self.shared.timeline);
        WorkerResult {
            rec: self.rec,
            writes: self.writes,
            ended: Instant::now(),
        }
    }
}

/// Run worker `index` until its plan ends or the stop signal, then drain in-flight requests.
///
/// Workers are tasks on the caller's runtime. One event loop per thread, as wrk runs, was
/// measured and dropped: on a loaded machine it ran slower (see docs/benchmarks.md, "Load
/// driver").
pub(super) async fn run(shared: Arc<Shared>, index: usize, seed: u64) -> WorkerResult {
    let plan = &shared.plan;
    let workers = plan.threads as u64;
    let w = index as u64;
    let run_seed = seed;
    let seed = seed ^ (w + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let cap = share(plan.connections as u64, workers, w).max(1);
    let worker = Worker {
        shared: &shared,
        plan,
        index: w,
        lane: plan.segment.lane(w, workers),
        run_seed,
        rng: StdRng::seed_from_u64(seed),
        rec: Recorder::new(plan.scenarios.len()),
        writes: WriteLog::default(),
        idle: (0..cap)
            .map(|slot| Conn::counted(shared.gauge.clone(), slot as usize))
            .collect(),
        origin: shared.origin(),
    };
    // A run given a start instant waits for it (or for a stop).
    tokio::select! {
        _ = sleep_until(worker.origin) => {}
        _ = shared.stop.cancelled() => return worker.finish(),
    }
    match &plan.model {
        Model::Open { schedule, arrival } => open::run(worker, schedule, *arrival).await,
        Model::Closed {
            users,
            think,
            requests_per_user,
            ..
        } => closed::run(worker, users, *think, *requests_per_user).await,
    }
}

/// Where a worker is in the end of its run: sending until the plan's end or the stop
/// signal, then draining in-flight requests for at most the request timeout.
struct Pace {
    /// The plan's end, if it has one.
    end: Option<Instant>,
    /// Fires at `end` (never without one).
    end_timer: Pin<Box<Sleep>>,
    /// Fires when the drain period is over (armed by [`Pace::stop`]).
    drain_timer: Pin<Box<Sleep>>,
    /// How long in-flight requests may take after sending stops.
    drain: Duration,
    /// Sending has stopped.
    stopping: bool,
    /// The flush (and stop-signal) tick.
    flush: Interval,
}

impl Pace {
    fn new(origin: Instant, end: Option<Duration>, drain: Duration) -> Self {
        let end = end.map(|e| after(origin, e));
        let far = after(origin, Duration::MAX);
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Self {
            end,
            end_timer: Box::pin(sleep_until(end.unwrap_or(far))),
            drain_timer: Box::pin(sleep_until(far)),
            drain,
            stopping: false,
            flush,
        }
    }

    /// Whether the plan's end has passed at `now` (checked on every turn, so that a loop
    /// kept busy by completions cannot miss it).
    fn past_end(&self, now: Instant) -> bool {
        self.end.is_some_and(|e| now >= e)
    }

    /// Stop sending; in-flight requests have the drain period from now.
    fn stop(&mut self) {
        if !self.stopping {
            self.stopping = true;
            let until = after(Instant::now(), self.drain);
            self.drain_timer.as_mut().reset(until);
        }
    }

    /// On a flush tick: flush the worker's buckets and stop on the stop signal (polling the
    /// signal takes a lock, so it is read here rather than on every turn).
    fn on_flush(&mut self, worker: &mut Worker<'_>) {
        worker.rec.local.flush(&worker.shared.timeline);
        if worker.shared.stop.is_cancelled() {
            self.stop();
        }
    }
}
