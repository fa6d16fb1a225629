//! Error classification: what went wrong with a request, and who caused it.
//!
//! Every failed request lands in exactly one [`ErrorClass`]. A failed response (4xx/5xx, a
//! body that fails, a gRPC error) that carries the `x-shakedown-fault` header was failed by
//! shakedown's own fault injection and counts as [`ErrorClass::Injected`], never as an
//! upstream 4xx/5xx, so an experiment can tell its own faults from the target's failures. A
//! marked response that succeeded (a 200 that `http_delay` only delayed) is a success.

use std::fmt;

mod reasons;

pub use reasons::{ErrorReasons, ReasonCount};
pub(crate) use reasons::{ReasonLog, tls_reason};

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// The response header shakedown's HTTP faults set on every response they fabricate or alter
/// (a delayed or throttled success included).
pub(super) const FAULT_HEADER: &str = "x-shakedown-fault";

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorClass {
    /// The TCP connect was refused (nothing listening): the request was never sent.
    ConnectRefused,
    /// Any other connect failure (name resolution, unreachable network).
    ConnectError,
    /// The TLS handshake failed (certificate not trusted, wrong name, a peer that does
    /// not speak TLS): the request was never sent.
    Tls,
    /// The connection was reset or closed before a complete response arrived.
    Reset,
    /// No complete response within the request timeout.
    Timeout,
    /// The upstream answered 4xx.
    Http4xx,
    /// The upstream answered 5xx.
    Http5xx,
    /// A failed response (4xx/5xx, a body that failed, a gRPC error) that shakedown's fault
    /// injection acted on (`x-shakedown-fault`).
    Injected,
    /// A step's extraction (JSON path or regex) found nothing in the response.
    Extract,
    /// Anything else (a protocol error, an invalid response).
    Other,
}

impl ErrorClass {
    /// Every class, in report order.
    pub const ALL: [ErrorClass; 10] = [
        ErrorClass::ConnectRefused,
        ErrorClass::ConnectError,
        ErrorClass::Tls,
        ErrorClass::Reset,
        ErrorClass::Timeout,
        ErrorClass::Http4xx,
        ErrorClass::Http5xx,
        ErrorClass::Injected,
        ErrorClass::Extract,
        ErrorClass::Other,
    ];

    /// The stable name used in JSON and tables.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::ConnectRefused => "connect_refused",
            ErrorClass::ConnectError => "connect_error",
            ErrorClass::Tls => "tls",
            ErrorClass::Reset => "reset",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Http4xx => "http_4xx",
            ErrorClass::Http5xx => "http_5xx",
            ErrorClass::Injected => "injected",
            ErrorClass::Extract => "extract",
            ErrorClass::Other => "other",
        }
    }

    /// The class of a stable name ([`ErrorClass::name`]); an unknown one is an error saying so.
    pub fn named(name: &str) -> Result<Self, String> {
        ErrorClass::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| format!("unknown error class {name:?}"))
    }

    /// Position in [`ErrorClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether a request that failed this way certainly did not take effect
    /// (a definite refusal), as opposed to an indeterminate outcome.
    pub fn is_definite(self) -> bool {
        matches!(
            self,
            ErrorClass::ConnectRefused
                | ErrorClass::ConnectError
                | ErrorClass::Tls
                | ErrorClass::Http4xx
                | ErrorClass::Http5xx
                | ErrorClass::Injected
        )
    }

    /// The class of a complete response, `None` when it is a success: a 1xx–3xx status and,
    /// when `marked` (it carries `x-shakedown-fault`), no gRPC error (`grpc_failed`: a non-zero
    /// `grpc-status`, as `grpc_abort` answers with HTTP 200). A marked failure is
    /// [`ErrorClass::Injected`]; a marked success (a delayed 200) is a success. An unmarked
    /// gRPC error is the upstream's and, as before, not told apart from its 200.
    pub fn of_response(status: http::StatusCode, marked: bool, grpc_failed: bool) -> Option<Self> {
        let failed = status.is_client_error() || status.is_server_error() || grpc_failed;
        if marked && failed {
            Some(ErrorClass::Injected)
        } else if status.is_client_error() {
            Some(ErrorClass::Http4xx)
        } else if status.is_server_error() {
            Some(ErrorClass::Http5xx)
        } else {
            None
        }
    }

    /// The class of a failed TCP connect.
    pub fn of_connect(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::ConnectionRefused => ErrorClass::ConnectRefused,
            std::io::ErrorKind::TimedOut => ErrorClass::Timeout,
            _ => ErrorClass::ConnectError,
        }
    }

    /// The class of a failed TLS handshake: [`ErrorClass::Tls`] when TLS itself refused
    /// (see [`crate::tls::is_tls_failure`]), else as a transport error (a reset, a timeout).
    pub fn of_handshake(error: &std::io::Error) -> Self {
        if crate::tls::is_tls_failure(error) {
            return ErrorClass::Tls;
        }
        match error.kind() {
            std::io::ErrorKind::TimedOut => ErrorClass::Timeout,
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::UnexpectedEof => ErrorClass::Reset,
            _ => ErrorClass::Other,
        }
    }

    /// The class of an error on an established connection. A TLS alert there is
    /// [`ErrorClass::Tls`]: a TLS 1.3 server that refuses the client's certificate (or its
    /// lack of one) says so after the client's side of the handshake is done.
    pub fn of_hyper(error: &hyper::Error) -> Self {
        if crate::tls::is_tls_failure(error) {
            return ErrorClass::Tls;
        }
        if error.is_timeout() {
            return ErrorClass::Timeout;
        }
        if error.is_incomplete_message() || error.is_closed() || error.is_canceled() {
            return ErrorClass::Reset;
        }
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                use std::io::ErrorKind::*;
                return match io.kind() {
                    ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => {
                        ErrorClass::Reset
                    }
                    TimedOut => ErrorClass::Timeout,
                    _ => ErrorClass::Other,
                };
            }
            source = cause.source();
        }
        if error.is_body_write_aborted() {
            ErrorClass::Reset
        } else {
            ErrorClass::Other
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A count per error class; serialises as a map with every class present.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts(pub [u64; 10]);

impl ClassCounts {
    /// Count one error.
    pub fn add(&mut self, class: ErrorClass) {
        self.0[class.index()] += 1;
    }

    /// Add every count of `other`.
    pub fn merge(&mut self, other: &ClassCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The count of one class.
    pub fn get(&self, class: ErrorClass) -> u64 {
        self.0[class.index()]
    }

    /// The sum over all classes.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

impl Serialize for ClassCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(ErrorClass::ALL.len()))?;
        for class in ErrorClass::ALL {
            map.serialize_entry(class.name(), &self.get(class))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ClassCounts {
    /// The map [`Serialize`] writes; a class left out counts 0, an unknown class is an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<String, u64>::deserialize(deserializer)?;
        let mut counts = ClassCounts::default();
        for (name, n) in map {
            counts.0[ErrorClass::named(&name).map_err(D::Error::custom)?.index()] = n;
        }
        Ok(counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn injected_responses_are_never_upstream_errors() {
        let of = ErrorClass::of_response;
        assert_eq!(
            of(StatusCode::SERVICE_UNAVAILABLE, true, false),
            Some(ErrorClass::Injected)
        );
        assert_eq!(
            of(StatusCode::NOT_FOUND, true, false),
            Some(ErrorClass::Injected)
        );
        assert_eq!(
            of(StatusCode::SERVICE_UNAVAILABLE, false, false),
            Some(ErrorClass::Http5xx)
        );
        assert_eq!(
            of(StatusCode::NOT_FOUND, false, false),
            Some(ErrorClass::Http4xx)
        );
        assert_eq!(of(StatusCode::OK, false, false), None);
        assert_eq!(of(StatusCode::FOUND, false, false), None);
    }

    /// A response a fault only delayed or throttled is marked and succeeded: a success. A
    /// marked 200 with a gRPC error (`grpc_abort`) is injected.
    #[test]
    fn a_marked_success_is_a_success() {
        let of = ErrorClass::of_response;
        assert_eq!(of(StatusCode::OK, true, false), None);
        assert_eq!(of(StatusCode::NO_CONTENT, true, false), None);
        assert_eq!(of(StatusCode::FOUND, true, false), None);
        assert_eq!(of(StatusCode::OK, true, true), Some(ErrorClass::Injected));
        assert_eq!(of(StatusCode::OK, false, true), None);
    }

    #[test]
    fn connect_errors_and_counts() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(ErrorClass::of_connect(&refused), ErrorClass::ConnectRefused);
        assert!(ErrorClass::ConnectRefused.is_definite());
        assert!(!ErrorClass::Timeout.is_definite());
        let mut c = ClassCounts::default();
        c.add(ErrorClass::Reset);
        c.add(ErrorClass::Reset);
        c.merge(&c.clone());
        assert_eq!(c.get(ErrorClass::Reset), 4);
        let json = serde_json::to_value(c).unwrap();
        assert_eq!(json["reset"], 4);
        assert_eq!(json.as_object().unwrap().len(), ErrorClass::ALL.len());
        for (i, class) in ErrorClass::ALL.iter().enumerate() {
            assert_eq!(class.index(), i);
        }
    }
}
