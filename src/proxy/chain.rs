//! One direction's toxic state: applies the pure verdicts of [`crate::fault`] to chunks.
//!
//! A [`Chain`] is one *stage* per toxic on its stream, in creation order, like Toxiproxy's
//! pipeline. A chunk enters the first stage; a toxic that affects the connection schedules it
//! ([`Behaviour::schedule`](crate::fault::Behaviour::schedule)) and the stage holds the pieces
//! until they are due, then hands them to the next stage, which schedules them from that
//! moment. Because what a toxic has scheduled stays in its own stage:
//!
//! - **removing** a toxic (or lowering its toxicity so it no longer affects the connection)
//!   releases what it held at once, into the next stage;
//! - **updating** its attributes schedules what it holds again under the new attributes,
//!   from now (a faster `bandwidth` drains the queue at the new rate, a shorter `latency`
//!   releases what has waited long enough).
//!
//! [`Chain::sync`] follows a new [`Snapshot`], keeping each remaining toxic's state (by instance
//! id: the fixed toxicity draw, the random generator, when it first applied, bytes passed), so
//! an update never re-rolls anything.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::{Snapshot, ToxicEntry};
use crate::fault::Stream;
use crate::fault::kind::State;
pub(crate) use crate::fault::kind::{Ending, Item};
use crate::fault::roll::DecisionKey;

/// An item a stage holds: when it reached the stage, and the item stamped with when it leaves.
#[derive(Debug)]
struct Held {
    arrival: Instant,
    item: Item,
}

#[derive(Debug)]
struct Stage {
    entry: Arc<ToxicEntry>,
    draw: f64,
    since: Instant,
    counted: bool,
    state: State,
    queue: VecDeque<Held>,
}

impl Stage {
    fn affected(&self) -> bool {
        self.entry.toxic.toxicity.affects(self.draw)
    }

    /// Schedule `item` (arrived at `arrival`) and hold what it becomes, in order.
    fn admit(&mut self, arrival: Instant, item: Item) -> usize {
        let mut out = Vec::new();
        match item {
            close @ Item::Close { .. } => out.push(close),
            other => self
                .entry
                .toxic
                .kind
                .behaviour()
                .schedule(&mut self.state, other, &mut out),
        }
        let mut bytes = 0;
        for item in out {
            // Never leave before what is ahead, nor before arriving.
            let floor = self
                .queue
                .back()
                .map_or(arrival, |h| h.item.at().max(arrival));
            let at = item.at().max(floor);
            bytes += item.len();
            self.queue.push_back(Held {
                arrival,
                item: item.retimed(at),
            });
        }
        bytes
    }
}

/// The toxics of one direction of one connection.
#[derive(Debug)]
pub(crate) struct Chain {
    stream: Stream,
    seed: u64,
    proxy: Arc<str>,
    connection: u64,
    stages: Vec<Stage>,
    /// Items that left the last stage, in order, for the writer.
    ready: Vec<Item>,
    /// Data bytes held in stages.
    held: usize,
}

impl Chain {
    /// An empty chain for `stream` of connection number `connection` on `proxy`.
    pub(crate) fn new(stream: Stream, seed: u64, proxy: Arc<str>, connection: u64) -> Self {
        Self {
            stream,
            seed,
            proxy,
            connection,
            stages: Vec::new(),
            ready: Vec::new(),
            held: 0,
        }
    }

    /// Follow a new configuration. Toxics that remain keep their state and draw; new ones are
    /// rolled now and count `now` as when they first applied. What a removed (or no longer
    /// affecting) toxic held is released at `now`; what an updated one holds is scheduled again.
    pub(crate) fn sync(&mut self, snapshot: &Snapshot, now: Instant) {
        let mut old: Vec<Option<Stage>> = std::mem::take(&mut self.stages)
            .into_iter()
            .map(Some)
            .collect();
        // Items released by a stage that goes, with the old position they resume after.
        let mut released: Vec<(usize, Vec<Held>)> = Vec::new();
        // Each stage of the new chain with its old position (new toxics: after every old one).
        let mut kept: Vec<(usize, Stage)> = Vec::new();
        for entry in &snapshot.toxics {
            let toxic = &entry.toxic;
            if toxic.stream != self.stream || toxic.kind.acts_on_open() || toxic.kind.is_http() {
                continue;
            }
            let found = old
                .iter()
                .position(|s| s.as_ref().is_some_and(|s| s.entry.id == entry.id));
            match found.and_then(|i| old[i].take().map(|s| (i, s))) {
                Some((i, mut stage)) => {
                    if let Some(held) = self.follow(&mut stage, entry, now) {
                        released.push((i, held));
                    }
                    kept.push((i, stage));
                }
                None => kept.push((usize::MAX, self.stage(entry, now))),
            }
        }
        for (i, stage) in old.into_iter().enumerate() {
            if let Some(mut stage) = stage {
                released.push((i, stage.queue.drain(..).collect()));
            }
        }
        let positions: Vec<usize> = kept.iter().map(|(i, _)| *i).collect();
        self.stages = kept.into_iter().map(|(_, s)| s).collect();
        for stage in &mut self.stages {
            if stage.affected() && !stage.counted {
                stage.counted = true;
                stage.entry.metrics.connections.inc();
            }
        }
        self.resume(released, &positions, now);
    }

    /// A new toxic's stage: its draw and generator rolled now, `now` as when it first applied.
    fn stage(&self, entry: &Arc<ToxicEntry>, now: Instant) -> Stage {
        let key = DecisionKey {
            seed: self.seed,
            proxy: &self.proxy,
            connection: self.connection,
            toxic: &entry.toxic.name,
        };
        Stage {
            entry: entry.clone(),
            draw: key.draw(),
            since: now,
            counted: false,
            state: State::new(key.rng(), now),
            queue: VecDeque::new(),
        }
    }

    /// An existing stage follows its toxic's update: what it holds is released (it no longer
    /// affects the connection) or scheduled again (its attributes changed).
    fn follow(
        &mut self,
        stage: &mut Stage,
        entry: &Arc<ToxicEntry>,
        now: Instant,
    ) -> Option<Vec<Held>> {
        let changed = stage.entry.toxic.kind != entry.toxic.kind;
        stage.entry = entry.clone();
        if !stage.affected() {
            return Some(stage.queue.drain(..).collect());
        }
        if changed {
            self.held -= stage.queue.iter().map(|h| h.item.len()).sum::<usize>();
            let queue = std::mem::take(&mut stage.queue);
            stage.state.reschedule(now);
            for h in queue {
                self.held += stage.admit(h.arrival, h.item.retimed(h.arrival));
            }
        }
        None
    }

    /// Items let go by stages (by old position) enter the first stage that came after theirs.
    fn resume(&mut self, mut released: Vec<(usize, Vec<Held>)>, positions: &[usize], now: Instant) {
        released.sort_by_key(|(i, _)| *i);
        for (i, items) in released {
            let next = positions
                .iter()
                .position(|p| *p > i)
                .unwrap_or(positions.len());
            for h in items {
                self.held -= h.item.len();
                self.enter(next, now, h.item.retimed(now));
            }
        }
    }

    /// Feed `item`, which arrived at `at`, to stage `from` onward (skipping stages that do not
    /// affect the connection).
    fn enter(&mut self, from: usize, at: Instant, item: Item) {
        match self.stages.iter().skip(from).position(Stage::affected) {
            Some(i) => {
                let stage = &mut self.stages[from + i];
                if !matches!(item, Item::Close { .. }) {
                    stage.entry.metrics.bytes.inc_by(item.len() as u64);
                }
                self.held += stage.admit(at, item);
            }
            None => self.ready.push(item),
        }
    }

    /// Move every item that is due at `now` on through the stages; the items that left the
    /// last stage, in order.
    pub(crate) fn advance(&mut self, now: Instant) -> Vec<Item> {
        for i in 0..self.stages.len() {
            while let Some(h) = self.stages[i].queue.front() {
                if h.item.at() > now {
                    break;
                }
                let Some(h) = self.stages[i].queue.pop_front() else {
                    break;
                };
                self.held -= h.item.len();
                let at = h.item.at();
                self.enter(i + 1, at, h.item);
            }
        }
        std::mem::take(&mut self.ready)
    }

    /// When the next held item is due, if any.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.stages
            .iter()
            .filter_map(|s| s.queue.front().map(|h| h.item.at()))
            .min()
    }

    /// Data bytes held by the toxics.
    pub(crate) fn held_bytes(&self) -> usize {
        self.held
    }

    /// Nothing held and nothing ready.
    pub(crate) fn is_drained(&self) -> bool {
        self.ready.is_empty() && self.stages.iter().all(|s| s.queue.is_empty())
    }

    /// No toxic affects this direction: the pipe may copy straight through.
    pub(crate) fn is_idle(&self) -> bool {
        !self.stages.iter().any(Stage::affected)
    }

    /// An affected toxic is dropping this direction's data (`timeout`).
    pub(crate) fn blackholed(&self) -> bool {
        self.stages
            .iter()
            .any(|s| s.affected() && s.entry.toxic.kind.behaviour().blackholes())
    }

    /// The earliest time a toxic tears the connection down, and how.
    pub(crate) fn deadline(&self) -> Option<(Instant, Ending)> {
        self.stages
            .iter()
            .filter(|s| s.affected())
            .filter_map(|s| s.entry.toxic.kind.behaviour().deadline(s.since))
            .min_by_key(|(at, _)| *at)
    }

    /// Account `n` bytes dropped by the blackhole.
    pub(crate) fn drop_bytes(&mut self, n: usize) {
        for s in self.stages.iter().filter(|s| s.affected()) {
            if s.entry.toxic.kind.behaviour().blackholes() {
                s.entry.metrics.bytes.inc_by(n as u64);
            }
        }
    }

    /// A chunk that arrived at `at`.
    pub(crate) fn data(&mut self, at: Instant, bytes: Bytes) {
        self.enter(0, at, Item::Data { at, bytes });
    }

    /// The source's close, seen at `at`.
    pub(crate) fn eof(&mut self, at: Instant) {
        self.enter(0, at, Item::Eof { at });
    }
}

/// How much data the toxics and the writer may hold before reading pauses
/// (bounded memory under a long latency or a low bandwidth).
pub(crate) const MAX_QUEUED_BYTES: usize = 4 * 1024 * 1024;

/// The longest sleep the pipe takes when nothing is due (a bound, not a timer).
pub(crate) const IDLE: Duration = Duration::from_secs(3600);

#[cfg(test)]
mod tests;
