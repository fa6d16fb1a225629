//! An HTTP-mode proxy's TLS fields on the wire (`upstream_tls`, `upstream_ca`,
//! `upstream_insecure`, `upstream_cert`, `upstream_key`, `tls_cert`, `tls_key`,
//! `tls_client_ca`): parsed, their PEM files read on arrival, merged over a proxy's settings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::super::error::ApiError;
use super::{boolean, string};
use crate::proxy::{HttpTls, ProxyTls};

/// An HTTP-mode proxy's TLS fields as given: `None` leaves a setting as it is (a new proxy
/// has none); an empty path clears one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsFields {
    /// `upstream_tls`: speak TLS to the upstream.
    pub upstream_tls: Option<bool>,
    /// `upstream_ca`: PEM file of CA certificates for the upstream.
    pub upstream_ca: Option<String>,
    /// `upstream_insecure`: accept any upstream certificate.
    pub upstream_insecure: Option<bool>,
    /// `upstream_cert`: PEM certificate chain presented to the upstream (mutual TLS).
    pub upstream_cert: Option<String>,
    /// `upstream_key`: its PEM private key.
    pub upstream_key: Option<String>,
    /// `tls_cert`: PEM certificate chain served to clients.
    pub tls_cert: Option<String>,
    /// `tls_key`: its PEM private key.
    pub tls_key: Option<String>,
    /// `tls_client_ca`: PEM file of the CAs a client's certificate must chain to (mutual TLS).
    pub tls_client_ca: Option<String>,
}

impl From<&ProxyTls> for TlsFields {
    /// Every setting of `tls` given (a new proxy with exactly these settings).
    fn from(tls: &ProxyTls) -> Self {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        TlsFields {
            upstream_tls: Some(tls.upstream_tls),
            upstream_ca: path(&tls.upstream_ca),
            upstream_insecure: Some(tls.upstream_insecure),
            upstream_cert: path(&tls.upstream_cert),
            upstream_key: path(&tls.upstream_key),
            tls_cert: path(&tls.tls_cert),
            tls_key: path(&tls.tls_key),
            tls_client_ca: path(&tls.tls_client_ca),
        }
    }
}

impl TlsFields {
    /// `base` with these fields applied.
    pub fn merged(&self, base: &ProxyTls) -> ProxyTls {
        let path = |given: &Option<String>, old: &Option<PathBuf>| match given {
            None => old.clone(),
            Some(p) if p.is_empty() => None,
            Some(p) => Some(p.into()),
        };
        ProxyTls {
            upstream_tls: self.upstream_tls.unwrap_or(base.upstream_tls),
            upstream_ca: path(&self.upstream_ca, &base.upstream_ca),
            upstream_insecure: self.upstream_insecure.unwrap_or(base.upstream_insecure),
            upstream_cert: path(&self.upstream_cert, &base.upstream_cert),
            upstream_key: path(&self.upstream_key, &base.upstream_key),
            tls_cert: path(&self.tls_cert, &base.tls_cert),
            tls_key: path(&self.tls_key, &base.tls_key),
            tls_client_ca: path(&self.tls_client_ca, &base.tls_client_ca),
        }
    }

    /// The PEM files given, each with its field and what it holds.
    fn files(&self) -> [(&'static str, &Option<String>, Pem); 6] {
        [
            ("upstream_ca", &self.upstream_ca, Pem::Authorities),
            ("upstream_cert", &self.upstream_cert, Pem::Identity),
            ("upstream_key", &self.upstream_key, Pem::Key),
            ("tls_cert", &self.tls_cert, Pem::Identity),
            ("tls_key", &self.tls_key, Pem::Key),
            ("tls_client_ca", &self.tls_client_ca, Pem::Authorities),
        ]
    }
}

/// What a TLS field's PEM file holds.
#[derive(Debug, Clone, Copy)]
enum Pem {
    /// CA certificates.
    Authorities,
    /// The certificate chain a peer is identified by ([`crate::tls::read_identity`]).
    Identity,
    /// A private key.
    Key,
}

impl Pem {
    /// Read the file at `path` as this kind.
    fn check(self, path: &Path) -> Result<(), crate::tls::TlsError> {
        match self {
            Pem::Authorities => crate::tls::read_certificates(path).map(drop),
            Pem::Identity => crate::tls::read_identity(path).map(drop),
            Pem::Key => crate::tls::read_key(path).map(drop),
        }
    }
}

/// The TLS fields of `map`; each file given is read now, so a bad one is refused naming its
/// field. A new proxy's (`whole`) are also checked together (a key that fits the
/// certificate, `tls_key` with `tls_cert`); an update's are once merged, by the store.
pub(super) fn tls_fields(map: &Map<String, Value>, whole: bool) -> Result<TlsFields, ApiError> {
    let fields = TlsFields {
        upstream_tls: boolean(map, "upstream_tls")?,
        upstream_ca: string(map, "upstream_ca")?,
        upstream_insecure: boolean(map, "upstream_insecure")?,
        upstream_cert: string(map, "upstream_cert")?,
        upstream_key: string(map, "upstream_key")?,
        tls_cert: string(map, "tls_cert")?,
        tls_key: string(map, "tls_key")?,
        tls_client_ca: string(map, "tls_client_ca")?,
    };
    for (field, path, pem) in fields.files() {
        let Some(path) = path.as_deref().filter(|p| !p.is_empty()).map(Path::new) else {
            continue;
        };
        pem.check(path).map_err(|e| ApiError::bad_field(field, e))?;
    }
    if whole {
        check_tls(&fields.merged(&ProxyTls::default()))?;
    }
    Ok(fields)
}

/// Build `tls` once to check it; a problem is a `400` naming the field.
pub(crate) fn check_tls(tls: &ProxyTls) -> Result<Option<Arc<HttpTls>>, ApiError> {
    tls.build()
        .map_err(|(field, why)| ApiError::bad_field(field, why))
}
