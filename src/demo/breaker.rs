//! A circuit breaker as a pure state machine: the caller passes the time in.
//!
//! Closed → (`threshold` consecutive failures) → open for `cooldown` → half-open
//! (exactly one trial call admitted) → closed on the trial's success, or open
//! for another `cooldown` on its failure. Nothing here sleeps or does I/O, so
//! the transitions are tested with paused tokio time.

use std::time::Duration;

use tokio::time::Instant;

/// How the breaker trips and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BreakerConfig {
    /// Consecutive failures that open a closed breaker (at least 1).
    pub threshold: u32,
    /// How long an open breaker rejects calls before admitting a trial.
    pub cooldown: Duration,
}

/// Where the breaker is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Calls pass; `failures` consecutive failures so far.
    Closed {
        /// Consecutive failures counted since the last success.
        failures: u32,
    },
    /// Calls are rejected until `until`.
    Open {
        /// End of the cooldown.
        until: Instant,
    },
    /// The cooldown is over; `trial` says whether the one trial call is in flight.
    HalfOpen {
        /// A trial call has been admitted and has not reported yet.
        trial: bool,
    },
}

impl State {
    /// The state's name as shown by `/stats`: `closed`, `open` or `half_open`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            State::Closed { .. } => "closed",
            State::Open { .. } => "open",
            State::HalfOpen { .. } => "half_open",
        }
    }
}

/// The breaker's answer to "may I call the backend now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Call; report the result with [`Breaker::record`].
    Allow,
    /// Do not call; the breaker is open (or a trial is already in flight).
    Reject {
        /// Time left until a trial may be admitted (zero while a trial is in flight).
        retry_after: Duration,
    },
}

/// A circuit breaker. Not thread-safe by itself: keep it behind a mutex.
#[derive(Debug, Clone)]
pub(crate) struct Breaker {
    config: BreakerConfig,
    state: State,
    opens: u64,
}

impl Breaker {
    /// A closed breaker.
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            config,
            state: State::Closed { failures: 0 },
            opens: 0,
        }
    }

    /// The state as of `now` (an elapsed cooldown reads as half-open).
    pub(crate) fn state(&self, now: Instant) -> State {
        match self.state {
            State::Open { until } if now >= until => State::HalfOpen { trial: false },
            state => state,
        }
    }

    /// How many times the breaker has opened (trips plus failed trials).
    pub(crate) fn opens(&self) -> u64 {
        self.opens
    }

    /// Decide whether a call may go to the backend at `now`.
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        self.state = self.state(now);
        match self.state {
            State::Closed { .. } => Admission::Allow,
            State::Open { until } => Admission::Reject {
                retry_after: until - now,
            },
            State::HalfOpen { trial: false } => {
                self.state = State::HalfOpen { trial: true };
                Admission::Allow
            }
            State::HalfOpen { trial: true } => Admission::Reject {
                retry_after: Duration::ZERO,
            },
        }
    }

    /// Report the outcome of an admitted call that finished at `now`.
    pub(crate) fn record(&mut self, success: bool, now: Instant) {
        self.state = match (self.state, success) {
            // An open breaker already rejects: a late report from a call admitted
            // before it opened changes nothing.
            (open @ State::Open { .. }, _) => open,
            (_, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false) if failures + 1 < self.config.threshold => {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (State::Closed { .. } | State::HalfOpen { .. }, false) => {
                self.opens += 1;
                State::Open {
                    until: now + self.config.cooldown,
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    const COOLDOWN: Duration = Duration::from_secs(5);

    fn breaker() -> Breaker {
        Breaker::new(BreakerConfig {
            threshold: 3,
            cooldown: COOLDOWN,
        })
    }

    fn fail(b: &mut Breaker) {
        assert_eq!(b.admit(Instant::now()), Admission::Allow);
        b.record(false, Instant::now());
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_consecutive_failures() {
        let mut b = breaker();
        fail(&mut b);
        fail(&mut b);
        assert_eq!(b.state(Instant::now()), State::Closed { failures: 2 });
        fail(&mut b);
        assert_eq!(b.state(Instant::now()).name(), "open");
        assert_eq!(b.opens(), 1);
        assert_eq!(
            b.admit(Instant::now()),
            Admission::Reject {
                retry_after: COOLDOWN
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count() {
        let mut b = breaker();
        fail(&mut b);
        fail(&mut b);
        assert_eq!(b.admit(Instant::now()), Admission::Allow);
        b.record(true, Instant::now());
        fail(&mut b);
        fail(&mut b);
        assert_eq!(b.state(Instant::now()), State::Closed { failures: 2 });
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_admits_one_trial_that_closes_on_success() {
        let mut b = breaker();
        (0..3).for_each(|_| fail(&mut b));
        advance(COOLDOWN - Duration::from_millis(1)).await;
        assert!(matches!(
            b.admit(Instant::now()),
            Admission::Reject { retry_after } if retry_after == Duration::from_millis(1)
        ));
        advance(Duration::from_millis(1)).await;
        assert_eq!(b.state(Instant::now()), State::HalfOpen { trial: false });
        assert_eq!(b.admit(Instant::now()), Admission::Allow);
        // A second caller during the trial is turned away.
        assert_eq!(
            b.admit(Instant::now()),
            Admission::Reject {
                retry_after: Duration::ZERO
            }
        );
        b.record(true, Instant::now());
        assert_eq!(b.state(Instant::now()), State::Closed { failures: 0 });
        assert_eq!(b.opens(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_reopens_for_a_full_cooldown() {
        let mut b = breaker();
        (0..3).for_each(|_| fail(&mut b));
        advance(COOLDOWN).await;
        fail(&mut b);
        assert_eq!(b.opens(), 2);
        let now = Instant::now();
        assert_eq!(
            b.state(now),
            State::Open {
                until: now + COOLDOWN
            }
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_success_does_not_close_an_open_breaker() {
        let mut b = breaker();
        // A slow call admitted while closed …
        assert_eq!(b.admit(Instant::now()), Admission::Allow);
        // … meanwhile three others fail and open the breaker …
        (0..3).for_each(|_| fail(&mut b));
        // … and the slow call's success arrives during the cooldown.
        b.record(true, Instant::now());
        assert_eq!(b.state(Instant::now()).name(), "open");
    }

    #[tokio::test(start_paused = true)]
    async fn threshold_one_opens_on_the_first_failure() {
        let mut b = Breaker::new(BreakerConfig {
            threshold: 1,
            cooldown: COOLDOWN,
        });
        fail(&mut b);
        assert_eq!(b.state(Instant::now()).name(), "open");
    }
}
