//! The live view of every proxy for the event stream's `event: metrics`, once a second while
//! anyone listens: addresses, state, connection and byte counters, HTTP request figures and
//! each toxic with what it affected.
//!
//! Counters are the metrics' monotonic totals (a page computes rates from two samples); the
//! HTTP `p50_ms`/`p99_ms` are over the requests answered since the previous sample (`null`
//! when none was).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::{Entry, Store};
use crate::clock::Clock;
use crate::control::events::Events;
use crate::proxy::Protocol;

/// How often the live view is published.
pub(crate) const INTERVAL: Duration = Duration::from_secs(1);

/// Publish `event: metrics` every [`INTERVAL`] while the stream has subscribers, until `stop`.
pub(crate) async fn sample(
    store: Arc<Store>,
    events: Events,
    clock: Clock,
    stop: CancellationToken,
) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        if events.subscribers() == 0 {
            continue;
        }
        let proxies = store.live().await;
        events.publish(
            "metrics",
            json!({"t": clock.now().as_secs_f64(), "proxies": proxies}),
        );
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Store {
    /// Every proxy's live view, by name.
    pub(crate) async fn live(&self) -> Value {
        let inner = self.inner.lock().await;
        Value::Object(
            inner
                .iter()
                .map(|(name, e)| (name.clone(), self.live_proxy(e)))
                .collect::<Map<_, _>>(),
        )
    }

    fn live_proxy(&self, e: &Entry) -> Value {
        let m = self.metrics.proxy(&e.name);
        let http = (e.protocol == Protocol::Http).then(|| {
            let h = self.metrics.http(&e.name);
            let p = h.take_percentiles();
            json!({
                "requests": h.requests.get(),
                "errors": h.errors.get(),
                "p50_ms": p.map(|p| millis(p.0)),
                "p99_ms": p.map(|p| millis(p.1)),
            })
        });
        let toxics: Vec<Value> = e
            .toxics
            .iter()
            .map(|s| {
                let t = &s.entry.toxic;
                let c = &s.entry.metrics;
                json!({
                    "name": t.name,
                    "type": t.kind.type_name(),
                    "stream": t.stream.as_str(),
                    "toxicity": t.toxicity.value(),
                    "attributes": t.kind.attributes(),
                    "connections_affected": c.connections.get(),
                    "bytes_affected": c.bytes.get(),
                    "requests_matched": c.matched.get(),
                    "requests_faulted": c.faulted.get(),
                    "requests_passed": c.passed.get(),
                })
            })
            .collect();
        json!({
            "listen": e.listen,
            "upstream": e.upstream,
            "enabled": e.enabled,
            "protocol": e.protocol.as_str(),
            "connections_active": m.active.get().max(0),
            "connections_total": m.accepted.get(),
            "bytes_up": m.upstream_bytes.get(),
            "bytes_down": m.downstream_bytes.get(),
            "http": http,
            "toxics": toxics,
        })
    }
}
