//! Why requests failed, in words: a count per distinct reason of an error class (today the
//! `tls` class: `the server's certificate is not signed by a CA trusted here … (invalid peer
//! certificate: UnknownIssuer)`, `the server requires a client certificate … (received fatal
//! alert: CertificateRequired)`, …), so that a report tells one TLS failure from another and
//! says what to do about it; rustls's own words end each reason, in parentheses.
//!
//! The reasons of a run are noted as the failures happen ([`ReasonLog`], shared by the run's
//! connections: taken only on a failure, never on a success), at most [`MAX_REASONS`]
//! distinct ones per class (later new ones count under [`OTHER_REASONS`]), and reported as
//! [`ErrorReasons`]: `{"tls": [{"reason": "…", "count": N}, …]}`, most frequent first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Serialize, SerializeMap, Serializer};

use super::ErrorClass;

/// The most distinct reasons kept per class.
pub(crate) const MAX_REASONS: usize = 8;
/// Where the reasons past [`MAX_REASONS`] are counted.
pub(crate) const OTHER_REASONS: &str = "(other reasons)";

/// One reason requests of a class failed, and how many did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReasonCount {
    /// The failure in words (rustls's error or the peer's alert for `tls`).
    pub reason: String,
    /// Requests that failed this way.
    pub count: u64,
}

/// Failed requests counted by class and reason; serialises as `{class: [ReasonCount, …]}`,
/// only the classes with reasons, each list most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorReasons(BTreeMap<ErrorClass, BTreeMap<String, u64>>);

impl ErrorReasons {
    /// Count `n` requests of `class` that failed for `reason` (under `OTHER_REASONS` when
    /// the class already holds `MAX_REASONS` others).
    pub fn add(&mut self, class: ErrorClass, reason: &str, n: u64) {
        let reasons = self.0.entry(class).or_default();
        let key = if reasons.contains_key(reason) || reasons.len() < MAX_REASONS {
            reason
        } else {
            OTHER_REASONS
        };
        *reasons.entry(key.to_string()).or_default() += n;
    }

    /// Add every count of `other`.
    pub fn merge(&mut self, other: &ErrorReasons) {
        for (class, reasons) in &other.0 {
            for (reason, n) in reasons {
                self.add(*class, reason, *n);
            }
        }
    }

    /// The reasons of `class`, most frequent first (then by their words).
    pub fn of(&self, class: ErrorClass) -> Vec<ReasonCount> {
        let mut list: Vec<ReasonCount> = self
            .0
            .get(&class)
            .into_iter()
            .flatten()
            .map(|(reason, count)| ReasonCount {
                reason: reason.clone(),
                count: *count,
            })
            .collect();
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
        list
    }

    /// Whether no reason was noted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for ErrorReasons {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for class in self.0.keys() {
            map.serialize_entry(class.name(), &self.of(*class))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ErrorReasons {
    /// The map [`Serialize`] writes; an unknown class is an error.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Vec<ReasonCount>>::deserialize(deserializer)?;
        let mut reasons = ErrorReasons::default();
        for (name, list) in map {
            let class = ErrorClass::named(&name).map_err(D::Error::custom)?;
            for r in list {
                reasons.add(class, &r.reason, r.count);
            }
        }
        Ok(reasons)
    }
}

/// A run's reasons as its connections note them (shared; locked only on a failure).
#[derive(Debug, Default)]
pub(crate) struct ReasonLog(Mutex<ErrorReasons>);

impl ReasonLog {
    /// Note one request of `class` that failed for `reason`.
    pub(crate) fn note(&self, class: ErrorClass, reason: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(class, reason, 1);
    }

    /// The class of a failed TLS handshake ([`ErrorClass::of_handshake`]), its reason noted
    /// when it is [`ErrorClass::Tls`].
    pub(crate) fn handshake(&self, error: &std::io::Error) -> ErrorClass {
        let class = ErrorClass::of_handshake(error);
        if class == ErrorClass::Tls {
            self.note(class, &tls_reason(error));
        }
        class
    }

    /// The reasons noted so far.
    pub(crate) fn snapshot(&self) -> ErrorReasons {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The words of a TLS failure: rustls's error or the peer's alert found in `error`'s chain,
/// explained ([`explain`]: `the server's certificate is a CA certificate … (CaUsedAsEndEntity)`);
/// else `error`'s own message.
pub(crate) fn tls_reason(error: &(dyn std::error::Error + 'static)) -> String {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return explain(tls);
        }
        // An `io::Error`'s `source` skips the error it wraps: follow `get_ref` instead.
        next = match e.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                // h2 keeps only the text of rustls's alert.
                Some(inner) => match inner.to_string().strip_prefix("received fatal alert: ") {
                    Some(alert) => return explain_alert(alert),
                    None => Some(inner as &(dyn std::error::Error + 'static)),
                },
                None => None,
            },
            None => e.source(),
        };
    }
    error.to_string()
}

/// A rustls error in words a user can act on, rustls's own words in parentheses. The load
/// driver is the client: the peer is the server.
fn explain(error: &rustls::Error) -> String {
    use rustls::CertificateError as C;
    let (what, words) = match error {
        rustls::Error::AlertReceived(alert) => return explain_alert(&format!("{alert:?}")),
        // rustls shows these in their debug form (`Other(OtherError(CaUsedAsEndEntity))`):
        // webpki's name alone.
        rustls::Error::InvalidCertificate(C::Other(other)) => {
            let name = other.to_string();
            (webpki_words(&name), name)
        }
        rustls::Error::InvalidCertificate(c) => (certificate_words(c), error.to_string()),
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => (
            "the server does not speak TLS on this port (is the URL http://?)",
            error.to_string(),
        ),
        rustls::Error::PeerIncompatible(_) => (
            "the server and this client share no TLS version, cipher suite or key exchange",
            error.to_string(),
        ),
        _ => return error.to_string(),
    };
    format!("{what} ({words})")
}

/// What is wrong with the server's certificate, by rustls's verdict.
fn certificate_words(error: &rustls::CertificateError) -> &'static str {
    use rustls::CertificateError as C;
    match error {
        C::UnknownIssuer => {
            "the server's certificate is not signed by a CA trusted here (the system's roots, \
             --ca FILE or tls: {ca: FILE}): give its CA with --ca"
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the server's certificate is not for the URL's host: use a name it lists (its \
             subjectAltName), or make it for this one"
        }
        C::Expired | C::ExpiredContext { .. } => {
            "the server's certificate has expired (or this machine's clock is wrong)"
        }
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (or this machine's clock is wrong)"
        }
        C::Revoked => "the server's certificate is revoked",
        C::BadSignature => "the server's certificate has a bad signature",
        C::BadEncoding => "the server's certificate is not a valid X.509 certificate",
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            "the server's certificate is not for server authentication (its extended key usage \
             lacks serverAuth)"
        }
        C::UnhandledCriticalExtension => {
            "the server's certificate has a critical extension rustls does not know"
        }
        _ => "the server's certificate was refused",
    }
}

/// What is wrong with the server's certificate, by webpki's verdict (its name).
fn webpki_words(name: &str) -> &'static str {
    match name {
        "CaUsedAsEndEntity" => {
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE), which \
             cannot identify a server: make it with CA:FALSE (openssl: -addext \
             basicConstraints=critical,CA:FALSE), signed by that CA or self-signed"
        }
        "UnsupportedCertVersion" => {
            "the server's certificate is X.509 v1, which cannot identify a server: make a v3 \
             certificate"
        }
        "EndEntityUsedAsCa" => {
            "the server's chain has a certificate that is not a CA (CA:FALSE) where its issuer \
             should be"
        }
        _ => "the server's certificate was refused",
    }
}

/// The server's fatal alert `alert` (`CertificateRequired`) in words.
fn explain_alert(alert: &str) -> String {
    let what = match alert {
        "CertificateRequired" => {
            "the server requires a client certificate: give one with --cert FILE --key FILE"
        }
        "BadCertificate"
        | "UnknownCA"
        | "CertificateUnknown"
        | "UnsupportedCertificate"
        | "CertificateRevoked"
        | "CertificateExpired"
        | "AccessDenied" => "the server refused the client's certificate",
        "HandshakeFailure" | "ProtocolVersion" | "InsufficientSecurity" => {
            "the server and this client share no TLS version or cipher suite"
        }
        "UnrecognisedName" | "UnrecognizedName" => "the server does not serve this host name",
        _ => "the server ended the handshake",
    };
    format!("{what} (received fatal alert: {alert})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_count_merge_and_read_back() {
        let mut r = ErrorReasons::default();
        r.add(
            ErrorClass::Tls,
            "invalid peer certificate: UnknownIssuer",
            3,
        );
        r.add(
            ErrorClass::Tls,
            "received fatal alert: CertificateRequired",
            5,
        );
        let mut sum = r.clone();
        sum.merge(&r);
        let tls = sum.of(ErrorClass::Tls);
        assert_eq!(tls[0].reason, "received fatal alert: CertificateRequired");
        assert_eq!((tls[0].count, tls[1].count), (10, 6));
        let json = serde_json::to_value(&sum).unwrap();
        assert_eq!(
            json["tls"][1]["reason"],
            "invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(json["tls"][1]["count"], 6);
        assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
        let back: ErrorReasons = serde_json::from_value(json).unwrap();
        assert_eq!(back, sum);
        assert!(serde_json::from_str::<ErrorReasons>(r#"{"nope": []}"#).is_err());
    }

    #[test]
    fn past_the_limit_new_reasons_count_as_other() {
        let mut r = ErrorReasons::default();
        for i in 0..MAX_REASONS + 3 {
            r.add(ErrorClass::Tls, &format!("reason {i}"), 1);
        }
        r.add(ErrorClass::Tls, "reason 0", 1);
        let tls = r.of(ErrorClass::Tls);
        assert_eq!(tls.len(), MAX_REASONS + 1);
        assert_eq!(
            tls.iter().map(|c| c.count).sum::<u64>(),
            MAX_REASONS as u64 + 4
        );
        // Most frequent first: the three past the limit, then the one seen twice.
        assert_eq!(tls[0].reason, OTHER_REASONS);
        assert_eq!(tls[0].count, 3);
        let twice = ReasonCount {
            reason: "reason 0".into(),
            count: 2,
        };
        assert_eq!(tls[1], twice);
    }

    /// The reasons are words, not Rust debug text: a CA certificate served as a server's
    /// says what is wrong and how to make one that works.
    #[test]
    fn tls_reasons_are_readable() {
        #[derive(Debug)]
        struct Webpki(&'static str);
        impl std::fmt::Display for Webpki {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Webpki {}
        let other = |name| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
                std::sync::Arc::new(Webpki(name)),
            )))
        };
        let ca = explain(&other("CaUsedAsEndEntity"));
        assert_eq!(
            ca,
            "the server's certificate is a CA certificate (basicConstraints CA:TRUE), which \
             cannot identify a server: make it with CA:FALSE (openssl: -addext \
             basicConstraints=critical,CA:FALSE), signed by that CA or self-signed \
             (CaUsedAsEndEntity)"
        );
        assert!(!ca.contains("OtherError"), "{ca}");
        assert_eq!(
            explain(&other("Something")),
            "the server's certificate was refused (Something)"
        );
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
        assert_eq!(
            explain(&alert),
            "the server requires a client certificate: give one with --cert FILE --key FILE \
             (received fatal alert: CertificateRequired)"
        );
        // h2 keeps only the alert's text.
        let h2 = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received fatal alert: BadCertificate",
        );
        assert_eq!(
            tls_reason(&h2),
            "the server refused the client's certificate (received fatal alert: BadCertificate)"
        );
        for c in [
            rustls::CertificateError::Expired,
            rustls::CertificateError::NotValidForName,
            rustls::CertificateError::BadSignature,
        ] {
            let said = explain(&rustls::Error::InvalidCertificate(c));
            assert!(said.starts_with("the server's certificate "), "{said}");
            assert!(!said.contains("Other("), "{said}");
        }
    }

    #[test]
    fn a_tls_reason_is_rustls_words() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, refused);
        let wrapped = std::io::Error::other(io);
        let reason = tls_reason(&wrapped);
        assert!(
            reason.starts_with("the server's certificate is not signed by a CA trusted here")
                && reason.ends_with("(invalid peer certificate: UnknownIssuer)"),
            "{reason}"
        );
        let log = ReasonLog::default();
        assert_eq!(log.handshake(&wrapped), ErrorClass::Tls);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(log.handshake(&reset), ErrorClass::Reset);
        let noted = log.snapshot();
        assert_eq!(noted.of(ErrorClass::Tls)[0].count, 1);
        assert!(noted.of(ErrorClass::Reset).is_empty());
    }
}
