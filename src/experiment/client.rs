//! The runner's outgoing HTTP: probes, `ready` URLs and the control API, over hyper-util's
//! client; `https` URLs through rustls (the experiment's `tls` settings, ALPN h2/http1.1).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::tls::{SettingError, TlsOptions};

/// A request that got no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HttpError {
    /// No full answer within the time limit.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The URL or a header could not be used.
    #[error("bad request: {0}")]
    Request(String),
    /// Connection refused, reset, or the answer was cut.
    #[error("{0}")]
    Transport(String),
    /// The TLS handshake failed (certificate not trusted, wrong name, not TLS).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// A control API answered with a status other than 2xx.
    #[error("{url} answered {status}: {body}")]
    Status {
        /// The URL called.
        url: String,
        /// The status code (e.g. 404, 409).
        status: u16,
        /// The answer's body, trimmed (Toxiproxy's `{"error": …, "status": N}`).
        body: String,
    },
}

impl HttpError {
    /// The status code when the server answered with a non-2xx one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Full body.
    pub body: Bytes,
}

/// A cheap-to-clone HTTP client: `http` on HTTP/1.1, `https` on HTTP/2 or HTTP/1.1 by ALPN.
#[derive(Debug, Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// The bearer token sent with control API calls ([`Http::json`]), never with probes.
    bearer: Option<String>,
}

impl Default for Http {
    /// `https` verified against the system's roots.
    fn default() -> Self {
        match Self::with_tls(&TlsOptions::default()) {
            Ok(http) => http,
            // Without a CA file nothing is read that could fail.
            Err(e) => unreachable!("default TLS settings: {e}"),
        }
    }
}

/// The control API token of `shakedown run`/`test` for an external `control:` server:
/// `SHAKEDOWN_TOKEN` when set and not empty.
pub fn token_from_env() -> Option<String> {
    std::env::var("SHAKEDOWN_TOKEN")
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

impl Http {
    /// A client whose `https` requests verify servers following `options`.
    ///
    /// # Errors
    /// A `ca`, `cert` or `key` file that cannot be used (see [`crate::tls::client_config`]).
    pub fn with_tls(options: &TlsOptions) -> Result<Self, SettingError> {
        let connector = crate::tls::https_connector(options, false)?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(5))
                .build(connector),
            bearer: None,
        })
    }

    /// The same client, sending `Authorization: Bearer TOKEN` with control API calls.
    pub fn with_bearer(mut self, token: Option<String>) -> Self {
        self.bearer = token;
        self
    }

    /// Send a request and read the whole answer within `timeout`.
    pub async fn send(
        &self,
        method: http::Method,
        url: &str,
        headers: &BTreeMap<String, String>,
        body: Option<Bytes>,
        timeout: Duration,
    ) -> Result<Answer, HttpError> {
        let mut builder = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(k, v);
        }
        if body.is_some()
            && !headers
                .keys()
                .any(|k| k.eq_ignore_ascii_case("content-type"))
        {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| HttpError::Request(e.to_string()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| {
                if crate::tls::is_tls_failure(&e) {
                    HttpError::Tls(error_chain(&e))
                } else {
                    HttpError::Transport(error_chain(&e))
                }
            })?;
            let status = response.status().as_u16();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| HttpError::Transport(error_chain(&e)))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| HttpError::Timeout(timeout))?
    }

    /// A JSON request to a control API, as `User-Agent: shakedown/VERSION` (the actor its
    /// event journal records) with the bearer token if any; non-2xx answers become errors
    /// carrying the body.
    pub async fn json(
        &self,
        method: http::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        timeout: Duration,
    ) -> Result<Answer, HttpError> {
        let body = body.map(|b| Bytes::from(b.to_string()));
        let mut headers = BTreeMap::from([(
            "user-agent".to_string(),
            concat!("shakedown/", env!("CARGO_PKG_VERSION")).to_string(),
        )]);
        if let Some(token) = &self.bearer {
            headers.insert("authorization".to_string(), format!("Bearer {token}"));
        }
        let answer = self.send(method, url, &headers, body, timeout).await?;
        if (200..300).contains(&answer.status) {
            Ok(answer)
        } else {
            Err(HttpError::Status {
                url: url.to_string(),
                status: answer.status,
                body: String::from_utf8_lossy(&answer.body).trim().to_string(),
            })
        }
    }
}

/// An error and its sources on one line (hyper hides the useful part in the source).
pub(super) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
