//! The fault vocabulary: toxics as plain data with pure, seeded decisions.
//!
//! A [`Toxic`] is what the control API stores: a name, the [`Stream`] it
//! acts on, a [`Toxicity`] and a [`ToxicKind`] carrying typed attributes
//! (`Duration`s and byte counts, never bare milliseconds). The proxy
//! (`crate::proxy`) only applies the verdicts a kind returns.
//!
//! The wire format is Toxiproxy's: `{"type": "latency", "attributes":
//! {"latency": 100, "jitter": 10}}` with the units each kind documents.
//! [`ToxicKind::from_wire`] validates a type name and attribute map into a
//! kind, naming the offending field on error, and [`ToxicKind::attributes`]
//! renders the kind back. Random choices come from [`roll`], which derives
//! every draw from the seed and the identity of the decision, never from
//! timing.
//!
//! # A new fault goes here
//!
//! One file and one line. Write `fault/my_fault.rs` with a struct that implements
//! [`kind::Kind`] (its wire `NAME`, `ATTRIBUTES` described with [`catalog::Attr`] and a
//! bound-checked `from_attributes`, using
//! [`Attributes`]) and [`kind::Behaviour`] (rendering, and whichever of `schedule`, `deadline`,
//! `blackholes`, `on_open` it acts through), then add one `MyFault(MyFault)` arm to the
//! `toxic_kinds!` list below. The type list, parsing, rendering and the proxy's dispatch all
//! follow from that list; nothing else matches on the kind. HTTP faults follow the same pattern.

pub mod attrs;
mod bandwidth;
pub mod catalog;
pub mod http;
pub mod kind;
mod latency;
mod limit_data;
mod noop;
mod refuse_new;
mod reset_peer;
pub mod roll;
mod slicer;
mod slow_close;
mod slow_open;
mod timeout;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use attrs::Attributes;
pub use bandwidth::{Bandwidth, MAX_RATE};
pub use http::{GrpcAbort, HttpAbort, HttpDelay, HttpReset, HttpTamper, HttpThrottle};
pub use kind::{Behaviour, Kind};
pub use latency::Latency;
pub use limit_data::LimitData;
pub use noop::Noop;
pub use refuse_new::RefuseNew;
pub use reset_peer::ResetPeer;
pub use slicer::Slicer;
pub use slow_close::SlowClose;
pub use slow_open::SlowOpen;
pub use timeout::Timeout;

/// Which direction of a connection a toxic acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    /// Client → upstream (requests).
    Upstream,
    /// Upstream → client (responses). Toxiproxy's default.
    #[default]
    Downstream,
}

impl Stream {
    /// The wire name, `upstream` or `downstream`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Upstream => "upstream",
            Stream::Downstream => "downstream",
        }
    }

    /// Parse a wire name.
    pub fn parse(text: &str) -> Result<Self, FaultError> {
        match text {
            "upstream" => Ok(Stream::Upstream),
            "downstream" => Ok(Stream::Downstream),
            _ => Err(FaultError::InvalidStream(text.to_string())),
        }
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The probability, in `0.0..=1.0`, that a toxic affects a given connection.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Toxicity(f64);

impl Toxicity {
    /// Every connection is affected (the default).
    pub const ALWAYS: Toxicity = Toxicity(1.0);

    /// A validated toxicity.
    pub fn new(value: f64) -> Result<Self, FaultError> {
        if value.is_finite() && (0.0..=1.0).contains(&value) {
            Ok(Toxicity(value))
        } else {
            Err(FaultError::field(
                "toxicity",
                format!("must be between 0 and 1, got {value}"),
            ))
        }
    }

    /// The probability as a number.
    pub fn value(self) -> f64 {
        self.0
    }

    /// Whether a connection whose fixed draw (uniform in `[0, 1)`) is `draw`
    /// is affected: `draw < toxicity`. Toxicity 1 affects every connection,
    /// 0 none, and raising the toxicity only ever adds connections.
    pub fn affects(self, draw: f64) -> bool {
        draw < self.0
    }
}

impl Default for Toxicity {
    fn default() -> Self {
        Toxicity::ALWAYS
    }
}

/// As a plain number: `1`, `0.5` (never `1.0`): how the journal and the `fault` commands print
/// it.
impl fmt::Display for Toxicity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A toxic view's (the control API's JSON for one toxic) `toxicity` as printed: as
/// [`Toxicity`]'s `Display`; `1` when absent, the number as given when out of range.
pub fn toxicity_text(view: &Value) -> String {
    match view["toxicity"].as_f64() {
        None => Toxicity::ALWAYS.to_string(),
        Some(t) => Toxicity::new(t).map_or_else(|_| t.to_string(), |t| t.to_string()),
    }
}

/// A fault that can be attached to a proxy.
#[derive(Debug, Clone, PartialEq)]
pub struct Toxic {
    /// Unique per proxy; defaults to `<type>_<stream>`.
    pub name: String,
    /// The direction it acts on.
    pub stream: Stream,
    /// The probability that it affects a given connection.
    pub toxicity: Toxicity,
    /// What it does, with typed attributes.
    pub kind: ToxicKind,
}

/// The one list of toxic kinds: generates [`ToxicKind`], its type list, and the only
/// dispatch on the kind (name, attribute names, parser, [`Behaviour`]).
macro_rules! toxic_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident($ty:ty), )*) => {
        /// What a toxic does. One variant per kind; each kind's decisions live in its own module.
        #[derive(Debug, Clone, PartialEq)]
        pub enum ToxicKind {
            $( $(#[doc = $doc])* $variant($ty), )*
        }

        impl ToxicKind {
            /// Every type name the control API accepts.
            pub const TYPES: &'static [&'static str] = &[$( <$ty as Kind>::NAME ),*];

            /// Every kind described (its line's doc comment, HTTP or not, its attributes), in
            /// [`ToxicKind::TYPES`] order: what `GET /toxic-types` serves.
            pub const CATALOG: &'static [catalog::KindInfo] = &[$(
                catalog::KindInfo {
                    name: <$ty as Kind>::NAME,
                    doc: concat!($($doc, "\n",)*),
                    http: <$ty as Kind>::HTTP,
                    attributes: <$ty as Kind>::ATTRIBUTES,
                }
            ),*];

            /// The wire type name.
            pub fn type_name(&self) -> &'static str {
                match self { $( ToxicKind::$variant(_) => <$ty as Kind>::NAME, )* }
            }

            /// The attributes this kind understands.
            pub fn attribute_specs(&self) -> &'static [catalog::Attr] {
                match self { $( ToxicKind::$variant(_) => <$ty as Kind>::ATTRIBUTES, )* }
            }

            /// What the kind does to a connection.
            pub fn behaviour(&self) -> &dyn Behaviour {
                match self { $( ToxicKind::$variant(t) => t, )* }
            }

            fn parse(type_name: &str, a: &Attributes<'_>) -> Result<Self, FaultError> {
                $(
                    if type_name == <$ty as Kind>::NAME {
                        return Ok(ToxicKind::$variant(<$ty as Kind>::from_attributes(a)?));
                    }
                )*
                Err(FaultError::InvalidType(type_name.to_string()))
            }
        }
    };
}

toxic_kinds! {
    /// Delay each chunk by a fixed time plus jitter, measured from its arrival.
    Latency(Latency),
    /// Limit throughput to a rate.
    Bandwidth(Bandwidth),
    /// Delay the close (FIN) after the source has closed.
    SlowClose(SlowClose),
    /// Drop all data (a blackhole), and close after a timeout unless it is 0.
    Timeout(Timeout),
    /// Reset the connection (a real TCP RST) after a timeout.
    ResetPeer(ResetPeer),
    /// Cut chunks into smaller slices with a delay between them.
    Slicer(Slicer),
    /// Close the connection once a number of bytes has passed.
    LimitData(LimitData),
    /// Does nothing; useful to test the plumbing and the metrics.
    Noop(Noop),
    /// Delay before the upstream is dialled (shakedown extension).
    SlowOpen(SlowOpen),
    /// Reset new connections at once, leaving existing ones alone (shakedown extension).
    RefuseNew(RefuseNew),
    /// HTTP mode: answer a status without contacting the upstream.
    HttpAbort(HttpAbort),
    /// HTTP mode: delay a request before forwarding, and its response head.
    HttpDelay(HttpDelay),
    /// HTTP mode: drop the client connection with a TCP RST.
    HttpReset(HttpReset),
    /// HTTP mode: throttle a response body.
    HttpThrottle(HttpThrottle),
    /// HTTP mode: rewrite the upstream's response.
    HttpTamper(HttpTamper),
    /// HTTP mode: a gRPC error status in trailers with HTTP 200.
    GrpcAbort(GrpcAbort),
}

impl ToxicKind {
    /// Validate a type name and its wire attributes (missing ones default to
    /// 0, as in Toxiproxy; unknown ones are rejected; every duration and size is bounded,
    /// see [`attrs::MAX_DELAY`] and [`attrs::MAX_BYTES`]).
    pub fn from_wire(type_name: &str, attributes: &Map<String, Value>) -> Result<Self, FaultError> {
        let a = Attributes::new(attributes);
        let kind = Self::parse(type_name, &a)?;
        a.reject_unknown(&kind.attribute_names())?;
        Ok(kind)
    }

    /// The attribute names this kind understands.
    pub fn attribute_names(&self) -> Vec<&'static str> {
        self.attribute_specs().iter().map(|a| a.name).collect()
    }

    /// The wire attributes (integers in each kind's documented unit).
    pub fn attributes(&self) -> Map<String, Value> {
        if let Some(wire) = self.behaviour().to_wire() {
            return wire;
        }
        self.behaviour()
            .to_attributes()
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect()
    }

    /// Whether this kind acts when a connection is opened rather than on a
    /// stream's data (`slow_open`, `refuse_new`).
    pub fn acts_on_open(&self) -> bool {
        self.behaviour().on_open().is_some()
    }

    /// Whether this is an HTTP toxic, which acts per request on an HTTP-mode proxy only.
    pub fn is_http(&self) -> bool {
        self.behaviour().http().is_some()
    }
}

/// A toxic that cannot be built from what was supplied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// The `type` is not one of [`ToxicKind::TYPES`].
    #[error("invalid toxic type: {0:?} (expected one of {types})", types = ToxicKind::TYPES.join(", "))]
    InvalidType(String),
    /// The `stream` is neither `upstream` nor `downstream`.
    #[error("stream was invalid, can be either upstream or downstream (got {0:?})")]
    InvalidStream(String),
    /// A field has a bad value.
    #[error("{field}: {message}")]
    Field {
        /// Field path such as `attributes.rate`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl FaultError {
    /// A bad value in `field`.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        FaultError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn every_type_round_trips_through_the_wire() {
        for &name in ToxicKind::TYPES {
            let attrs = match name {
                "bandwidth" => map(json!({"rate": 100})),
                "slicer" => map(json!({"average_size": 10, "size_variation": 2, "delay": 5})),
                "http_abort" => map(json!({"status": 503, "body": "x", "headers": {"a": "b"}})),
                "http_throttle" => map(json!({"rate": 2, "path": "/x", "first_n": 2})),
                "grpc_abort" => map(json!({"code": 14, "message": "down 100%"})),
                _ => Map::new(),
            };
            let kind = ToxicKind::from_wire(name, &attrs).unwrap();
            assert_eq!(kind.type_name(), name);
            let again = ToxicKind::from_wire(name, &kind.attributes()).unwrap();
            assert_eq!(kind, again);
        }
    }

    #[test]
    fn bad_input_names_the_field() {
        let err = ToxicKind::from_wire("bandwidth", &map(json!({"rate": 0}))).unwrap_err();
        assert_eq!(err.to_string(), "attributes.rate: must be > 0");
        let err = ToxicKind::from_wire("latency", &map(json!({"latency": "x"}))).unwrap_err();
        assert!(err.to_string().starts_with("attributes.latency: "), "{err}");
        let err = ToxicKind::from_wire("latency", &map(json!({"latnecy": 1}))).unwrap_err();
        assert!(err.to_string().contains("attributes.latnecy"), "{err}");
        let err = ToxicKind::from_wire("nope", &Map::new()).unwrap_err();
        assert!(err.to_string().starts_with("invalid toxic type"), "{err}");
        assert!(Toxicity::new(1.5).is_err());
        assert_eq!(Toxicity::ALWAYS.to_string(), "1");
        assert_eq!(toxicity_text(&serde_json::json!({"toxicity": 1.0})), "1");
        assert_eq!(
            toxicity_text(&serde_json::json!({"toxicity": 0.25})),
            "0.25"
        );
        assert_eq!(toxicity_text(&serde_json::json!({})), "1");
        assert!(Toxicity::new(f64::NAN).is_err());
        assert!(Stream::parse("sideways").is_err());
    }

    #[test]
    fn toxicity_is_a_threshold_on_a_fixed_draw() {
        assert!(Toxicity::ALWAYS.affects(0.999_999));
        assert!(!Toxicity::new(0.0).unwrap().affects(0.0));
        assert!(Toxicity::new(0.5).unwrap().affects(0.3));
        assert!(!Toxicity::new(0.5).unwrap().affects(0.7));
    }

    /// Issue 8 item 6: extreme attribute values never panic, anything accepted is within the
    /// documented bounds and round-trips, and scheduling with it never overflows time.
    #[tokio::test(start_paused = true)]
    async fn extreme_attributes_are_refused_or_safe() {
        use rand::{RngExt, SeedableRng};
        let values = attrs::extremes();
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let now = tokio::time::Instant::now();
        let mut accepted = 0;
        for _ in 0..5_000 {
            let name = ToxicKind::TYPES[rng.random_range(0..ToxicKind::TYPES.len())];
            let kind = ToxicKind::from_wire(name, &Map::new())
                .map(|k| k.attribute_names())
                .unwrap_or_else(|_| vec!["rate", "average_size"]);
            let mut m = Map::new();
            for a in kind {
                if rng.random_bool(0.8) {
                    m.insert(
                        a.to_string(),
                        values[rng.random_range(0..values.len())].clone(),
                    );
                }
            }
            let Ok(parsed) = ToxicKind::from_wire(name, &m) else {
                continue;
            };
            accepted += 1;
            for (k, v) in parsed.behaviour().to_attributes() {
                let bound = match k {
                    "delay" if name == "slicer" => attrs::as_micros(attrs::MAX_DELAY),
                    "latency" | "jitter" | "delay" | "timeout" => {
                        attrs::as_millis(attrs::MAX_DELAY)
                    }
                    "rate" => bandwidth::MAX_RATE,
                    _ => attrs::MAX_BYTES,
                };
                assert!(v <= bound, "{name}.{k} = {v} accepted from {m:?}");
            }
            assert_eq!(
                ToxicKind::from_wire(name, &parsed.attributes()).as_ref(),
                Ok(&parsed)
            );
            let mut state = kind::State::new(rand::rngs::StdRng::seed_from_u64(1), now);
            let mut out = Vec::new();
            for at in [now, now + attrs::MAX_DELAY] {
                let data = kind::Item::Data {
                    at,
                    bytes: bytes::Bytes::from(vec![0u8; 1000]),
                };
                parsed.behaviour().schedule(&mut state, data, &mut out);
                parsed
                    .behaviour()
                    .schedule(&mut state, kind::Item::Eof { at }, &mut out);
                let _ = parsed.behaviour().deadline(at);
            }
            assert!(out.iter().all(|i| i.at() >= now));
        }
        assert!(
            accepted > 500,
            "{accepted}: the generator must also produce valid input"
        );
    }
}
