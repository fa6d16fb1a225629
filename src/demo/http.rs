//! The demo target's HTTP server: routing, the per-request service time, and
//! a graceful drain (hyper-util auto + graceful).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::json;
use tokio::net::TcpListener;

use super::quote::{BackendError, Quote, QuoteOutcome, QuoteStats};
use super::store::Store;

/// Largest accepted value, in bytes (bigger bodies get 413).
pub(crate) const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// How long a graceful stop waits for open connections to finish.
pub(crate) const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The service time added to every `/kv` request: `base` plus a uniform
/// draw from `0..=jitter`, seeded.
#[derive(Debug)]
pub(crate) struct ServiceTime {
    /// `--latency`.
    pub base: Duration,
    /// `--jitter`.
    pub jitter: Duration,
    /// The seeded decision stream for the jitter.
    pub rng: Mutex<StdRng>,
}

impl ServiceTime {
    /// The next request's service time.
    pub(crate) fn next(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.base;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        let extra = rng.random_range(0..=self.jitter.as_micros() as u64);
        self.base + Duration::from_micros(extra)
    }
}

/// Everything a request handler needs.
#[derive(Debug)]
pub(crate) struct App {
    /// The key-value store.
    pub store: Arc<Store>,
    /// The backend client, when `--backend` was given.
    pub quote: Option<Arc<Quote>>,
    /// The service time of `/kv` requests.
    pub service_time: ServiceTime,
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, body: impl Into<Bytes>, content_type: &str) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn json(status: StatusCode, body: serde_json::Value) -> Reply {
    reply(status, body.to_string(), "application/json")
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Reply {
    json(status, json!({ "error": message.to_string() }))
}

/// Answer one request.
pub(crate) async fn handle(app: &App, request: Request<Incoming>) -> Reply {
    let path = request.uri().path().to_owned();
    let method = request.method().clone();
    if let Some(key) = path.strip_prefix("/kv/") {
        if key.is_empty() {
            return error(StatusCode::NOT_FOUND, "missing key: use /kv/{key}");
        }
        tokio::time::sleep(app.service_time.next()).await;
        return kv(app, method, key, request.into_body()).await;
    }
    match (method, path.as_str()) {
        (Method::GET, "/health") => json(StatusCode::OK, json!({"status": "ok"})),
        (Method::GET, "/ready") => match &app.quote {
            Some(quote) if quote.is_open() => {
                error(StatusCode::SERVICE_UNAVAILABLE, "circuit open")
            }
            _ => json(StatusCode::OK, json!({"status": "ready"})),
        },
        (Method::GET, "/stats") => stats(app).await,
        (Method::GET, "/api/quote") => quote(app).await,
        (_, "/health" | "/ready" | "/stats" | "/api/quote") => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, format!("no route for {path}")),
    }
}

async fn kv(app: &App, method: Method, key: &str, body: Incoming) -> Reply {
    let store = &app.store;
    let stored = match method {
        Method::GET => {
            return match store.get(key).await {
                Some(entry) => reply(StatusCode::OK, entry.value, "application/octet-stream"),
                None => error(StatusCode::NOT_FOUND, format!("no key {key}")),
            };
        }
        Method::PUT => {
            let bytes = match Limited::new(body, MAX_VALUE_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                    return error(StatusCode::PAYLOAD_TOO_LARGE, "value larger than 1 MiB");
                }
                Err(e) => return error(StatusCode::BAD_REQUEST, format!("reading body: {e}")),
            };
            let Ok(value) = String::from_utf8(bytes.to_vec()) else {
                return error(StatusCode::BAD_REQUEST, "value must be UTF-8");
            };
            let (store, key) = (store.clone(), key.to_owned());
            detached(async move { store.put(&key, value).await.map(Some) }).await
        }
        Method::DELETE => {
            let (store, key) = (store.clone(), key.to_owned());
            detached(async move { store.delete(&key).await.map(|()| None) }).await
        }
        _ => return error(StatusCode::METHOD_NOT_ALLOWED, "use GET, PUT or DELETE"),
    };
    match stored {
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "the write task failed"),
        Some(Ok(Some(version))) => json(StatusCode::OK, json!({"key": key, "version": version})),
        Some(Ok(None)) => reply(StatusCode::NO_CONTENT, Bytes::new(), "application/json"),
        Some(Err(e)) => {
            tracing::error!("write not acknowledged: {e}");
            error(StatusCode::INTERNAL_SERVER_ERROR, e)
        }
    }
}

/// Run `work` to completion even if the client goes away meanwhile: a write
/// cut off mid-append, or a breaker trial call abandoned in flight, would
/// leave the store or the breaker inconsistent. `None` if the task panicked.
async fn detached<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> Option<T> {
    tokio::spawn(work).await.ok()
}

async fn quote(app: &App) -> Reply {
    let Some(quote) = &app.quote else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no backend configured (--backend)",
        );
    };
    let quote = quote.clone();
    let Some(outcome) = detached(async move { quote.call().await }).await else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the backend call task failed",
        );
    };
    match outcome {
        QuoteOutcome::Ok { status } => json(
            StatusCode::OK,
            json!({"quote": "ok", "backend_status": status.as_u16()}),
        ),
        QuoteOutcome::Failed(e @ BackendError::Timeout(_)) => error(StatusCode::GATEWAY_TIMEOUT, e),
        QuoteOutcome::Failed(e) => error(StatusCode::BAD_GATEWAY, e),
        QuoteOutcome::Rejected { retry_after } => {
            let mut response = error(StatusCode::SERVICE_UNAVAILABLE, "circuit open");
            let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
            response
        }
    }
}

async fn stats(app: &App) -> Reply {
    let quote = app.quote.as_ref().map_or(
        QuoteStats {
            breaker_state: "disabled",
            breaker_opens: 0,
            quote_ok: 0,
            quote_failed: 0,
            quote_rejected: 0,
        },
        |quote| quote.stats(),
    );
    let store = app.store.stats().await;
    let mut body = serde_json::to_value(store).unwrap_or_default();
    if let (Some(map), Ok(serde_json::Value::Object(extra))) =
        (body.as_object_mut(), serde_json::to_value(quote))
    {
        map.extend(extra);
    }
    json(StatusCode::OK, body)
}

/// Serve `app` on `listener` until `shutdown` resolves, then stop accepting
/// and let open connections finish (bounded by [`DRAIN_TIMEOUT`]).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) {
    let builder = auto::Builder::new(TokioExecutor::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(handle(&app, request).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; stopping anyway");
    }
}
