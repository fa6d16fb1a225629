//! `shakedown load --serve ADDR`: the agent's recent seconds over HTTP while it runs.
//!
//! `GET /intervals?from=S` answers [`LiveIntervals`] as JSON (the seconds from `S` on, with
//! base64 latency histograms); `GET /health` answers 200. Anything else is 404; a bad `from`
//! is 400. The server lives as long as the process.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::exit::InvalidInput;
use crate::load::{LiveHandle, LiveIntervals};

/// Bind `addr` (before the run starts: a bad address sends nothing); the bound address.
pub(super) async fn bind(addr: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| InvalidInput::new(format!("--serve {addr}: cannot listen: {e}")))?;
    let bound = listener.local_addr()?;
    Ok((listener, bound))
}

/// Serve `live` on `listener` until the process ends.
pub(super) fn spawn(listener: TcpListener, live: LiveHandle) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let live = live.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(live.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r
}

async fn answer(
    live: LiveHandle,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.method() != http::Method::GET {
        return Ok(reply(StatusCode::METHOD_NOT_ALLOWED, "GET only\n"));
    }
    Ok(match req.uri().path() {
        "/health" => reply(StatusCode::OK, "ok\n"),
        "/intervals" => match from(req.uri().query()) {
            Ok(first) => json(&live.since(first)),
            Err(message) => reply(StatusCode::BAD_REQUEST, message),
        },
        _ => reply(
            StatusCode::NOT_FOUND,
            "not found: GET /intervals?from=SECOND\n",
        ),
    })
}

/// The `from` query parameter (default 0).
fn from(query: Option<&str>) -> Result<u64, String> {
    for pair in query.unwrap_or_default().split('&') {
        if let Some(v) = pair.strip_prefix("from=") {
            return v
                .parse()
                .map_err(|_| format!("from={v:?}: expected a whole number of seconds\n"));
        }
    }
    Ok(0)
}

fn json(body: &LiveIntervals) -> Response<Full<Bytes>> {
    match serde_json::to_vec(body) {
        Ok(bytes) => {
            let mut r = reply(StatusCode::OK, bytes);
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
