//! Latency histograms and the per-second timeline, in constant memory.
//!
//! Each worker records into its own HDR histograms (microseconds, no locks
//! on the request path) and into small per-second buckets keyed by the
//! **intended** send second. About ten times a second a worker folds its
//! buckets into the shared [`Timeline`] with `Histogram::add`; the timeline
//! keeps full histograms only for a recent horizon (for [`window`] queries)
//! and a small summary per second before that, so memory does not grow with
//! the number of requests. Whole-run histograms are merged once at the end.
//!
//! [`window`]: crate::load::LoadRun::window

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::errors::{ClassCounts, ErrorClass};
use super::intervals::Intervals;
use super::units::serde_ms;

/// A latency histogram in microseconds.
pub(super) type Hist = Histogram<u64>;

/// A whole-run histogram: 1 µs to 1 hour at 3 significant figures.
pub(super) fn run_histogram() -> Hist {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("constant bounds are valid")
}

/// A per-second histogram: 2 significant figures, grows to the largest value seen.
pub(super) fn small_histogram() -> Hist {
    let mut h = Histogram::new(2).expect("2 significant figures are valid");
    h.auto(true);
    h
}

/// Record a duration (at least 1 µs; growing an auto-resizing histogram, else saturating).
pub(super) fn record(h: &mut Hist, d: Duration) {
    let v = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1);
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// The value at quantile `q` (0..=1), `None` when empty.
pub(super) fn quantile(h: &Hist, q: f64) -> Option<Duration> {
    (!h.is_empty()).then(|| Duration::from_micros(h.value_at_quantile(q)))
}

/// Merge `from` into `into`; on a bounds mismatch fall back to per-value records.
pub(super) fn merge(into: &mut Hist, from: &Hist) {
    if into.add(from).is_err() {
        for v in from.iter_recorded() {
            into.saturating_record_n(v.value_iterated_to(), v.count_at_value());
        }
    }
}

/// Statistics of the requests whose intended send time fell in a recent window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    /// Completed requests.
    pub requests: u64,
    /// Successful requests (1xx–3xx, not injected).
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
    /// `errors / requests` (0 when there were none), between 0 and 1.
    pub error_rate: f64,
    /// Completed requests per second of window.
    pub rps: f64,
    /// Median latency (from intended send time).
    #[serde(rename = "p50_ms", with = "serde_ms::option")]
    pub p50: Option<Duration>,
    /// 90th percentile latency.
    #[serde(rename = "p90_ms", with = "serde_ms::option")]
    pub p90: Option<Duration>,
    /// 95th percentile latency.
    #[serde(rename = "p95_ms", with = "serde_ms::option")]
    pub p95: Option<Duration>,
    /// 99th percentile latency.
    #[serde(rename = "p99_ms", with = "serde_ms::option")]
    pub p99: Option<Duration>,
}

/// Counts and latencies of the requests intended in one second.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    /// Completed requests.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures by class.
    pub errors: ClassCounts,
    /// Latency from intended send time.
    pub latency: Hist,
    /// Service time from the actual send (requests that were sent).
    pub service: Hist,
}

impl Bucket {
    fn new() -> Self {
        Self {
            requests: 0,
            ok: 0,
            errors: ClassCounts::default(),
            latency: small_histogram(),
            service: small_histogram(),
        }
    }

    fn absorb(&mut self, other: &Bucket) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors.merge(&other.errors);
        merge(&mut self.latency, &other.latency);
        merge(&mut self.service, &other.service);
    }

    fn reset(&mut self) {
        self.requests = 0;
        self.ok = 0;
        self.errors = ClassCounts::default();
        self.latency.reset();
        self.service.reset();
    }
}

/// One second of the timeline, by intended send time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelinePoint {
    /// Seconds since the run started (this point covers `[second, second + 1)`).
    pub second: u64,
    /// Completed requests intended in this second.
    pub requests: u64,
    /// Successes.
    pub ok: u64,
    /// Failures.
    pub errors: u64,
    /// Failures by class.
    pub errors_by_class: ClassCounts,
    /// Median latency.
    #[serde(rename = "p50_ms", with = "serde_ms::option")]
    pub p50: Option<Duration>,
    /// 99th percentile latency.
    #[serde(rename = "p99_ms", with = "serde_ms::option")]
    pub p99: Option<Duration>,
}

impl TimelinePoint {
    fn of(second: u64, b: &Bucket) -> Self {
        Self {
            second,
            requests: b.requests,
            ok: b.ok,
            errors: b.errors.total(),
            errors_by_class: b.errors,
            p50: quantile(&b.latency, 0.5),
            p99: quantile(&b.latency, 0.99),
        }
    }
}

/// The shared per-second timeline: recent seconds in full, older ones summarised.
#[derive(Debug)]
pub(super) struct Timeline {
    open: BTreeMap<u64, Bucket>,
    closed: BTreeMap<u64, TimelinePoint>,
    horizon: u64,
    /// The histograms of the summarised seconds, compressed, when asked for (`--hlog`).
    archive: Option<Intervals>,
}

impl Timeline {
    /// A timeline keeping full histograms for `horizon` seconds; with `keep_intervals`, also
    /// every older second's histograms, compressed (for [`Timeline::intervals`]).
    pub(super) fn new(horizon: Duration, keep_intervals: bool) -> Self {
        Self {
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            horizon: horizon.as_secs().max(2),
            archive: keep_intervals.then(Intervals::default),
        }
    }

    /// Every second's histograms so far (empty unless asked for at creation). A request
    /// completing more than the horizon after its intended second counts in the timeline but
    /// not here (the horizon is at least the request timeout plus 10 s).
    pub(super) fn intervals(&self) -> Intervals {
        let Some(archive) = &self.archive else {
            return Intervals::default();
        };
        let mut all = archive.clone();
        for (s, b) in &self.open {
            all.push(*s, &b.latency, &b.service);
        }
        all.sort();
        all
    }

    fn absorb(&mut self, second: u64, bucket: &Bucket) {
        if let Some(point) = self.closed.get_mut(&second) {
            // A straggler for a summarised second: counts stay exact.
            point.requests += bucket.requests;
            point.ok += bucket.ok;
            point.errors += bucket.errors.total();
            point.errors_by_class.merge(&bucket.errors);
            return;
        }
        self.open
            .entry(second)
            .or_insert_with(Bucket::new)
            .absorb(bucket);
        let newest = self.open.keys().next_back().copied().unwrap_or(0);
        while let Some((&oldest, _)) = self.open.first_key_value() {
            if oldest.saturating_add(self.horizon) >= newest {
                break;
            }
            if let Some(b) = self.open.remove(&oldest) {
                if let Some(archive) = &mut self.archive {
                    archive.push(oldest, &b.latency, &b.service);
                }
                self.closed.insert(oldest, TimelinePoint::of(oldest, &b));
            }
        }
    }

    /// Add a second of another run (a merge): its counts, and its latency histogram when known.
    pub(super) fn add_point(&mut self, point: &TimelinePoint, latency: Option<&Hist>) {
        let mut b = Bucket::new();
        b.requests = point.requests;
        b.ok = point.ok;
        b.errors = point.errors_by_class;
        if let Some(h) = latency {
            merge(&mut b.latency, h);
        }
        self.absorb(point.second, &b);
    }

    /// The seconds from `from` on that still hold histograms, for a live merger.
    pub(super) fn live_from(&self, from: u64) -> Vec<super::live::LiveSecond> {
        self.open
            .range(from..)
            .map(|(s, b)| super::live::LiveSecond {
                second: *s,
                requests: b.requests,
                ok: b.ok,
                errors_by_class: b.errors,
                latency: super::intervals::to_base64(&b.latency),
            })
            .collect()
    }

    /// Statistics of the requests intended in the last `last` at `now` (both since the start),
    /// in whole seconds: every second that overlaps it, the current one included (so a window
    /// never shrinks to a second that has barely begun); `rps` is over the time those seconds
    /// cover so far. One rule for a local run and a live merge of agents.
    pub(super) fn trailing(&self, last: Duration, now: Duration) -> WindowStats {
        let now = now.as_secs_f64();
        let first = (now - last.as_secs_f64()).max(0.0).floor();
        let covered = Duration::from_secs_f64((now - first).max(0.0));
        self.window(first as u64, u64::MAX, covered)
    }

    /// Statistics of the seconds `first..end` (seconds since start), rates over `span`.
    pub(super) fn window(&self, first: u64, end: u64, span: Duration) -> WindowStats {
        let end = end.max(first);
        let mut acc = Bucket::new();
        for (_, b) in self.open.range(first..end) {
            acc.absorb(b);
        }
        let mut w = WindowStats {
            requests: acc.requests,
            ok: acc.ok,
            errors: acc.errors.total(),
            ..WindowStats::default()
        };
        for (_, p) in self.closed.range(first..end) {
            w.requests += p.requests;
            w.ok += p.ok;
            w.errors += p.errors;
        }
        if w.requests > 0 {
            w.error_rate = w.errors as f64 / w.requests as f64;
        }
        let span = span.as_secs_f64();
        if span > 0.0 {
            w.rps = w.requests as f64 / span;
        }
        w.p50 = quantile(&acc.latency, 0.5);
        w.p90 = quantile(&acc.latency, 0.9);
        w.p95 = quantile(&acc.latency, 0.95);
        w.p99 = quantile(&acc.latency, 0.99);
        w
    }

    /// Every second from 0 to the last one seen, gaps filled with zeros.
    pub(super) fn points(&self) -> Vec<TimelinePoint> {
        let last = self
            .open
            .keys()
            .next_back()
            .copied()
            .max(self.closed.keys().next_back().copied());
        let Some(last) = last else {
            return Vec::new();
        };
        (0..=last)
            .map(|s| match (self.open.get(&s), self.closed.get(&s)) {
                (Some(b), _) => TimelinePoint::of(s, b),
                (None, Some(p)) => p.clone(),
                (None, None) => TimelinePoint {
                    second: s,
                    ..TimelinePoint::default()
                },
            })
            .collect()
    }
}

/// A worker's not-yet-published seconds (usually one or two).
#[derive(Debug, Default)]
pub(super) struct LocalBuckets {
    live: Vec<(u64, Bucket)>,
    spare: Vec<Bucket>,
}

impl LocalBuckets {
    /// Record one completed request intended in `second`.
    pub(super) fn record(
        &mut self,
        second: u64,
        latency: Duration,
        service: Option<Duration>,
        error: Option<ErrorClass>,
    ) {
        let i = match self.live.iter().position(|(s, _)| *s == second) {
            Some(i) => i,
            None => {
                let b = self.spare.pop().unwrap_or_else(Bucket::new);
                self.live.push((second, b));
                self.live.len() - 1
            }
        };
        let b = &mut self.live[i].1;
        b.requests += 1;
        match error {
            None => b.ok += 1,
            Some(class) => b.errors.add(class),
        }
        record(&mut b.latency, latency);
        if let Some(s) = service {
            record(&mut b.service, s);
        }
    }

    /// Fold everything into the shared timeline and start afresh.
    pub(super) fn flush(&mut self, shared: &std::sync::Mutex<Timeline>) {
        if self.live.is_empty() {
            return;
        }
        if let Ok(mut t) = shared.lock() {
            for (s, b) in &self.live {
                t.absorb(*s, b);
            }
        }
        for (_, mut b) in self.live.drain(..) {
            b.reset();
            self.spare.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn buckets_flush_into_windows_and_points() {
        let shared = Mutex::new(Timeline::new(Duration::from_secs(3), true));
        let mut a = LocalBuckets::default();
        let mut b = LocalBuckets::default();
        for s in 0..10u64 {
            for i in 0..10 {
                a.record(s, Duration::from_millis(10), None, None);
                let err = (i == 0).then_some(ErrorClass::Http5xx);
                b.record(
                    s,
                    Duration::from_millis(100 * (s + 1)),
                    Some(Duration::from_millis(5)),
                    err,
                );
            }
            a.flush(&shared);
            b.flush(&shared);
        }
        let t = shared.lock().unwrap();
        let points = t.points();
        assert_eq!(points.len(), 10);
        assert!(points.iter().all(|p| p.requests == 20 && p.errors == 1));
        assert_eq!(points[0].errors_by_class.get(ErrorClass::Http5xx), 1);
        // Seconds 0..=5 were summarised, yet keep their percentiles.
        assert!(
            points[0].p99.unwrap() >= Duration::from_millis(99),
            "{:?}",
            points[0]
        );
        let w = t.window(8, u64::MAX, Duration::from_secs(2));
        assert_eq!(w.requests, 40);
        assert_eq!(w.errors, 2);
        assert!((w.error_rate - 0.05).abs() < 1e-9);
        assert!((w.rps - 20.0).abs() < 1e-9);
        let p99 = w.p99.unwrap();
        assert!(p99 >= Duration::from_millis(990) && p99 <= Duration::from_millis(1010));
        assert_eq!(t.window(0, 10, Duration::from_secs(10)).requests, 200);
        // Every second's histograms kept, the summarised ones included.
        let mut text = Vec::new();
        let intervals = t.intervals();
        assert_eq!(intervals.len(), 10);
        intervals
            .write_hlog(&mut text, std::time::SystemTime::UNIX_EPOCH)
            .unwrap();
        let back = crate::load::read_hlog(&text).unwrap();
        assert_eq!(back.len(), 10);
        assert!(
            back.iter()
                .all(|i| i.latency.len() == 20 && i.service.len() == 10)
        );
    }

    #[test]
    fn whole_run_histograms_merge() {
        let mut x = run_histogram();
        let mut y = run_histogram();
        record(&mut x, Duration::from_millis(1));
        record(&mut y, Duration::from_secs(2));
        merge(&mut x, &y);
        assert_eq!(x.len(), 2);
        let max = quantile(&x, 1.0).unwrap();
        assert!(max >= Duration::from_millis(1998), "{max:?}");
        assert_eq!(quantile(&run_histogram(), 0.5), None);
    }
}
