//! `GET /events`: the server's live event stream (server-sent events), and the hub anyone in
//! the process publishes on ([`Events::publish`]).
//!
//! - `event: journal`, `id:` the event's `seq`, `data:` the journal event's JSON. A subscriber
//!   sending `Last-Event-ID: N` first gets every kept event after `N` (without it, every kept
//!   event), then the live ones, so a reloaded page loses nothing.
//! - `event: metrics` once a second while anyone listens (see `store::live`).
//! - Any other name a caller publishes (`load`, `probe`), `data:` its JSON.
//! - A comment line (`: heartbeat`) every [`HEARTBEAT`] so idle proxies keep the stream open.
//!
//! Bounded: at most [`MAX_SUBSCRIBERS`] streams at once (one more gets `503`); a subscriber
//! that falls [`BACKLOG`] messages behind, or cannot take a frame within [`SEND_TIMEOUT`], is
//! disconnected rather than buffered for. Every stream ends when the server shuts down.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::StreamBody;
use hyper::body::Frame;
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::journal::{Event, Journal};

/// Streams served at once.
pub const MAX_SUBSCRIBERS: usize = 32;
/// Messages a subscriber may fall behind the live stream before it is dropped.
pub const BACKLOG: usize = 1024;
/// How long one frame may wait for a subscriber's connection to take it.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The interval of the keep-alive comment.
pub const HEARTBEAT: Duration = Duration::from_secs(15);

/// One published message: its SSE event name, optional id and JSON text.
#[derive(Debug, Clone)]
struct Message {
    name: Arc<str>,
    id: Option<u64>,
    data: Arc<str>,
}

impl Message {
    fn frame(&self) -> Bytes {
        let id = self.id.map(|i| format!("id: {i}\n")).unwrap_or_default();
        // JSON text has no raw line breaks, so one `data:` line carries it.
        Bytes::from(format!("event: {}\n{id}data: {}\n\n", self.name, self.data))
    }
}

#[derive(Debug)]
struct Hub {
    tx: broadcast::Sender<Message>,
    slots: Arc<Semaphore>,
    stop: CancellationToken,
}

/// The event hub: cheap to clone, every clone publishes to the same subscribers.
#[derive(Debug, Clone)]
pub struct Events {
    hub: Arc<Hub>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// A hub with no subscribers.
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(BACKLOG);
        Self {
            hub: Arc::new(Hub {
                tx,
                slots: Arc::new(Semaphore::new(MAX_SUBSCRIBERS)),
                stop: CancellationToken::new(),
            }),
        }
    }

    /// Send `data` to every subscriber as `event: {event_name}` (no id, not replayed). The
    /// name must be a bare word (`load`, `probe`); others are refused with a warning.
    pub fn publish(&self, event_name: &str, data: Value) {
        if event_name.is_empty()
            || !event_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            tracing::warn!(
                event_name,
                "event not published: the name must be a bare word"
            );
            return;
        }
        self.send(Message {
            name: event_name.into(),
            id: None,
            data: data.to_string().into(),
        });
    }

    /// Publish a journal event (`event: journal`, `id:` its seq).
    pub(crate) fn publish_journal(&self, event: &Event) {
        let data = serde_json::to_string(event).unwrap_or_default();
        self.send(Message {
            name: "journal".into(),
            id: Some(event.seq),
            data: data.into(),
        });
    }

    fn send(&self, message: Message) {
        // No subscriber is not an error.
        let _ = self.hub.tx.send(message);
    }

    /// How many streams are open.
    pub fn subscribers(&self) -> usize {
        self.hub.tx.receiver_count()
    }

    /// End every stream (server shutdown).
    pub(crate) fn close(&self) {
        self.hub.stop.cancel();
    }

    /// A new stream body replaying `journal` after `last_id`; `None` when
    /// [`MAX_SUBSCRIBERS`] are already served.
    pub(crate) fn subscribe(&self, journal: &Journal, last_id: Option<u64>) -> Option<SseBody> {
        let permit = self.hub.slots.clone().try_acquire_owned().ok()?;
        // Subscribe before reading the journal, so nothing recorded in between is missed;
        // events already replayed are skipped by seq.
        let live = self.hub.tx.subscribe();
        let replay = journal.since(last_id.unwrap_or(0));
        let (tx, rx) = mpsc::channel::<Bytes>(64);
        let after = last_id.unwrap_or(0);
        tokio::spawn(pump(replay, after, live, tx, permit, self.hub.stop.clone()));
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
        });
        Some(StreamBody::new(Box::pin(stream)))
    }
}

/// The body of one `/events` answer.
pub(crate) type SseBody = StreamBody<
    std::pin::Pin<Box<dyn futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>> + Send>>,
>;

/// Feed one subscriber: the replay, then live messages and heartbeats, until it is slow,
/// gone, or the server stops.
async fn pump(
    replay: Vec<Event>,
    after: u64,
    mut live: broadcast::Receiver<Message>,
    tx: mpsc::Sender<Bytes>,
    _permit: OwnedSemaphorePermit,
    stop: CancellationToken,
) {
    let give = |frame: Bytes| {
        let tx = tx.clone();
        async move {
            matches!(
                tokio::time::timeout(SEND_TIMEOUT, tx.send(frame)).await,
                Ok(Ok(()))
            )
        }
    };
    if !give(Bytes::from_static(b": shakedown events\n\n")).await {
        return;
    }
    // Live journal events up to here were replayed (or were already seen by the client).
    let mut last_seq = after;
    for e in replay {
        last_seq = e.seq;
        let m = Message {
            name: "journal".into(),
            id: Some(e.seq),
            data: serde_json::to_string(&e).unwrap_or_default().into(),
        };
        if !give(m.frame()).await {
            return;
        }
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.tick().await;
    loop {
        let frame = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tx.closed() => return,
            _ = heartbeat.tick() => Bytes::from_static(b": heartbeat\n\n"),
            m = live.recv() => match m {
                Ok(m) if m.id.is_some_and(|id| id <= last_seq) => continue,
                Ok(m) => m.frame(),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "event stream subscriber too slow, disconnected");
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
        };
        if !give(frame).await {
            tracing::warn!("event stream subscriber not reading, disconnected");
            return;
        }
    }
}
