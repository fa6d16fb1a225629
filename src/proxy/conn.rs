//! One proxied connection: open-time toxics, the upstream dial, both pipes, FIN vs RST.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::TcpStream;
use tokio::net::tcp::{ReadHalf, WriteHalf};
use tokio_util::sync::CancellationToken;

use super::budget::Permit;
use super::chain::{Chain, Ending};
use super::metrics::ProxyMetrics;
use super::pipe::{Pipe, PipeEnd};
use super::race::{Branch, Race};
use super::{ProxyContext, http};
use crate::fault::Stream;
use crate::fault::kind::OnOpen;
use crate::fault::roll::DecisionKey;

/// A connection just accepted, with what it needs to run.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The proxy's shared context.
    pub(crate) ctx: ProxyContext,
    /// This connection's number on the proxy (from 1).
    pub(crate) number: u64,
    /// The proxy's metric handles.
    pub(crate) metrics: ProxyMetrics,
    /// Cancelled when the proxy is disabled, deleted or shut down.
    pub(crate) kill: CancellationToken,
    /// Its two sockets' share of the descriptor budget, and in HTTP mode the front's two.
    pub(crate) _permit: (Permit, Option<Permit>),
}

/// What the open-time toxics decided for a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenVerdict {
    /// Reset it at once (`refuse_new`).
    Refuse,
    /// Dial the upstream after this delay (`slow_open`; zero for none).
    Dial(Duration),
}

impl Connection {
    /// Decide the open-time toxics (pure apart from counting metrics).
    pub(crate) fn open_verdict(&self) -> OpenVerdict {
        let snapshot = self.ctx.config.borrow().clone();
        let mut delay = Duration::ZERO;
        for entry in &snapshot.toxics {
            let toxic = &entry.toxic;
            if !toxic.kind.acts_on_open() {
                continue;
            }
            let key = DecisionKey {
                seed: self.ctx.seed,
                proxy: &self.ctx.name,
                connection: self.number,
                toxic: &toxic.name,
            };
            if !toxic.toxicity.affects(key.draw()) {
                continue;
            }
            entry.metrics.connections.inc();
            match toxic.kind.behaviour().on_open() {
                Some(OnOpen::Refuse) => return OpenVerdict::Refuse,
                Some(OnOpen::Delay(d)) => delay = delay.saturating_add(d),
                None => {}
            }
        }
        OpenVerdict::Dial(delay)
    }

    /// Serve the connection to its end.
    pub(crate) async fn serve(mut self, mut client: TcpStream) {
        self.metrics.active.inc();
        let _active = ActiveGuard(self.metrics.clone());
        let _ = client.set_nodelay(true);
        let delay = match self.open_verdict() {
            OpenVerdict::Refuse => {
                let _ = client.set_zero_linger();
                return;
            }
            OpenVerdict::Dial(delay) => delay,
        };
        if !delay.is_zero() {
            tokio::select! {
                _ = self.kill.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
        }
        if let Some(front) = self.direct_front() {
            // A pooled upstream connection and the client's socket: the first permit's two.
            self._permit.1 = None;
            let config = self.ctx.config.clone();
            return http::serve_direct(client, front, config, &self.metrics, &self.kill).await;
        }
        let upstream_addr = self.ctx.config.borrow().upstream.clone();
        let dialled = tokio::select! {
            _ = self.kill.cancelled() => return,
            dialled = TcpStream::connect(upstream_addr.as_str()) => dialled,
        };
        let mut upstream = match dialled {
            Ok(stream) => stream,
            Err(error) => {
                tracing::debug!(proxy = %self.ctx.name, upstream = %upstream_addr, %error, "upstream dial failed");
                self.metrics.dial_failures.inc();
                return;
            }
        };
        let _ = upstream.set_nodelay(true);
        // HTTP mode: tell the front who the client is (x-forwarded-for).
        let _peer = match (upstream.local_addr(), client.peer_addr()) {
            (Ok(local), Ok(peer)) if self.ctx.config.borrow().http.is_some() => {
                Some(self.ctx.http.peers.register(local, peer))
            }
            _ => None,
        };
        let ending = self.pump(&mut client, &mut upstream).await;
        if ending == Some(Ending::Rst) {
            let _ = client.set_zero_linger();
            let _ = upstream.set_zero_linger();
        }
    }

    /// HTTP mode with no toxic on the bytes: the front whose hyper serves the client's socket
    /// itself (no relay, no loopback hop); `None` to relay to the front or the upstream.
    fn direct_front(&self) -> Option<Arc<http::Front>> {
        if !http::serves_directly(&self.ctx.config.borrow()) {
            return None;
        }
        self.ctx.http.front().cloned()
    }

    fn pipe(&self, stream: Stream) -> Pipe {
        let bytes = match stream {
            Stream::Upstream => self.metrics.upstream_bytes.clone(),
            Stream::Downstream => self.metrics.downstream_bytes.clone(),
        };
        Pipe {
            chain: Chain::new(
                stream,
                self.ctx.seed,
                Arc::clone(&self.ctx.name),
                self.number,
            ),
            config: self.ctx.config.clone(),
            bytes,
            budget: self.ctx.budget.clone(),
        }
    }

    /// Run both directions; `None` when both closed in order, otherwise how to tear down.
    async fn pump(&self, client: &mut TcpStream, upstream: &mut TcpStream) -> Option<Ending> {
        let (client_read, client_write) = client.split();
        let (upstream_read, upstream_write) = upstream.split();
        let closed = [AtomicBool::new(false), AtomicBool::new(false)];
        let up = direction(
            self.pipe(Stream::Upstream),
            client_read,
            upstream_write,
            &closed,
            0,
        );
        let down = direction(
            self.pipe(Stream::Downstream),
            upstream_read,
            client_write,
            &closed,
            1,
        );
        let kill = async {
            self.kill.cancelled().await;
            Some(Ending::Fin)
        };
        // A wake-up polls only what it woke: the kill token and the idle direction are not
        // polled for every chunk.
        let (mut kill, mut up, mut down) = (pin!(kill), pin!(up), pin!(down));
        Race::new([kill.as_mut() as Branch<'_, _>, up.as_mut(), down.as_mut()]).await
    }
}

/// One direction to its end: `Some(how)` to tear the connection down, `None`
/// once both directions have closed in order. A direction that closed first
/// lingers: a toxic added later on it (`reset_peer`, `timeout`) still ends
/// the connection.
async fn direction(
    mut pipe: Pipe,
    src: ReadHalf<'_>,
    dst: WriteHalf<'_>,
    closed: &[AtomicBool; 2],
    me: usize,
) -> Option<Ending> {
    if let PipeEnd::Kill(how) = pipe.run(src, dst).await {
        return Some(how);
    }
    closed[me].store(true, Ordering::SeqCst);
    if closed[1 - me].load(Ordering::SeqCst) {
        return None;
    }
    Some(pipe.linger().await)
}

struct ActiveGuard(ProxyMetrics);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active.dec();
    }
}
