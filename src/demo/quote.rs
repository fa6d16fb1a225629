//! The dependency path behind `GET /api/quote`: a backend call with a
//! timeout, guarded by the circuit breaker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, Uri};
use http_body_util::Empty;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::time::Instant;

use super::breaker::{Admission, Breaker, BreakerConfig};

/// Why a backend call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackendError {
    /// No answer within `--backend-timeout`.
    #[error("backend timeout after {0:?}")]
    Timeout(Duration),
    /// The connection or the exchange failed (refused, reset, …).
    #[error("backend unreachable: {0}")]
    Unreachable(String),
    /// The backend answered with a non-2xx status.
    #[error("backend answered {0}")]
    Status(StatusCode),
}

/// What one `/api/quote` call came to.
#[derive(Debug)]
pub(crate) enum QuoteOutcome {
    /// The backend answered 2xx.
    Ok {
        /// The backend's status.
        status: StatusCode,
    },
    /// The backend call failed (and counted against the breaker).
    Failed(BackendError),
    /// The breaker is open: the backend was not called.
    Rejected {
        /// Time until a trial call may be admitted.
        retry_after: Duration,
    },
}

/// Counters and breaker state shown by `/stats`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct QuoteStats {
    /// `closed`, `open` or `half_open`.
    pub breaker_state: &'static str,
    /// How many times the breaker has opened.
    pub breaker_opens: u64,
    /// Quotes served from a successful backend call.
    pub quote_ok: u64,
    /// Quotes that failed because the backend call failed.
    pub quote_failed: u64,
    /// Quotes refused at once because the breaker was open.
    pub quote_rejected: u64,
}

/// The backend client and its breaker.
#[derive(Debug)]
pub(crate) struct Quote {
    client: Client<HttpConnector, Empty<Bytes>>,
    health: Uri,
    timeout: Duration,
    breaker: Mutex<Breaker>,
    ok: AtomicU64,
    failed: AtomicU64,
    rejected: AtomicU64,
}

impl Quote {
    /// A client for `backend` (an `http://host:port` base URL); calls go to
    /// `{backend}/health`. `None` when the URL is not a plain-HTTP base URL.
    pub(crate) fn new(backend: &str, timeout: Duration, breaker: BreakerConfig) -> Option<Self> {
        let base: Uri = backend.parse().ok()?;
        if base.scheme_str() != Some("http") || base.host().is_none() || base.query().is_some() {
            return None;
        }
        let health = format!("{}/health", backend.trim_end_matches('/'))
            .parse()
            .ok()?;
        Some(Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
            health,
            timeout,
            breaker: Mutex::new(Breaker::new(breaker)),
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
        })
    }

    fn breaker(&self) -> std::sync::MutexGuard<'_, Breaker> {
        // The breaker's methods cannot panic mid-update, so a poisoned lock
        // still holds a consistent state.
        self.breaker.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ask the breaker, call the backend if admitted, report the result.
    pub(crate) async fn call(&self) -> QuoteOutcome {
        if let Admission::Reject { retry_after } = self.breaker().admit(Instant::now()) {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return QuoteOutcome::Rejected { retry_after };
        }
        let result = self.backend().await;
        self.breaker().record(result.is_ok(), Instant::now());
        match result {
            Ok(status) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                QuoteOutcome::Ok { status }
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                QuoteOutcome::Failed(e)
            }
        }
    }

    async fn backend(&self) -> Result<StatusCode, BackendError> {
        let call = self.client.get(self.health.clone());
        let response = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| BackendError::Timeout(self.timeout))?
            .map_err(|e| BackendError::Unreachable(error_chain(&e)))?;
        match response.status() {
            status if status.is_success() => Ok(status),
            status => Err(BackendError::Status(status)),
        }
    }

    /// Whether the breaker is open (in its cooldown) right now.
    pub(crate) fn is_open(&self) -> bool {
        self.breaker().state(Instant::now()).name() == "open"
    }

    /// The counters for `/stats`.
    pub(crate) fn stats(&self) -> QuoteStats {
        let breaker = self.breaker();
        QuoteStats {
            breaker_state: breaker.state(Instant::now()).name(),
            breaker_opens: breaker.opens(),
            quote_ok: self.ok.load(Ordering::Relaxed),
            quote_failed: self.failed.load(Ordering::Relaxed),
            quote_rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

/// An error and its sources on one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
