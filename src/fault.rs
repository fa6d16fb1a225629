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
mod error;
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
mod toxic;

use serde_json::{Map, Value};

pub use attrs::Attributes;
pub use bandwidth::{Bandwidth, MAX_RATE};
pub use error::FaultError;
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
pub use toxic::{Stream, Toxic, Toxicity, toxicity_text};

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

#[cfg(test)]
mod tests;
