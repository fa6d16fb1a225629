//! A connection served directly: hyper on the client's own socket, for as long as no toxic
//! acts on the proxy's bytes.

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::counted::Counted;
use super::reset::ResetOnDrop;
use super::{ClientAddr, Ends, Front, connection};
use crate::proxy::Snapshot;
use crate::proxy::metrics::ProxyMetrics;

/// Serve HTTP on `client` through `front` until the client closes it, `http_reset` resets
/// it (an RST to the client), or `kill` is cancelled (the proxy is disabled or deleted: FIN).
/// Its bytes are counted in `metrics`' byte counters. Once `config` gains a toxic that acts
/// on the bytes, or leaves HTTP mode, the connection shuts down gracefully (after its
/// in-flight responses), so that the client's next connection is relayed through the toxics.
pub(crate) async fn serve(
    client: TcpStream,
    front: Arc<Front>,
    config: watch::Receiver<Arc<Snapshot>>,
    metrics: &ProxyMetrics,
    kill: &CancellationToken,
) {
    // Made once: every request of the connection carries it.
    let xff = client
        .peer_addr()
        .ok()
        .and_then(super::forward::forwarded_for);
    let reset = CancellationToken::new();
    let io = Counted::new(
        ResetOnDrop::new(client, reset.clone()),
        metrics.upstream_bytes.clone(),
        metrics.downstream_bytes.clone(),
    );
    let ends = Ends {
        reset,
        // A child: cancelling it (when this connection ends) leaves the proxy's token alone,
        // and polling it locks this connection's own node.
        stop: kill.child_token(),
        drain: Some(Box::pin(relayed_from_now(config))),
    };
    connection(io, ClientAddr::Known(xff), front, ends).await;
}

/// Resolves once a new connection would no longer be served directly; never if the proxy's
/// configuration goes away (the proxy is being deleted, and its kill ends the connection).
async fn relayed_from_now(mut config: watch::Receiver<Arc<Snapshot>>) {
    loop {
        if !serves_directly(&config.borrow_and_update()) {
            return;
        }
        if config.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Whether a connection accepted now is served directly: the proxy is in HTTP mode and no
/// toxic acts on its bytes (HTTP toxics act per request; `refuse_new` and `slow_open` act
/// only when a connection opens, before this is asked).
pub(crate) fn serves_directly(snapshot: &Snapshot) -> bool {
    snapshot.http.is_some()
        && snapshot
            .toxics
            .iter()
            .all(|e| e.toxic.kind.is_http() || e.toxic.kind.acts_on_open())
}
