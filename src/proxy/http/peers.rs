//! The client address behind each relayed connection to the front: the proxy registers it
//! once it has dialled the front, and the front looks it up per request (`x-forwarded-for`,
//! and to reset a connection the proxy did not dial). Each entry carries a token cancelled
//! when the proxy's connection ends (the client left, or the proxy was disabled, deleted or
//! replaced), so that the front connection it dialled ends too, with its requests in flight.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

/// The client address of each connection to the front, keyed by the address of the socket
/// the proxy dialled the front from.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerMap(Arc<Mutex<HashMap<SocketAddr, Relay>>>);

/// A relayed connection as the front sees it.
#[derive(Debug, Clone)]
pub(super) struct Relay {
    /// The client's address.
    pub(super) peer: SocketAddr,
    /// Cancelled when the proxy's connection ends.
    pub(super) gone: CancellationToken,
}

/// Removes its entry from the [`PeerMap`] when the connection ends, and cancels its token.
#[derive(Debug)]
pub(crate) struct PeerGuard {
    map: PeerMap,
    key: SocketAddr,
    gone: CancellationToken,
}

impl PeerMap {
    /// Record that the front connection from `local` carries client `peer`.
    /// Until the guard is dropped.
    pub(crate) fn register(&self, local: SocketAddr, peer: SocketAddr) -> PeerGuard {
        let gone = CancellationToken::new();
        if let Ok(mut m) = self.0.lock() {
            m.insert(
                local,
                Relay {
                    peer,
                    gone: gone.clone(),
                },
            );
        }
        PeerGuard {
            map: self.clone(),
            key: local,
            gone,
        }
    }

    /// The relayed connection the front connection from `local` carries, while it lasts.
    pub(super) fn lookup(&self, local: SocketAddr) -> Option<Relay> {
        self.0.lock().ok().and_then(|m| m.get(&local).cloned())
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.map.0.lock() {
            m.remove(&self.key);
        }
        self.gone.cancel();
    }
}
