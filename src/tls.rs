//! TLS with rustls (no OpenSSL): client settings for the load driver, HTTP probes, `ready`
//! URLs and an HTTP-mode proxy's upstream, server settings for a proxy that terminates TLS,
//! and telling a handshake failure apart from other transport errors.
//!
//! A client verifies the server against the system's roots (read once per process), plus
//! the certificates of a `ca` PEM file when given; `insecure` accepts any certificate (for
//! self-signed staging systems; the handshake's signatures are still checked). A client may
//! present an identity of its own (`cert` and `key`, mutual TLS); a server may require one
//! signed by a CA of its `client_ca` file. Both sides offer HTTP/2 and HTTP/1.1 by ALPN. The
//! server name sent (SNI) and verified is the URL's host.

mod verify;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde::{Deserialize, Serialize};

/// The ALPN protocols offered and accepted, most preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// How a client verifies servers and who it is: `tls: {ca: FILE, insecure: true, cert: FILE,
/// key: FILE}` in files, `--ca FILE`, `--insecure`, `--cert FILE` and `--key FILE` on the
/// command line.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields)]
pub struct TlsOptions {
    /// A PEM file of CA certificates trusted besides the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Accept any server certificate (self-signed staging systems). Off by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// A PEM certificate chain presented to servers that ask for one (mutual TLS); needs
    /// `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// The PEM private key of `cert` (PKCS#8, PKCS#1 or SEC1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

/// A TLS setting that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong (unreadable, no certificate, no private key, bad PEM).
        reason: String,
    },
    /// rustls refused the certificates or key (e.g. a key that does not match).
    #[error("{0}")]
    Config(String),
}

/// A TLS setting that cannot be used, and which: `ca`, `cert` or `key` of a client
/// ([`TlsOptions`]); `cert`, `key` or `client_ca` of a server ([`server_config`]). Its message
/// is the error's alone: the caller names the setting as its users write it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct SettingError {
    /// The setting at fault.
    pub setting: &'static str,
    /// What is wrong with it.
    pub error: TlsError,
}

impl SettingError {
    /// Where the setting sits in a file's `tls:` section: `tls.ca`, `tls.cert`, `tls.key`
    /// (a client's settings).
    pub fn field(&self) -> &'static str {
        match self.setting {
            "cert" => "tls.cert",
            "key" => "tls.key",
            _ => "tls.ca",
        }
    }
}

/// Tag `error` with the setting it is about.
fn at(setting: &'static str) -> impl Fn(TlsError) -> SettingError {
    move |error| SettingError { setting, error }
}

/// A setting that needs another one: `setting` is missing, `with` was given.
fn missing(setting: &'static str, with: &str) -> SettingError {
    SettingError {
        setting,
        error: TlsError::Config(format!("needed with tls.{with}")),
    }
}

/// The certificate chain and key of an identity (a client's `cert` and `key`), both or
/// neither; each error names its setting.
fn identity(
    cert: Option<&Path>,
    key: Option<&Path>,
) -> Result<Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>, SettingError> {
    match (cert, key) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(missing("key", "cert")),
        (None, Some(_)) => Err(missing("cert", "key")),
        (Some(cert), Some(key)) => Ok(Some((
            read_identity(cert).map_err(at("cert"))?,
            read_key(key).map_err(at("key"))?,
        ))),
    }
}

fn pem_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::Pem {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The certificates of a PEM file: at least one.
///
/// # Errors
/// [`TlsError::Pem`] when the file is unreadable, not PEM, or holds no certificate.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(path, pem_reason(e)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(path, pem_reason(e)))?;
    if certs.is_empty() {
        return Err(pem_error(path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

/// The certificate chain of an identity (a server's, or a client's for mutual TLS) from a PEM
/// file: its first certificate must be one a peer can be identified by (X.509 v3).
///
/// # Errors
/// [`TlsError::Pem`] as [`read_certificates`], or when the first certificate cannot serve
/// (an X.509 v1 certificate, a DER that does not parse).
pub fn read_identity(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = read_certificates(path)?;
    if let Some(first) = certs.first() {
        rustls::server::ParsedCertificate::try_from(first).map_err(|e| {
            pem_error(
                path,
                format!(
                    "its first certificate cannot identify a TLS peer ({}): it must be an \
                     X.509 v3 certificate",
                    certificate_reason(&e)
                ),
            )
        })?;
    }
    Ok(certs)
}

/// Why rustls refused a certificate, in its own words without the Rust wrapping.
fn certificate_reason(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.to_string()
        }
        rustls::Error::InvalidCertificate(other) => format!("{other:?}"),
        other => other.to_string(),
    }
}

/// A certificate chain and a key that do not go together (at the key's setting).
fn mismatch(e: rustls::Error) -> SettingError {
    let why = match e {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            "the private key does not belong to the certificate".to_string()
        }
        other => other.to_string(),
    };
    at("key")(TlsError::Config(format!("certificate and key: {why}")))
}

/// The first private key of a PEM file (PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
/// [`TlsError::Pem`] when the file is unreadable, not PEM, or holds no private key.
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => {
            pem_error(path, "no PEM private key in the file")
        }
        other => pem_error(path, pem_reason(other)),
    })
}

fn pem_reason(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("not a valid PEM file ({other})"),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The system's trusted roots, read once per process (an unreadable store gives none).
fn system_roots() -> &'static RootCertStore {
    static ROOTS: OnceLock<RootCertStore> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let mut roots = RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        roots
    })
}

/// Client settings following `options`, offering h2 and HTTP/1.1 by ALPN, presenting the
/// `cert` identity when given.
///
/// # Errors
/// [`TlsError::Pem`] at `ca`, `cert` or `key` for a file that cannot be read or holds no
/// certificate or key, or a `cert` that cannot identify a peer ([`read_identity`]);
/// [`TlsError::Config`] for a CA certificate rustls refuses, `cert` without `key` (or the
/// reverse), or a `key` that does not fit `cert` (at `key`).
pub fn client_config(options: &TlsOptions) -> Result<Arc<ClientConfig>, SettingError> {
    let provider = provider();
    let identity = identity(options.cert.as_deref(), options.key.as_deref())?;
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| at("ca")(TlsError::Config(e.to_string())))?;
    let builder = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verify::AnyCertificate::new(provider)))
    } else {
        let mut roots = system_roots().clone();
        if let Some(path) = &options.ca {
            add_certificates(&mut roots, path).map_err(at("ca"))?;
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some((certs, key)) => builder
            .with_client_auth_cert(certs, key)
            .map_err(mismatch)?,
    };
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Add the certificates of the PEM file at `path` to `roots`.
fn add_certificates(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsError> {
    for cert in read_certificates(path)? {
        roots
            .add(cert)
            .map_err(|e| pem_error(path, format!("unusable CA certificate: {e}")))?;
    }
    Ok(())
}

/// A hyper-util connector for `https` URLs verifying servers following `options` (h2 and
/// HTTP/1.1 by ALPN, `TCP_NODELAY`); `http` URLs pass through in the clear unless
/// `https_only`.
///
/// # Errors
/// As [`client_config`].
pub fn https_connector(
    options: &TlsOptions,
    https_only: bool,
) -> Result<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    SettingError,
> {
    let mut config = (*client_config(options)?).clone();
    // The connector sets ALPN itself from the versions enabled.
    config.alpn_protocols.clear();
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
    http.set_nodelay(true);
    http.enforce_http(false);
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config);
    let builder = if https_only {
        builder.https_only()
    } else {
        builder.https_or_http()
    };
    Ok(builder.enable_all_versions().wrap_connector(http))
}

/// Server settings with the certificate chain of `cert` and the private key of `key` (PEM
/// files), offering h2 and HTTP/1.1 by ALPN; with `client_ca`, every client must present a
/// certificate chaining to a CA of that PEM file (mutual TLS), or its handshake fails.
///
/// # Errors
/// [`TlsError::Pem`] at `cert`, `key` or `client_ca` for a file that cannot be read or
/// holds no certificate or key, or a `cert` that cannot identify a peer ([`read_identity`]);
/// [`TlsError::Config`] when the key does not fit the certificate (at `key`) or rustls
/// refuses the client CAs (at `client_ca`).
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> Result<Arc<ServerConfig>, SettingError> {
    let certs = read_identity(cert).map_err(at("cert"))?;
    let key = read_key(key).map_err(at("key"))?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| at("cert")(TlsError::Config(e.to_string())))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            add_certificates(&mut roots, path).map_err(at("client_ca"))?;
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                roots.into(),
                provider(),
            )
            .build()
            .map_err(|e| at("client_ca")(pem_error(path, e)))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(certs, key).map_err(mismatch)?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// The name a client sends (SNI) and verifies for `host` (a DNS name or an IP address,
/// IPv6 without brackets).
///
/// # Errors
/// A message when `host` is neither.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("invalid TLS server name {host:?}: {e}"))
}

/// Whether `error` (or one of its sources) is a TLS failure: a certificate not trusted, a
/// name mismatch, an alert from the peer, a peer that does not speak TLS.
pub fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        // h2 keeps only the kind and the text of an I/O error: rustls's alerts by their words.
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::InvalidData
            && io
                .get_ref()
                .is_some_and(|inner| inner.to_string().starts_with("received fatal alert: "))
        {
            return true;
        }
        // An `io::Error`'s `source` skips the error it wraps: follow `get_ref` instead (the
        // HTTPS connector wraps tokio-rustls's `io::Error` in another).
        next = match e.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    false
}

#[cfg(test)]
mod tests;
