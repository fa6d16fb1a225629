//! What every toxic kind provides: its wire face ([`Kind`]) and what it does to a connection
//! ([`Behaviour`]), plus the verdict vocabulary the proxy applies ([`Item`], [`Ending`], [`OnOpen`]).
//!
//! A kind decides; the proxy acts. [`Behaviour::schedule`] is a pure function of the item, the
//! kind's attributes and its per-connection [`State`]: it returns when each piece leaves, and the
//! proxy holds the pieces until then. Because the proxy keeps what a toxic has scheduled in that
//! toxic's own queue, removing or updating the toxic re-times exactly those items.

use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use tokio::time::Instant;

use super::FaultError;
use super::attrs::{Attributes, MAX_DELAY};
use super::catalog::Attr;

/// A toxic kind's wire face: its type name, attributes and parser.
pub trait Kind: Behaviour + Sized {
    /// The wire `type`, e.g. `latency`.
    const NAME: &'static str;
    /// The attributes it takes, described (any other name is refused); `GET /toxic-types`
    /// serves them, so forms and `shakedown fault add` need no copy.
    const ATTRIBUTES: &'static [Attr];
    /// Whether it acts per request on an HTTP-mode proxy only (`http_*`, `grpc_abort`).
    const HTTP: bool = false;
    /// Parse and bound-check the wire attributes, naming the field on error.
    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError>;
}

/// What a toxic kind does to a connection. Every method has a do-nothing default, so a kind
/// implements only what it acts on.
pub trait Behaviour {
    /// The wire attributes, integers in the kind's documented units.
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Schedule a data or end-of-stream `item` that reached this toxic at `item.at()`: push the
    /// items it becomes, each stamped with when it leaves (never before it arrived). The default
    /// passes it on at once.
    fn schedule(&self, state: &mut State, item: Item, out: &mut Vec<Item>) {
        let _ = state;
        out.push(item);
    }

    /// When it tears the connection down, given when it first applied (`None`: never).
    fn deadline(&self, since: Instant) -> Option<(Instant, Ending)> {
        let _ = since;
        None
    }

    /// Whether it drops this direction's data (the `timeout` blackhole).
    fn blackholes(&self) -> bool {
        false
    }

    /// What it does when a connection opens; `None` for kinds that act on a stream's data.
    fn on_open(&self) -> Option<OnOpen> {
        None
    }

    /// The kind as an HTTP toxic (`http_*`, `grpc_abort`); `None` for TCP kinds.
    fn http(&self) -> Option<&dyn super::http::HttpFault> {
        None
    }

    /// Wire attributes that are not all integers (HTTP kinds); `None` uses
    /// [`Behaviour::to_attributes`].
    fn to_wire(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        None
    }
}

/// How a connection is torn down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// An orderly close: FIN on both sockets.
    Fin,
    /// A reset: both sockets closed with `SO_LINGER` 0, so peers get an RST.
    Rst,
}

/// What an open-time toxic decides for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnOpen {
    /// Reset it at once (`refuse_new`).
    Refuse,
    /// Dial the upstream this much later (`slow_open`).
    Delay(Duration),
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

    /// The same item due at `when`.
    pub fn retimed(mut self, when: Instant) -> Item {
        match &mut self {
            Item::Data { at, .. } | Item::Eof { at } | Item::Close { at, .. } => *at = when,
        }
        self
    }

    /// Its data length (0 for a close).
    pub fn len(&self) -> usize {
        match self {
            Item::Data { bytes, .. } => bytes.len(),
            _ => 0,
        }
    }

    /// Whether it carries no data.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A toxic's per-connection scratch state, kept across attribute updates.
#[derive(Debug)]
pub struct State {
    /// The toxic's own random generator on this connection (seeded, see [`super::roll`]).
    pub rng: StdRng,
    /// Release time of the last item it emitted (slicer: where the next chunk's slices start).
    pub last: Option<Instant>,
    /// Bandwidth: when the link is free again.
    pub free: Instant,
    /// limit_data: bytes passed so far.
    pub passed: u64,
}

impl State {
    /// Fresh state at `now`.
    pub fn new(rng: StdRng, now: Instant) -> Self {
        Self {
            rng,
            last: None,
            free: now,
            passed: 0,
        }
    }

    /// Forget the schedule (not the counts) before queued items are scheduled again at `now`.
    pub fn reschedule(&mut self, now: Instant) {
        self.last = None;
        self.free = now;
    }
}

/// `at + d`, saturating far in the future instead of overflowing (`Instant + Duration` panics
/// on overflow). Every delay a toxic adds goes through here.
pub fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d)
        .or_else(|| at.checked_add(MAX_DELAY))
        .unwrap_or(at)
}
