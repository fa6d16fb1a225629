//! A counter that each thread adds to on a cache line of its own.
//!
//! Every chunk a relay moves is counted in its proxy's byte counter, which every connection of
//! the proxy shares. As one atomic, each add moved its cache line between the cores running the
//! proxy's workers, twice per exchange (3–4 % of the proxy's CPU per exchange, measured in
//! docs/benchmarks.md). [`Striped`] keeps `SHARDS` atomics, each on its own cache line; a
//! thread always adds to the same one, and a read sums them, so the count is exact at every
//! moment (as exact as one atomic: an add in flight is seen or not).

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use prometheus_client::metrics::counter::{Atomic, Counter};

/// How many cache lines a [`Striped`] spreads over; threads past this share them.
pub(crate) const SHARDS: usize = 8;

/// One atomic alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Shard(AtomicU64);

/// A `u64` counter spread over `SHARDS` cache lines (see the module docs).
#[derive(Debug, Default)]
pub struct Striped([Shard; SHARDS]);

/// A Prometheus counter over a [`Striped`].
pub type StripedCounter = Counter<u64, Striped>;

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// The shard this thread adds to, given out in turn.
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % SHARDS;
}

impl Atomic<u64> for Striped {
    fn inc(&self) -> u64 {
        self.inc_by(1)
    }

    /// Add `v` on this thread's shard; returns that shard's value before (not the total).
    fn inc_by(&self, v: u64) -> u64 {
        let i = SHARD.with(|i| *i);
        self.0[i].0.fetch_add(v, Ordering::Relaxed)
    }

    fn get(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_from_many_threads_sum_exactly() {
        let counter = StripedCounter::default();
        let threads: Vec<_> = (0..2 * SHARDS as u64 + 3)
            .map(|t| {
                let c = counter.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        c.inc_by(t + 1);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let n = 2 * SHARDS as u64 + 3;
        assert_eq!(counter.get(), 1000 * n * (n + 1) / 2);
    }

    #[test]
    fn shards_sit_on_cache_lines_of_their_own() {
        assert_eq!(std::mem::align_of::<Shard>(), 64);
        assert_eq!(std::mem::size_of::<Striped>(), 64 * SHARDS);
    }
}
