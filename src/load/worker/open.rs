//! The open model's loop: a worker walks its slots of the schedule and sends each at
//! `max(now, intended)`, never skipping one.
//!
//! When every connection is busy the due slot waits and is counted **late**; latency is
//! measured from the intended time, service time from the actual send. At the plan's end
//! sending stops even if slots are left (a rate the generator cannot reach leaves them
//! unsent, and the report says so); a plan without an end sends until the stop signal.

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::time::{Instant, sleep_until};

use super::exchange::{Meta, complete, each_ready, prepare, tagged};
use super::{Pace, Worker, WorkerResult, after};
use crate::load::client::{Alarm, Watches};
use crate::load::scenario::Context;
use crate::load::schedule::{Schedule, Slots};
use crate::load::spec::Arrival;

/// This worker's slots of the schedule.
fn slots(w: &Worker<'_>, arrival: Arrival) -> Slots {
    match arrival {
        Arrival::Uniform => Slots::Uniform {
            lane: w.lane,
            next: 0,
        },
        Arrival::Poisson => Slots::Poisson {
            lane: w.lane,
            rng: Box::new(StdRng::seed_from_u64(w.run_seed.rotate_left(17))),
            position: 0.0,
            drawn: 0,
            next: 0,
        },
    }
}

/// Send this worker's slots until the plan's end or the stop signal, then drain.
pub(super) async fn run(mut w: Worker<'_>, schedule: &Schedule, arrival: Arrival) -> WorkerResult {
    let plan = w.plan;
    let origin = w.origin;
    let mut slots = slots(&w, arrival);
    let next = |slots: &mut Slots| slots.next(schedule).map(|(k, at)| (k, after(origin, at)));
    let mut slot = next(&mut slots);
    // Whether the unsent slots have been counted (once, when sending stops).
    let mut counted = false;
    let mut pace = Pace::new(origin, schedule.end(), plan.timeout);
    let watches = Watches::new(w.idle.len());
    let mut alarm = Alarm::default();
    let mut inflight = FuturesUnordered::new();
    let slot_timer = sleep_until(slot.map_or(origin, |(_, at)| at));
    tokio::pin!(slot_timer);
    // The instant the slot timer is set to, while it waits for a slot.
    let mut armed = slot.map(|(_, at)| at);
    // A due slot found every connection busy: the next sends are late.
    let mut blocked = false;
    loop {
        let now = Instant::now();
        if alarm.due(now) {
            alarm.fire(&watches);
        }
        while !pace.stopping
            && let Some((seq, at)) = slot
        {
            if at > now {
                blocked = false;
                if armed != Some(at) {
                    armed = Some(at);
                    slot_timer.as_mut().reset(at);
                }
                break;
            }
            let Some(conn) = w.idle.pop() else {
                blocked = true;
                break;
            };
            w.rec.late += u64::from(blocked);
            let scenario = plan.picker.pick(&mut w.rng);
            let ctx = Context::draw(seq, w.index, &mut w.rng);
            let mut meta = Meta {
                intended: at,
                scenario,
                step: 0,
                ctx,
                write: None,
                user: None,
            };
            match prepare(plan, &mut w.rec, &mut w.writes, &mut meta, now, origin) {
                Some((req, keep)) => {
                    let limit = watches.lend(conn.slot(), now, plan.timeout, &mut alarm);
                    inflight.push(tagged(conn, plan, req, keep, meta, limit));
                }
                None => w.idle.push(conn),
            }
            slot = next(&mut slots);
        }
        if pace.past_end(now) {
            pace.stop();
        }
        if pace.stopping && !counted {
            // The slots due by the end (or by now, on a stop) that were never sent.
            counted = true;
            let until = pace.end.map_or(now, |end| end.min(now));
            let pending = slot.is_some_and(|(_, at)| at <= until);
            let since = until.saturating_duration_since(origin);
            w.rec.unsent = u64::from(pending) + slots.due_before(schedule, since);
        }
        if pace.stopping && inflight.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            _ = pace.flush.tick() => pace.on_flush(&mut w),
            _ = &mut pace.drain_timer, if pace.stopping => {
                w.rec.cancelled += inflight.len() as u64;
                break;
            }
            // Only wakes the loop: its top sends what is due by now, then stops at the end.
            _ = &mut pace.end_timer, if !pace.stopping => {}
            Some(first) = inflight.next() => {
                each_ready(first, &mut inflight, |(ex, meta)| {
                    let (conn, _) = complete(plan, &mut w.rec, &mut w.writes, ex, meta, origin);
                    w.idle.push(conn);
                });
            }
            _ = alarm.ring(), if alarm.armed() => alarm.fire(&watches),
            _ = &mut slot_timer, if !pace.stopping && !w.idle.is_empty() && armed.is_some() => {
                armed = None;
            }
        }
    }
    drop(inflight);
    w.finish()
}
