//! `latency {latency, jitter}`: delay every chunk, measured from its arrival.
//!
//! Wire units: milliseconds. Each chunk is released at its arrival time plus
//! `latency ± jitter` (uniform, never below zero). Because the delay counts
//! from the chunk's own arrival, delays of successive chunks overlap instead
//! of adding up; order is kept by never releasing a chunk before the one
//! ahead of it.

use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::FaultError;
use super::attrs::{Attributes, as_millis};
use super::catalog::Attr;
use super::kind::{Behaviour, Item, Kind, State, after};

/// Delay each chunk by `latency ± jitter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Latency {
    /// The base delay.
    pub latency: Duration,
    /// The maximum deviation either side of `latency`.
    pub jitter: Duration,
}

impl Kind for Latency {
    const NAME: &'static str = "latency";
    const ATTRIBUTES: &'static [Attr] = &[
        Attr::millis("latency", "The delay added to every chunk."),
        Attr::millis(
            "jitter",
            "The most a chunk's delay deviates either side of latency (uniform).",
        ),
    ];

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            latency: a.millis("latency")?,
            jitter: a.millis("jitter")?,
        })
    }
}

impl Behaviour for Latency {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("latency", as_millis(self.latency)),
            ("jitter", as_millis(self.jitter)),
        ]
    }

    /// Data and the close leave `latency ± jitter` after they arrived (the proxy keeps order).
    fn schedule(&self, state: &mut State, item: Item, out: &mut Vec<Item>) {
        let at = self.release(item.at(), &mut state.rng);
        out.push(item.retimed(at));
    }
}

impl Latency {
    /// The delay of one chunk: `latency` plus a uniform offset in `[-jitter, +jitter]`, at least zero.
    pub fn delay(&self, rng: &mut StdRng) -> Duration {
        if self.jitter.is_zero() {
            return self.latency;
        }
        let jitter = as_micros_i128(self.jitter);
        let offset = rng.random_range(-jitter..=jitter);
        let total = (as_micros_i128(self.latency) + offset).max(0);
        Duration::from_micros(u64::try_from(total).unwrap_or(u64::MAX))
    }

    /// When a chunk that arrived at `arrival` is released.
    pub fn release(&self, arrival: Instant, rng: &mut StdRng) -> Instant {
        after(arrival, self.delay(rng))
    }
}

fn as_micros_i128(d: Duration) -> i128 {
    i128::try_from(d.as_micros()).unwrap_or(i128::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[tokio::test(start_paused = true)]
    async fn delays_are_measured_from_each_arrival_and_do_not_add_up() {
        let t = Latency {
            latency: Duration::from_millis(100),
            jitter: Duration::ZERO,
        };
        let mut rng = StdRng::seed_from_u64(1);
        let t0 = Instant::now();
        let first = t.release(t0, &mut rng);
        let second = t.release(t0 + Duration::from_millis(10), &mut rng);
        assert_eq!(first - t0, Duration::from_millis(100));
        assert_eq!(second - t0, Duration::from_millis(110));
    }

    #[test]
    fn jitter_stays_in_bounds_and_is_seeded() {
        let t = Latency {
            latency: Duration::from_millis(50),
            jitter: Duration::from_millis(80),
        };
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        for _ in 0..1000 {
            let d = t.delay(&mut a);
            assert!(d <= Duration::from_millis(130));
            assert_eq!(d, t.delay(&mut b));
        }
    }
}
