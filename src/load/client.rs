//! The HTTP/1.1 client: keep-alive connections owned by the worker that uses them.
//!
//! Each worker holds at most its share of `connections` [`Conn`]s and lends
//! one to each request, so the connection cap is also the in-flight cap and
//! no request takes a lock to find a connection. A connection is opened on
//! first use (hyper's `client::conn::http1` over a `TcpStream` with
//! `TCP_NODELAY`, through hyper-util's `TokioIo`), kept alive across
//! requests, and dropped after any error so the next request reconnects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::errors::{ErrorClass, FAULT_HEADER};
use super::plan::Target;

/// A connection slot: empty until first used or after an error.
#[derive(Debug, Default)]
pub(super) struct Conn {
    sender: Option<SendRequest<Full<Bytes>>>,
    gauge: Option<Arc<Gauge>>,
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
    /// Whether shakedown's fault injection fabricated it.
    pub injected: bool,
    /// The body, when it was asked for.
    pub body: Option<Bytes>,
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
    /// An empty slot whose open connections count in `gauge`.
    pub(super) fn counted(gauge: Arc<Gauge>) -> Self {
        Self {
            sender: None,
            gauge: Some(gauge),
        }
    }

    /// Drop the connection, if any (the next request reconnects).
    fn close(&mut self) {
        if self.sender.take().is_some()
            && let Some(g) = &self.gauge
        {
            g.down();
        }
    }

    fn opened(&mut self, sender: SendRequest<Full<Bytes>>) {
        self.close();
        if let Some(g) = &self.gauge {
            g.up();
        }
        self.sender = Some(sender);
    }

    async fn connect(target: &Target) -> Result<SendRequest<Full<Bytes>>, ErrorClass> {
        let stream = match target.addr {
            Some(addr) => TcpStream::connect(addr).await,
            None => TcpStream::connect((target.host.as_str(), target.port)).await,
        }
        .map_err(|e| ErrorClass::of_connect(&e))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ErrorClass::of_hyper(&e))?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the peer closes; errors are
            // already reported to the request that saw them.
            let _ = connection.await;
        });
        Ok(sender)
    }

    async fn send(
        &mut self,
        target: &Target,
        req: Request<Full<Bytes>>,
        keep_body: bool,
    ) -> Result<Answer, ErrorClass> {
        let reusable = match &mut self.sender {
            Some(s) if !s.is_closed() => s.ready().await.is_ok(),
            _ => false,
        };
        if !reusable {
            self.close();
            let sender = Self::connect(target).await?;
            self.opened(sender);
        }
        let Some(sender) = self.sender.as_mut() else {
            return Err(ErrorClass::Other);
        };
        let response = sender.send_request(req).await.map_err(|e| {
            self.close();
            ErrorClass::of_hyper(&e)
        })?;
        let status = response.status();
        let injected = response.headers().contains_key(FAULT_HEADER);
        let mut body = response.into_body();
        let kept = if keep_body {
            Some(
                body.collect()
                    .await
                    .map_err(|e| {
                        self.close();
                        ErrorClass::of_hyper(&e)
                    })?
                    .to_bytes(),
            )
        } else {
            while let Some(frame) = body.frame().await {
                if let Err(e) = frame {
                    self.close();
                    return Err(ErrorClass::of_hyper(&e));
                }
            }
            None
        };
        Ok(Answer {
            status,
            injected,
            body: kept,
        })
    }
}

/// Send `req` on `conn` (connecting if needed) within `timeout`.
pub(super) async fn exchange(
    mut conn: Conn,
    target: &Target,
    req: Request<Full<Bytes>>,
    keep_body: bool,
    timeout: Duration,
) -> Exchanged {
    let sent = Instant::now();
    let result = match tokio::time::timeout(timeout, conn.send(target, req, keep_body)).await {
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
