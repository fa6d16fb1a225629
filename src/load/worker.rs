//! A worker: one task that paces, sends and records its share of the load.
//!
//! Each worker owns its connections, its histograms and its random streams,
//! so the request path takes no lock. In the open model it walks its slots
//! of the schedule (see [`super::schedule`]): a slot is sent at
//! `max(now, intended)` and never skipped; when every connection is busy it
//! waits and the request is counted **late**. Latency is always measured
//! from the intended time, service time from the actual send. In the closed
//! model it runs its share of virtual users, each sending, waiting for the
//! answer, thinking, and sending again.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::client::{Conn, Gauge};
use super::histogram::Timeline;
use super::plan::{Model, Plan};
use super::recorder::Recorder;
use super::scenario::Context;
use super::schedule::Slots;
use super::spec::Arrival;
use super::writes::WriteLog;
use crate::clock::Clock;

mod crowd;
mod exchange;
use crowd::{Crowd, User};
use exchange::{Meta, complete, prepare, tagged};

/// What every worker shares: the plan, the clock, the live timeline, the stop signal.
#[derive(Debug)]
pub(super) struct Shared {
    /// The validated plan.
    pub plan: Plan,
    /// The run's clock.
    pub clock: Clock,
    /// When the run started, on `clock`.
    pub start: Duration,
    /// Per-second statistics, fed by the workers.
    pub timeline: Mutex<Timeline>,
    /// Cancelled to stop sending.
    pub stop: CancellationToken,
    /// Connections open now and at most.
    pub gauge: Arc<Gauge>,
}

impl Shared {
    fn origin(&self) -> Instant {
        self.clock.instant(self.start)
    }
}

/// A worker's results.
#[derive(Debug)]
pub(super) struct WorkerResult {
    /// Measurements.
    pub rec: Recorder,
    /// Keyed writes.
    pub writes: WriteLog,
    /// When the worker finished (its last request completed).
    pub ended: Instant,
}

async fn wake(user: User) -> User {
    sleep_until(user.ready_at).await;
    user
}

/// This worker's share of `total`.
fn share(total: u64, workers: u64, index: u64) -> u64 {
    total / workers + u64::from(index < total % workers)
}

/// Run worker `index` until its plan ends or the stop signal (then drain in-flight requests).
pub(super) async fn run(shared: Arc<Shared>, index: usize, seed: u64) -> WorkerResult {
    let plan = &shared.plan;
    let workers = plan.threads as u64;
    let w = index as u64;
    let seed = seed ^ (w + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rec = Recorder::new(plan.scenarios.len());
    let mut writes = WriteLog::default();
    let cap = share(plan.connections as u64, workers, w).max(1) as usize;
    let mut idle: Vec<Conn> = (0..cap)
        .map(|_| Conn::counted(shared.gauge.clone()))
        .collect();
    let mut inflight = FuturesUnordered::new();
    let mut thinking = FuturesUnordered::new();
    let mut ready: VecDeque<User> = VecDeque::new();
    let origin = shared.origin();
    let far = origin + Duration::from_secs(86_400 * 365);
    let deadline = plan.end().map(|e| origin + e);

    let (mut slots, think, mut crowd) = match &plan.model {
        Model::Open { arrival, .. } => {
            let slots = match arrival {
                Arrival::Uniform => Slots::Uniform {
                    worker: w,
                    workers,
                    next: 0,
                },
                Arrival::Poisson => Slots::Poisson {
                    worker: w,
                    rng: Box::new(StdRng::seed_from_u64(seed.rotate_left(17))),
                    workers: workers as f64,
                    position: 0.0,
                    next: 0,
                },
            };
            (Some(slots), (Duration::ZERO, Duration::ZERO), None)
        }
        Model::Closed {
            users,
            think,
            requests_per_user,
            ..
        } => {
            let crowd = Crowd::new(users.clone(), w, workers, *requests_per_user);
            (None, *think, Some(crowd))
        }
    };
    let schedule = match &plan.model {
        Model::Open { schedule, .. } => Some(schedule),
        Model::Closed { .. } => None,
    };
    // Closed model: follow the user count every 10 ms until it settles.
    let mut users_tick = tokio::time::interval(Duration::from_millis(10));
    users_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut settled = crowd.is_none();
    let next_slot = |slots: &mut Option<Slots>| match (slots.as_mut(), schedule) {
        (Some(s), Some(sch)) => s.next(sch).map(|(k, at)| (k, origin + at)),
        _ => None,
    };
    let mut slot = next_slot(&mut slots);
    let slot_timer = sleep_until(slot.map_or(far, |(_, at)| at));
    let end_timer = sleep_until(deadline.unwrap_or(far));
    let drain_timer = sleep_until(far);
    tokio::pin!(slot_timer, end_timer, drain_timer);
    let mut flush = tokio::time::interval(Duration::from_millis(100));
    flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopping = false;
    let mut draining = false;
    let mut blocked = false;
    let mut armed = slot.map(|(_, at)| at);

    loop {
        let now = Instant::now();
        if !stopping {
            // Open model: every due slot, in order, while a connection is free.
            while let Some((seq, at)) = slot {
                if at > now {
                    blocked = false;
                    if armed != Some(at) {
                        armed = Some(at);
                        slot_timer.as_mut().reset(at);
                    }
                    break;
                }
                let Some(conn) = idle.pop() else {
                    blocked = true;
                    break;
                };
                rec.late += u64::from(blocked);
                let scenario = plan.picker.pick(&mut rng);
                let ctx = Context::draw(seq, w, &mut rng);
                let mut meta = Meta {
                    intended: at,
                    scenario,
                    step: 0,
                    ctx,
                    write: None,
                    user: None,
                };
                match prepare(plan, &mut rec, &mut writes, &mut meta, now, origin) {
                    Some((req, keep)) => inflight.push(tagged(conn, plan, req, keep, meta)),
                    None => idle.push(conn),
                }
                slot = next_slot(&mut slots);
            }
            // Closed model: every ready user while a connection is free.
            while !ready.is_empty() {
                let Some(conn) = idle.pop() else {
                    blocked = true;
                    break;
                };
                let Some(user) = ready.pop_front() else {
                    idle.push(conn);
                    break;
                };
                rec.late += u64::from(blocked);
                let mut meta = Meta {
                    intended: user.ready_at,
                    scenario: user.scenario,
                    step: user.step,
                    ctx: user.ctx,
                    write: None,
                    user: Some(user),
                };
                match prepare(plan, &mut rec, &mut writes, &mut meta, now, origin) {
                    Some((req, keep)) => inflight.push(tagged(conn, plan, req, keep, meta)),
                    None => {
                        idle.push(conn);
                        if let (Some(mut user), Some(crowd)) = (meta.user, crowd.as_mut()) {
                            user.step = 0;
                            user.vars.clear();
                            user.done += 1;
                            user.ready_at = now + think.0.max(Duration::from_millis(1));
                            if crowd.goes_on(&user) {
                                user.ctx = crowd.context(user.id, &mut rng);
                                thinking.push(wake(user));
                            }
                        }
                    }
                }
            }
            if slots.is_none() && ready.is_empty() {
                blocked = false;
            }
        }
        let open_done = slots.is_some() && slot.is_none();
        let closed_done = slots.is_none() && settled && ready.is_empty() && thinking.is_empty();
        if inflight.is_empty() && (stopping || open_done || closed_done) {
            break;
        }
        tokio::select! {
            biased;
            Some((ex, meta)) = inflight.next() => {
                let (conn, user) = complete(plan, &mut rec, &mut writes, ex, meta, origin);
                idle.push(conn);
                let (Some(mut user), Some(crowd)) = (user, crowd.as_mut()) else { continue };
                user.done += 1;
                if stopping {
                    crowd.retire(&user);
                    continue;
                }
                if !crowd.goes_on(&user) {
                    continue;
                }
                if user.step == 0 {
                    user.scenario = plan.picker.pick(&mut rng);
                    user.ctx = crowd.context(user.id, &mut rng);
                }
                let pause = if think.1 > think.0 { rng.random_range(think.0..=think.1) } else { think.0 };
                if pause.is_zero() {
                    ready.push_back(user);
                } else {
                    // The next send is intended at done + think, whenever this task wakes.
                    user.ready_at += pause;
                    thinking.push(wake(user));
                }
            }
            Some(user) = thinking.next(), if !stopping => {
                if crowd.as_mut().is_some_and(|c| c.goes_on(&user)) {
                    ready.push_back(user);
                }
            }
            _ = users_tick.tick(), if !stopping && !settled => {
                if let Some(crowd) = crowd.as_mut() {
                    let since = Instant::now().saturating_duration_since(origin);
                    crowd.tick(since, Instant::now(), plan, &mut rng, &mut ready);
                    settled = crowd.settled(since);
                }
            }
            _ = &mut slot_timer, if !stopping && slot.is_some() && !idle.is_empty() && armed.is_some() => {
                armed = None;
            }
            _ = &mut end_timer, if !stopping && slots.is_none() && deadline.is_some() => {
                stopping = true;
            }
            _ = &mut drain_timer, if draining => {
                rec.cancelled += inflight.len() as u64;
                break;
            }
            _ = flush.tick() => {
                rec.local.flush(&shared.timeline);
                // The stop signal is checked here, not as a select branch:
                // polling it takes a lock, and this loop turns once per request.
                if !stopping && shared.stop.is_cancelled() {
                    stopping = true;
                    draining = true;
                    drain_timer.as_mut().reset(Instant::now() + plan.timeout);
                }
            }
        }
    }
    rec.local.flush(&shared.timeline);
    WorkerResult {
        rec,
        writes,
        ended: Instant::now(),
    }
}
