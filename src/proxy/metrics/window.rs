//! A lock-free latency histogram for one proxy's live window: every request records into it
//! with one relaxed atomic add, and the event stream takes its percentiles once a second.
//!
//! Buckets are log-linear: values below 256 µs have a bucket each, and every octave above has
//! 128, so a bucket's width is under 1% of its values (as hdrhistogram at 2 significant
//! digits). Values are clamped to 1 µs ..= 1 h.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sub-buckets per octave, as a power of two.
const SUB_BITS: u32 = 7;
const SUB: usize = 1 << SUB_BITS;
/// Values below this have a bucket each.
const LINEAR: u64 = 2 << SUB_BITS;
/// The largest value kept, in µs (1 h); larger ones are counted here.
const MAX: u64 = 3_600_000_000;
/// Octaves above [`LINEAR`] up to [`MAX`] (2^32 > 1 h in µs).
const OCTAVES: usize = 32 - (SUB_BITS as usize + 1);
const LEN: usize = LINEAR as usize + OCTAVES * SUB;

/// Latencies in µs since the last [`Window::take_percentiles`].
#[derive(Debug)]
pub(crate) struct Window {
    counts: Box<[AtomicU64]>,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            counts: (0..LEN).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The bucket of `micros` (already clamped to 1..=MAX).
fn index(micros: u64) -> usize {
    if micros < LINEAR {
        return micros as usize;
    }
    let octave = 63 - micros.leading_zeros(); // >= SUB_BITS + 1
    let shift = octave - SUB_BITS;
    let sub = (micros >> shift) as usize - SUB; // 0..SUB
    LINEAR as usize + (shift as usize - 1) * SUB + sub
}

/// The highest value in bucket `i` (what the percentiles report, as hdrhistogram does).
fn highest(i: usize) -> u64 {
    if i < LINEAR as usize {
        return i as u64;
    }
    let k = i - LINEAR as usize;
    let shift = (k / SUB) as u32 + 1;
    let sub = (k % SUB + SUB) as u64;
    ((sub + 1) << shift) - 1
}

impl Window {
    /// Count one latency (clamped to 1 µs ..= 1 h).
    pub(crate) fn record(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(MAX)
            .clamp(1, MAX);
        self.counts[index(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// The median and 99th percentile of what was recorded since the last call, then forget
    /// it; `None` when nothing was. A latency recorded during the call lands in this window or
    /// the next, never in both.
    pub(crate) fn take_percentiles(&self) -> Option<(Duration, Duration)> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|c| c.swap(0, Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        let at = |q: f64| {
            // The smallest bucket whose cumulative count reaches q of the total.
            let wanted = ((q * total as f64).ceil() as u64).clamp(1, total);
            let mut seen = 0;
            let i = counts
                .iter()
                .position(|&c| {
                    seen += c;
                    seen >= wanted
                })
                .unwrap_or(LEN - 1);
            Duration::from_micros(highest(i).min(MAX))
        };
        Some((at(0.5), at(0.99)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_lands_in_a_bucket_that_holds_it_within_one_percent() {
        let mut v = 1;
        while v <= MAX {
            let i = index(v);
            assert!(i < LEN, "{v}");
            let high = highest(i);
            assert!(high >= v, "{v}: bucket {i} tops at {high}");
            assert!((high - v) as f64 <= v as f64 / 100.0 + 1.0, "{v}: {high}");
            if i > 0 {
                assert!(highest(i - 1) < v, "{v}: also fits bucket {}", i - 1);
            }
            v = v + 1 + v / 37;
        }
        assert!(index(MAX) < LEN);
    }

    #[test]
    fn percentiles_match_the_sorted_values_and_the_window_empties() {
        let w = Window::default();
        assert_eq!(w.take_percentiles(), None);
        // 1..=1000 µs and one outlier of 2 s: p50 = 500 µs, p99 = 990 µs (within 1%).
        for us in 1..=1000u64 {
            w.record(Duration::from_micros(us));
        }
        w.record(Duration::from_secs(2));
        let (p50, p99) = w.take_percentiles().expect("recorded");
        let close = |got: Duration, want: u64| {
            let got = got.as_micros() as f64;
            assert!(
                got >= want as f64 && got <= want as f64 * 1.01,
                "{got} vs {want}"
            );
        };
        close(p50, 501);
        close(p99, 991);
        assert_eq!(w.take_percentiles(), None, "taken, so empty");
        // Zero and more than an hour are clamped.
        w.record(Duration::ZERO);
        w.record(Duration::from_secs(7200));
        let (lo, hi) = w.take_percentiles().expect("recorded");
        assert_eq!(lo, Duration::from_micros(1));
        assert_eq!(hi, Duration::from_micros(MAX));
    }
}
