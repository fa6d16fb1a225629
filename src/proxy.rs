//! The fault-injecting TCP proxy: the accept loop and the per-connection plumbing.
//!
//! A running proxy is a listener plus one task per connection. Its
//! configuration (upstream address and toxics) is a `Snapshot` published
//! through a `tokio::sync::watch` channel: the control plane replaces the
//! snapshot and never waits on connections; each connection notices the
//! change on its next chunk or while idle, and applies it without closing.
//!
//! - `conn`: one connection: open-time toxics, dialling, both directions, FIN vs RST.
//! - `pipe`: one direction: read → toxic chain → write; the fast `relay` while no toxic applies.
//! - `relay`: the no-toxic fast path: read/write for small chunks, `splice(2)` for bulk.
//! - `race`: polls a connection's kill token and two directions only when woken.
//! - `chain`: the per-direction toxic stages that apply the pure verdicts of [`crate::fault`].
//! - `http`: HTTP mode: hyper serving HTTP/1.1 and h2c on the client's socket (no toxic on
//!   the bytes) or on the per-proxy HTTP front that the TCP pipes dial (relayed, with TCP
//!   toxics); it applies HTTP toxics per request and forwards through a pooled client.
//! - [`budget`]: the file descriptors connections and splice pipes may hold, and the pipe pool.
//! - [`metrics`]: Prometheus counters, including what each toxic actually affected.
//! - `workers`: the per-core threads connections run on, and `spawn_connection`.

pub mod budget;
mod chain;
mod conn;
pub(crate) mod http;
pub mod metrics;
mod pipe;
mod quiet;
mod race;
mod relay;
pub(crate) mod workers;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::fault::Toxic;
pub use budget::FdBudget;
pub use http::ProxyTls;
pub(crate) use http::{HttpFront, HttpShared, HttpTls, RequestState};
pub use metrics::{Metrics, ToxicMetrics};

/// A toxic as published to connections: the toxic plus a unique instance id,
/// so a deleted and re-created toxic starts afresh on each connection, and
/// its metric handles, built once when the toxic is created.
#[derive(Debug, Clone)]
pub(crate) struct ToxicEntry {
    /// Unique for the server's lifetime; kept across attribute updates.
    pub(crate) id: u64,
    /// The toxic itself.
    pub(crate) toxic: Toxic,
    /// What it affected (shared by every connection; kept across updates).
    pub(crate) metrics: ToxicMetrics,
    /// HTTP toxics: its request count and faulted requests in flight (kept across updates).
    pub(crate) requests: Arc<RequestState>,
}

impl PartialEq for ToxicEntry {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.toxic == other.toxic
    }
}

/// What a proxy speaks to its clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// Bytes, as Toxiproxy does (the default).
    #[default]
    Tcp,
    /// HTTP/1.1 and h2c, request by request (HTTP toxics apply).
    Http,
}

impl Protocol {
    /// The wire name, `tcp` or `http`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Http => "http",
        }
    }

    /// Parse a wire name; the error says what is accepted.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text {
            "tcp" => Ok(Protocol::Tcp),
            "http" => Ok(Protocol::Http),
            _ => Err(format!("expected \"tcp\" or \"http\", got {text:?}")),
        }
    }
}

/// HTTP mode: how long a client connection has to send a request head (its first, or the
/// next one on a kept-alive HTTP/1.1 connection) or to finish its TLS handshake, unless the
/// proxy's `http_header_timeout` says otherwise.
pub const HEADER_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// The `http_header_timeout` values accepted: 100 ms to 10 minutes.
pub const HEADER_TIMEOUT_RANGE: std::ops::RangeInclusive<Duration> =
    Duration::from_millis(100)..=Duration::from_secs(600);

/// Where an HTTP-mode proxy's front forwards, and whether it obeys fault headers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpTarget {
    /// The real upstream (`host:port`).
    pub(crate) upstream: String,
    /// Whether `x-shakedown-fault-*` request headers inject faults.
    pub(crate) header_faults: bool,
    /// How long a client connection has to send a request head or finish its TLS handshake.
    pub(crate) header_timeout: Duration,
    /// TLS toward the clients and the upstream, when any is set.
    pub(crate) tls: Option<Arc<HttpTls>>,
}

/// What every connection of a proxy follows: the upstream and the toxics in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Snapshot {
    /// The address each connection dials (`host:port`, resolved then): the upstream, or in
    /// HTTP mode the proxy's HTTP front.
    pub(crate) upstream: String,
    /// HTTP mode: where the front forwards; `None` in TCP mode.
    pub(crate) http: Option<HttpTarget>,
    /// The toxics in creation order.
    pub(crate) toxics: Vec<Arc<ToxicEntry>>,
}

/// Everything a proxy's connections share.
#[derive(Debug, Clone)]
pub(crate) struct ProxyContext {
    /// The proxy's name (part of every decision key and metric label).
    pub(crate) name: Arc<str>,
    /// The server seed.
    pub(crate) seed: u64,
    /// The live configuration.
    pub(crate) config: watch::Receiver<Arc<Snapshot>>,
    /// The server-wide metrics.
    pub(crate) metrics: Arc<Metrics>,
    /// Numbers connections from 1 in accept order; kept across disable/enable.
    pub(crate) connections: Arc<AtomicU64>,
    /// Tracks connection tasks so shutdown can wait for them.
    pub(crate) tracker: TaskTracker,
    /// The descriptors connections may hold (shared by every proxy of the server).
    pub(crate) budget: FdBudget,
    /// HTTP mode: the front (for directly served connections) and the client address of
    /// each relayed connection to it, by the dialling socket's address (`x-forwarded-for`).
    pub(crate) http: HttpShared,
}

/// A proxy's listener and connections. Dropping it does not stop it; call [`RunningProxy::close`].
///
/// The listener can be closed and re-opened on its own
/// ([`RunningProxy::close_listener`], [`RunningProxy::listen_again`]) while
/// the connections already accepted go on: that is how `refuse_new` makes
/// connects fail with `ECONNREFUSED`.
#[derive(Debug)]
pub(crate) struct RunningProxy {
    local_addr: SocketAddr,
    ctx: ProxyContext,
    kill: CancellationToken,
    accept: Option<Acceptor>,
}

#[derive(Debug)]
struct Acceptor {
    stop: CancellationToken,
    task: JoinHandle<TcpListener>,
}

impl RunningProxy {
    /// Start accepting on `listener`, which listens on `local_addr`.
    pub(crate) fn start(listener: TcpListener, local_addr: SocketAddr, ctx: ProxyContext) -> Self {
        let mut running = Self {
            local_addr,
            ctx,
            kill: CancellationToken::new(),
            accept: None,
        };
        running.listen_again(listener, local_addr);
        running
    }

    /// Whether the listening socket is open.
    pub(crate) fn is_listening(&self) -> bool {
        self.accept.is_some()
    }

    /// Close the listening socket only: new connects are refused by the
    /// kernel (`ECONNREFUSED`), connections already accepted go on.
    /// Returns once the socket is closed.
    pub(crate) async fn close_listener(&mut self) {
        drop(self.stop_accepting().await);
    }

    async fn stop_accepting(&mut self) -> Option<TcpListener> {
        let acceptor = self.accept.take()?;
        acceptor.stop.cancel();
        let listener = acceptor.task.await.ok();
        self.ctx.metrics.proxy(&self.ctx.name).listening.set(0);
        listener
    }

    /// Close every connection and hand the listening socket over (still bound and
    /// listening) with its address, for a proxy that replaces this one on the same address.
    pub(crate) async fn into_listener(mut self) -> Option<(TcpListener, SocketAddr)> {
        self.kill.cancel();
        let addr = self.local_addr;
        self.stop_accepting().await.map(|l| (l, addr))
    }

    /// Accept again, on a freshly bound `listener` (normally the same address) listening on
    /// `local_addr`.
    pub(crate) fn listen_again(&mut self, listener: TcpListener, local_addr: SocketAddr) {
        self.local_addr = local_addr;
        self.ctx.metrics.proxy(&self.ctx.name).listening.set(1);
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(
            listener,
            self.ctx.clone(),
            stop.clone(),
            self.kill.clone(),
        ));
        self.accept = Some(Acceptor { stop, task });
    }

    /// Close the listener (so new connects are refused) and every connection
    /// (FIN). Returns once the listening socket is closed; it does not wait
    /// for connections to finish.
    pub(crate) async fn close(mut self) {
        self.kill.cancel();
        self.close_listener().await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    ctx: ProxyContext,
    stop: CancellationToken,
    kill: CancellationToken,
) -> TcpListener {
    let proxy_metrics = ctx.metrics.proxy(&ctx.name);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                proxy_metrics.accepted.inc();
                // Its two sockets must fit the budget, or it is closed now (an RST), not
                // left to fail half-open when the upstream dial runs out of descriptors.
                // HTTP mode holds two more when relayed: the front's side of the connection and
                // an upstream connection of the pool (a directly served one gives them back).
                let http = ctx.config.borrow().http.is_some();
                let permit = ctx.budget.admit().and_then(|p| {
                    let front = if http {
                        Some(ctx.budget.admit()?)
                    } else {
                        None
                    };
                    Some((p, front))
                });
                let Some(permit) = permit else {
                    proxy_metrics.rejected.inc();
                    tracing::debug!(proxy = %ctx.name, %peer, "out of descriptors: connection rejected");
                    let _ = stream.set_zero_linger();
                    continue;
                };
                let number = ctx.connections.fetch_add(1, Ordering::Relaxed) + 1;
                tracing::debug!(proxy = %ctx.name, %peer, number, "accepted");
                let conn = conn::Connection {
                    ctx: ctx.clone(),
                    number,
                    metrics: proxy_metrics.clone(),
                    kill: kill.clone(),
                    _permit: permit,
                };
                workers::spawn_connection(&ctx.tracker, stream, move |s| conn.serve(s));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off briefly, keep serving.
                tracing::warn!(proxy = %ctx.name, %error, "accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        }
    }
    tracing::debug!(proxy = %ctx.name, "listener closed");
    listener
}
