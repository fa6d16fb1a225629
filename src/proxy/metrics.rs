//! Prometheus metrics of the proxies, including what each toxic actually affected.
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `shakedown_proxy_connections_accepted_total` | proxy | connections accepted |
//! | `shakedown_proxy_connections_active` | proxy | connections open now |
//! | `shakedown_proxy_connections_rejected_total` | proxy | connections closed at once because the descriptor budget was spent |
//! | `shakedown_proxy_listening` | proxy | 1 while the listening socket is open, 0 while closed (disabled, or `refuse_new` at toxicity 1) |
//! | `shakedown_proxy_upstream_dial_failures_total` | proxy | connections closed because the upstream could not be dialled |
//! | `shakedown_proxy_bytes_total` | proxy, stream | bytes delivered (upstream = client → upstream) |
//! | `shakedown_toxic_connections_affected_total` | proxy, toxic, type, stream | connections the toxic affected (once per connection) |
//! | `shakedown_toxic_bytes_affected_total` | proxy, toxic, type, stream | bytes that went through the toxic while it affected a connection (for `timeout`: bytes dropped) |
//! | `shakedown_toxic_requests_matched_total` | proxy, toxic, type, stream | HTTP toxics only: requests its matcher selected |
//! | `shakedown_toxic_requests_faulted_total` | proxy, toxic, type, stream | HTTP toxics only: matched requests it faulted |
//! | `shakedown_toxic_requests_passed_total` | proxy, toxic, type, stream | HTTP toxics only: matched requests it let pass (toxicity, `first_n`, `max_active`) |
//! | `shakedown_proxy_http_requests_total` | proxy | HTTP mode: requests answered |
//! | `shakedown_proxy_http_errors_total` | proxy | HTTP mode: requests answered with a 5xx status (injected or not) |
//!
//! A proxy's byte counters are [`striped::StripedCounter`]s (a cache line per thread, so the
//! proxy's workers do not share one per chunk), added to by the relays and by HTTP mode's
//! direct serving alike.
//!
//! HTTP mode also keeps each proxy's response latencies since the last
//! [`HttpStats::take_percentiles`] (the event stream's one-second window) in a lock-free
//! histogram (`window`): a request costs relaxed atomic adds, no lock.

pub mod striped;
mod window;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::fault::Toxic;
use striped::StripedCounter;

type Labels = Vec<(&'static str, String)>;

/// The server-wide metric families.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    accepted: Family<Labels, Counter>,
    active: Family<Labels, Gauge>,
    rejected: Family<Labels, Counter>,
    listening: Family<Labels, Gauge>,
    dial_failures: Family<Labels, Counter>,
    bytes: Family<Labels, StripedCounter>,
    toxic_connections: Family<Labels, Counter>,
    toxic_bytes: Family<Labels, Counter>,
    requests: [Family<Labels, Counter>; 3],
    http_requests: Family<Labels, Counter>,
    http_errors: Family<Labels, Counter>,
    windows: Mutex<HashMap<String, Arc<window::Window>>>,
}

/// One HTTP-mode proxy's request figures.
#[derive(Debug, Clone)]
pub struct HttpStats {
    /// Requests answered.
    pub requests: Counter,
    /// Requests answered with a 5xx status.
    pub errors: Counter,
    window: Arc<window::Window>,
}

impl HttpStats {
    /// Count one answered request: its status and how long its response head took. Lock-free.
    pub fn record(&self, status: u16, latency: Duration) {
        self.requests.inc();
        if status >= 500 {
            self.errors.inc();
        }
        self.window.record(latency);
    }

    /// The median and 99th percentile of the latencies recorded since the last call (within
    /// 1%, 1 µs to 1 h), then forget them; `None` when none was recorded.
    pub fn take_percentiles(&self) -> Option<(Duration, Duration)> {
        self.window.take_percentiles()
    }
}

/// One proxy's handles (cheap clones of shared atomics).
#[derive(Debug, Clone)]
pub struct ProxyMetrics {
    /// Connections accepted.
    pub accepted: Counter,
    /// Connections open now.
    pub active: Gauge,
    /// Connections closed at once for want of descriptors.
    pub rejected: Counter,
    /// 1 while the listening socket is open.
    pub listening: Gauge,
    /// Upstream dials that failed.
    pub dial_failures: Counter,
    /// Bytes delivered client → upstream (added on the thread's own cache line).
    pub upstream_bytes: StripedCounter,
    /// Bytes delivered upstream → client.
    pub downstream_bytes: StripedCounter,
}

/// One toxic's handles.
#[derive(Debug, Clone)]
pub struct ToxicMetrics {
    /// Connections affected.
    pub connections: Counter,
    /// Bytes affected.
    pub bytes: Counter,
    /// HTTP toxics: requests matched. A TCP toxic's three request counters are not
    /// registered (no `/metrics` series) and stay at 0.
    pub matched: Counter,
    /// HTTP toxics: matched requests faulted.
    pub faulted: Counter,
    /// HTTP toxics: matched requests passed.
    pub passed: Counter,
}

impl Metrics {
    /// Fresh, registered families.
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let accepted = Family::<Labels, Counter>::default();
        let active = Family::<Labels, Gauge>::default();
        let rejected = Family::<Labels, Counter>::default();
        let listening = Family::<Labels, Gauge>::default();
        let dial_failures = Family::<Labels, Counter>::default();
        let bytes = Family::<Labels, StripedCounter>::default();
        let toxic_connections = Family::<Labels, Counter>::default();
        let toxic_bytes = Family::<Labels, Counter>::default();
        registry.register(
            "shakedown_proxy_connections_accepted",
            "Connections accepted by the proxy",
            accepted.clone(),
        );
        registry.register(
            "shakedown_proxy_connections_active",
            "Connections open through the proxy",
            active.clone(),
        );
        registry.register(
            "shakedown_proxy_connections_rejected",
            "Connections closed at once because the open-file budget was spent",
            rejected.clone(),
        );
        registry.register(
            "shakedown_proxy_listening",
            "1 while the proxy's listening socket is open, 0 while it is closed",
            listening.clone(),
        );
        registry.register(
            "shakedown_proxy_upstream_dial_failures",
            "Connections closed because the upstream could not be dialled",
            dial_failures.clone(),
        );
        registry.register(
            "shakedown_proxy_bytes",
            "Bytes delivered by the proxy per stream (upstream = client to upstream)",
            bytes.clone(),
        );
        registry.register(
            "shakedown_toxic_connections_affected",
            "Connections a toxic actually affected (counted once per connection)",
            toxic_connections.clone(),
        );
        registry.register(
            "shakedown_toxic_bytes_affected",
            "Bytes that went through a toxic while it affected a connection",
            toxic_bytes.clone(),
        );
        let requests: [Family<Labels, Counter>; 3] = Default::default();
        for (family, what, help) in [
            (
                &requests[0],
                "matched",
                "Requests an HTTP toxic's matcher selected",
            ),
            (
                &requests[1],
                "faulted",
                "Matched requests an HTTP toxic faulted",
            ),
            (
                &requests[2],
                "passed",
                "Matched requests an HTTP toxic let pass",
            ),
        ] {
            registry.register(
                format!("shakedown_toxic_requests_{what}"),
                help,
                family.clone(),
            );
        }
        let http_requests = Family::<Labels, Counter>::default();
        let http_errors = Family::<Labels, Counter>::default();
        registry.register(
            "shakedown_proxy_http_requests",
            "HTTP mode: requests answered by the proxy",
            http_requests.clone(),
        );
        registry.register(
            "shakedown_proxy_http_errors",
            "HTTP mode: requests answered with a 5xx status",
            http_errors.clone(),
        );
        Self {
            requests,
            http_requests,
            http_errors,
            windows: Mutex::default(),
            registry,
            accepted,
            active,
            rejected,
            listening,
            dial_failures,
            bytes,
            toxic_connections,
            toxic_bytes,
        }
    }

    /// The handles of one proxy.
    pub fn proxy(&self, name: &str) -> ProxyMetrics {
        let p = || vec![("proxy", name.to_string())];
        let s = |stream: &str| vec![("proxy", name.to_string()), ("stream", stream.to_string())];
        ProxyMetrics {
            accepted: self.accepted.get_or_create_owned(&p()),
            active: self.active.get_or_create_owned(&p()),
            rejected: self.rejected.get_or_create_owned(&p()),
            listening: self.listening.get_or_create_owned(&p()),
            dial_failures: self.dial_failures.get_or_create_owned(&p()),
            upstream_bytes: self.bytes.get_or_create_owned(&s("upstream")),
            downstream_bytes: self.bytes.get_or_create_owned(&s("downstream")),
        }
    }

    /// The HTTP request figures of proxy `name`.
    pub fn http(&self, name: &str) -> HttpStats {
        let p = vec![("proxy", name.to_string())];
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        let window = windows.entry(name.to_string()).or_default().clone();
        HttpStats {
            requests: self.http_requests.get_or_create_owned(&p),
            errors: self.http_errors.get_or_create_owned(&p),
            window,
        }
    }

    /// Drop every series of proxy `name` (its toxics' series go with [`Metrics::forget_toxic`]).
    /// Handles still held by closing connections keep counting, unseen.
    pub fn forget_proxy(&self, name: &str) {
        let p = vec![("proxy", name.to_string())];
        for family in [
            &self.accepted,
            &self.rejected,
            &self.dial_failures,
            &self.http_requests,
            &self.http_errors,
        ] {
            family.remove(&p);
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        windows.remove(name);
        self.active.remove(&p);
        self.listening.remove(&p);
        for stream in ["upstream", "downstream"] {
            self.bytes.remove(&vec![
                ("proxy", name.to_string()),
                ("stream", stream.to_string()),
            ]);
        }
    }

    /// Drop the series of one toxic of `proxy`.
    pub fn forget_toxic(&self, proxy: &str, toxic: &Toxic) {
        let labels = toxic_labels(proxy, toxic);
        self.toxic_connections.remove(&labels);
        self.toxic_bytes.remove(&labels);
        for family in &self.requests {
            family.remove(&labels);
        }
    }

    /// The handles of one toxic on one proxy. Only an HTTP toxic gets the
    /// `shakedown_toxic_requests_*` series; a TCP toxic's request counters are unregistered.
    pub fn toxic(&self, proxy: &str, toxic: &Toxic) -> ToxicMetrics {
        let labels = toxic_labels(proxy, toxic);
        let request = |family: &Family<Labels, Counter>| match toxic.kind.is_http() {
            true => family.get_or_create_owned(&labels),
            false => Counter::default(),
        };
        ToxicMetrics {
            connections: self.toxic_connections.get_or_create_owned(&labels),
            bytes: self.toxic_bytes.get_or_create_owned(&labels),
            matched: request(&self.requests[0]),
            faulted: request(&self.requests[1]),
            passed: request(&self.requests[2]),
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn toxic_labels(proxy: &str, toxic: &Toxic) -> Labels {
    vec![
        ("proxy", proxy.to_string()),
        ("toxic", toxic.name.clone()),
        ("type", toxic.kind.type_name().to_string()),
        ("stream", toxic.stream.as_str().to_string()),
    ]
}

/// The content type of [`Metrics::render`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
