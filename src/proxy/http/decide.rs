//! Which faults one request gets: the proxy's HTTP toxics in order, then (when the proxy
//! enables them) the request's own `x-shakedown-fault-*` headers.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use http::request::Parts;
use http::{HeaderMap, HeaderName, StatusCode};

use super::{Front, RequestState};
use crate::fault::attrs::MAX_DELAY;
use crate::fault::http::{Answer, Verdict, faults};
use crate::fault::roll::DecisionKey;
use crate::proxy::{Snapshot, ToxicEntry};

/// The prefix of the request headers that ask for a fault (`"header_faults": true`).
pub(super) const HEADER_PREFIX: &str = "x-shakedown-fault-";

/// The marker name of a header-driven fault.
pub(super) const HEADER_FAULT: &str = "header";

/// One fault decided for a request: the toxic's name (the marker), what to do, and the toxic
/// instance that decided it (`None` for a fault header), whose changes its amounts follow.
#[derive(Debug)]
pub(super) struct Fault {
    pub(super) name: String,
    pub(super) verdict: Verdict,
    pub(super) toxic: Option<Arc<ToxicEntry>>,
}

/// A faulted request in flight, counted against its toxic's `max_active` until dropped.
#[derive(Debug)]
pub(super) struct ActiveGuard(Arc<RequestState>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the toxics decided for one request.
#[derive(Debug, Default)]
pub(super) struct Decision {
    pub(super) faults: Vec<Fault>,
    pub(super) guards: Vec<ActiveGuard>,
}

/// Count `state` as one more faulted request in flight, unless `max_active` (0: none) is reached.
fn admit(state: &Arc<RequestState>, max_active: u64) -> Option<ActiveGuard> {
    state
        .active
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |a| {
            (max_active == 0 || a < max_active).then_some(a + 1)
        })
        .ok()
        .map(|_| ActiveGuard(state.clone()))
}

/// Decide the HTTP toxics of `snapshot` in order for the request `parts`, counting matched,
/// faulted and passed requests, up to the first that answers or resets it (the later ones never
/// see the request). A matching request takes the toxic's next number; the draw is keyed by
/// (seed, proxy, number, toxic name), so the same seed and request sequence fault the same
/// requests.
pub(super) fn toxics(front: &Front, snapshot: &Snapshot, parts: &Parts) -> Decision {
    let mut decision = Decision::default();
    for entry in &snapshot.toxics {
        let Some(fault) = entry.toxic.kind.behaviour().http() else {
            continue;
        };
        let matcher = fault.matcher();
        if !matcher.matches(&parts.method, parts.uri.path(), &parts.headers) {
            continue;
        }
        entry.metrics.matched.inc();
        let number = entry.requests.number.fetch_add(1, Ordering::AcqRel) + 1;
        let key = DecisionKey {
            seed: front.seed,
            proxy: &front.name,
            connection: number,
            toxic: &entry.toxic.name,
        };
        let guard = faults(entry.toxic.toxicity, matcher, number, key.request_draw())
            .then(|| admit(&entry.requests, matcher.max_active))
            .flatten();
        match guard {
            Some(guard) => {
                entry.metrics.faulted.inc();
                decision.guards.push(guard);
                let verdict = fault.verdict(&mut key.request_rng());
                let ends = matches!(verdict, Verdict::Answer(_) | Verdict::Reset);
                decision.faults.push(Fault {
                    name: entry.toxic.name.clone(),
                    verdict,
                    toxic: Some(Arc::clone(entry)),
                });
                // An answer or a reset ends the exchange here: the later toxics never see
                // this request, so they neither match nor count it.
                if ends {
                    break;
                }
            }
            None => {
                entry.metrics.passed.inc();
            }
        }
    }
    decision
}

/// The most of a request's bad header value (or unknown header name) an error echoes, in
/// bytes; a longer one is cut there and marked `...` with its length.
const ECHOED: usize = 100;

/// A header value as an error shows it: quoted and escaped (not UTF-8: lossily), at most
/// [`ECHOED`] bytes of it.
fn echoed(bytes: &[u8]) -> String {
    let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(ECHOED)]);
    if bytes.len() > ECHOED {
        format!("{shown:?}... ({} bytes)", bytes.len())
    } else {
        format!("{shown:?}")
    }
}

/// A header name as an error shows it: at most [`ECHOED`] bytes of it (names are ASCII).
fn named(name: &HeaderName) -> String {
    let n = name.as_str();
    if n.len() > ECHOED {
        format!("{}... ({} bytes)", &n[..ECHOED], n.len())
    } else {
        n.to_string()
    }
}

/// The faults a request's headers ask for (`x-shakedown-fault-abort: 503`, `-delay: 200ms`,
/// `-reset: 1`), removing every `x-shakedown-fault-*` header so none reaches the upstream.
/// Whatever the headers' order, the delay comes first, then the abort or the reset (so the
/// delay always applies); asking for both an abort and a reset is an error. A bad value, an
/// unknown fault header or one given more than once is an error naming the header (a value
/// or name echoed at most [`ECHOED`] bytes long).
pub(super) fn from_headers(headers: &mut HeaderMap) -> Result<Vec<Fault>, String> {
    let names: Vec<_> = headers
        .keys()
        .filter(|k| k.as_str().starts_with(HEADER_PREFIX))
        .cloned()
        .collect();
    let (mut delay, mut end) = (None, None::<(&str, Verdict)>);
    for name in names {
        let given = headers.get_all(&name).iter().count();
        if given > 1 {
            return Err(format!(
                "{}: given {given} times, expected once",
                named(&name)
            ));
        }
        let value = headers.remove(&name);
        let raw = value.as_ref().map_or(&b""[..], |v| v.as_bytes());
        let text = std::str::from_utf8(raw).unwrap_or_default().trim();
        let what = &name.as_str()[HEADER_PREFIX.len()..];
        let bad =
            |expected: &str| format!("{}: expected {expected}, got {}", named(&name), echoed(raw));
        let verdict = match what {
            "abort" => {
                // Three digits, as a status is written (`+503` and `0503` are not).
                let status = (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| text.parse::<u16>().ok())
                    .flatten()
                    .filter(|s| (200..=599).contains(s))
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .ok_or_else(|| bad("a final HTTP status in 200..=599"))?;
                Verdict::Answer(Answer {
                    status,
                    headers: Vec::new(),
                    body: bytes::Bytes::new(),
                    trailers: Vec::new(),
                })
            }
            "delay" => {
                let d = humantime::parse_duration(text)
                    .ok()
                    .filter(|d| *d <= MAX_DELAY)
                    .ok_or_else(|| bad("a duration such as 200ms, at most 24h"))?;
                delay = Some(Verdict::Delay {
                    request: d,
                    response: Duration::ZERO,
                });
                continue;
            }
            "reset" => match text {
                "1" | "true" => Verdict::Reset,
                "0" | "false" => continue,
                _ => return Err(bad("1 or 0")),
            },
            _ => {
                return Err(format!(
                    "{}: unknown fault header (expected {HEADER_PREFIX}abort, -delay or -reset)",
                    named(&name)
                ));
            }
        };
        if let Some((first, _)) = end {
            return Err(format!(
                "{HEADER_PREFIX}{first} and {name}: both given, expected one of them"
            ));
        }
        end = Some((if what == "abort" { "abort" } else { "reset" }, verdict));
    }
    Ok(delay
        .into_iter()
        .chain(end.map(|(_, v)| v))
        .map(|verdict| Fault {
            name: HEADER_FAULT.to_string(),
            verdict,
            toxic: None,
        })
        .collect())
}
