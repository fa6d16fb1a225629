//! One direction's toxic state: applies the pure verdicts of [`crate::fault`] to chunks.
//!
//! A [`Chain`] holds, for every toxic on its stream, the per-connection state
//! (the fixed toxicity draw, the random generator, when the toxic first
//! applied, bytes passed, when the link is free). [`Chain::sync`] follows a
//! new [`Snapshot`], keeping that state for toxics that are still there (by
//! instance id), so an attribute or toxicity update never re-rolls anything.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::metrics::ToxicMetrics;
use super::{Snapshot, ToxicEntry};
use crate::fault::roll::DecisionKey;
use crate::fault::{Stream, ToxicKind};

/// How a connection is torn down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// An orderly close: FIN on both sockets.
    Fin,
    /// A reset: both sockets closed with `SO_LINGER` 0, so peers get an RST.
    Rst,
}

/// Something for the writer to do at a given time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// Write these bytes.
    Data {
        /// When.
        at: Instant,
        /// What.
        bytes: Bytes,
    },
    /// Pass the source's close on (shut down the write side).
    Eof {
        /// When.
        at: Instant,
    },
    /// Tear the whole connection down.
    Close {
        /// When.
        at: Instant,
        /// How.
        how: Ending,
    },
}

impl Item {
    /// When the item is due.
    pub fn at(&self) -> Instant {
        match self {
            Item::Data { at, .. } | Item::Eof { at } | Item::Close { at, .. } => *at,
        }
    }

    fn set_at(&mut self, when: Instant) {
        match self {
            Item::Data { at, .. } | Item::Eof { at } | Item::Close { at, .. } => *at = when,
        }
    }
}

#[derive(Debug)]
struct Active {
    entry: Arc<ToxicEntry>,
    draw: f64,
    rng: StdRng,
    since: Instant,
    counted: bool,
    metrics: ToxicMetrics,
    /// Release time of the last item this toxic emitted (keeps order).
    last: Option<Instant>,
    /// Bandwidth: when the link is free again.
    free: Instant,
    /// limit_data: bytes passed so far.
    passed: u64,
}

impl Active {
    fn affected(&self) -> bool {
        self.entry.toxic.toxicity.affects(self.draw)
    }
}

/// The toxics of one direction of one connection.
#[derive(Debug)]
pub struct Chain {
    stream: Stream,
    seed: u64,
    proxy: Arc<str>,
    connection: u64,
    toxics: Vec<Active>,
}

impl Chain {
    /// An empty chain for `stream` of connection number `connection` on `proxy`.
    pub fn new(stream: Stream, seed: u64, proxy: Arc<str>, connection: u64) -> Self {
        Self {
            stream,
            seed,
            proxy,
            connection,
            toxics: Vec::new(),
        }
    }

    /// Follow a new configuration. Toxics that remain keep their state and
    /// draw; new ones are rolled now and count `now` as when they first applied.
    pub fn sync(&mut self, snapshot: &Snapshot, now: Instant) {
        let mut old = std::mem::take(&mut self.toxics);
        for entry in &snapshot.toxics {
            let toxic = &entry.toxic;
            if toxic.stream != self.stream || toxic.kind.acts_on_open() {
                continue;
            }
            let active = match old.iter().position(|a| a.entry.id == entry.id) {
                Some(i) => {
                    let mut a = old.swap_remove(i);
                    a.entry = entry.clone();
                    a
                }
                None => {
                    let key = DecisionKey {
                        seed: self.seed,
                        proxy: &self.proxy,
                        connection: self.connection,
                        toxic: &toxic.name,
                    };
                    Active {
                        entry: entry.clone(),
                        draw: key.draw(),
                        rng: key.rng(),
                        since: now,
                        counted: false,
                        metrics: entry.metrics.clone(),
                        last: None,
                        free: now,
                        passed: 0,
                    }
                }
            };
            self.toxics.push(active);
        }
        for a in &mut self.toxics {
            if a.affected() && !a.counted {
                a.counted = true;
                a.metrics.connections.inc();
            }
        }
    }

    /// No toxic affects this direction: the pipe may copy straight through.
    pub fn is_idle(&self) -> bool {
        !self.toxics.iter().any(Active::affected)
    }

    /// An affected `timeout` toxic is dropping this direction's data.
    pub fn blackholed(&self) -> bool {
        self.toxics
            .iter()
            .any(|a| a.affected() && matches!(a.entry.toxic.kind, ToxicKind::Timeout(_)))
    }

    /// The earliest time a toxic tears the connection down, and how.
    pub fn deadline(&self) -> Option<(Instant, Ending)> {
        self.toxics
            .iter()
            .filter(|a| a.affected())
            .filter_map(|a| match &a.entry.toxic.kind {
                ToxicKind::Timeout(t) => t.deadline(a.since).map(|d| (d, Ending::Fin)),
                ToxicKind::ResetPeer(t) => Some((t.deadline(a.since), Ending::Rst)),
                _ => None,
            })
            .min_by_key(|(at, _)| *at)
    }

    /// Account `n` bytes dropped by the blackhole.
    pub fn drop_bytes(&mut self, n: usize) {
        for a in self.toxics.iter().filter(|a| a.affected()) {
            if matches!(a.entry.toxic.kind, ToxicKind::Timeout(_)) {
                a.metrics.bytes.inc_by(n as u64);
            }
        }
    }

    /// The items for a chunk that arrived at `at`.
    pub fn data(&mut self, at: Instant, bytes: Bytes) -> Vec<Item> {
        self.run(vec![Item::Data { at, bytes }])
    }

    /// The items for the source's close seen at `at`.
    pub fn eof(&mut self, at: Instant) -> Vec<Item> {
        self.run(vec![Item::Eof { at }])
    }

    fn run(&mut self, mut items: Vec<Item>) -> Vec<Item> {
        for a in self.toxics.iter_mut().filter(|a| a.affected()) {
            let data: u64 = items
                .iter()
                .map(|i| match i {
                    Item::Data { bytes, .. } => bytes.len() as u64,
                    _ => 0,
                })
                .sum();
            a.metrics.bytes.inc_by(data);
            items = apply(a, items);
        }
        items
    }
}

fn apply(a: &mut Active, items: Vec<Item>) -> Vec<Item> {
    let kind = a.entry.toxic.kind.clone();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match (&kind, item) {
            (_, item @ Item::Close { .. }) => out.push(item),
            (ToxicKind::Latency(t), mut item) => {
                let at = t.release(item.at(), a.last, &mut a.rng);
                a.last = Some(at);
                item.set_at(at);
                out.push(item);
            }
            (ToxicKind::Bandwidth(t), Item::Data { at, bytes }) => {
                let (pieces, free) = t.schedule(at, a.free, bytes.len());
                a.free = free;
                let mut offset = 0;
                for p in pieces {
                    out.push(Item::Data {
                        at: p.release,
                        bytes: bytes.slice(offset..offset + p.len),
                    });
                    offset += p.len;
                }
            }
            (ToxicKind::Bandwidth(_), Item::Eof { at }) => {
                out.push(Item::Eof { at: at.max(a.free) })
            }
            (ToxicKind::Slicer(t), Item::Data { at, bytes }) => {
                let mut offset = 0;
                let start = a.last.map_or(at, |l| l.max(at));
                for (i, len) in t.slices(bytes.len(), &mut a.rng).into_iter().enumerate() {
                    let when = start + t.delay * u32::try_from(i).unwrap_or(u32::MAX);
                    a.last = Some(when);
                    out.push(Item::Data {
                        at: when,
                        bytes: bytes.slice(offset..offset + len),
                    });
                    offset += len;
                }
            }
            (ToxicKind::LimitData(t), Item::Data { at, bytes }) => {
                let verdict = t.admit(a.passed, bytes.len());
                a.passed += verdict.pass as u64;
                if verdict.pass > 0 {
                    out.push(Item::Data {
                        at,
                        bytes: bytes.slice(..verdict.pass),
                    });
                }
                if verdict.close {
                    out.push(Item::Close {
                        at,
                        how: Ending::Fin,
                    });
                    break;
                }
            }
            (ToxicKind::SlowClose(t), Item::Eof { at }) => {
                out.push(Item::Eof { at: t.close_at(at) })
            }
            (_, item) => out.push(item),
        }
    }
    out
}

/// How far ahead of now a queued item may be scheduled before reading pauses
/// (bounded memory under a long latency or a low bandwidth).
pub const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

/// The longest sleep the pipe takes when nothing is due (a bound, not a timer).
pub const IDLE: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::{Latency, LimitData, Toxic, Toxicity};
    use crate::proxy::Metrics;

    fn snapshot(toxics: Vec<(u64, Toxic)>) -> Snapshot {
        Snapshot {
            upstream: "127.0.0.1:1".into(),
            toxics: toxics
                .into_iter()
                .map(|(id, toxic)| {
                    let metrics = Metrics::new().toxic("p", &toxic);
                    Arc::new(ToxicEntry { id, toxic, metrics })
                })
                .collect(),
        }
    }

    fn toxic(name: &str, toxicity: f64, kind: ToxicKind) -> Toxic {
        Toxic {
            name: name.into(),
            stream: Stream::Downstream,
            toxicity: Toxicity::new(toxicity).unwrap(),
            kind,
        }
    }

    fn chain(connection: u64) -> Chain {
        Chain::new(Stream::Downstream, 9, "p".into(), connection)
    }

    #[tokio::test(start_paused = true)]
    async fn updates_keep_state_and_never_reroll() {
        let lat = ToxicKind::Latency(Latency {
            latency: Duration::from_millis(100),
            jitter: Duration::ZERO,
        });
        // Find a connection this toxic affects at 0.5 and one it does not.
        let hit = (1..100)
            .find(|c| {
                let mut ch = chain(*c);
                ch.sync(
                    &snapshot(vec![(1, toxic("l", 0.5, lat.clone()))]),
                    Instant::now(),
                );
                !ch.is_idle()
            })
            .unwrap();
        let mut ch = chain(hit);
        let now = Instant::now();
        ch.sync(&snapshot(vec![(1, toxic("l", 0.5, lat.clone()))]), now);
        let items = ch.data(now, Bytes::from_static(b"abc"));
        assert_eq!(items[0].at() - now, Duration::from_millis(100));
        // Raising the toxicity keeps it affected; the same draw is compared.
        ch.sync(&snapshot(vec![(1, toxic("l", 0.9, lat.clone()))]), now);
        assert!(!ch.is_idle());
        // Toxicity 0 turns it off without touching anything else.
        ch.sync(&snapshot(vec![(1, toxic("l", 0.0, lat))]), now);
        assert!(ch.is_idle());
    }

    #[tokio::test(start_paused = true)]
    async fn limit_data_counts_across_chunks_then_closes() {
        let mut ch = chain(1);
        let lim = ToxicKind::LimitData(LimitData { bytes: 5 });
        let now = Instant::now();
        ch.sync(&snapshot(vec![(1, toxic("lim", 1.0, lim.clone()))]), now);
        assert_eq!(ch.data(now, Bytes::from_static(b"abc")).len(), 1);
        // An update (same id) keeps the count.
        ch.sync(&snapshot(vec![(1, toxic("lim", 1.0, lim))]), now);
        let items = ch.data(now, Bytes::from_static(b"defg"));
        assert_eq!(
            items,
            vec![
                Item::Data {
                    at: now,
                    bytes: Bytes::from_static(b"de")
                },
                Item::Close {
                    at: now,
                    how: Ending::Fin
                },
            ]
        );
    }
}
