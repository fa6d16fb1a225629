//! The proxies by name. Every operation edits plain data and publishes a new
//! snapshot through a watch channel: it never awaits the data path.
//!
//! **A refused request changes nothing.** Each mutating operation first
//! builds a [`Plan`] (what the proxy should become) and checks it, then
//! [`Store::prepare`]s it: binds every listening socket the plan needs. Only
//! when all of that succeeded does [`Store::commit`], which cannot fail,
//! apply the plan: publish the snapshot, start or stop listeners, close
//! connections. `/populate` and `/reset` prepare every proxy they touch
//! before committing any.
//!
//! The store's lock is a `tokio::sync::Mutex` held only by control
//! operations; it may be held across binding a listener or closing one (the
//! accept task ends at once), never across anything a connection does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod lease;
mod listen;
pub(crate) mod live;
mod populate;
mod settle;

use lease::Lease;
pub(crate) use listen::check_upstream;
use settle::Plan;

use super::error::ApiError;
use super::wire::{self, ProxyRequest, ProxyUpdate, ToxicPatch, ToxicRequest};
use crate::proxy::{
    HEADER_TIMEOUT_DEFAULT, HttpFront, HttpShared, HttpTarget, HttpTls, Metrics, Protocol,
    ProxyTls, RunningProxy, Snapshot, ToxicEntry,
};

/// Server-wide state behind the API.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<BTreeMap<String, Entry>>,
    seed: u64,
    metrics: Arc<Metrics>,
    tracker: TaskTracker,
    next_id: AtomicU64,
    shutdown: CancellationToken,
    budget: crate::proxy::FdBudget,
    journal: Arc<super::Journal>,
}

/// A toxic in a proxy's list, with its lease if it has one.
#[derive(Debug, Clone)]
struct Slot {
    entry: Arc<ToxicEntry>,
    lease: Option<Lease>,
}

impl Slot {
    fn view(&self) -> Value {
        wire::toxic_view(&self.entry, self.lease.as_ref().map(Lease::duration))
    }
}

#[derive(Debug)]
struct Entry {
    name: Arc<str>,
    requested_listen: String,
    listen: String,
    upstream: String,
    enabled: bool,
    protocol: Protocol,
    header_faults: bool,
    /// HTTP mode: how long a client has to send a request head (`http_header_timeout`).
    header_timeout: Duration,
    /// HTTP mode's TLS settings, and the acceptor and client built from them.
    tls: ProxyTls,
    http_tls: Option<Arc<HttpTls>>,
    toxics: Vec<Slot>,
    /// HTTP mode: the front the connections dial (started on the first switch to HTTP).
    front: Option<HttpFront>,
    http: HttpShared,
    tx: watch::Sender<Arc<Snapshot>>,
    connections: Arc<AtomicU64>,
    running: Option<RunningProxy>,
}

impl Entry {
    /// A proxy not yet listening, with no toxics; [`Store::commit`] gives it its plan.
    fn new(name: &str, listen: &str, upstream: &str) -> Self {
        let (tx, _) = watch::channel(Arc::new(Snapshot::default()));
        Entry {
            name: name.into(),
            requested_listen: listen.to_string(),
            listen: listen.to_string(),
            upstream: upstream.to_string(),
            enabled: false,
            protocol: Protocol::Tcp,
            header_faults: false,
            header_timeout: HEADER_TIMEOUT_DEFAULT,
            tls: ProxyTls::default(),
            http_tls: None,
            toxics: Vec::new(),
            front: None,
            http: HttpShared::default(),
            tx,
            connections: Arc::new(AtomicU64::new(0)),
            running: None,
        }
    }

    fn publish(&self) {
        let front = self
            .front
            .as_ref()
            .filter(|_| self.protocol == Protocol::Http);
        self.tx.send_replace(Arc::new(Snapshot {
            upstream: front.map_or_else(|| self.upstream.clone(), |f| f.addr().to_string()),
            http: front.map(|_| HttpTarget {
                upstream: self.upstream.clone(),
                header_faults: self.header_faults,
                header_timeout: self.header_timeout,
                tls: self.http_tls.clone(),
            }),
            toxics: self.toxics.iter().map(|s| s.entry.clone()).collect(),
        }));
    }

    /// Toxiproxy's proxy JSON; an HTTP-mode proxy adds `protocol`, `header_faults`,
    /// `http_header_timeout` (ms) and its TLS settings.
    fn view(&self) -> Value {
        let mut v = json!({
            "name": &*self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_view(),
        });
        if let (Protocol::Http, Some(map)) = (self.protocol, v.as_object_mut()) {
            map.insert("protocol".into(), json!(self.protocol.as_str()));
            map.insert("header_faults".into(), json!(self.header_faults));
            map.insert(
                "http_header_timeout".into(),
                json!(self.header_timeout.as_millis()),
            );
            self.tls.view(map);
        }
        v
    }

    fn toxics_view(&self) -> Value {
        Value::Array(self.toxics.iter().map(Slot::view).collect())
    }

    fn position(&self, toxic: &str) -> Result<usize, ApiError> {
        self.toxics
            .iter()
            .position(|s| s.entry.toxic.name == toxic)
            .ok_or_else(ApiError::toxic_not_found)
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.close().await;
        }
    }
}

impl Store {
    /// An empty store. `budget` bounds the descriptors proxied connections may hold; changes
    /// no request made (an expired lease) are recorded in `journal`.
    pub(crate) fn new(
        seed: u64,
        metrics: Arc<Metrics>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
        budget: crate::proxy::FdBudget,
        journal: Arc<super::Journal>,
    ) -> Self {
        Self {
            inner: Mutex::new(BTreeMap::new()),
            seed,
            metrics,
            tracker,
            next_id: AtomicU64::new(1),
            shutdown,
            budget,
            journal,
        }
    }

    /// A new toxic instance: a fresh id, its metric handles, and its lease timer if leased.
    fn slot(self: &Arc<Self>, proxy: &Arc<str>, t: ToxicRequest) -> Slot {
        let entry = Arc::new(ToxicEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            metrics: self.metrics.toxic(proxy, &t.toxic),
            requests: Arc::default(),
            toxic: t.toxic,
        });
        let lease = t.lease.map(|d| self.lease(proxy, entry.id, d));
        Slot { entry, lease }
    }

    /// The plan of a new proxy, its toxics and TLS checked.
    fn new_plan(self: &Arc<Self>, req: ProxyRequest) -> Result<Plan, ApiError> {
        let name: Arc<str> = req.name.as_str().into();
        let tls = req.tls.merged(&ProxyTls::default());
        Ok(Plan {
            http_tls: wire::check_tls(&tls)?,
            tls,
            listen: req.listen,
            upstream: req.upstream,
            enabled: req.enabled,
            protocol: req.protocol.unwrap_or_default(),
            header_faults: req.header_faults.unwrap_or(false),
            header_timeout: req.header_timeout.unwrap_or(HEADER_TIMEOUT_DEFAULT),
            toxics: req
                .toxics
                .into_iter()
                .map(|t| self.slot(&name, t))
                .collect(),
        })
    }

    /// Prepare then commit one proxy's plan.
    async fn apply(&self, entry: &mut Entry, plan: Plan) -> Result<(), ApiError> {
        let prepared = self.prepare(entry, &plan).await?;
        self.commit(entry, plan, prepared).await;
        Ok(())
    }

    /// `GET /proxies`: name → proxy.
    pub(crate) async fn list(&self) -> Value {
        let inner = self.inner.lock().await;
        Value::Object(inner.iter().map(|(k, e)| (k.clone(), e.view())).collect())
    }

    /// `GET /proxies/{p}`.
    pub(crate) async fn get(&self, name: &str) -> Result<Value, ApiError> {
        let inner = self.inner.lock().await;
        inner
            .get(name)
            .map(Entry::view)
            .ok_or_else(ApiError::proxy_not_found)
    }

    /// `POST /proxies`: create and (when enabled) start listening.
    pub(crate) async fn create(self: &Arc<Self>, req: ProxyRequest) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        if inner.contains_key(&req.name) {
            return Err(ApiError::proxy_exists());
        }
        let mut entry = Entry::new(&req.name, &req.listen, &req.upstream);
        let plan = self.new_plan(req)?;
        self.apply(&mut entry, plan).await?;
        let view = entry.view();
        inner.insert(entry.name.to_string(), entry);
        Ok(view)
    }

    /// `POST|PATCH /proxies/{p}`.
    pub(crate) async fn update(&self, name: &str, upd: ProxyUpdate) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(name).ok_or_else(ApiError::proxy_not_found)?;
        let mut plan = Plan::of(entry);
        if let Some(upstream) = upd.upstream {
            plan.upstream = upstream;
        }
        if let Some(listen) = upd.listen
            && !listen::same_address(&listen, &entry.listen).await
        {
            plan.listen = listen;
        }
        plan.enabled = upd.enabled.unwrap_or(entry.enabled);
        plan.protocol = upd.protocol.unwrap_or(entry.protocol);
        plan.header_faults = upd.header_faults.unwrap_or(entry.header_faults);
        plan.header_timeout = upd.header_timeout.unwrap_or(entry.header_timeout);
        plan.set_tls(&upd.tls)?;
        self.apply(entry, plan).await?;
        Ok(entry.view())
    }

    /// `DELETE /proxies/{p}`: close the listener and every connection; forget its metrics.
    pub(crate) async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let mut inner = self.inner.lock().await;
        let mut entry = inner.remove(name).ok_or_else(ApiError::proxy_not_found)?;
        self.forget(&mut entry).await;
        Ok(())
    }

    /// Stop a proxy that leaves the store; drop its toxics (and their lease timers) and metrics.
    async fn forget(&self, entry: &mut Entry) {
        entry.stop().await;
        entry.front = None;
        for slot in entry.toxics.drain(..) {
            self.metrics.forget_toxic(&entry.name, &slot.entry.toxic);
        }
        self.metrics.forget_proxy(&entry.name);
    }

    /// `POST /reset`: enable every proxy and remove every toxic, all or nothing.
    pub(crate) async fn reset(&self) -> Result<(), ApiError> {
        let mut inner = self.inner.lock().await;
        let mut ready = Vec::with_capacity(inner.len());
        for entry in inner.values() {
            let plan = Plan {
                enabled: true,
                toxics: Vec::new(),
                ..Plan::of(entry)
            };
            let prepared = self.prepare(entry, &plan).await.map_err(|e| {
                ApiError::new(e.status, format!("proxy {:?}: {}", &*entry.name, e.message))
            })?;
            ready.push((plan, prepared));
        }
        for (entry, (plan, prepared)) in inner.values_mut().zip(ready) {
            self.commit(entry, plan, prepared).await;
        }
        Ok(())
    }

    /// `GET /proxies/{p}/toxics`.
    pub(crate) async fn toxics(&self, proxy: &str) -> Result<Value, ApiError> {
        let inner = self.inner.lock().await;
        inner
            .get(proxy)
            .map(Entry::toxics_view)
            .ok_or_else(ApiError::proxy_not_found)
    }

    /// `GET /proxies/{p}/toxics/{t}`.
    pub(crate) async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Value, ApiError> {
        let inner = self.inner.lock().await;
        let entry = inner.get(proxy).ok_or_else(ApiError::proxy_not_found)?;
        Ok(entry.toxics[entry.position(toxic)?].view())
    }

    /// `POST /proxies/{p}/toxics`.
    pub(crate) async fn add_toxic(
        self: &Arc<Self>,
        proxy: &str,
        req: ToxicRequest,
    ) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        if entry.position(&req.toxic.name).is_ok() {
            return Err(ApiError::toxic_exists());
        }
        settle::fits_protocol(&req.toxic, entry.protocol, "type")?;
        let slot = self.slot(&entry.name, req);
        let view = slot.view();
        let mut plan = Plan::of(entry);
        plan.toxics.push(slot);
        self.apply(entry, plan).await?;
        Ok(view)
    }

    /// `POST|PATCH /proxies/{p}/toxics/{t}`: merge, keep the instance (no re-roll), renew any
    /// lease (a new `lease_ms` replaces the old one, shorter or longer, from now).
    pub(crate) async fn update_toxic(
        self: &Arc<Self>,
        proxy: &str,
        name: &str,
        patch: ToxicPatch,
    ) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        let i = entry.position(name)?;
        let old = &entry.toxics[i];
        let toxic = wire::patched(&old.entry.toxic, &patch)?;
        let lease = patch
            .lease
            .or_else(|| old.lease.as_ref().map(Lease::duration))
            .map(|d| self.lease(&entry.name, old.entry.id, d));
        // Same name, type and stream: the same metric handles.
        let slot = Slot {
            entry: Arc::new(ToxicEntry {
                id: old.entry.id,
                toxic,
                metrics: old.entry.metrics.clone(),
                requests: old.entry.requests.clone(),
            }),
            lease,
        };
        let view = slot.view();
        let mut plan = Plan::of(entry);
        plan.toxics[i] = slot;
        self.apply(entry, plan).await?;
        Ok(view)
    }

    /// `DELETE /proxies/{p}/toxics/{t}`.
    pub(crate) async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        let mut plan = Plan::of(entry);
        plan.toxics.remove(entry.position(name)?);
        self.apply(entry, plan).await
    }

    /// Close every proxy's listener and connections.
    pub(crate) async fn close_all(&self) {
        let mut inner = self.inner.lock().await;
        for entry in inner.values_mut() {
            entry.stop().await;
            entry.front = None;
        }
    }
}
