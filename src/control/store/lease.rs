//! The `lease_ms` extension: leased toxics are removed when not renewed in time.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Store;

impl Store {
    /// Remove a leased toxic once it has not been renewed for its lease.
    pub(super) fn spawn_reaper(self: &Arc<Self>, proxy: String, id: u64, lease: Duration) {
        let store = Arc::clone(self);
        let shutdown = self.shutdown.clone();
        self.tracker.spawn(async move {
            let mut due = Instant::now() + lease;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep_until(due) => {}
                }
                let mut inner = store.inner.lock().await;
                let Some(entry) = inner.get_mut(&proxy) else { return };
                let Some(pos) = entry.toxics.iter().position(|s| s.entry.id == id) else { return };
                match entry.toxics[pos].lease {
                    Some((d, renewed)) if renewed + d > Instant::now() => due = renewed + d,
                    _ => {
                        let gone = entry.toxics.remove(pos);
                        entry.publish();
                        tracing::info!(proxy = %proxy, toxic = %gone.entry.toxic.name, "lease expired, toxic removed");
                        if let Err(e) = store.settle(entry).await {
                            tracing::warn!(proxy = %proxy, error = %e.message, "after the lease expired");
                        }
                        return;
                    }
                }
            }
        });
    }
}
