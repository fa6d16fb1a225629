//! The closed model's loop: a worker runs its share of virtual users, each sending,
//! waiting for the answer, thinking, and sending again.
//!
//! A user's request is intended when the user became ready (after thinking), so waiting
//! for a free connection still counts in latency. The user count is followed every 10 ms
//! until it settles (see [`super::crowd`]). The loop ends at the plan's end or the stop
//! signal (then drains), or once every user has finished its requests.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use rand::RngExt;
use tokio::time::{Instant, sleep_until};

use super::crowd::{Crowd, User};
use super::exchange::{Meta, complete, each_ready, prepare, tagged};
use super::{Pace, Worker, WorkerResult, after};
use crate::load::client::{Alarm, Watches};
use crate::load::users::Users;

/// How often the user count is followed until it settles.
const USERS_EVERY: Duration = Duration::from_millis(10);

async fn wake(user: User) -> User {
    sleep_until(user.ready_at).await;
    user
}

/// Run this worker's users until the plan's end, the stop signal or their last request.
pub(super) async fn run(
    mut w: Worker<'_>,
    users: &Users,
    think: (Duration, Duration),
    requests_per_user: Option<u64>,
) -> WorkerResult {
    let plan = w.plan;
    let origin = w.origin;
    let mut crowd = Crowd::new(users.clone(), w.lane, requests_per_user);
    let mut pace = Pace::new(origin, plan.end(), plan.timeout);
    let watches = Watches::new(w.idle.len());
    let mut alarm = Alarm::default();
    let mut inflight = FuturesUnordered::new();
    let mut thinking = FuturesUnordered::new();
    let mut ready: VecDeque<User> = VecDeque::new();
    let mut users_tick = tokio::time::interval(USERS_EVERY);
    users_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut settled = false;
    // A ready user found every connection busy: the next sends are late.
    let mut blocked = false;
    loop {
        let now = Instant::now();
        if alarm.due(now) {
            alarm.fire(&watches);
        }
        while !pace.stopping && !ready.is_empty() {
            let Some(conn) = w.idle.pop() else {
                blocked = true;
                break;
            };
            let Some(user) = ready.pop_front() else {
                w.idle.push(conn);
                break;
            };
            w.rec.late += u64::from(blocked);
            let mut meta = Meta {
                intended: user.ready_at,
                scenario: user.scenario,
                step: user.step,
                ctx: user.ctx,
                write: None,
                user: Some(user),
            };
            match prepare(plan, &mut w.rec, &mut w.writes, &mut meta, now, origin) {
                Some((req, keep)) => {
                    let limit = watches.lend(conn.slot(), now, plan.timeout, &mut alarm);
                    inflight.push(tagged(conn, plan, req, keep, meta, limit));
                }
                None => {
                    w.idle.push(conn);
                    if let Some(user) = meta
                        .user
                        .and_then(|u| restart(&mut w, &mut crowd, u, now, think))
                    {
                        thinking.push(wake(user));
                    }
                }
            }
        }
        if ready.is_empty() {
            blocked = false;
        }
        if pace.past_end(now) {
            pace.stop();
        }
        let finished = settled && ready.is_empty() && thinking.is_empty();
        if inflight.is_empty() && (pace.stopping || finished) {
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
                // Every answer already in takes one turn of the loop: the loop's top then
                // sends what they made ready, as it would after each of them alone.
                each_ready(first, &mut inflight, |(ex, meta)| {
                    let (conn, user) = complete(plan, &mut w.rec, &mut w.writes, ex, meta, origin);
                    w.idle.push(conn);
                    if let Some(user) = user {
                        match answered(&mut w, &mut crowd, user, pace.stopping, think) {
                            Next::Now(user) => ready.push_back(user),
                            Next::After(user) => thinking.push(wake(user)),
                            Next::Gone => {}
                        }
                    }
                });
            }
            _ = alarm.ring(), if alarm.armed() => alarm.fire(&watches),
            Some(user) = thinking.next(), if !pace.stopping => {
                if crowd.goes_on(&user) {
                    ready.push_back(user);
                }
            }
            _ = users_tick.tick(), if !pace.stopping && !settled => {
                let since = Instant::now().saturating_duration_since(origin);
                crowd.tick(since, Instant::now(), plan, &mut w.rng, &mut ready);
                settled = crowd.settled(since);
            }
        }
    }
    drop(inflight);
    w.finish()
}

/// Where a user goes after an answer.
enum Next {
    /// Sends again at once (no think time).
    Now(User),
    /// Sends again after thinking, at `ready_at`.
    After(User),
    /// Finished its requests, or stopped (the count fell, or the run is stopping).
    Gone,
}

/// A user's answer arrived: count it, start a new iteration (a fresh scenario pick) after
/// the last step, then think.
fn answered(
    w: &mut Worker<'_>,
    crowd: &mut Crowd,
    mut user: User,
    stopping: bool,
    think: (Duration, Duration),
) -> Next {
    user.done += 1;
    if stopping {
        crowd.retire(&user);
        return Next::Gone;
    }
    if !crowd.goes_on(&user) {
        return Next::Gone;
    }
    if user.step == 0 {
        user.scenario = w.plan.picker.pick(&mut w.rng);
        user.ctx = crowd.context(user.id, &mut w.rng);
    }
    let pause = if think.1 > think.0 {
        w.rng.random_range(think.0..=think.1)
    } else {
        think.0
    };
    if pause.is_zero() {
        Next::Now(user)
    } else {
        // The next send is intended at done + think, whenever this task wakes.
        user.ready_at = after(user.ready_at, pause);
        Next::After(user)
    }
}

/// A user's request could not be built: it counts, and the user starts over (fresh values)
/// after its think time (at least 1 ms), if it goes on.
fn restart(
    w: &mut Worker<'_>,
    crowd: &mut Crowd,
    mut user: User,
    now: Instant,
    think: (Duration, Duration),
) -> Option<User> {
    user.step = 0;
    user.vars.clear();
    user.done += 1;
    user.ready_at = after(now, think.0.max(Duration::from_millis(1)));
    crowd.goes_on(&user).then(|| {
        user.ctx = crowd.context(user.id, &mut w.rng);
        user
    })
}
