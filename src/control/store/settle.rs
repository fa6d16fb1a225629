//! Plans and how they are applied: prepare (check and bind, may fail, changes nothing), then
//! commit (cannot fail).
//!
//! Whether a proxy listens: it is enabled and no `refuse_new` toxic at toxicity 1 is present.
//! [`Store::commit`] brings the listener in line, without touching the connections already
//! open (except when disabling, which closes them, or moving `listen`, which replaces the
//! proxy's listener and connections).

use std::collections::HashSet;

use super::listen::{Bound, bind, resolve};
use super::{Entry, Slot, Store};
use crate::control::error::ApiError;
use crate::control::wire::{self, TlsFields};
use crate::fault::{Toxic, ToxicKind};
use crate::proxy::{HttpFront, HttpTls, Protocol, ProxyContext, ProxyTls, RunningProxy};
use std::sync::Arc;
use std::time::Duration;

/// What a request wants a proxy to become.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) listen: String,
    pub(super) upstream: String,
    pub(super) enabled: bool,
    pub(super) protocol: Protocol,
    pub(super) header_faults: bool,
    pub(super) header_timeout: Duration,
    pub(super) tls: ProxyTls,
    pub(super) http_tls: Option<Arc<HttpTls>>,
    pub(super) toxics: Vec<Slot>,
}

impl Plan {
    /// The proxy as it is.
    pub(super) fn of(entry: &Entry) -> Plan {
        Plan {
            listen: entry.listen.clone(),
            upstream: entry.upstream.clone(),
            enabled: entry.enabled,
            protocol: entry.protocol,
            header_faults: entry.header_faults,
            header_timeout: entry.header_timeout,
            tls: entry.tls.clone(),
            http_tls: entry.http_tls.clone(),
            toxics: entry.toxics.clone(),
        }
    }

    /// Apply TLS `fields` over the plan's settings, rebuilt when they change.
    ///
    /// # Errors
    /// `400` naming the field (a bad PEM file, a key that does not fit, a missing half).
    pub(super) fn set_tls(&mut self, fields: &TlsFields) -> Result<(), ApiError> {
        let merged = fields.merged(&self.tls);
        if merged != self.tls {
            self.http_tls = wire::check_tls(&merged)?;
            self.tls = merged;
        }
        Ok(())
    }

    /// A `refuse_new` toxic with toxicity 1 is present: the listening socket stays closed.
    fn refusing(&self) -> bool {
        self.toxics.iter().any(|s| {
            matches!(s.entry.toxic.kind, ToxicKind::RefuseNew(_))
                && s.entry.toxic.toxicity.value() >= 1.0
        })
    }

    /// An HTTP toxic, TLS, `header_faults` or a head timeout other than the default needs an
    /// HTTP-mode proxy (`400` naming the setting as the proxy's JSON does otherwise: the first
    /// TLS field given, `header_faults`, `http_header_timeout`, `toxics[i].type`).
    fn check_protocol(&self) -> Result<(), ApiError> {
        if self.protocol == Protocol::Http {
            return Ok(());
        }
        let given = self.tls.given();
        if let Some(first) = given.first() {
            return Err(ApiError::bad_field(
                *first,
                format!("TLS ({}) {NEEDS_HTTP}", given.join(", ")),
            ));
        }
        // Kept silently, they would not show in a TCP proxy's JSON and would act on a later
        // switch to HTTP mode.
        if self.header_faults {
            return Err(ApiError::bad_field(
                "header_faults",
                format!("{NEEDS_HTTP}; send \"header_faults\": false with \"protocol\": \"tcp\""),
            ));
        }
        if self.header_timeout != crate::proxy::HEADER_TIMEOUT_DEFAULT {
            return Err(ApiError::bad_field(
                "http_header_timeout",
                format!(
                    "{NEEDS_HTTP}; send \"http_header_timeout\": {} with \"protocol\": \"tcp\"",
                    crate::proxy::HEADER_TIMEOUT_DEFAULT.as_millis()
                ),
            ));
        }
        self.toxics.iter().enumerate().try_for_each(|(i, s)| {
            fits_protocol(&s.entry.toxic, self.protocol, &format!("toxics[{i}].type"))
        })
    }

    /// Whether it moves the proxy to another listen address.
    fn moves(&self, entry: &Entry) -> bool {
        self.listen != entry.listen && self.listen != entry.requested_listen
    }
}

/// What a TCP proxy refuses: `needs an HTTP-mode proxy ("protocol": "http")`.
const NEEDS_HTTP: &str = "needs an HTTP-mode proxy (\"protocol\": \"http\")";

/// An HTTP toxic needs an HTTP-mode proxy: `400` naming `field` (its `type`) otherwise.
pub(super) fn fits_protocol(
    toxic: &Toxic,
    protocol: Protocol,
    field: &str,
) -> Result<(), ApiError> {
    if !toxic.kind.is_http() || protocol == Protocol::Http {
        return Ok(());
    }
    Err(ApiError::bad_field(
        field,
        format!("{} {NEEDS_HTTP}", toxic.kind.type_name()),
    ))
}

/// What [`Store::prepare`] got ready for the commit.
#[derive(Debug)]
pub(super) enum Prepared {
    /// Nothing to bind.
    Nothing,
    /// A freshly bound listening socket.
    Bound(Bound),
}

impl Store {
    /// Bind what `plan` needs (the first start, a new `listen`, listening again after
    /// `refuse_new` or a disable). Fails with the bind error and changes nothing.
    pub(super) async fn prepare(&self, entry: &Entry, plan: &Plan) -> Result<Prepared, ApiError> {
        plan.check_protocol()?;
        let moves = plan.moves(entry);
        if !plan.enabled {
            // Kept for later: it must at least name an address.
            if moves {
                resolve(&plan.listen).await?;
            }
            return Ok(Prepared::Nothing);
        }
        let address = match &entry.running {
            // A proxy that starts binds its address once even when refusing, so port 0 gets
            // its port and a taken port is refused now.
            None if moves => &plan.listen,
            None => &entry.requested_listen,
            Some(_) if moves => &plan.listen,
            Some(running) if !plan.refusing() && !running.is_listening() => &entry.listen,
            Some(_) => return Ok(Prepared::Nothing),
        };
        Ok(Prepared::Bound(bind(address).await?))
    }

    /// Apply a prepared plan. Toxics that leave the proxy lose their metric series and lease
    /// timers.
    pub(super) async fn commit(&self, entry: &mut Entry, plan: Plan, prepared: Prepared) {
        let kept: HashSet<u64> = plan.toxics.iter().map(|s| s.entry.id).collect();
        for gone in entry.toxics.iter().filter(|s| !kept.contains(&s.entry.id)) {
            self.metrics.forget_toxic(&entry.name, &gone.entry.toxic);
        }
        let refusing = plan.refusing();
        let moves = plan.moves(entry);
        entry.upstream = plan.upstream;
        entry.toxics = plan.toxics;
        entry.enabled = plan.enabled;
        entry.protocol = plan.protocol;
        entry.header_faults = plan.header_faults;
        entry.header_timeout = plan.header_timeout;
        entry.tls = plan.tls;
        entry.http_tls = plan.http_tls;
        self.front(entry);
        entry.publish();
        if !entry.enabled {
            entry.stop().await;
            if moves {
                entry.listen = plan.listen.clone();
                entry.requested_listen = plan.listen;
            }
            return;
        }
        if let Prepared::Bound(bound) = prepared {
            match entry.running.as_mut() {
                Some(running) if !moves => running.listen_again(bound.listener, bound.addr),
                _ => {
                    entry.stop().await;
                    self.start(entry, bound);
                }
            }
            tracing::info!(proxy = %entry.name, listen = %entry.listen, "listening");
        }
        if let Some(running) = entry.running.as_mut()
            && refusing
            && running.is_listening()
        {
            running.close_listener().await;
            tracing::info!(proxy = %entry.name, listen = %entry.listen, "refuse_new: listener closed");
        }
    }

    /// Start the HTTP front of a proxy that is now in HTTP mode (it stays, idle, if the proxy
    /// goes back to TCP). Binding a loopback port fails only when out of descriptors: then the
    /// error is logged and the proxy's connections fail to dial (counted as dial failures).
    fn front(&self, entry: &mut Entry) {
        if entry.protocol != Protocol::Http || entry.front.is_some() {
            return;
        }
        match HttpFront::start(
            entry.name.clone(),
            self.seed,
            entry.tx.subscribe(),
            &entry.http,
            self.metrics.http(&entry.name),
            &self.tracker,
        ) {
            Ok(front) => entry.front = Some(front),
            Err(error) => tracing::error!(proxy = %entry.name, %error, "HTTP front: cannot bind"),
        }
    }

    /// Start the proxy's accept loop on a bound socket.
    fn start(&self, entry: &mut Entry, bound: Bound) {
        let ctx = ProxyContext {
            name: entry.name.clone(),
            seed: self.seed,
            config: entry.tx.subscribe(),
            metrics: self.metrics.clone(),
            connections: entry.connections.clone(),
            tracker: self.tracker.clone(),
            budget: self.budget.clone(),
            http: entry.http.clone(),
        };
        entry.listen = bound.addr.to_string();
        // Later re-binds (enable after disable, refuse_new removed) reuse the port actually chosen.
        entry.requested_listen = entry.listen.clone();
        entry.running = Some(RunningProxy::start(bound.listener, bound.addr, ctx));
    }
}
