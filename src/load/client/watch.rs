//! Request timeouts without a timer per request: each connection slot of a worker has a
//! [`Watch`] holding the deadline of the request in flight on it, and the worker keeps one
//! [`Alarm`] set to the earliest deadline among them.
//!
//! A request stores its deadline (its start plus the timeout) when it starts and clears it
//! when it ends, both plain stores (the worker stores a provisional one, from the time it
//! lends the connection, so that the alarm covers the request before its first poll). When the alarm fires, the worker scans its slots
//! ([`Alarm::fire`]): every request whose deadline has passed is marked expired and woken,
//! and ends with [`ErrorClass::Timeout`](super::ErrorClass::Timeout); the alarm is set again
//! to the earliest deadline left. Deadlines in a worker mostly grow in send order (one
//! timeout for the run), so the earliest one is rarely reached: at full rate the alarm fires
//! about once per timeout period instead of each request registering and removing a timer
//! entry. A timeout fires at its deadline to the timer's precision (1 ms), as
//! `tokio::time::timeout` did.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::task::AtomicWaker;
use tokio::time::{Instant, Sleep, sleep_until};

/// No request in flight (a deadline's stored value).
const NONE: u64 = u64::MAX;

/// One connection slot's request deadline, shared by the request's future and the worker.
#[derive(Debug)]
pub(in crate::load) struct Watch {
    /// Deadlines are stored as nanoseconds since this instant.
    base: Instant,
    /// The deadline of the request in flight, or [`NONE`].
    deadline: AtomicU64,
    /// Set by the worker when the deadline passed.
    expired: AtomicBool,
    /// Wakes the request's future when it expires.
    waker: AtomicWaker,
}

impl Watch {
    fn new(base: Instant) -> Self {
        Self {
            base,
            deadline: AtomicU64::new(NONE),
            expired: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        }
    }

    /// `start + timeout` as stored (saturating below [`NONE`]).
    fn nanos(&self, start: Instant, timeout: Duration) -> u64 {
        let since = start
            .saturating_duration_since(self.base)
            .saturating_add(timeout);
        u64::try_from(since.as_nanos()).map_or(NONE - 1, |n| n.min(NONE - 1))
    }

    /// The worker lends this slot's connection to a request at `now`: the request is not
    /// expired, and its deadline is at most `timeout` after `now` until the request
    /// itself starts (see [`Watched`]), so that the alarm always sees it.
    fn lend(&self, now: Instant, timeout: Duration) {
        self.expired.store(false, Ordering::Relaxed);
        self.deadline
            .store(self.nanos(now, timeout), Ordering::Relaxed);
    }

    /// Run `fut`, started at `start`, until it completes or `start + timeout` passes
    /// (`Err(())`, set by the worker's [`Alarm`]).
    fn within<F: Future>(&self, start: Instant, timeout: Duration, fut: F) -> Within<'_, F> {
        self.deadline
            .store(self.nanos(start, timeout), Ordering::Relaxed);
        Within { watch: self, fut }
    }
}

pin_project_lite::pin_project! {
    /// [`Watch::within`]'s future (a struct, so the request's future is not moved again).
    #[derive(Debug)]
    pub(in crate::load) struct Within<'a, F> {
        watch: &'a Watch,
        #[pin]
        fut: F,
    }
}

impl<F: Future> Future for Within<'_, F> {
    type Output = Result<F::Output, ()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let watch = *this.watch;
        // Registered before the flag is read, so an expiry in between still wakes us.
        watch.waker.register(cx.waker());
        let out = if watch.expired.load(Ordering::Acquire) {
            Err(())
        } else {
            Ok(std::task::ready!(this.fut.poll(cx)))
        };
        watch.deadline.store(NONE, Ordering::Relaxed);
        Poll::Ready(out)
    }
}

/// How long a request may take, counted from its start (connect included).
pub(in crate::load) trait Limit: Copy {
    /// Run `fut`, started at `start`, until it completes or the limit passes (`Err(())`).
    fn within<F: Future>(
        self,
        start: Instant,
        fut: F,
    ) -> impl Future<Output = Result<F::Output, ()>>;
}

/// A timeout with its own timer (`tokio::time::timeout_at`): for a request sent alone.
impl Limit for Duration {
    fn within<F: Future>(
        self,
        start: Instant,
        fut: F,
    ) -> impl Future<Output = Result<F::Output, ()>> {
        let until = start.checked_add(self).unwrap_or(start);
        tokio::time::timeout_at(until, fut).map(|r| r.map_err(drop))
    }
}

/// A timeout kept by a worker's [`Alarm`] on the slot's [`Watch`].
#[derive(Debug, Clone, Copy)]
pub(in crate::load) struct Watched<'a> {
    /// The slot's watch.
    pub(in crate::load) watch: &'a Watch,
    /// The request timeout.
    pub(in crate::load) timeout: Duration,
}

impl Limit for Watched<'_> {
    fn within<F: Future>(
        self,
        start: Instant,
        fut: F,
    ) -> impl Future<Output = Result<F::Output, ()>> {
        self.watch.within(start, self.timeout, fut)
    }
}

/// A worker's watches, one per connection slot (a connection's
/// [`slot`](super::Conn::slot) indexes them).
#[derive(Debug)]
pub(in crate::load) struct Watches {
    slots: Vec<Watch>,
}

impl Watches {
    /// `n` idle slots.
    pub(in crate::load) fn new(n: usize) -> Self {
        let base = Instant::now();
        Self {
            slots: (0..n).map(|_| Watch::new(base)).collect(),
        }
    }

    /// Lend slot `i`'s connection to a request sent at about `now` (no later than its
    /// start) with `timeout`, and make `alarm` cover it: the request's limit.
    pub(in crate::load) fn lend(
        &self,
        i: usize,
        now: Instant,
        timeout: Duration,
        alarm: &mut Alarm,
    ) -> Watched<'_> {
        let watch = &self.slots[i];
        watch.lend(now, timeout);
        alarm.cover(now, timeout);
        Watched { watch, timeout }
    }
}

/// The one timer of a worker's request timeouts.
#[derive(Debug)]
pub(in crate::load) struct Alarm {
    timer: Pin<Box<Sleep>>,
    /// Set while any request may be in flight.
    armed: bool,
    /// When it is set to fire (valid while `armed`).
    at: Instant,
}

impl Default for Alarm {
    fn default() -> Self {
        let now = Instant::now();
        Self {
            timer: Box::pin(sleep_until(now)),
            armed: false,
            at: now,
        }
    }
}

impl Alarm {
    /// A request is being sent at about `now` (no later than its own start) with `timeout`:
    /// make sure the alarm fires no later than its deadline. Costs nothing while the alarm
    /// is already set earlier, which is the usual case.
    pub(in crate::load) fn cover(&mut self, now: Instant, timeout: Duration) {
        let at = now.checked_add(timeout).unwrap_or(now);
        if !self.armed || at < self.at {
            self.set(at);
        }
    }

    fn set(&mut self, at: Instant) {
        self.armed = true;
        self.at = at;
        self.timer.as_mut().reset(at);
    }

    /// Whether the alarm is set (select on [`Alarm::ring`] only then).
    pub(in crate::load) fn armed(&self) -> bool {
        self.armed
    }

    /// Whether the alarm is set and its time has come at `now` (a loop kept busy by answers
    /// checks this on every turn, so that it never depends on the timer being polled).
    pub(in crate::load) fn due(&self, now: Instant) -> bool {
        self.armed && now >= self.at
    }

    /// Completes when the alarm time is reached.
    pub(in crate::load) fn ring(&mut self) -> &mut Pin<Box<Sleep>> {
        &mut self.timer
    }

    /// The alarm rang: expire (and wake) every request past its deadline, then set the alarm
    /// to the earliest deadline left, or leave it unset when nothing is in flight.
    pub(in crate::load) fn fire(&mut self, watches: &Watches) {
        self.armed = false;
        let Some(first) = watches.slots.first() else {
            return;
        };
        let now = first.nanos(Instant::now(), Duration::ZERO);
        let mut next = NONE;
        for w in &watches.slots {
            let d = w.deadline.load(Ordering::Relaxed);
            if d == NONE {
                continue;
            }
            if d <= now {
                w.deadline.store(NONE, Ordering::Relaxed);
                w.expired.store(true, Ordering::Release);
                w.waker.wake();
            } else {
                next = next.min(d);
            }
        }
        if next != NONE {
            self.set(first.base + Duration::from_nanos(next));
        }
    }
}
