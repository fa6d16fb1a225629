//! The proxies by name. Every operation edits plain data and publishes a new
//! snapshot through a watch channel: it never awaits the data path.
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
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

mod lease;
mod listen;
mod settle;

pub use listen::{bind, check_upstream};

use super::error::ApiError;
use super::wire::{self, ProxyRequest, ProxyUpdate, ToxicPatch, ToxicRequest};
use crate::proxy::{Metrics, RunningProxy, Snapshot, ToxicEntry};

/// Server-wide state behind the API.
#[derive(Debug)]
pub struct Store {
    inner: Mutex<BTreeMap<String, Entry>>,
    seed: u64,
    metrics: Arc<Metrics>,
    tracker: TaskTracker,
    next_id: AtomicU64,
    shutdown: CancellationToken,
}

#[derive(Debug)]
struct Slot {
    entry: Arc<ToxicEntry>,
    lease: Option<(Duration, Instant)>,
}

#[derive(Debug)]
struct Entry {
    name: Arc<str>,
    requested_listen: String,
    listen: String,
    upstream: String,
    enabled: bool,
    toxics: Vec<Slot>,
    tx: watch::Sender<Arc<Snapshot>>,
    connections: Arc<AtomicU64>,
    running: Option<RunningProxy>,
}

impl Entry {
    fn publish(&self) {
        self.tx.send_replace(Arc::new(Snapshot {
            upstream: self.upstream.clone(),
            toxics: self.toxics.iter().map(|s| s.entry.clone()).collect(),
        }));
    }

    fn view(&self) -> Value {
        json!({
            "name": &*self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": self.toxics_view(),
        })
    }

    fn toxics_view(&self) -> Value {
        Value::Array(
            self.toxics
                .iter()
                .map(|s| wire::toxic_view(&s.entry, s.lease.map(|l| l.0)))
                .collect(),
        )
    }

    fn slot(&mut self, name: &str) -> Result<&mut Slot, ApiError> {
        self.toxics
            .iter_mut()
            .find(|s| s.entry.toxic.name == name)
            .ok_or_else(ApiError::toxic_not_found)
    }

    async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.close().await;
        }
    }
}

impl Store {
    /// An empty store.
    pub fn new(
        seed: u64,
        metrics: Arc<Metrics>,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Mutex::new(BTreeMap::new()),
            seed,
            metrics,
            tracker,
            next_id: AtomicU64::new(1),
            shutdown,
        }
    }

    /// A new toxic instance: a fresh id and its metric handles, built once here.
    fn entry_id(&self, proxy: &str, toxic: crate::fault::Toxic) -> Arc<ToxicEntry> {
        Arc::new(ToxicEntry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            metrics: self.metrics.toxic(proxy, &toxic),
            toxic,
        })
    }

    /// `GET /proxies`: name → proxy.
    pub async fn list(&self) -> Value {
        let inner = self.inner.lock().await;
        Value::Object(inner.iter().map(|(k, e)| (k.clone(), e.view())).collect())
    }

    /// `GET /proxies/{p}`.
    pub async fn get(&self, name: &str) -> Result<Value, ApiError> {
        let inner = self.inner.lock().await;
        inner
            .get(name)
            .map(Entry::view)
            .ok_or_else(ApiError::proxy_not_found)
    }

    /// `POST /proxies`: create and (when enabled) start listening.
    pub async fn create(self: &Arc<Self>, req: ProxyRequest) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        if inner.contains_key(&req.name) {
            return Err(ApiError::proxy_exists());
        }
        let entry = self.build(req).await?;
        let view = entry.view();
        inner.insert(entry.name.to_string(), entry);
        Ok(view)
    }

    async fn build(self: &Arc<Self>, req: ProxyRequest) -> Result<Entry, ApiError> {
        let (tx, _) = watch::channel(Arc::new(Snapshot::default()));
        let mut entry = Entry {
            name: req.name.as_str().into(),
            requested_listen: req.listen.clone(),
            listen: req.listen,
            upstream: req.upstream,
            enabled: req.enabled,
            toxics: Vec::new(),
            tx,
            connections: Arc::new(AtomicU64::new(0)),
            running: None,
        };
        for t in req.toxics {
            if entry
                .toxics
                .iter()
                .any(|s| s.entry.toxic.name == t.toxic.name)
            {
                return Err(ApiError::toxic_exists().within(&format!("toxic {:?}", t.toxic.name)));
            }
            let slot = self.slot(&entry.name, t);
            entry.toxics.push(slot);
        }
        entry.publish();
        self.settle(&mut entry).await?;
        Ok(entry)
    }

    fn slot(self: &Arc<Self>, proxy: &Arc<str>, t: ToxicRequest) -> Slot {
        let entry = self.entry_id(proxy, t.toxic);
        let lease = t.lease.map(|d| (d, Instant::now()));
        if let Some((d, _)) = lease {
            self.spawn_reaper(proxy.to_string(), entry.id, d);
        }
        Slot { entry, lease }
    }

    /// `POST /populate`: create or replace each proxy; unchanged ones are left alone.
    pub async fn populate(
        self: &Arc<Self>,
        reqs: Vec<ProxyRequest>,
    ) -> Result<Vec<Value>, (ApiError, Vec<Value>)> {
        let mut inner = self.inner.lock().await;
        let mut done = Vec::new();
        for req in reqs {
            if let Some(existing) = inner.get_mut(&req.name) {
                let same_listen =
                    existing.requested_listen == req.listen || existing.listen == req.listen;
                if same_listen && existing.upstream == req.upstream {
                    existing.enabled = req.enabled;
                    if !req.toxics.is_empty() {
                        let name = existing.name.clone();
                        existing.toxics = req
                            .toxics
                            .into_iter()
                            .map(|t| self.slot(&name, t))
                            .collect();
                        existing.publish();
                    }
                    if let Err(e) = self.settle(existing).await {
                        existing.enabled = false;
                        return Err((e, done));
                    }
                    done.push(existing.view());
                    continue;
                }
                if let Some(mut old) = inner.remove(&req.name) {
                    old.stop().await;
                }
            }
            match self.build(req).await {
                Ok(entry) => {
                    done.push(entry.view());
                    inner.insert(entry.name.to_string(), entry);
                }
                Err(e) => return Err((e, done)),
            }
        }
        Ok(done)
    }

    /// `POST|PATCH /proxies/{p}`.
    pub async fn update(&self, name: &str, upd: ProxyUpdate) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(name).ok_or_else(ApiError::proxy_not_found)?;
        if let Some(upstream) = upd.upstream {
            entry.upstream = upstream;
            entry.publish();
        }
        let relisten = upd
            .listen
            .filter(|l| *l != entry.listen && *l != entry.requested_listen);
        let enabled = upd.enabled.unwrap_or(entry.enabled);
        if relisten.is_some() || !enabled {
            entry.stop().await;
        }
        if let Some(listen) = relisten {
            entry.requested_listen = listen.clone();
            entry.listen = listen;
        }
        entry.enabled = enabled;
        if let Err(e) = self.settle(entry).await {
            entry.enabled = false;
            return Err(e);
        }
        Ok(entry.view())
    }

    /// `DELETE /proxies/{p}`: close the listener and every connection.
    pub async fn delete(&self, name: &str) -> Result<(), ApiError> {
        let mut inner = self.inner.lock().await;
        let mut entry = inner.remove(name).ok_or_else(ApiError::proxy_not_found)?;
        entry.stop().await;
        Ok(())
    }

    /// `POST /reset`: enable every proxy and remove every toxic.
    pub async fn reset(&self) -> Result<(), ApiError> {
        let mut inner = self.inner.lock().await;
        for entry in inner.values_mut() {
            entry.toxics.clear();
            entry.publish();
            entry.enabled = true;
            self.settle(entry).await?;
        }
        Ok(())
    }

    /// `GET /proxies/{p}/toxics`.
    pub async fn toxics(&self, proxy: &str) -> Result<Value, ApiError> {
        let inner = self.inner.lock().await;
        inner
            .get(proxy)
            .map(Entry::toxics_view)
            .ok_or_else(ApiError::proxy_not_found)
    }

    /// `GET /proxies/{p}/toxics/{t}`.
    pub async fn toxic(&self, proxy: &str, toxic: &str) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        let slot = entry.slot(toxic)?;
        Ok(wire::toxic_view(&slot.entry, slot.lease.map(|l| l.0)))
    }

    /// `POST /proxies/{p}/toxics`.
    pub async fn add_toxic(
        self: &Arc<Self>,
        proxy: &str,
        req: ToxicRequest,
    ) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        if entry
            .toxics
            .iter()
            .any(|s| s.entry.toxic.name == req.toxic.name)
        {
            return Err(ApiError::toxic_exists());
        }
        let slot = self.slot(&entry.name, req);
        let view = wire::toxic_view(&slot.entry, slot.lease.map(|l| l.0));
        entry.toxics.push(slot);
        entry.publish();
        self.settle(entry).await?;
        Ok(view)
    }

    /// `POST|PATCH /proxies/{p}/toxics/{t}`: merge, keep the instance (no re-roll), renew any lease.
    pub async fn update_toxic(
        self: &Arc<Self>,
        proxy: &str,
        name: &str,
        patch: ToxicPatch,
    ) -> Result<Value, ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        let proxy_name = entry.name.to_string();
        let slot = entry.slot(name)?;
        let toxic = wire::patched(&slot.entry.toxic, &patch)?;
        // Same name, type and stream: the same metric handles.
        slot.entry = Arc::new(ToxicEntry {
            id: slot.entry.id,
            toxic,
            metrics: slot.entry.metrics.clone(),
        });
        let now = Instant::now();
        slot.lease = match (slot.lease, patch.lease) {
            (_, Some(d)) => {
                if slot.lease.is_none() {
                    self.spawn_reaper(proxy_name, slot.entry.id, d);
                }
                Some((d, now))
            }
            (Some((d, _)), None) => Some((d, now)),
            (None, None) => None,
        };
        let view = wire::toxic_view(&slot.entry, slot.lease.map(|l| l.0));
        entry.publish();
        self.settle(entry).await?;
        Ok(view)
    }

    /// `DELETE /proxies/{p}/toxics/{t}`.
    pub async fn remove_toxic(&self, proxy: &str, name: &str) -> Result<(), ApiError> {
        let mut inner = self.inner.lock().await;
        let entry = inner.get_mut(proxy).ok_or_else(ApiError::proxy_not_found)?;
        let before = entry.toxics.len();
        entry.toxics.retain(|s| s.entry.toxic.name != name);
        if entry.toxics.len() == before {
            return Err(ApiError::toxic_not_found());
        }
        entry.publish();
        self.settle(entry).await
    }

    /// Close every proxy's listener and connections.
    pub async fn close_all(&self) {
        let mut inner = self.inner.lock().await;
        for entry in inner.values_mut() {
            entry.stop().await;
        }
    }
}
