//! The client address behind each relayed connection to the front: the proxy registers it
//! once it has dialled the front, and the front looks it up per request (`x-forwarded-for`,
//! and to reset a connection the proxy did not dial).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// The client address of each connection to the front, keyed by the address of the socket
/// the proxy dialled the front from.
#[derive(Debug, Clone, Default)]
pub(crate) struct PeerMap(Arc<Mutex<HashMap<SocketAddr, SocketAddr>>>);

/// Removes its entry from the [`PeerMap`] when the connection ends.
#[derive(Debug)]
pub(crate) struct PeerGuard {
    map: PeerMap,
    key: SocketAddr,
}

impl PeerMap {
    /// Record that the front connection from `local` carries client `peer`.
    pub(crate) fn register(&self, local: SocketAddr, peer: SocketAddr) -> PeerGuard {
        if let Ok(mut m) = self.0.lock() {
            m.insert(local, peer);
        }
        PeerGuard {
            map: self.clone(),
            key: local,
        }
    }

    pub(super) fn lookup(&self, local: SocketAddr) -> Option<SocketAddr> {
        self.0.lock().ok().and_then(|m| m.get(&local).copied())
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        if let Ok(mut m) = self.map.0.lock() {
            m.remove(&self.key);
        }
    }
}
