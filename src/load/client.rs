//! The HTTP client: keep-alive connections owned by the worker that uses them.
//!
//! Each worker holds at most its share of `connections` [`Conn`]s and lends
//! one to each request, so the connection cap is also the in-flight cap and
//! no request takes a lock to find a connection. A connection is opened on
//! first use (a `TcpStream` with `TCP_NODELAY`), kept alive across requests, and
//! dropped after any error so the next request reconnects. An `http` target speaks
//! HTTP/1.1 on the wire path of [`h1`] (the request's rendered bytes, `httparse`, no
//! task per connection); an `https` target ([`https`]) does the TLS handshake first (rustls, SNI
//! from the URL) and speaks HTTP/2 through hyper when the server chooses `h2` by ALPN,
//! HTTP/1.1 (hyper's `client::conn::http1`) otherwise. A failed handshake is
//! [`ErrorClass::Tls`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::errors::{ErrorClass, FAULT_HEADER};
use super::plan::Target;
use super::template::{Context, RequestTemplate, Vars, WireRequest};

mod grpc;
mod h1;
mod https;
mod watch;

use https::{Sender, http1_over, secure};

pub(super) use watch::{Alarm, Limit, Watched, Watches};

/// A request ready to send: its bytes for the wire path, or a hyper request (`https`).
#[derive(Debug)]
pub(super) enum Outgoing {
    /// For a plain `http` target.
    Wire(WireRequest),
    /// For an `https` target (boxed: a request's future carries it).
    Hyper(Box<Request<Full<Bytes>>>),
}

/// Build `template`'s request for `target` with the `common` headers, and its body;
/// `None` when a rendered path or header value is not valid HTTP.
pub(super) fn request(
    template: &RequestTemplate,
    target: &Target,
    common: &[(http::HeaderName, http::HeaderValue)],
    ctx: &Context,
    vars: &Vars,
) -> Option<(Outgoing, Bytes)> {
    if target.tls.is_none() {
        let (wire, body) = template.wire(&target.authority, common, ctx, vars)?;
        return Some((Outgoing::Wire(wire), body));
    }
    let (req, body) = template.build(&target.authority, common, ctx, vars)?;
    Some((Outgoing::Hyper(Box::new(req)), body))
}

/// An open connection: the wire path's, or hyper's.
#[derive(Debug)]
enum Link {
    Wire(h1::Wire),
    Hyper(Sender),
}

/// A connection slot: empty until first used or after an error.
#[derive(Debug, Default)]
pub(super) struct Conn {
    link: Option<Link>,
    gauge: Option<Arc<Gauge>>,
    /// Its index among its worker's slots (its [`Watches`] entry).
    slot: usize,
}

/// Connections open now and at most, across every worker of a run.
#[derive(Debug, Default)]
pub(super) struct Gauge {
    open: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn up(&self) {
        let now = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }

    fn down(&self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }

    /// The most connections that were open at once.
    pub(super) fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

/// A complete response.
#[derive(Debug)]
pub(super) struct Answer {
    /// Status code.
    pub status: StatusCode,
    /// Whether shakedown's fault injection fabricated or altered it (`x-shakedown-fault`): a
    /// failure only when it failed ([`Answer::class`]).
    pub marked: bool,
    /// Whether it is a gRPC error (a non-zero `grpc-status` in its headers or trailers).
    pub grpc_failed: bool,
    /// The body, when it was asked for.
    pub body: Option<Bytes>,
}

impl Answer {
    /// Its error class, `None` for a success ([`ErrorClass::of_response`]).
    pub(super) fn class(&self) -> Option<ErrorClass> {
        ErrorClass::of_response(self.status, self.marked, self.grpc_failed)
    }

    /// Whether it is a 2xx success (what acknowledges a write).
    pub(super) fn is_success(&self) -> bool {
        self.status.is_success() && self.class().is_none()
    }
}

/// The result of one exchange, with the connection handed back.
#[derive(Debug)]
pub(super) struct Exchanged {
    /// The connection, for reuse.
    pub conn: Conn,
    /// When the exchange began (connect included).
    pub sent: Instant,
    /// When it ended.
    pub done: Instant,
    /// The response or why there was none.
    pub result: Result<Answer, ErrorClass>,
}

impl Conn {
    /// Empty slot number `slot` of a worker, whose open connections count in `gauge`.
    pub(super) fn counted(gauge: Arc<Gauge>, slot: usize) -> Self {
        Self {
            link: None,
            gauge: Some(gauge),
            slot,
        }
    }

    /// Its index among its worker's slots.
    pub(super) fn slot(&self) -> usize {
        self.slot
    }

    /// The class of `error`, which ended this connection's request to `target` (a TLS
    /// failure's reason noted); the connection is dropped.
    async fn failed(&mut self, target: &Target, error: &hyper::Error) -> ErrorClass {
        let (class, reason) = match &self.link {
            Some(Link::Hyper(sender)) => sender.class_of(error).await,
            _ => (ErrorClass::of_hyper(error), None),
        };
        if let (Some(reason), Some(tls)) = (reason, &target.tls) {
            tls.reasons.note(class, &reason);
        }
        self.close();
        class
    }

    /// Drop the connection, if any (the next request reconnects).
    fn close(&mut self) {
        if self.link.take().is_some()
            && let Some(g) = &self.gauge
        {
            g.down();
        }
    }

    fn opened(&mut self, link: Link) {
        self.close();
        if let Some(g) = &self.gauge {
            g.up();
        }
        self.link = Some(link);
    }

    /// A TCP connection to `target` with `TCP_NODELAY`.
    async fn dial(target: &Target) -> Result<TcpStream, ErrorClass> {
        let stream = match target.addr {
            Some(addr) => TcpStream::connect(addr).await,
            None => TcpStream::connect((target.host.as_str(), target.port)).await,
        }
        .map_err(|e| ErrorClass::of_connect(&e))?;
        let _ = stream.set_nodelay(true);
        Ok(stream)
    }

    /// Send `req` on the wire path, reusing the open connection when it is still good.
    async fn send_wire(
        &mut self,
        target: &Target,
        req: &WireRequest,
        keep_body: bool,
    ) -> Result<Answer, ErrorClass> {
        let reusable = matches!(&self.link, Some(Link::Wire(w)) if w.is_reusable());
        if !reusable {
            self.close();
            let stream = Self::dial(target).await?;
            self.opened(Link::Wire(h1::Wire::new(stream)));
        }
        let Some(Link::Wire(wire)) = self.link.as_mut() else {
            return Err(ErrorClass::Other);
        };
        match wire.exchange(req, keep_body).await {
            Ok((answer, true)) => Ok(answer),
            Ok((answer, false)) => {
                self.close();
                Ok(answer)
            }
            Err(class) => {
                self.close();
                Err(class)
            }
        }
    }

    async fn connect(target: &Target) -> Result<Sender, ErrorClass> {
        let stream = Self::dial(target).await?;
        match &target.tls {
            None => http1_over(stream).await,
            Some(tls) => secure(stream, tls).await,
        }
    }

    async fn send(
        &mut self,
        target: &Target,
        req: Request<Full<Bytes>>,
        keep_body: bool,
    ) -> Result<Answer, ErrorClass> {
        let reusable = match &mut self.link {
            Some(Link::Hyper(s)) if !s.is_closed() => s.ready().await,
            _ => false,
        };
        if !reusable {
            self.close();
            let sender = Self::connect(target).await?;
            self.opened(Link::Hyper(sender));
        }
        let Some(Link::Hyper(sender)) = self.link.as_mut() else {
            return Err(ErrorClass::Other);
        };
        let response = match sender.send(target, req).await {
            Ok(response) => response,
            Err(e) => return Err(self.failed(target, &e).await),
        };
        let status = response.status();
        let marked = response.headers().contains_key(FAULT_HEADER);
        let mut grpc = grpc::Grpc::default();
        grpc.fields(response.headers());
        // A marked response whose body fails was failed by the fault.
        let blame = |class| if marked { ErrorClass::Injected } else { class };
        let mut body = response.into_body();
        let kept = if keep_body {
            Some(match body.collect().await {
                Ok(collected) => {
                    if let Some(trailers) = collected.trailers() {
                        grpc.fields(trailers);
                    }
                    collected.to_bytes()
                }
                Err(e) => return Err(blame(self.failed(target, &e).await)),
            })
        } else {
            while let Some(frame) = body.frame().await {
                match frame {
                    Ok(frame) => {
                        if let Some(trailers) = frame.trailers_ref() {
                            grpc.fields(trailers);
                        }
                    }
                    Err(e) => return Err(blame(self.failed(target, &e).await)),
                }
            }
            None
        };
        Ok(Answer {
            status,
            marked,
            grpc_failed: grpc.failed(),
            body: kept,
        })
    }
}

/// Send `req` on `conn` (connecting if needed) within `limit` (a `Duration` with its own
/// timer, or a worker's [`Watched`] slot).
pub(super) async fn exchange(
    mut conn: Conn,
    target: &Target,
    req: Outgoing,
    keep_body: bool,
    limit: impl Limit,
) -> Exchanged {
    let sent = Instant::now();
    let sending = match req {
        Outgoing::Wire(w) => {
            limit
                .within(sent, conn.send_wire(target, &w, keep_body))
                .await
        }
        // Boxed, so that hyper's larger futures do not size every request's future.
        Outgoing::Hyper(r) => {
            limit
                .within(sent, Box::pin(conn.send(target, *r, keep_body)))
                .await
        }
    };
    let result = match sending {
        Ok(r) => r,
        Err(_) => {
            // The connection is mid-exchange; it cannot be reused.
            conn.close();
            Err(ErrorClass::Timeout)
        }
    };
    Exchanged {
        conn,
        sent,
        done: Instant::now(),
        result,
    }
}
