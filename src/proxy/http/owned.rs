//! The upstream connection a client connection owns: one plain HTTP/1.1 connection per
//! HTTP/1.x client connection, driven in the client connection's own task.
//!
//! hyper's HTTP/1 server polls a request's service future inside the connection's task, and
//! the connection's task polls [`OwnedUpstream::drive`] beside the server: a request and its
//! response wake that one task (the pooled client wakes a task of its own per upstream
//! connection besides, and goes through a pool checkout). The connection is dialled at the
//! first request, kept across requests, and closed when the client connection ends.
//!
//! A connection the upstream closed while idle never fails a request: before it is reused it
//! is polled once (reading the upstream's FIN if one came) and checked ready; a request that
//! the connection could not send after all (hyper hands it back, see
//! [`hyper::client::conn::TrySendError`]) is sent once more on a fresh connection. A request
//! already written when the upstream closed is not resent (the upstream may have acted on it):
//! the client gets a 502.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::{ProxyBody, forward};
use crate::proxy::quiet::Alarm;

type UpstreamConn = Connection<TokioIo<TcpStream>, ProxyBody>;

/// A client connection's own upstream connection (none until its first request). Cheap to
/// clone: the clones share it.
#[derive(Clone, Default)]
pub(super) struct OwnedUpstream(Arc<Mutex<Slot>>);

impl std::fmt::Debug for OwnedUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.lock();
        f.debug_struct("OwnedUpstream")
            .field("addr", &slot.addr)
            .field("open", &slot.conn.is_some())
            .finish()
    }
}

#[derive(Default)]
struct Slot {
    /// Where the connection was dialled (`host:port`): a request for another address (the
    /// proxy's upstream was changed) gets a fresh connection.
    addr: String,
    /// The connection's sender, while no request is in flight on it.
    sender: Option<SendRequest<ProxyBody>>,
    /// The connection itself, polled by [`OwnedUpstream::drive`]; `None` once it ended.
    conn: Option<Pin<Box<UpstreamConn>>>,
    /// The connection is polled with this waker, and only when it rang (its socket is ready,
    /// a request was handed to it, a fresh one was installed), or before a reuse.
    alarm: Alarm,
}

impl Slot {
    /// Poll the connection (when it was woken, or `always`) for the task `cx`; forget it once
    /// it has ended (closed by either side, or failed: the request in flight, if any, gets the
    /// error).
    fn poll_conn(&mut self, cx: &Context<'_>, always: bool) {
        if !self.alarm.rang(cx) && !always {
            return;
        }
        let mut quiet = Context::from_waker(self.alarm.waker());
        if let Some(conn) = self.conn.as_mut()
            && let Poll::Ready(ended) = conn.as_mut().poll(&mut quiet)
        {
            if let Err(error) = ended {
                tracing::debug!(%error, "HTTP: owned upstream connection ended");
            }
            self.conn = None;
            self.sender = None;
        }
    }
}

impl OwnedUpstream {
    fn lock(&self) -> MutexGuard<'_, Slot> {
        // A panic while holding it leaves nothing half-done that matters: the slot is
        // consistent between any two statements.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drive the connection (reads and writes of the upstream exchange, noticing a close);
    /// never resolves. Poll it in the task that serves the client connection, for as long as
    /// that connection lives.
    pub(super) fn drive(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(move |cx| {
            self.lock().poll_conn(cx, false);
            Poll::Pending
        })
    }

    /// Send `req` (origin-form URI, `host` set) to `upstream` (`host:port`) on this client
    /// connection's upstream connection, dialling one when there is none, it was closed, or
    /// it goes elsewhere. The response head is returned; its body streams while
    /// [`OwnedUpstream::drive`] is polled.
    ///
    /// # Errors
    /// The reason for the client's 502: the dial failed (`upstream: connect …`), or the
    /// exchange failed (the upstream closed before its response head, answered garbage).
    pub(super) async fn send(
        &self,
        upstream: &str,
        req: Request<ProxyBody>,
    ) -> Result<Response<Incoming>, String> {
        let mut sender = match self.reusable(upstream).await {
            Some(sender) => sender,
            None => self.dial(upstream).await?,
        };
        let req = match sender.try_send_request(req).await {
            Ok(response) => return Ok(self.keep(sender, response)),
            Err(mut e) => match e.take_message() {
                // Never written: the connection closed (or failed) first. Once more, fresh.
                Some(req) => req,
                None => return Err(forward::reason(e.error())),
            },
        };
        let mut sender = self.dial(upstream).await?;
        match sender.try_send_request(req).await {
            Ok(response) => Ok(self.keep(sender, response)),
            Err(e) => Err(forward::reason(e.error())),
        }
    }

    /// The sender of the open connection to `upstream`, once it is ready for a request;
    /// `None` when there is none or it has closed (it is then forgotten).
    async fn reusable(&self, upstream: &str) -> Option<SendRequest<ProxyBody>> {
        let mut sender = poll_fn(|cx| {
            let mut slot = self.lock();
            // Read whatever the upstream sent while idle: its FIN closes the connection here.
            slot.poll_conn(cx, true);
            if slot.addr != upstream {
                slot.conn = None;
                slot.sender = None;
            }
            Poll::Ready(slot.sender.take())
        })
        .await?;
        // Ready once the previous exchange is over (at once, normally); an error if closed.
        sender.ready().await.ok()?;
        Some(sender)
    }

    /// Dial a fresh connection to `upstream`, replacing the current one.
    async fn dial(&self, upstream: &str) -> Result<SendRequest<ProxyBody>, String> {
        let stream = TcpStream::connect(upstream)
            .await
            .map_err(|e| format!("upstream: connect {upstream}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| forward::reason(&e))?;
        let mut slot = self.lock();
        slot.addr.clear();
        slot.addr.push_str(upstream);
        slot.conn = Some(Box::pin(conn));
        slot.sender = None;
        slot.alarm.ring();
        Ok(sender)
    }

    /// Put the sender back for the next request, and pass the response on.
    fn keep(
        &self,
        sender: SendRequest<ProxyBody>,
        response: Response<Incoming>,
    ) -> Response<Incoming> {
        let mut slot = self.lock();
        if slot.conn.is_some() {
            slot.sender = Some(sender);
        }
        response
    }
}
