//! `shakedown load --serve ADDR`: the agent's recent seconds over HTTP while it runs.
//!
//! `GET /intervals?from=S` answers [`LiveIntervals`] as JSON (the seconds from `S` on, with
//! base64 latency histograms); `GET /health` answers 200. Once the run has ended, `GET /report`
//! answers the final JSON report (with `histograms`) and `GET /hlog` its interval log (409
//! before). `POST /stop` ends the run now, as the plan's end would (an experiment runner
//! stopping its agents). Anything else is 404; a bad `from` is 400. The server lives as long as
//! the process, which after the run waits (at most `--linger`) for its report to be fetched.
//!
//! Who may ask (docs/load.md, `--serve`): on a loopback address without a token, anyone local,
//! as before; any other address needs a token (`--token-file`, `SHAKEDOWN_TOKEN`, `--token`),
//! else the command is refused (exit 2) before anything is sent. With a token every request
//! but `GET /health` (a readiness probe cannot send one) must carry `Authorization: Bearer
//! TOKEN`, else `401` and nothing done: a refused `POST /stop` stops nothing. Without a token
//! (so on loopback) every request passes the control API's browser checks
//! ([`crate::control::guard`]): `Host` must be a loopback address, `localhost` or the bound
//! address, so that a web page whose name was rebound to 127.0.0.1 cannot read or stop the
//! agent, and a request with a foreign `Origin` or `Sec-Fetch-Site` is refused; else `403`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::control::guard::Guard;
use crate::load::{LiveHandle, LiveIntervals, LoadReport};

/// What an agent serves: its live timeline, then its final report.
#[derive(Debug, Clone)]
pub(super) struct Agent {
    live: LiveHandle,
    /// The final report's JSON and interval log, once the run has ended.
    ending: Arc<OnceLock<(Bytes, Bytes)>>,
    /// Signalled when `GET /report` has been answered.
    fetched: Arc<tokio::sync::Notify>,
    /// The token every request but `GET /health` must carry, if any.
    token: Option<Arc<str>>,
    /// Without a token: the `Host`, `Origin` and content-type rules of the control API.
    guard: Option<Arc<Guard>>,
}

impl Agent {
    /// An agent bound to `bound`, serving `live` to holders of `token` (without one, to
    /// local clients that are not web pages), its report not yet known.
    pub(super) fn new(live: LiveHandle, token: Option<String>, bound: SocketAddr) -> Self {
        let guard = match token {
            Some(_) => None,
            None => Some(Arc::new(Guard::new(None, bound, Vec::new()).host_hint(
                "an agent without a token answers loopback names only: give it a token to be \
                 reached by another name",
            ))),
        };
        Self {
            live,
            ending: Arc::default(),
            fetched: Arc::default(),
            token: token.map(Arc::from),
            guard,
        }
    }

    /// Publish the final report (its JSON with `histograms`, and its per-second histograms as
    /// an interval log).
    pub(super) fn publish(&self, report: &LoadReport) -> anyhow::Result<()> {
        let json = serde_json::to_vec(report)?;
        let mut hlog = Vec::new();
        let start = report.wall_start.unwrap_or_else(SystemTime::now);
        report.intervals.write_hlog(&mut hlog, start)?;
        let _ = self.ending.set((json.into(), hlog.into()));
        Ok(())
    }

    /// Wait until the report has been fetched, `linger` has passed or one of `interrupts`
    /// (Ctrl-C, SIGTERM, SIGHUP, …) arrives.
    pub(super) async fn linger(
        &self,
        linger: Duration,
        interrupts: &mut crate::interrupt::Interrupts,
    ) -> Lingered {
        tokio::select! {
            fetched = tokio::time::timeout(linger, self.fetched.notified()) => match fetched {
                Ok(()) => Lingered::Fetched,
                Err(_) => Lingered::Unfetched,
            },
            signal = interrupts.first() => Lingered::Interrupted(signal),
        }
    }
}

/// How an agent's linger ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lingered {
    /// Its report was fetched.
    Fetched,
    /// `--linger` passed first.
    Unfetched,
    /// This signal arrived first.
    Interrupted(&'static str),
}

/// Bind `addr` (before the run starts: a bad address sends nothing); the bound address.
///
/// # Errors
/// As [`crate::cli::listen::bind`]; [`crate::exit::InvalidInput`] when the address is not
/// loopback and `token` is `None` (the listener closed again).
pub(super) async fn bind(
    addr: &str,
    token: Option<&str>,
) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = crate::cli::listen::bind("--serve", addr).await?;
    let bound = listener.local_addr()?;
    crate::bearer::require_off_loopback(
        "the load agent's --serve endpoint",
        "read its results and stop its load",
        bound,
        token,
    )?;
    Ok((listener, bound))
}

/// Serve `agent` on `listener` until the process ends.
pub(super) fn spawn(listener: TcpListener, agent: Agent) {
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let agent = agent.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| answer(agent.clone(), req));
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

async fn answer(agent: Agent, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let health = method == http::Method::GET && path == "/health";
    if let Some(guard) = &agent.guard
        && let Err(refused) = guard.check(&method, &path, req.headers())
    {
        let status = StatusCode::from_u16(refused.status).unwrap_or(StatusCode::FORBIDDEN);
        return Ok(reply(status, format!("{}\n", refused.message)));
    }
    if let Some(token) = &agent.token
        && !health
        && let Err(refused) = crate::bearer::check(token, req.headers())
    {
        return Ok(unauthorized(refused));
    }
    if method == http::Method::POST && path == "/stop" {
        agent.live.stop();
        return Ok(reply(StatusCode::ACCEPTED, "stopping\n"));
    }
    if method != http::Method::GET {
        return Ok(reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET only (and POST /stop)\n",
        ));
    }
    Ok(match path.as_str() {
        "/health" => reply(StatusCode::OK, "ok\n"),
        "/intervals" => match from(req.uri().query()) {
            Ok(first) => json(&agent.live.since(first)),
            Err(message) => reply(StatusCode::BAD_REQUEST, message),
        },
        "/report" | "/hlog" => match agent.ending.get() {
            None => reply(StatusCode::CONFLICT, "the run has not ended\n"),
            Some((report, _)) if path == "/report" => {
                agent.fetched.notify_one();
                typed(reply(StatusCode::OK, report.clone()), "application/json")
            }
            Some((_, hlog)) => typed(reply(StatusCode::OK, hlog.clone()), "text/plain"),
        },
        _ => reply(
            StatusCode::NOT_FOUND,
            "not found: GET /intervals?from=SECOND, /report, /hlog, /health; POST /stop\n",
        ),
    })
}

/// `401` with `WWW-Authenticate: Bearer`: the request is not answered.
fn unauthorized(refused: crate::bearer::Refused) -> Response<Full<Bytes>> {
    let message = match refused {
        crate::bearer::Refused::Wrong => "wrong bearer token\n",
        crate::bearer::Refused::Missing => {
            "this agent requires a token: send Authorization: Bearer TOKEN (an experiment \
             names it with load: {token_env: NAME} or {token_file: FILE})\n"
        }
    };
    let mut r = reply(StatusCode::UNAUTHORIZED, message);
    r.headers_mut().insert(
        http::header::WWW_AUTHENTICATE,
        http::HeaderValue::from_static("Bearer"),
    );
    r
}

fn typed(mut r: Response<Full<Bytes>>, content_type: &'static str) -> Response<Full<Bytes>> {
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    r
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
        Ok(bytes) => typed(reply(StatusCode::OK, bytes), "application/json"),
        Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
