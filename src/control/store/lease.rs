//! The `lease_ms` extension: leased toxics are removed when not renewed in time.
//!
//! Each lease owns one timer task. Renewing or changing a lease replaces it with a new lease
//! (a new timer from now), and the old timer is cancelled as soon as the last copy of the old
//! lease is dropped: when the toxic is updated, removed, reset, or its proxy deleted. So a
//! shortened lease expires on its new schedule and no timer outlives its toxic.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::{CancellationToken, DropGuard};

use super::Store;
use super::settle::Plan;

/// A toxic's lease: its duration and the guard of its timer.
#[derive(Debug, Clone)]
pub(super) struct Lease {
    duration: Duration,
    _timer: Arc<DropGuard>,
}

impl Lease {
    /// How long the toxic lives without a renewal.
    pub(super) fn duration(&self) -> Duration {
        self.duration
    }
}

impl Store {
    /// A lease of `duration` from now on toxic `id` of `proxy`, with its timer running.
    pub(super) fn lease(self: &Arc<Self>, proxy: &str, id: u64, duration: Duration) -> Lease {
        let token = CancellationToken::new();
        let cancelled = token.clone();
        let store = Arc::clone(self);
        let shutdown = self.shutdown.clone();
        let proxy = proxy.to_string();
        self.tracker.spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = cancelled.cancelled() => return,
                _ = tokio::time::sleep(duration) => {}
            }
            let mut inner = store.inner.lock().await;
            // Renewed or removed while this timer waited for the lock.
            if cancelled.is_cancelled() {
                return;
            }
            let Some(entry) = inner.get_mut(&proxy) else { return };
            let Some(pos) = entry.toxics.iter().position(|s| s.entry.id == id) else { return };
            let mut plan = Plan::of(entry);
            let gone = plan.toxics.remove(pos);
            tracing::info!(proxy = %proxy, toxic = %gone.entry.toxic.name, "lease expired, toxic removed");
            let entry_text = crate::control::journal::change::toxic_removed(&proxy, &gone.entry.toxic.name, Some("lease expired"));
            drop(gone);
            if let Err(e) = store.apply(entry, plan.clone()).await {
                // No caller to refuse: the toxic still goes, and a proxy that cannot listen
                // again is disabled (its open connections are closed).
                tracing::warn!(proxy = %proxy, error = %e.message, "after the lease expired; proxy disabled");
                plan.enabled = false;
                let _ = store.apply(entry, plan).await;
            }
            store.journal.record("lease", entry_text);
        });
        Lease {
            duration,
            _timer: Arc::new(token.drop_guard()),
        }
    }
}
