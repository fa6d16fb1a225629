//! The game day's event journal: every proxy and toxic change, note and probe state change,
//! timestamped on the server's monotonic clock and wall time, with who made it.
//!
//! The control server holds one [`Journal`] ([`super::ControlServer::journal`]). The API
//! records each change once, after it succeeded (a refused request records nothing), whatever
//! sent it: a Toxiproxy client, the experiment injector, the console. Anything else (a probe,
//! the game day's own lifecycle) records through [`Journal::record`]. The journal keeps the
//! last [`CAPACITY`] events and counts the ones it dropped; it is exported as JSON
//! ([`Journal::to_json`], `GET /journal.json`) and Markdown ([`Journal::to_markdown`],
//! `GET /journal.md`). Every event recorded is also published on the server's event stream
//! (`event: journal`, see [`super::events`]).

pub(crate) mod change;

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::{Value, json};

use crate::clock::Clock;

/// How many events the journal keeps; older ones are dropped and counted.
pub const CAPACITY: usize = 100_000;

/// What an event records. The wire name is the snake_case of the variant (`toxic_added`);
/// [`EventKind::Other`] carries any other name (`load`, `gameday_started`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// A proxy was created (`POST /proxies`).
    ProxyCreated,
    /// A proxy's listen, upstream, enabled or protocol changed.
    ProxyUpdated,
    /// A proxy was deleted.
    ProxyDeleted,
    /// A toxic was added.
    ToxicAdded,
    /// A toxic's toxicity or attributes changed.
    ToxicUpdated,
    /// A toxic was removed (by a request, or its lease expired).
    ToxicRemoved,
    /// `POST /reset`: every toxic removed, every proxy enabled.
    Reset,
    /// `POST /populate` (or a config file): proxies created or replaced.
    Populate,
    /// A participant's note.
    Note,
    /// A steady-state probe changed state.
    Probe,
    /// Any other kind, by its wire name.
    Other(String),
}

impl EventKind {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::ProxyCreated => "proxy_created",
            EventKind::ProxyUpdated => "proxy_updated",
            EventKind::ProxyDeleted => "proxy_deleted",
            EventKind::ToxicAdded => "toxic_added",
            EventKind::ToxicUpdated => "toxic_updated",
            EventKind::ToxicRemoved => "toxic_removed",
            EventKind::Reset => "reset",
            EventKind::Populate => "populate",
            EventKind::Note => "note",
            EventKind::Probe => "probe",
            EventKind::Other(name) => name,
        }
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What to record: everything of an [`Event`] but its number, times and actor.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What happened.
    pub kind: EventKind,
    /// The proxy it concerns, if any.
    pub proxy: Option<String>,
    /// The toxic it concerns, if any.
    pub toxic: Option<String>,
    /// Structured detail (the toxic or proxy as the API answered it; `{}` for none).
    pub detail: Value,
    /// One human line (`db: added latency_downstream …`).
    pub text: String,
}

impl Entry {
    /// An entry of `kind` with its human line, no proxy, toxic or detail.
    pub fn new(kind: EventKind, text: impl Into<String>) -> Self {
        Self {
            kind,
            proxy: None,
            toxic: None,
            detail: json!({}),
            text: text.into(),
        }
    }

    /// The same entry about `proxy`.
    pub fn proxy(mut self, proxy: &str) -> Self {
        self.proxy = Some(proxy.to_string());
        self
    }

    /// The same entry about `toxic`.
    pub fn toxic(mut self, toxic: &str) -> Self {
        self.toxic = Some(toxic.to_string());
        self
    }

    /// The same entry with this detail.
    pub fn detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }
}

/// One recorded event, as `/journal.json` and the event stream show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    /// 1, 2, 3… in recording order; never reused.
    pub seq: u64,
    /// Seconds since the server started, on its monotonic clock.
    pub t: f64,
    /// Wall time, RFC 3339 UTC with milliseconds.
    pub wall: String,
    /// Who or what made it (`console:alice`, `toxiproxy-rust/0.1.6`, `api`, `lease`).
    pub actor: String,
    /// What happened.
    pub kind: EventKind,
    /// The proxy it concerns.
    pub proxy: Option<String>,
    /// The toxic it concerns.
    pub toxic: Option<String>,
    /// Structured detail.
    pub detail: Value,
    /// One human line.
    pub text: String,
}

impl Event {
    /// `- [+12.345s 14:03:07] actor: text`, with actor and text escaped for Markdown.
    pub fn markdown_line(&self) -> String {
        let clock = self.wall.get(11..19).unwrap_or("??:??:??");
        format!(
            "- [+{:.3}s {clock}] {}: {}",
            self.t,
            escape_markdown(&self.actor),
            escape_markdown(&self.text)
        )
    }
}

#[derive(Debug, Default)]
struct Inner {
    events: VecDeque<Event>,
    next_seq: u64,
    dropped: u64,
}

/// The journal: bounded, shared by the API and whoever else records (cheap to share in an
/// `Arc`; recording takes a short lock and never awaits).
#[derive(Debug)]
pub struct Journal {
    clock: Clock,
    started: SystemTime,
    capacity: usize,
    inner: Mutex<Inner>,
    events: super::events::Events,
}

impl Journal {
    /// An empty journal whose clock starts now, publishing on `events`.
    pub fn new(events: super::events::Events) -> Self {
        Self::with_capacity(CAPACITY, events)
    }

    /// An empty journal keeping at most `capacity` events (at least 1).
    pub fn with_capacity(capacity: usize, events: super::events::Events) -> Self {
        Self {
            clock: Clock::start(),
            started: SystemTime::now(),
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                next_seq: 1,
                ..Inner::default()
            }),
            events,
        }
    }

    /// The clock events are timed on (its origin is the server's start).
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Record `entry` as made by `actor` now; returns the event (also published on the event
    /// stream as `event: journal`).
    pub fn record(&self, actor: &str, entry: Entry) -> Event {
        let event = {
            let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
            let event = Event {
                seq: inner.next_seq,
                t: self.clock.now().as_secs_f64(),
                wall: rfc3339(SystemTime::now()),
                actor: actor.to_string(),
                kind: entry.kind,
                proxy: entry.proxy,
                toxic: entry.toxic,
                detail: entry.detail,
                text: entry.text,
            };
            inner.next_seq += 1;
            if inner.events.len() == self.capacity {
                inner.events.pop_front();
                inner.dropped += 1;
            }
            inner.events.push_back(event.clone());
            // Published under the lock, so the stream sees events in `seq` order.
            self.events.publish_journal(&event);
            event
        };
        tracing::debug!(seq = event.seq, actor = %event.actor, text = %event.text, "journal");
        event
    }

    /// The events kept whose `seq` is above `after`, oldest first.
    pub fn since(&self, after: u64) -> Vec<Event> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .events
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect()
    }

    /// `GET /journal.json`: `{"started_wall": RFC3339, "events": [...], "dropped": n}`.
    pub fn to_json(&self) -> Value {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        json!({
            "started_wall": rfc3339(self.started),
            "events": inner.events,
            "dropped": inner.dropped,
        })
    }

    /// `GET /journal.md`: a title, when it started, any drop, then one line per event
    /// ([`Event::markdown_line`]).
    pub fn to_markdown(&self) -> String {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = format!("# Game day journal\n\nStarted {}.\n", rfc3339(self.started));
        if inner.dropped > 0 {
            let _ = writeln!(
                out,
                "\n{} earlier events were dropped (the journal keeps the last {}).",
                inner.dropped, self.capacity
            );
        }
        out.push('\n');
        for e in &inner.events {
            out.push_str(&e.markdown_line());
            out.push('\n');
        }
        out
    }
}

/// RFC 3339 UTC with milliseconds (`2026-11-30T14:03:07.123Z`).
fn rfc3339(at: SystemTime) -> String {
    let at = at.max(SystemTime::UNIX_EPOCH + Duration::ZERO);
    humantime::format_rfc3339_millis(at).to_string()
}

/// `text` on one line with every character that could open inline Markdown structure
/// (emphasis, code, links and images, HTML and entities, table cells, strikethrough)
/// backslash-escaped, and control characters (line breaks) as spaces. Block structure
/// (headings, lists, quotes) cannot start: the text never begins a line.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(capacity: usize) -> Journal {
        Journal::with_capacity(capacity, super::super::events::Events::new())
    }

    #[test]
    fn events_are_numbered_timed_and_bounded() {
        let j = journal(2);
        for i in 0..3 {
            j.record("api", Entry::new(EventKind::Note, format!("n{i}")));
        }
        let all = j.to_json();
        assert_eq!(all["dropped"], 1);
        let seqs: Vec<u64> = j.since(0).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(j.since(2).len(), 1);
        let e = &j.since(0)[0];
        assert_eq!((e.kind.as_str(), e.text.as_str()), ("note", "n1"));
        assert!(e.wall.ends_with('Z') && e.wall.len() == 24, "{}", e.wall);
        assert!(j.to_markdown().contains("1 earlier events were dropped"));
    }

    #[test]
    fn markdown_cannot_be_injected() {
        let j = journal(10);
        j.record(
            "console:eve",
            Entry::new(
                EventKind::Note,
                "ok\n# Owned\n<script>x</script> [a](http://x) *b* | c",
            ),
        );
        let md = j.to_markdown();
        let line = md.lines().last().unwrap_or_default();
        assert!(line.starts_with("- [+0."), "{line}");
        assert!(line.ends_with(
            "] console:eve: ok # Owned \\<script\\>x\\</script\\> \\[a\\](http://x) \\*b\\* \\| c"
        ), "{line}");
        assert_eq!(md.lines().filter(|l| l.starts_with('#')).count(), 1);
    }
}
