//! Whether a proxy listens: it is enabled and no `refuse_new` toxic at
//! toxicity 1 is present. [`Store::settle`] brings the listener in line after
//! every change, without touching the connections already open.

use super::{Entry, Store, bind};
use crate::control::error::ApiError;
use crate::fault::ToxicKind;
use crate::proxy::{ProxyContext, RunningProxy};

impl Entry {
    /// A `refuse_new` toxic with toxicity 1 is present: the listening socket stays closed.
    pub(super) fn refusing(&self) -> bool {
        self.toxics.iter().any(|s| {
            matches!(s.entry.toxic.kind, ToxicKind::RefuseNew(_))
                && s.entry.toxic.toxicity.value() >= 1.0
        })
    }
}

impl Store {
    /// Bind the listener (first start, or re-enable after a disable that closed everything).
    pub(super) async fn start(&self, entry: &mut Entry) -> Result<(), ApiError> {
        let listener = bind(&entry.requested_listen).await?;
        let ctx = ProxyContext {
            name: entry.name.clone(),
            seed: self.seed,
            config: entry.tx.subscribe(),
            metrics: self.metrics.clone(),
            connections: entry.connections.clone(),
            tracker: self.tracker.clone(),
        };
        let running = RunningProxy::start(listener, ctx)
            .map_err(|e| ApiError::new(500, format!("listen: {e}")))?;
        entry.listen = running.local_addr().to_string();
        // Later re-binds (enable after disable, refuse_new removed) reuse the port actually chosen.
        entry.requested_listen = entry.listen.clone();
        entry.running = Some(running);
        Ok(())
    }

    /// Make the listener follow `enabled` and `refuse_new`:
    /// - disabled: listener and every connection closed;
    /// - enabled and refusing: the address is bound once (so port 0 gets its
    ///   port), then the listening socket is closed: connects get
    ///   `ECONNREFUSED`; open connections go on;
    /// - enabled, not refusing: listening, re-bound on the same address if it
    ///   was closed. If that re-bind fails (someone else took the port), the
    ///   proxy is marked disabled (its open connections go on) and the bind
    ///   error is returned; `enabled: true` retries.
    pub(super) async fn settle(&self, entry: &mut Entry) -> Result<(), ApiError> {
        if !entry.enabled {
            entry.stop().await;
            return Ok(());
        }
        let refusing = entry.refusing();
        if entry.running.is_none() {
            self.start(entry).await?;
        }
        let Some(running) = entry.running.as_mut() else {
            return Ok(());
        };
        if refusing && running.is_listening() {
            running.close_listener().await;
            tracing::info!(proxy = %entry.name, listen = %entry.listen, "refuse_new: listener closed");
        } else if !refusing && !running.is_listening() {
            let bound = match bind(&entry.listen).await {
                Ok(listener) => running
                    .listen_again(listener)
                    .map_err(|e| ApiError::new(500, format!("listen: {e}"))),
                Err(e) => Err(e),
            };
            if let Err(e) = bound {
                entry.enabled = false;
                tracing::warn!(proxy = %entry.name, error = %e.message, "cannot listen again; proxy disabled");
                return Err(ApiError::new(
                    e.status,
                    format!(
                        "{}; the proxy is now disabled (open connections go on), enable it to retry",
                        e.message
                    ),
                ));
            }
            tracing::info!(proxy = %entry.name, listen = %entry.listen, "listening again");
        }
        Ok(())
    }
}
