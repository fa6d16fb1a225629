//! The key-value map and its durability policy.
//!
//! Three policies, chosen at start:
//! - no log (no `--data`): memory only; a restart loses everything;
//! - write-then-ack (default with `--data`): a write is appended to the log
//!   and handed to the OS before it is acknowledged, so killing the process
//!   loses nothing acknowledged;
//! - write-behind (`--write-behind DUR`): a write is acknowledged at once and
//!   kept in memory; the flusher appends it to the log `DUR` after its
//!   acknowledgement (everything due at once goes in one batch). `kill -9`
//!   loses exactly the acknowledged writes still pending; [`Store::flush_all`]
//!   (run on SIGTERM/SIGINT) loses nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Mutex, Notify};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::log::{self, Entry, Log, LogError, Record};

/// An acknowledged write that is not in the log yet.
#[derive(Debug)]
struct Pending {
    due: Instant,
    record: Record,
}

#[derive(Debug, Default)]
struct Inner {
    map: HashMap<String, Entry>,
    log: Option<Log>,
    pending: VecDeque<Pending>,
    acknowledged: u64,
    flushed: u64,
    replayed: u64,
}

/// Counters shown by `/stats` (all since this process started, except `keys`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub(crate) struct StoreStats {
    /// Writes (PUT and DELETE) acknowledged to clients.
    pub acknowledged: u64,
    /// Writes appended to the log.
    pub flushed: u64,
    /// Acknowledged writes only in memory: what `kill -9` would lose now.
    pub pending: u64,
    /// Keys currently stored.
    pub keys: u64,
    /// Records replayed from the log at start.
    pub replayed: u64,
}

/// The store: a map behind one lock, so the log's order is the map's order.
#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
    write_behind: Option<Duration>,
    wake: Notify,
}

impl Store {
    /// A store with no log: memory only.
    pub(crate) fn in_memory() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            write_behind: None,
            wake: Notify::new(),
        }
    }

    /// A store backed by `log`, starting from what replaying it found.
    /// With `write_behind`, writes reach the log that long after their ack.
    pub(crate) fn with_log(log: Log, replay: log::Replay, write_behind: Option<Duration>) -> Self {
        Self {
            inner: Mutex::new(Inner {
                map: replay.map,
                log: Some(log),
                replayed: replay.records,
                ..Inner::default()
            }),
            write_behind,
            wake: Notify::new(),
        }
    }

    /// The value stored under `key`.
    pub(crate) async fn get(&self, key: &str) -> Option<Entry> {
        self.inner.lock().await.map.get(key).cloned()
    }

    /// Store `value` under `key`; returns the key's new version once the
    /// write is acknowledged (persisted first unless write-behind).
    pub(crate) async fn put(&self, key: &str, value: String) -> Result<u64, LogError> {
        let mut inner = self.inner.lock().await;
        let version = inner.map.get(key).map_or(1, |e| e.version + 1);
        let record = Record::Put {
            key: key.to_owned(),
            value,
            version,
        };
        self.write(&mut inner, record).await?;
        Ok(version)
    }

    /// Delete `key` (deleting a missing key is acknowledged too).
    pub(crate) async fn delete(&self, key: &str) -> Result<(), LogError> {
        let mut inner = self.inner.lock().await;
        let record = Record::Delete {
            key: key.to_owned(),
        };
        self.write(&mut inner, record).await
    }

    async fn write(&self, inner: &mut Inner, record: Record) -> Result<(), LogError> {
        match (&mut inner.log, self.write_behind) {
            (None, _) => {}
            (Some(_), Some(delay)) => {
                inner.pending.push_back(Pending {
                    due: Instant::now() + delay,
                    record: record.clone(),
                });
                self.wake.notify_one();
            }
            (Some(log), None) => {
                log.append([&record]).await?;
                inner.flushed += 1;
            }
        }
        log::apply(&mut inner.map, record);
        inner.acknowledged += 1;
        Ok(())
    }

    /// Append every pending write whose time has come (all of them with
    /// `everything`) in one batch. Returns how many were appended.
    async fn flush(&self, everything: bool) -> Result<usize, LogError> {
        let mut inner = self.inner.lock().await;
        let Inner { log, pending, .. } = &mut *inner;
        let Some(log) = log else { return Ok(0) };
        let now = Instant::now();
        let due = if everything {
            pending.len()
        } else {
            pending.iter().take_while(|p| p.due <= now).count()
        };
        if due == 0 {
            return Ok(0);
        }
        // Pop only after the append succeeded: a failed flush stays pending.
        log.append(pending.iter().take(due).map(|p| &p.record))
            .await?;
        pending.drain(..due);
        inner.flushed += due as u64;
        Ok(due)
    }

    /// Flush every pending write now (the graceful-stop path).
    pub(crate) async fn flush_all(&self) -> Result<usize, LogError> {
        self.flush(true).await
    }

    /// The write-behind flusher: sleeps until the oldest pending write is
    /// due, flushes what is due, repeats, until `stop` is cancelled. It is
    /// never interrupted in the middle of an append.
    pub(crate) async fn run_flusher(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let next = self.inner.lock().await.pending.front().map(|p| p.due);
            let wait = async {
                match next {
                    None => self.wake.notified().await,
                    Some(due) => tokio::time::sleep_until(due).await,
                }
            };
            tokio::select! {
                () = stop.cancelled() => return,
                () = wait => {}
            }
            match self.flush(false).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(records = n, "write-behind flush"),
                Err(e) => {
                    tracing::error!("write-behind flush failed, retrying in 1s: {e}");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
            }
        }
    }

    /// The counters for `/stats`.
    pub(crate) async fn stats(&self) -> StoreStats {
        let inner = self.inner.lock().await;
        StoreStats {
            acknowledged: inner.acknowledged,
            flushed: inner.flushed,
            pending: inner.pending.len() as u64,
            keys: inner.map.len() as u64,
            replayed: inner.replayed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open(path: &std::path::Path, write_behind: Option<Duration>) -> Arc<Store> {
        let (log, replay) = Log::open(path, false).await.unwrap();
        Arc::new(Store::with_log(log, replay, write_behind))
    }

    #[tokio::test]
    async fn write_then_ack_persists_before_returning() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.log");
        let store = open(&path, None).await;
        assert_eq!(store.put("a", "1".into()).await.unwrap(), 1);
        assert_eq!(store.put("a", "2".into()).await.unwrap(), 2);
        store.delete("gone").await.unwrap();
        let stats = store.stats().await;
        assert_eq!(
            (stats.acknowledged, stats.flushed, stats.pending),
            (3, 3, 0)
        );
        // Reopening without any flush or shutdown sees every acknowledged write.
        let again = open(&path, None).await;
        assert_eq!(again.get("a").await.unwrap().value, "2");
        assert_eq!(again.stats().await.replayed, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn write_behind_persists_each_write_its_delay_after_the_ack() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.log");
        let delay = Duration::from_secs(2);
        let store = open(&path, Some(delay)).await;
        let stop = CancellationToken::new();
        let flusher = tokio::spawn(store.clone().run_flusher(stop.clone()));
        store.put("early", "1".into()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        store.put("late", "2".into()).await.unwrap();
        assert_eq!(store.get("late").await.unwrap().value, "2");
        assert_eq!(store.stats().await.pending, 2);
        // 2.5 s in: `early` is due (at 2 s), `late` is not (at 3 s).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let stats = store.stats().await;
        assert_eq!((stats.flushed, stats.pending), (1, 1));
        stop.cancel();
        flusher.await.unwrap();
        // What a kill -9 now would leave on disk: only `early`.
        let crashed = open(&path, None).await;
        assert!(crashed.get("early").await.is_some());
        assert!(crashed.get("late").await.is_none());
        // A graceful stop flushes the rest.
        assert_eq!(store.flush_all().await.unwrap(), 1);
        let stopped = open(&path, None).await;
        assert_eq!(stopped.get("late").await.unwrap().version, 1);
    }

    #[tokio::test]
    async fn in_memory_acknowledges_without_a_log() {
        let store = Store::in_memory();
        store.put("k", "v".into()).await.unwrap();
        assert_eq!(store.flush_all().await.unwrap(), 0);
        let stats = store.stats().await;
        assert_eq!((stats.acknowledged, stats.flushed, stats.keys), (1, 0, 1));
    }
}
