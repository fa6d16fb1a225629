//! An HTTP-mode proxy's TLS: terminating it for the proxy's clients (`tls_cert`, `tls_key`;
//! requiring client certificates signed by a CA of `tls_client_ca`) and originating it to an
//! HTTPS upstream (`upstream_tls`, verified against the system's roots, `upstream_ca`, or not
//! at all with `upstream_insecure`; presenting `upstream_cert` and `upstream_key` when the
//! upstream asks for a client certificate).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio_rustls::TlsAcceptor;

use super::ProxyBody;
use crate::tls::{self, TlsOptions};

/// The TLS settings of a proxy as given (the wire's `upstream_tls`, `upstream_ca`,
/// `upstream_insecure`, `upstream_cert`, `upstream_key`, `tls_cert`, `tls_key`,
/// `tls_client_ca`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyTls {
    /// Speak TLS to the upstream.
    pub upstream_tls: bool,
    /// A PEM file of CA certificates the upstream's certificate may chain to.
    pub upstream_ca: Option<PathBuf>,
    /// Accept any upstream certificate.
    pub upstream_insecure: bool,
    /// The PEM certificate chain presented to an upstream that asks for a client certificate.
    pub upstream_cert: Option<PathBuf>,
    /// The PEM private key of `upstream_cert`.
    pub upstream_key: Option<PathBuf>,
    /// The PEM certificate chain served to clients (TLS termination).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Require every client to present a certificate signed by a CA of this PEM file.
    pub tls_client_ca: Option<PathBuf>,
}

/// A proxy's TLS, ready to use: built once per change of its settings.
pub(crate) struct HttpTls {
    /// The settings it was built from.
    settings: ProxyTls,
    /// Terminates the clients' TLS, when `tls_cert` is set.
    pub(crate) acceptor: Option<TlsAcceptor>,
    /// The pooled upstream client speaking TLS, when `upstream_tls` is set.
    pub(crate) upstream: Option<Client<HttpsConnector<HttpConnector>, ProxyBody>>,
}

impl std::fmt::Debug for HttpTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTls")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl PartialEq for HttpTls {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

/// How long an idle upstream connection stays in the pool.
const POOL_IDLE: Duration = Duration::from_secs(30);

impl ProxyTls {
    /// Whether any TLS is asked for.
    pub fn is_set(&self) -> bool {
        *self != ProxyTls::default()
    }

    /// The wire names of the settings given, in the wire's order.
    pub fn given(&self) -> Vec<&'static str> {
        let mut map = serde_json::Map::new();
        self.view(&mut map);
        FIELDS
            .iter()
            .copied()
            .filter(|f| map.contains_key(*f))
            .collect()
    }

    /// Build the acceptor and the upstream client. `Ok(None)` when no TLS is asked for.
    ///
    /// # Errors
    /// `(field, message)`: a PEM file that cannot be read or holds nothing usable, a key
    /// that does not fit its certificate, `tls_cert` without `tls_key` or `upstream_cert`
    /// without `upstream_key` (or the reverse), `tls_client_ca` without `tls_cert`, the
    /// `upstream_*` settings without `upstream_tls`.
    pub(crate) fn build(&self) -> Result<Option<Arc<HttpTls>>, (&'static str, String)> {
        if !self.is_set() {
            return Ok(None);
        }
        let server = both(("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key))?;
        both(
            ("upstream_cert", &self.upstream_cert),
            ("upstream_key", &self.upstream_key),
        )?;
        let acceptor = match server {
            None if self.tls_client_ca.is_some() => {
                return Err(("tls_client_ca", "needs tls_cert and tls_key".into()));
            }
            None => None,
            Some((cert, key)) => {
                let config = tls::server_config(cert, key, self.tls_client_ca.as_deref())
                    .map_err(|e| (server_field(e.setting), e.to_string()))?;
                Some(TlsAcceptor::from(config))
            }
        };
        let upstream = if self.upstream_tls {
            Some(self.upstream_client()?)
        } else if let Some(field) = self
            .given()
            .into_iter()
            .find(|f| f.starts_with("upstream_"))
        {
            return Err((field, "needs \"upstream_tls\": true".into()));
        } else {
            None
        };
        Ok(Some(Arc::new(HttpTls {
            settings: self.clone(),
            acceptor,
            upstream,
        })))
    }

    fn upstream_client(
        &self,
    ) -> Result<Client<HttpsConnector<HttpConnector>, ProxyBody>, (&'static str, String)> {
        let options = TlsOptions {
            ca: self.upstream_ca.clone(),
            insecure: self.upstream_insecure,
            cert: self.upstream_cert.clone(),
            key: self.upstream_key.clone(),
        };
        let connector = tls::https_connector(&options, true).map_err(|e| {
            let field = match e.setting {
                "cert" => "upstream_cert",
                "key" => "upstream_key",
                _ => "upstream_ca",
            };
            (field, e.to_string())
        })?;
        Ok(Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector))
    }

    /// The settings as the proxy's JSON shows them (only those set).
    pub fn view(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        let paths = [
            ("upstream_ca", &self.upstream_ca),
            ("upstream_cert", &self.upstream_cert),
            ("upstream_key", &self.upstream_key),
            ("tls_cert", &self.tls_cert),
            ("tls_key", &self.tls_key),
            ("tls_client_ca", &self.tls_client_ca),
        ];
        let flags = [
            ("upstream_tls", self.upstream_tls),
            ("upstream_insecure", self.upstream_insecure),
        ];
        for (field, set) in flags {
            if set {
                map.insert(field.into(), true.into());
            }
        }
        for (field, path) in paths {
            if let Some(p) = path {
                map.insert(field.into(), p.display().to_string().into());
            }
        }
    }
}

/// The wire's TLS fields of a proxy, in order (the control API's known keys include them).
pub(crate) const FIELDS: [&str; 8] = [
    "upstream_tls",
    "upstream_ca",
    "upstream_insecure",
    "upstream_cert",
    "upstream_key",
    "tls_cert",
    "tls_key",
    "tls_client_ca",
];

/// A certificate and its key, both or neither: `(field, message)` naming the missing one.
fn both<'a>(
    (cert_field, cert): (&'static str, &'a Option<PathBuf>),
    (key_field, key): (&'static str, &'a Option<PathBuf>),
) -> Result<Option<(&'a PathBuf, &'a PathBuf)>, (&'static str, String)> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err((key_field, format!("needed with {cert_field}"))),
        (None, Some(_)) => Err((cert_field, format!("needed with {key_field}"))),
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
    }
}

/// The wire field of a [`tls::server_config`] setting.
fn server_field(setting: &str) -> &'static str {
    match setting {
        "key" => "tls_key",
        "client_ca" => "tls_client_ca",
        _ => "tls_cert",
    }
}
