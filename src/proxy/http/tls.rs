//! An HTTP-mode proxy's TLS: terminating it for the proxy's clients (`tls_cert`, `tls_key`)
//! and originating it to an HTTPS upstream (`upstream_tls`, verified against the system's
//! roots, `upstream_ca`, or not at all with `upstream_insecure`).

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
/// `upstream_insecure`, `tls_cert`, `tls_key`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyTls {
    /// Speak TLS to the upstream.
    pub upstream_tls: bool,
    /// A PEM file of CA certificates the upstream's certificate may chain to.
    pub upstream_ca: Option<PathBuf>,
    /// Accept any upstream certificate.
    pub upstream_insecure: bool,
    /// The PEM certificate chain served to clients (TLS termination).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
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

    /// Build the acceptor and the upstream client. `Ok(None)` when no TLS is asked for.
    ///
    /// # Errors
    /// `(field, message)`: a PEM file that cannot be read or holds nothing usable, a key
    /// that does not fit the certificate, `tls_cert` without `tls_key` (or the reverse),
    /// `upstream_ca`/`upstream_insecure` without `upstream_tls`.
    pub(crate) fn build(&self) -> Result<Option<Arc<HttpTls>>, (&'static str, String)> {
        if !self.is_set() {
            return Ok(None);
        }
        let acceptor = match (&self.tls_cert, &self.tls_key) {
            (None, None) => None,
            (Some(_), None) => return Err(("tls_key", "needed with tls_cert".into())),
            (None, Some(_)) => return Err(("tls_cert", "needed with tls_key".into())),
            (Some(cert), Some(key)) => {
                let field = |e: &tls::TlsError| match e {
                    tls::TlsError::Pem { path, .. } if path == key => "tls_key",
                    _ => "tls_cert",
                };
                let config =
                    tls::server_config(cert, key).map_err(|e| (field(&e), e.to_string()))?;
                Some(TlsAcceptor::from(config))
            }
        };
        let upstream = if self.upstream_tls {
            Some(self.upstream_client()?)
        } else if self.upstream_ca.is_some() {
            return Err(("upstream_ca", "needs \"upstream_tls\": true".into()));
        } else if self.upstream_insecure {
            return Err(("upstream_insecure", "needs \"upstream_tls\": true".into()));
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
        };
        let connector =
            tls::https_connector(&options, true).map_err(|e| ("upstream_ca", e.to_string()))?;
        Ok(Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector))
    }

    /// The settings as the proxy's JSON shows them (only those set).
    pub fn view(&self, map: &mut serde_json::Map<String, serde_json::Value>) {
        let path = |p: &PathBuf| serde_json::Value::from(p.display().to_string());
        if self.upstream_tls {
            map.insert("upstream_tls".into(), true.into());
        }
        if let Some(p) = &self.upstream_ca {
            map.insert("upstream_ca".into(), path(p));
        }
        if self.upstream_insecure {
            map.insert("upstream_insecure".into(), true.into());
        }
        if let Some(p) = &self.tls_cert {
            map.insert("tls_cert".into(), path(p));
        }
        if let Some(p) = &self.tls_key {
            map.insert("tls_key".into(), path(p));
        }
    }
}
