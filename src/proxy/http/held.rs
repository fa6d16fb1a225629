//! What a faulted request is held for, following the live configuration (as the TCP pipes
//! follow it): its toxics' delays and throttle are looked up again, by toxic instance, each
//! time the proxy's configuration changes. Removing a toxic (`DELETE`, `POST /reset`, an
//! expired lease) releases the requests it holds at once; updating it re-times them.
//!
//! Whether a request is faulted stays as decided when it arrived (its toxicity and matcher
//! are not asked again); only the amounts follow:
//!
//! - a delay is measured from where it started (the request's arrival for `delay`, the
//!   response head's for `response_delay`) under the toxic's current attributes: removed, it
//!   ends now; shortened below what the request already waited, it ends now; lengthened, it
//!   waits longer. A jittered delay keeps its draw's place in the range (`delay + f × jitter`
//!   for the same `f` in `-1..=1`), never below zero.
//! - a throttled body goes at the lowest rate of its throttles still present, from now on
//!   (see `body`); with none left, the rest of the body flows unthrottled.
//! - header-driven faults (`x-shakedown-fault-delay`) follow no toxic: their delay is fixed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::fault::ToxicKind;
use crate::fault::http::Verdict;
use crate::fault::kind::after;
use crate::proxy::quiet::{Alarm, Quiet};
use crate::proxy::{Snapshot, ToxicEntry};

/// A request's delays and throttles, by the toxic instance that decided each.
#[derive(Debug, Default, Clone)]
pub(super) struct Held {
    parts: Vec<Part>,
    /// Header-driven delays, before forwarding and before the response head.
    fixed: (Duration, Duration),
}

#[derive(Debug, Clone, Copy)]
enum Part {
    /// An `http_delay` (toxic id), and where its draw fell in the jitter range (-1..=1).
    Delay { id: u64, place: f64 },
    /// An `http_throttle` (toxic id).
    Throttle { id: u64 },
}

impl Held {
    /// Record the verdict that toxic `entry` decided for the request.
    pub(super) fn toxic(&mut self, entry: &ToxicEntry, verdict: &Verdict) {
        match (verdict, &entry.toxic.kind) {
            (Verdict::Delay { request, .. }, ToxicKind::HttpDelay(d)) => {
                let place = if d.request.jitter.is_zero() {
                    0.0
                } else {
                    let offset = request.as_secs_f64() - d.request.latency.as_secs_f64();
                    (offset / d.request.jitter.as_secs_f64()).clamp(-1.0, 1.0)
                };
                self.parts.push(Part::Delay {
                    id: entry.id,
                    place,
                });
            }
            (Verdict::Throttle { .. }, _) => self.parts.push(Part::Throttle { id: entry.id }),
            (verdict, _) => self.fixed(verdict),
        }
    }

    /// Record a verdict that no toxic decided (a fault header): fixed.
    pub(super) fn fixed(&mut self, verdict: &Verdict) {
        if let Verdict::Delay { request, response } = verdict {
            self.fixed.0 = self.fixed.0.saturating_add(*request);
            self.fixed.1 = self.fixed.1.saturating_add(*response);
        }
    }

    /// Whether a throttle applies to the response body.
    pub(super) fn throttled(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Throttle { .. }))
    }

    /// The delay before forwarding under `snapshot`.
    pub(super) fn request_delay(&self, snapshot: &Snapshot) -> Duration {
        self.sum(snapshot, self.fixed.0, |d, place| {
            let base = d.request.latency.as_secs_f64();
            let secs = (base + place * d.request.jitter.as_secs_f64()).max(0.0);
            Duration::try_from_secs_f64(secs).unwrap_or(crate::fault::attrs::MAX_DELAY)
        })
    }

    /// The delay before the response head is passed on under `snapshot`.
    pub(super) fn response_delay(&self, snapshot: &Snapshot) -> Duration {
        self.sum(snapshot, self.fixed.1, |d, _| d.response_delay)
    }

    fn sum(
        &self,
        snapshot: &Snapshot,
        fixed: Duration,
        amount: impl Fn(&crate::fault::HttpDelay, f64) -> Duration,
    ) -> Duration {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Delay { id, place } => match &live(snapshot, *id)?.toxic.kind {
                    ToxicKind::HttpDelay(d) => Some(amount(d, *place)),
                    _ => None,
                },
                Part::Throttle { .. } => None,
            })
            .fold(fixed, Duration::saturating_add)
    }

    /// The body's rate (bytes per second) under `snapshot`: the lowest of its throttles still
    /// present; `None` when none is.
    pub(super) fn rate(&self, snapshot: &Snapshot) -> Option<u64> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Throttle { id } => match &live(snapshot, *id)?.toxic.kind {
                    ToxicKind::HttpThrottle(t) => Some(t.bytes_per_sec),
                    _ => None,
                },
                Part::Delay { .. } => None,
            })
            .min()
    }
}

/// The toxic instance `id` in `snapshot`, if still present.
fn live(snapshot: &Snapshot, id: u64) -> Option<&ToxicEntry> {
    snapshot.toxics.iter().find(|e| e.id == id).map(|e| &**e)
}

/// Wait until `amount` (under the live configuration `config`) after `from`, re-timed at each
/// change of the configuration. Never returns once the configuration is gone (the proxy is
/// being deleted, and its connections closed): nothing goes upstream after that.
pub(super) async fn hold(
    config: &watch::Receiver<Arc<Snapshot>>,
    from: Instant,
    amount: impl Fn(&Snapshot) -> Duration,
) {
    let mut config = config.clone();
    loop {
        let due = after(from, amount(&config.borrow_and_update()));
        if due <= Instant::now() {
            return;
        }
        // The watch is polled only when it was woken, not at each wake of the connection.
        let changed = Quiet::new(config.changed());
        tokio::select! {
            _ = tokio::time::sleep_until(due) => return,
            changed = changed => if changed.is_err() {
                return std::future::pending().await;
            },
        }
    }
}

type Changed = Pin<Box<dyn Future<Output = (bool, watch::Receiver<Arc<Snapshot>>)> + Send>>;

/// A body's rate as its throttles have it now, noticed as the configuration changes.
pub(super) struct LiveRate {
    held: Held,
    changed: Changed,
    alarm: Alarm,
}

impl LiveRate {
    /// Follow `held`'s throttles in `config`.
    pub(super) fn new(held: Held, config: watch::Receiver<Arc<Snapshot>>) -> Self {
        Self {
            held,
            changed: changed(config),
            alarm: Alarm::default(),
        }
    }

    /// `Some(rate)` when the configuration changed since the last call (the rate it gives,
    /// `None` for unthrottled); registers `cx` for the next change. A configuration that goes
    /// away (the proxy is being deleted) changes nothing.
    pub(super) fn poll_changed(&mut self, cx: &Context<'_>) -> Option<Option<u64>> {
        if !self.alarm.rang(cx) {
            return None;
        }
        let mut quiet = Context::from_waker(self.alarm.waker());
        let mut rate = None;
        // Until the watch is pending again (which registers the waker for the next change).
        while let Poll::Ready((open, mut config)) = self.changed.as_mut().poll(&mut quiet) {
            if !open {
                self.changed = Box::pin(std::future::pending());
                break;
            }
            rate = Some(self.held.rate(&config.borrow_and_update()));
            self.changed = changed(config);
        }
        rate
    }
}

fn changed(mut config: watch::Receiver<Arc<Snapshot>>) -> Changed {
    Box::pin(async move {
        let open = config.changed().await.is_ok();
        (open, config)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Toxic, Toxicity};
    use crate::proxy::Metrics;

    fn entry(id: u64, kind: &str, attributes: serde_json::Value) -> Arc<ToxicEntry> {
        let toxic = Toxic {
            name: format!("t{id}"),
            stream: crate::fault::Stream::Downstream,
            toxicity: Toxicity::new(1.0).unwrap(),
            kind: ToxicKind::from_wire(kind, attributes.as_object().unwrap()).unwrap(),
        };
        Arc::new(ToxicEntry {
            id,
            metrics: Metrics::new().toxic("p", &toxic),
            toxic,
            requests: Arc::default(),
        })
    }

    fn snapshot(toxics: Vec<Arc<ToxicEntry>>) -> Snapshot {
        Snapshot {
            toxics,
            ..Snapshot::default()
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn amounts_follow_each_toxic_instance() {
        let delay = entry(
            1,
            "http_delay",
            serde_json::json!({"delay": 60000, "jitter": 10000, "response_delay": 300}),
        );
        let slow = entry(2, "http_throttle", serde_json::json!({"rate": 10}));
        let slower = entry(3, "http_throttle", serde_json::json!({"rate": 5}));
        let mut held = Held::default();
        // Drawn 55 s: halfway down the jitter range.
        let drawn = Verdict::Delay {
            request: ms(55_000),
            response: ms(300),
        };
        held.toxic(&delay, &drawn);
        held.toxic(
            &slow,
            &Verdict::Throttle {
                bytes_per_sec: 10_000,
            },
        );
        held.toxic(
            &slower,
            &Verdict::Throttle {
                bytes_per_sec: 5_000,
            },
        );
        // A fault header's delay follows nothing.
        held.fixed(&Verdict::Delay {
            request: ms(200),
            response: Duration::ZERO,
        });
        let now = snapshot(vec![delay, slow.clone(), slower]);
        assert_eq!(held.request_delay(&now), ms(55_200));
        assert_eq!(held.response_delay(&now), ms(300));
        assert_eq!(held.rate(&now), Some(5_000));
        // Updated (same instance): the draw keeps its place; the lower rate left.
        let updated = snapshot(vec![
            entry(
                1,
                "http_delay",
                serde_json::json!({"delay": 1000, "jitter": 500}),
            ),
            slow,
        ]);
        assert_eq!(held.request_delay(&updated), ms(950));
        assert_eq!(held.response_delay(&updated), Duration::ZERO);
        assert_eq!(held.rate(&updated), Some(10_000));
        // Removed, or re-created under the same name (a new instance): nothing left.
        let recreated = snapshot(vec![entry(
            9,
            "http_delay",
            serde_json::json!({"delay": 60000}),
        )]);
        assert_eq!(held.request_delay(&recreated), ms(200));
        assert_eq!(held.rate(&recreated), None);
        assert!(held.throttled());
    }

    #[tokio::test(start_paused = true)]
    async fn a_hold_is_retimed_by_each_change_from_where_it_started() {
        let delay = |ms: u64| entry(1, "http_delay", serde_json::json!({"delay": ms}));
        let (tx, rx) = watch::channel(Arc::new(snapshot(vec![delay(60_000)])));
        let mut held = Held::default();
        held.toxic(
            &delay(60_000),
            &Verdict::Delay {
                request: ms(60_000),
                response: Duration::ZERO,
            },
        );
        let start = Instant::now();
        let changes = async {
            tokio::time::sleep(ms(1000)).await;
            // Longer than waited so far: held to 5 s from the start.
            tx.send_replace(Arc::new(snapshot(vec![delay(5000)])));
            tokio::time::sleep(ms(1000)).await;
            // Shorter than waited so far: released now.
            tx.send_replace(Arc::new(snapshot(vec![delay(1500)])));
        };
        tokio::join!(hold(&rx, start, |s| held.request_delay(s)), changes);
        assert_eq!(start.elapsed(), ms(2000));
        // The configuration gone (the proxy deleted): never released.
        drop(tx);
        let gone = tokio::time::timeout(
            ms(120_000),
            hold(&rx, Instant::now(), |s| held.request_delay(s)),
        );
        assert!(gone.await.is_err());
    }
}
