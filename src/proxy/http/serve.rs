//! One request through the front: decide its faults, act on them, forward the rest.
//!
//! Faults apply in the toxics' order. Delays add up; the first `Answer` or `Reset` ends the
//! exchange (after the request delays so far); throttles and tampers shape the upstream's
//! response. Every response a fault fabricated or altered carries `x-shakedown-fault` with the
//! name of each toxic that faulted it. Delays and throttles follow their toxics' live
//! configuration while they hold the request (`held`).
//!
//! A request whose body the client botched (a malformed chunked body, a close mid-body) is
//! answered `400` with the reason `client: …`, not `502` for the upstream.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;

use super::body::{ClientBody, ClientError, Shaped};
use super::decide::{self, Decision};
use super::forward::{self, Form};
use super::held::{self, Held, LiveRate};
use super::owned::OwnedUpstream;
use super::{Front, ProxyBody};
use crate::fault::http::{Answer, MARKER, Tamper, Verdict};
use crate::proxy::HttpTarget;

/// What the faults of one request add up to.
#[derive(Debug, Default)]
struct Plan {
    request_delay: Duration,
    response_delay: Duration,
    rate: Option<u64>,
    /// The delays and throttles by the toxic that decided each, to follow its changes.
    held: Held,
    tampers: Vec<Tamper>,
    /// The exchange ends here: a fabricated answer, or `None` inside for a reset.
    end: Option<Option<Answer>>,
    markers: Vec<String>,
}

impl Plan {
    /// The plan of `decision`.
    fn of(decision: &mut Decision) -> Plan {
        let mut plan = Plan::default();
        for fault in decision.faults.drain(..) {
            match &fault.toxic {
                Some(entry) => plan.held.toxic(entry, &fault.verdict),
                None => plan.held.fixed(&fault.verdict),
            }
            plan.markers.push(fault.name);
            match fault.verdict {
                Verdict::Answer(a) => plan.end = Some(Some(a)),
                Verdict::Reset => plan.end = Some(None),
                Verdict::Delay { request, response } => {
                    plan.request_delay = plan.request_delay.saturating_add(request);
                    plan.response_delay = plan.response_delay.saturating_add(response);
                }
                Verdict::Throttle { bytes_per_sec } => {
                    plan.rate = Some(plan.rate.map_or(bytes_per_sec, |r| r.min(bytes_per_sec)));
                }
                Verdict::Tamper(t) => plan.tampers.push(t),
            }
            if plan.end.is_some() {
                break;
            }
        }
        plan
    }

    fn mark(&self, headers: &mut HeaderMap) {
        for name in &self.markers {
            if let Ok(v) = HeaderValue::from_str(name) {
                headers.append(MARKER, v);
            }
        }
    }
}

/// The client connection a request came on.
#[derive(Debug)]
pub(super) struct Conn<'a> {
    /// The client's address as `x-forwarded-for` has it, when known.
    pub(super) xff: Option<HeaderValue>,
    /// Cancelled for `http_reset` (the connection task then drops the connection with an
    /// RST).
    pub(super) reset: &'a CancellationToken,
    /// The client's TLS ended at the proxy, so its HTTP/2 is ALPN's choice, not the client's:
    /// such a request goes upstream as HTTP/1.1 unless it is gRPC.
    pub(super) terminated: bool,
    /// The connection's own upstream connection, for its HTTP/1.x requests to a plain
    /// HTTP/1.1 upstream.
    pub(super) owned: &'a OwnedUpstream,
}

/// Serve one request that came on `conn`: the response for the client (never returns after
/// an `http_reset`: the connection is dropped).
///
/// Where it goes: over TLS through the proxy's TLS client when `upstream_tls` is set; as h2c
/// through the pooled h2c client when the client spoke h2c (or gRPC over h2 the proxy
/// terminated); an HTTP/1.x request on the connection's own upstream connection; any other
/// (h2 that ALPN chose, whose streams run concurrently) through the pooled HTTP/1.1 client.
pub(super) async fn handle(
    front: &Front,
    conn: &Conn<'_>,
    req: Request<Incoming>,
) -> Response<ProxyBody> {
    let snapshot = front.config.borrow().clone();
    let Some(target) = snapshot.http.as_ref() else {
        return forward::error(StatusCode::BAD_GATEWAY, "the proxy is not in HTTP mode");
    };
    let (mut parts, body) = req.into_parts();
    let version = parts.version;
    // An HTTP/1.x answer given before the request's body was read ends the connection, and
    // says so: the client is still sending a body nobody reads (or waits for `100 Continue`).
    let unread = version < Version::HTTP_2 && !hyper::body::Body::is_end_stream(&body);
    // The request's fault headers are read first: a request refused for a bad one counts
    // in no toxic's numbers. Their faults apply after the toxics'.
    let asked = if target.header_faults {
        match decide::from_headers(&mut parts.headers) {
            Ok(faults) => faults,
            Err(e) => return closing(forward::error(StatusCode::BAD_REQUEST, &e), unread),
        }
    } else {
        Vec::new()
    };
    let mut decision = decide::toxics(front, &snapshot, &parts);
    decision.faults.extend(asked);
    let plan = Plan::of(&mut decision);
    if !plan.request_delay.is_zero() {
        // From now: the request arrived microseconds ago (no clock read for the others).
        let arrival = tokio::time::Instant::now();
        held::hold(&front.config, arrival, |s| plan.held.request_delay(s)).await;
    }
    match plan.end.clone() {
        Some(Some(answer)) => return closing(respond(front, answer, &plan, decision), unread),
        Some(None) => {
            conn.reset.cancel();
            return std::future::pending().await;
        }
        None => {}
    }
    // A request held by a delay goes where the proxy points now (its upstream may have been
    // updated meanwhile), or nowhere if the proxy left HTTP mode.
    let now;
    let target = if plan.request_delay.is_zero() {
        target
    } else {
        now = front.config.borrow().clone();
        match now.http.as_ref() {
            Some(target) => target,
            None => {
                return closing(
                    forward::error(StatusCode::BAD_GATEWAY, "the proxy left HTTP mode"),
                    unread,
                );
            }
        }
    };
    // Only a body still to come can fail (a bodiless request costs nothing more).
    let client_error = (!hyper::body::Body::is_end_stream(&body)).then(ClientError::default);
    let response = match send(front, conn, target, parts, body, client_error.as_ref()).await {
        Ok(r) => r,
        // The upstream client fails the exchange when the client's body fails: the client's.
        Err(e) => {
            return match client_error.as_ref().and_then(|c| c.get()) {
                Some(reason) => forward::error(StatusCode::BAD_REQUEST, reason),
                None => forward::error(StatusCode::BAD_GATEWAY, &e),
            };
        }
    };
    if !plan.response_delay.is_zero() {
        let head = tokio::time::Instant::now();
        held::hold(&front.config, head, |s| plan.held.response_delay(s)).await;
    }
    let mut response = forward::response(response, version);
    let mut truncate = None;
    for t in &plan.tampers {
        tamper(&mut response, t, &mut truncate);
    }
    shape(front, response, &plan, decision, truncate, None)
}

/// Send the request (`parts`, `body`) to `target`'s upstream the way [`handle`] says; the
/// reason for a 502 if it fails. A failure of the client's body is noted in `client_error`
/// (when given).
async fn send(
    front: &Front,
    conn: &Conn<'_>,
    target: &HttpTarget,
    parts: http::request::Parts,
    body: Incoming,
    client_error: Option<&ClientError>,
) -> Result<Response<Incoming>, String> {
    let upstream = target.upstream.as_str();
    let xff = conn.xff.clone();
    let watched = |req: Request<ProxyBody>| match client_error {
        Some(error) => {
            req.map(|b| http_body_util::BodyExt::boxed_unsync(ClientBody::new(b, error.clone())))
        }
        None => req,
    };
    if let Some(client) = target.tls.as_ref().and_then(|t| t.upstream.as_ref()) {
        let req = forward::request(parts, body, Form::Absolute("https"), upstream, xff)?;
        return client
            .request(watched(req))
            .await
            .map_err(|e| forward::reason(&e));
    }
    if parts.version != Version::HTTP_2 {
        let req = forward::request(parts, body, Form::Origin, upstream, xff)?;
        return conn.owned.send(upstream, watched(req)).await;
    }
    let h2c = !conn.terminated || is_grpc(&parts.headers);
    let req = watched(forward::request(
        parts,
        body,
        Form::Absolute("http"),
        upstream,
        xff,
    )?);
    let sent = if h2c {
        front.h2c.request(forward::as_h2(req)).await
    } else {
        front.client.request(req).await
    };
    sent.map_err(|e| forward::reason(&e))
}

/// Whether a request is gRPC (`content-type: application/grpc`, `+proto` and the like), which
/// needs HTTP/2 end to end.
fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// `response`, saying `connection: close` when `unread` (an HTTP/1.x request whose body was
/// not read): hyper ends such a connection, and a keep-alive client must know not to reuse it.
fn closing(mut response: Response<ProxyBody>, unread: bool) -> Response<ProxyBody> {
    if unread {
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// A fabricated answer.
fn respond(front: &Front, answer: Answer, plan: &Plan, decision: Decision) -> Response<ProxyBody> {
    let r = super::frame::answer(answer.status, answer.headers, answer.body);
    let trailers = (!answer.trailers.is_empty()).then(|| answer.trailers.into_iter().collect());
    shape(front, r, plan, decision, None, trailers)
}

/// Apply one `http_tamper` to the upstream's response.
fn tamper(response: &mut Response<ProxyBody>, t: &Tamper, truncate: &mut Option<u64>) {
    super::frame::tamper(response, t);
    if let Some(n) = t.truncate {
        *truncate = Some(truncate.map_or(n, |m| m.min(n)));
    }
}

/// Mark a faulted response and shape its body (throttle, following `front`'s configuration;
/// truncation, trailers, slots).
fn shape(
    front: &Front,
    response: Response<ProxyBody>,
    plan: &Plan,
    decision: Decision,
    truncate: Option<u64>,
    trailers: Option<HeaderMap>,
) -> Response<ProxyBody> {
    let (mut parts, body) = response.into_parts();
    plan.mark(&mut parts.headers);
    if plan.rate.is_none() && truncate.is_none() && trailers.is_none() && decision.guards.is_empty()
    {
        return Response::from_parts(parts, body);
    }
    let live = plan
        .held
        .throttled()
        .then(|| LiveRate::new(plan.held.clone(), front.config.clone()));
    let shaped = Shaped::new(body, plan.rate, live, truncate, trailers, decision.guards);
    Response::from_parts(parts, http_body_util::BodyExt::boxed_unsync(shaped))
}
