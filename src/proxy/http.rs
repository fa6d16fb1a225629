//! HTTP mode: hyper on the client's socket, or on the proxy's HTTP front.
//!
//! An HTTP-mode proxy keeps its TCP face: its listener, connection numbering, TCP toxics and
//! descriptor budget are the TCP proxy's. A connection accepted while a TCP toxic acts on the
//! bytes is **relayed**: its pipes dial the proxy's **front** (a listener on `127.0.0.1:0`)
//! instead of the upstream, so TCP toxics act on the client's bytes exactly as in TCP mode;
//! the front connection ends with the relaying one (disabled, deleted), requests in flight too.
//! Either way hyper serves HTTP/1.1 and h2c (prior knowledge) with
//! hyper-util's auto server, keeps client connections alive, decides each request's HTTP
//! toxics (`decide`), acts on the verdicts (`serve`; the framing of what they fabricate or
//! rewrite is `frame`'s), and forwards (`forward`), streaming
//! bodies both ways (`body`): an HTTP/1.x client connection's requests on an upstream
//! connection of its own, driven in its task (`owned`), the rest through pooled hyper-util
//! clients. A request goes upstream in the
//! client's HTTP version: HTTP/1.x as HTTP/1.1, h2c as h2c (so gRPC passes through); h2 that
//! ALPN chose on a TLS connection the proxy terminated goes as HTTP/1.1 unless it is gRPC (the
//! client did not ask for HTTP/2, and most upstreams speak only HTTP/1.1); over TLS to the
//! upstream, ALPN chooses. A front connection the proxy did not dial itself is reset at its
//! first request.
//!
//! **Served directly** (`direct`): a connection accepted while the proxy has no toxic acting
//! on the bytes (TCP toxics other than the open-time `refuse_new` and `slow_open`) skips the
//! relay and the front: hyper serves the client's own socket, so a request crosses no extra
//! loopback hop, and the client's address is the socket's peer. Its bytes are counted in the
//! proxy's byte counters as they cross that socket. When a toxic acting on the bytes is added
//! later (or the proxy leaves HTTP mode), the connection shuts down gracefully: an HTTP/1.1
//! connection closes after its in-flight response (at once when idle), an h2 connection sends
//! GOAWAY and finishes its open streams; the client's next connection is relayed, toxics and all.
//!
//! `http_reset` resets the socket hyper serves: on a relayed connection the front's socket (the
//! pipe reading it sees the RST and resets the client, the TCP proxy's rule for a reset peer),
//! on a direct connection the client's socket itself.
//!
//! TLS (`tls`): with `tls_cert` and `tls_key` the proxy terminates the clients' TLS (TCP
//! toxics then act on the encrypted bytes, HTTP toxics on the requests inside); with
//! `upstream_tls` it forwards over TLS through a pooled client of its own.
//!
//! A client connection must send a whole request head within the proxy's head timeout
//! (`http_header_timeout`, [`crate::proxy::HEADER_TIMEOUT_DEFAULT`] unless set; read when the
//! connection is accepted) and finish its TLS handshake within the same time, or it is closed.

mod body;
mod counted;
mod decide;
mod direct;
mod forward;
mod frame;
mod held;
mod owned;
mod peers;
mod reset;
mod serve;
mod tls;

pub(crate) use direct::{serve as serve_direct, serves_directly};
pub(crate) use peers::PeerMap;
pub use tls::ProxyTls;
pub(crate) use tls::{FIELDS as TLS_FIELDS, HttpTls};

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Snapshot;

/// Any error of a body.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type on both sides of the front.
pub(crate) type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// An HTTP toxic's per-request state, shared by every connection and kept across updates.
#[derive(Debug, Default)]
pub(crate) struct RequestState {
    /// Requests it matched so far (the number of the next one is this + 1).
    pub(crate) number: AtomicU64,
    /// Faulted requests in flight (for `max_active`).
    pub(crate) active: AtomicU64,
}

/// What an HTTP-mode proxy's connections share with its front: the client addresses of the
/// relayed connections, and the front itself once started (which directly served connections
/// use). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpShared {
    /// Client addresses by front connection.
    pub(crate) peers: PeerMap,
    front: Arc<OnceLock<Arc<Front>>>,
}

impl HttpShared {
    /// The proxy's front, once [`HttpFront::start`] ran.
    pub(crate) fn front(&self) -> Option<&Arc<Front>> {
        self.front.get()
    }
}

/// What the front's connections share.
#[derive(Debug)]
pub(crate) struct Front {
    /// The proxy's name (part of every decision key).
    pub(crate) name: Arc<str>,
    /// The server seed.
    pub(crate) seed: u64,
    /// The live configuration (the real upstream, the toxics).
    pub(crate) config: watch::Receiver<Arc<Snapshot>>,
    /// Client addresses by front connection.
    pub(crate) peers: PeerMap,
    /// The pooled upstream client for HTTP/1.1 clients.
    pub(crate) client: Client<HttpConnector, ProxyBody>,
    /// The pooled upstream client for h2c clients: HTTP/2 with prior knowledge, so that
    /// gRPC and other h2-only traffic passes through.
    pub(crate) h2c: Client<HttpConnector, ProxyBody>,
    /// Requests, 5xx answers and latencies, for the live view.
    pub(crate) stats: crate::proxy::metrics::HttpStats,
}

/// A running front: its address and the switch that stops it and its connections.
#[derive(Debug)]
pub(crate) struct HttpFront {
    addr: SocketAddr,
    stop: CancellationToken,
}

/// How long an idle upstream connection stays in the pool.
const POOL_IDLE: Duration = Duration::from_secs(30);

impl HttpFront {
    /// Bind `127.0.0.1:0` and serve the front of proxy `name`, published in `shared` for
    /// the directly served connections. Fails only when no loopback port can be bound (out of
    /// descriptors).
    pub(crate) fn start(
        name: Arc<str>,
        seed: u64,
        config: watch::Receiver<Arc<Snapshot>>,
        shared: &HttpShared,
        stats: crate::proxy::metrics::HttpStats,
        tracker: &TaskTracker,
    ) -> std::io::Result<HttpFront> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = TcpListener::from_std(std_listener)?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .build(connector.clone());
        let h2c = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .http2_only(true)
            .build(connector);
        let front = Arc::new(Front {
            name,
            seed,
            config,
            peers: shared.peers.clone(),
            client,
            h2c,
            stats,
        });
        // Started once per proxy: a second start (none happens) would keep the first front.
        let _ = shared.front.set(front.clone());
        let stop = CancellationToken::new();
        tracker.spawn(accept_loop(listener, front, stop.clone(), tracker.clone()));
        Ok(HttpFront { addr, stop })
    }

    /// Where the proxy's pipes dial.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HttpFront {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    front: Arc<Front>,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, from)) => {
                let _ = stream.set_nodelay(true);
                let reset = CancellationToken::new();
                let io = reset::ResetOnDrop::new(stream, reset.clone());
                let client = ClientAddr::ViaFront(from);
                let ends = Ends {
                    reset,
                    stop: stop.clone(),
                    drain: None,
                };
                tracker.spawn(connection(io, client, front.clone(), ends));
            }
            Err(error) => {
                tracing::warn!(proxy = %front.name, %error, "HTTP front: accept failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
        }
    }
}

/// Who the client of a connection hyper serves is (for `x-forwarded-for`).
#[derive(Debug, Clone)]
enum ClientAddr {
    /// A direct connection: the socket's peer, as the `x-forwarded-for` value.
    Known(Option<http::HeaderValue>),
    /// A relayed connection from the proxy's socket at this address: looked up per request
    /// in the [`PeerMap`] (the proxy registers the client once it has dialled, which may be
    /// just after the front accepted).
    ViaFront(SocketAddr),
}

/// How a connection hyper serves ends, besides the client closing it.
struct Ends {
    /// Cancelled by `http_reset`: the connection is dropped at once, its socket with an RST.
    reset: CancellationToken,
    /// Cancelled when the front stops (relayed) or the proxy is disabled or deleted (direct):
    /// the connection is dropped at once (FIN).
    stop: CancellationToken,
    /// Direct connections: resolves when the connection should shut down gracefully (a toxic
    /// on the bytes was added, or the proxy left HTTP mode).
    drain: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
}

/// Serve one connection (`io`, the front's or a client's socket) until it closes, is reset by
/// `http_reset`, or is stopped; TLS is terminated first when the proxy has a certificate. The
/// head timeout (and the TLS handshake's) is the proxy's as the connection is accepted.
async fn connection<S>(io: S, client: ClientAddr, front: Arc<Front>, ends: Ends)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (acceptor, timeout) = match front.config.borrow().http.as_ref() {
        Some(t) => (
            t.tls.as_ref().and_then(|t| t.acceptor.clone()),
            t.header_timeout,
        ),
        None => (None, crate::proxy::HEADER_TIMEOUT_DEFAULT),
    };
    let Some(acceptor) = acceptor else {
        return serve_connection(TokioIo::new(io), client, front, ends, timeout, false).await;
    };
    let handshake = tokio::time::timeout(timeout, acceptor.accept(io));
    let tls = tokio::select! {
        done = handshake => match done {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(proxy = %front.name, %error, "HTTP: TLS handshake failed");
                return;
            }
            Err(_) => return,
        },
        _ = ends.stop.cancelled() => return,
    };
    serve_connection(TokioIo::new(tls), client, front, ends, timeout, true).await;
}

/// Serve HTTP/1.1 or HTTP/2 on `io` (plain, or TLS the proxy terminated: `terminated`) until
/// it closes or ends as `ends` says, or a request head takes longer than `head_timeout`.
async fn serve_connection<I>(
    io: TokioIo<I>,
    client: ClientAddr,
    front: Arc<Front>,
    ends: Ends,
    head_timeout: Duration,
    terminated: bool,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Ends { reset, stop, drain } = ends;
    // Set by the first request: until then the connection is on the head-read clock (hyper's
    // own timer covers HTTP/1.1 heads, not the version sniffing before them).
    let first = CancellationToken::new();
    // Relayed: cancelled when the proxy's connection that dialled this one ends (set first).
    let relay = Arc::new(OnceLock::<CancellationToken>::new());
    // HTTP/1.x requests go upstream on this connection's own upstream connection, driven
    // below in this task (hyper polls an HTTP/1 request's service future in it too).
    let owned = owned::OwnedUpstream::default();
    let service = hyper::service::service_fn({
        let reset = reset.clone();
        let first = first.clone();
        let owned = owned.clone();
        let relay = relay.clone();
        move |req| {
            let front = front.clone();
            let reset = reset.clone();
            let owned = owned.clone();
            // A front connection the proxy did not dial (another local process found the
            // front's port) is not a client of this proxy: it is reset without an answer, so
            // it bypasses neither `enabled: false` nor the TCP toxics. The proxy registers
            // its connection before relaying a byte, so a real request always finds it.
            let (xff, stranger) = match &client {
                ClientAddr::Known(xff) => (xff.clone(), false),
                ClientAddr::ViaFront(from) => match front.peers.lookup(*from) {
                    Some(found) => {
                        let _ = relay.set(found.gone);
                        (forward::forwarded_for(found.peer), false)
                    }
                    None => (None, true),
                },
            };
            first.cancel();
            async move {
                if stranger {
                    reset.cancel();
                    return Ok(forward::error(
                        http::StatusCode::FORBIDDEN,
                        "not a connection of this proxy",
                    ));
                }
                let start = tokio::time::Instant::now();
                let conn = serve::Conn {
                    xff,
                    reset: &reset,
                    terminated,
                    owned: &owned,
                };
                let response = serve::handle(&front, &conn, req).await;
                front
                    .stats
                    .record(response.status().as_u16(), start.elapsed());
                Ok::<_, Infallible>(response)
            }
        }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(head_timeout)
        // A client that half-closes after its request (`printf … | nc -N`) still gets the
        // answer.
        .half_close(true);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    // What ends the connection besides its client, polled only when woken (see `quiet`).
    let mut ended = std::pin::pin!(super::quiet::Quiet::new(async move {
        tokio::select! {
            _ = reset.cancelled() => {}
            _ = stop.cancelled() => {}
            // The first request head takes too long; then a relayed connection ends with the
            // proxy's (disabled, deleted): its requests in flight never reach the upstream.
            _ = async {
                tokio::select! {
                    _ = first.cancelled() => match relay.get() {
                        Some(gone) => gone.cancelled().await,
                        None => std::future::pending().await,
                    },
                    _ = tokio::time::sleep(head_timeout) => {}
                }
            } => {}
        }
    }));
    let mut drain = std::pin::pin!(super::quiet::Quiet::new(
        drain.unwrap_or_else(|| Box::pin(std::future::pending()))
    ));
    let mut draining = false;
    // The upstream connection is polled before the server (a response it reads is passed on
    // in the same wake) and after it (a request the server just handed it is written at once).
    let mut upstream_in = std::pin::pin!(owned.drive());
    let mut upstream_out = std::pin::pin!(owned.drive());
    loop {
        tokio::select! {
            biased;
            _ = upstream_in.as_mut() => {}
            _ = conn.as_mut() => break,
            _ = upstream_out.as_mut() => {}
            _ = ended.as_mut() => break,
            _ = drain.as_mut(), if !draining => {
                draining = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
