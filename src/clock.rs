//! The one monotonic clock that every timestamp in a run is read from.
//!
//! Fault injection and removal, probe samples and request send times are all
//! expressed as a [`Duration`] since the clock's origin, so time to detect,
//! time to recover and latency percentiles line up without conversion. The
//! clock reads [`tokio::time::Instant`], so tests that pause tokio time stay
//! honest.

use std::time::Duration;
use tokio::time::Instant;

/// A monotonic clock with a fixed origin. Cheap to copy; every copy agrees.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
}

impl Clock {
    /// A clock whose origin is now.
    pub fn start() -> Self {
        Self {
            origin: Instant::now(),
        }
    }

    /// The instant this clock counts from.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Time elapsed since the origin.
    pub fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// An instant expressed on this clock (zero if it precedes the origin).
    pub fn at(&self, instant: Instant) -> Duration {
        instant.saturating_duration_since(self.origin)
    }

    /// The instant that lies `offset` after the origin (saturating: an offset beyond what the
    /// platform's clock can hold gives an instant 30 years ahead, as tokio's timers do).
    pub fn instant(&self, offset: Duration) -> Instant {
        const FAR: Duration = Duration::from_secs(30 * 365 * 24 * 3600);
        self.origin
            .checked_add(offset)
            .unwrap_or_else(|| self.origin + FAR)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn offsets_round_trip() {
        let clock = Clock::start();
        tokio::time::advance(Duration::from_millis(250)).await;
        assert_eq!(clock.now(), Duration::from_millis(250));
        let later = clock.instant(Duration::from_secs(2));
        assert_eq!(clock.at(later), Duration::from_secs(2));
        assert_eq!(
            clock.at(clock.origin() - Duration::from_secs(1)),
            Duration::ZERO
        );
    }
}
