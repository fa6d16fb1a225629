//! HTTP routing of the control API: Toxiproxy 2.12's endpoints, status codes and bodies.
//!
//! Path segments are percent-decoded before they are matched, so `/proxies/my%2Ddb` addresses
//! `my-db`; names themselves are restricted at creation (`crate::config::name`), so every
//! proxy and toxic the API creates can be addressed.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::error::ApiError;
use super::events::Events;
use super::journal::{Journal, change};
use super::store::{self, Store};
use super::wire;
use crate::proxy::Metrics;
use crate::proxy::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;

/// The Toxiproxy version whose API this server speaks.
pub const TOXIPROXY_VERSION: &str = "2.12.0";

/// What the HTTP handlers share.
#[derive(Debug)]
pub(crate) struct Api {
    /// The proxies.
    pub(crate) store: Arc<Store>,
    /// The metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// Largest accepted request body, in bytes.
    pub(crate) max_body_bytes: usize,
    /// How long a request body may take to arrive.
    pub(crate) read_timeout: Duration,
    /// The server seed, echoed by `/version`.
    pub(crate) seed: u64,
    /// The open-file limit the descriptor budget was drawn from, echoed by `/version`.
    pub(crate) open_files: u64,
    /// Descriptors proxied connections and pipes may hold, echoed by `/version`.
    pub(crate) budget: u64,
    /// Whether the console is served at `/ui`.
    pub(crate) console: bool,
    /// The event journal.
    pub(crate) journal: Arc<Journal>,
    /// The event stream's hub.
    pub(crate) events: Events,
    /// Who may use the API.
    pub(crate) guard: super::guard::Guard,
}

pub(crate) type Reply = Response<UnsyncBoxBody<Bytes, Infallible>>;

fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut r = Response::new(Full::new(body.into()).boxed_unsync());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

fn json_reply(status: u16, value: &Value) -> Reply {
    respond(status, "application/json", value.to_string())
}

fn error_reply(error: &ApiError) -> Reply {
    json_reply(error.status, &error.body())
}

fn no_content() -> Reply {
    let mut r = Response::new(Full::new(Bytes::new()).boxed_unsync());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// Serve one request.
pub(crate) async fn handle(api: Arc<Api>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    if let Err(e) = api
        .guard
        .check(req.method(), req.uri().path(), req.headers())
    {
        tracing::debug!(method = %req.method(), path = %req.uri().path(), error = %e.message, "request refused");
        let mut reply = error_reply(&e);
        if e.status == 401 {
            reply.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
        }
        return Ok(reply);
    }
    if api.console
        && let Some(page) = super::ui::serve(req.method(), req.uri().path())
    {
        return Ok(page.map(BodyExt::boxed_unsync));
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let Some(decoded) = path
        .trim_start_matches('/')
        .split('/')
        .map(percent_decode)
        .collect::<Option<Vec<String>>>()
    else {
        return Ok(respond(
            404,
            "text/plain; charset=utf-8",
            "404 page not found\n",
        ));
    };
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let actor = actor(req.headers());
    let reply = match route(&segments, &method) {
        Route::Found(Endpoint::Events) => events_reply(&api, req.headers()),
        Route::NotFound => respond(404, "text/plain; charset=utf-8", "404 page not found\n"),
        Route::MethodNotAllowed => respond(405, "text/plain; charset=utf-8", ""),
        Route::Found(endpoint) => {
            let read = tokio::time::timeout(api.read_timeout, read_body(req, api.max_body_bytes));
            let body = match read.await {
                Ok(Ok(body)) => body,
                Ok(Err(e)) => return Ok(error_reply(&e)),
                Err(_) => {
                    let secs = api.read_timeout.as_secs_f64();
                    let e =
                        ApiError::new(408, format!("request body not received within {secs} s"));
                    return Ok(error_reply(&e));
                }
            };
            match dispatch(&api, endpoint, &segments, &method, &body, &actor).await {
                Ok(reply) => reply,
                Err(e) => {
                    tracing::debug!(%method, %path, status = e.status, error = %e.message, "request refused");
                    error_reply(&e)
                }
            }
        }
    };
    Ok(reply)
}

/// Who made a request, for the journal: its `x-shakedown-actor` header (the console sends
/// `console:NAME`), else its `User-Agent`, else `api`; at most 128 characters, control
/// characters dropped.
fn actor(headers: &HeaderMap) -> String {
    let pick = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(128)
                    .collect::<String>()
            })
            .filter(|v| !v.trim().is_empty())
    };
    pick("x-shakedown-actor")
        .or_else(|| pick("user-agent"))
        .unwrap_or_else(|| "api".to_string())
}

/// `GET /events`: a server-sent event stream, or `503` when every subscriber slot is taken.
fn events_reply(api: &Api, headers: &HeaderMap) -> Reply {
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let Some(body) = api.events.subscribe(&api.journal, last_id) else {
        let e = ApiError::new(
            503,
            format!(
                "too many event stream subscribers (at most {})",
                super::events::MAX_SUBSCRIBERS
            ),
        );
        return error_reply(&e);
    };
    let mut r = Response::new(body.boxed_unsync());
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/event-stream"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-cache"),
    );
    r
}

/// A percent-decoded path segment; `None` when it is malformed or not UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let raw = segment.as_bytes();
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = std::str::from_utf8(raw.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::new(
            413,
            format!("request body too large: the limit is {limit} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(ApiError::bad_body(format!("cannot read the body: {e}"))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Reset,
    Proxies,
    Populate,
    Proxy,
    Toxics,
    Toxic,
    Version,
    Metrics,
    ToxicTypes,
    Notes,
    JournalJson,
    JournalMd,
    Events,
}

enum Route {
    Found(Endpoint),
    NotFound,
    MethodNotAllowed,
}

fn route(segments: &[&str], method: &Method) -> Route {
    use Endpoint::*;
    let (endpoint, allowed): (Endpoint, &[Method]) = match segments {
        ["reset"] => (Reset, &[Method::POST]),
        ["proxies"] => (Proxies, &[Method::GET, Method::POST]),
        ["populate"] => (Populate, &[Method::POST]),
        ["proxies", p] if !p.is_empty() => (
            Proxy,
            &[Method::GET, Method::POST, Method::PATCH, Method::DELETE],
        ),
        ["proxies", p, "toxics"] if !p.is_empty() => (Toxics, &[Method::GET, Method::POST]),
        ["proxies", p, "toxics", t] if !p.is_empty() && !t.is_empty() => (
            Toxic,
            &[Method::GET, Method::POST, Method::PATCH, Method::DELETE],
        ),
        ["version"] => (Version, &[Method::GET]),
        ["metrics"] => (Metrics, &[Method::GET]),
        ["toxic-types"] => (ToxicTypes, &[Method::GET]),
        ["notes"] => (Notes, &[Method::POST]),
        ["journal.json"] => (JournalJson, &[Method::GET]),
        ["journal.md"] => (JournalMd, &[Method::GET]),
        ["events"] => (Events, &[Method::GET]),
        _ => return Route::NotFound,
    };
    if allowed.contains(method) {
        Route::Found(endpoint)
    } else {
        Route::MethodNotAllowed
    }
}

async fn dispatch(
    api: &Api,
    endpoint: Endpoint,
    segments: &[&str],
    method: &Method,
    body: &[u8],
    actor: &str,
) -> Result<Reply, ApiError> {
    let store = &api.store;
    let record = |entry| api.journal.record(actor, entry);
    let proxy = segments.get(1).copied().unwrap_or_default();
    let toxic = segments.get(3).copied().unwrap_or_default();
    let reading = *method == Method::GET || *method == Method::DELETE;
    Ok(match (endpoint, reading) {
        (Endpoint::Version, _) => json_reply(
            200,
            &json!({
                "version": TOXIPROXY_VERSION,
                "shakedown": env!("CARGO_PKG_VERSION"),
                "seed": api.seed,
                "open_files_limit": api.open_files,
                "fd_budget": api.budget,
            }),
        ),
        (Endpoint::Metrics, _) => respond(200, METRICS_CONTENT_TYPE, api.metrics.render()),
        (Endpoint::ToxicTypes, _) => json_reply(200, &crate::fault::catalog::toxic_types()),
        (Endpoint::Notes, _) => {
            let note = wire::note_request(&wire::parse_body(body)?)?;
            let event = api
                .journal
                .record(&note.author, change::note(&note.author, &note.text, actor));
            json_reply(201, &serde_json::to_value(&event).unwrap_or_default())
        }
        (Endpoint::JournalJson, _) => json_reply(200, &api.journal.to_json()),
        (Endpoint::JournalMd, _) => respond(
            200,
            "text/markdown; charset=utf-8",
            api.journal.to_markdown(),
        ),
        // Answered before the body is read (see `handle`).
        (Endpoint::Events, _) => return Err(ApiError::new(500, "event stream not served")),
        (Endpoint::Reset, _) => {
            store.reset().await?;
            record(change::reset());
            no_content()
        }
        (Endpoint::Proxies, true) => json_reply(200, &store.list().await),
        (Endpoint::Proxies, false) => {
            let req = wire::proxy_request(&wire::parse_body(body)?)?;
            store::check_upstream(&req.upstream).await?;
            let view = store.create(req).await?;
            record(change::proxy_created(&view));
            json_reply(201, &view)
        }
        (Endpoint::Populate, _) => {
            let reqs = wire::populate_request(&wire::parse_body(body)?)?;
            for (i, r) in reqs.iter().enumerate() {
                store::check_upstream(&r.upstream)
                    .await
                    .map_err(|e| e.within(&format!("[{i}]")))?;
            }
            let names: Vec<String> = reqs.iter().map(|r| r.name.clone()).collect();
            let proxies = store.populate(reqs).await?;
            record(change::populate(&names));
            json_reply(201, &json!({ "proxies": proxies }))
        }
        (Endpoint::Proxy, _) => match *method {
            Method::GET => json_reply(200, &store.get(proxy).await?),
            Method::DELETE => {
                store.delete(proxy).await?;
                record(change::proxy_deleted(proxy));
                no_content()
            }
            _ => {
                let upd = wire::proxy_update(&wire::parse_body(body)?)?;
                if let Some(u) = &upd.upstream {
                    store::check_upstream(u).await?;
                }
                let view = store.update(proxy, upd).await?;
                record(change::proxy_updated(&view));
                json_reply(200, &view)
            }
        },
        (Endpoint::Toxics, true) => json_reply(200, &store.toxics(proxy).await?),
        (Endpoint::Toxics, false) => {
            let req = wire::toxic_request(&wire::parse_body(body)?)?;
            let view = store.add_toxic(proxy, req).await?;
            record(change::toxic_added(proxy, &view));
            json_reply(200, &view)
        }
        (Endpoint::Toxic, _) => match *method {
            Method::GET => json_reply(200, &store.toxic(proxy, toxic).await?),
            Method::DELETE => {
                store.remove_toxic(proxy, toxic).await?;
                record(change::toxic_removed(proxy, toxic, None));
                no_content()
            }
            _ => {
                let patch = wire::toxic_patch(&wire::parse_body(body)?)?;
                // A lease renewal (`{}` every second from `shakedown run`) changes nothing a
                // person would note: not recorded.
                let renewal = patch.toxicity.is_none() && patch.attributes.is_empty();
                let view = store.update_toxic(proxy, toxic, patch).await?;
                if !renewal {
                    record(change::toxic_updated(proxy, &view));
                }
                json_reply(200, &view)
            }
        },
    })
}
