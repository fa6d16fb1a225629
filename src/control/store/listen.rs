//! Binding proxy listeners and checking that upstreams resolve.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::control::error::ApiError;

/// A listening socket bound for a proxy, and its address.
#[derive(Debug)]
pub(crate) struct Bound {
    /// The socket.
    pub(crate) listener: TcpListener,
    /// Where it listens (the real port when port 0 was asked).
    pub(crate) addr: SocketAddr,
}

/// The addresses a listen address resolves to, IPv4 first (`400` naming `listen` if none).
pub(crate) async fn resolve(listen: &str) -> Result<Vec<SocketAddr>, ApiError> {
    let mut addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| ApiError::bad_field("listen", format!("cannot resolve {listen:?}: {e}")))?
        .collect();
    addrs.sort_by_key(|a| !a.is_ipv4());
    Ok(addrs)
}

/// Resolve and bind a listen address (IPv4 addresses first).
pub(crate) async fn bind(listen: &str) -> Result<Bound, ApiError> {
    let addrs = resolve(listen).await?;
    let mut last = None;
    for addr in addrs {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                let addr = listener
                    .local_addr()
                    .map_err(|e| ApiError::at(500, "listen", e.to_string()))?;
                return Ok(Bound { listener, addr });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                return Err(ApiError::at(
                    409,
                    "listen",
                    format!("address {addr} is already in use"),
                ));
            }
            Err(e) => last = Some(format!("cannot listen on {addr}: {e}")),
        }
    }
    Err(ApiError::at(
        500,
        "listen",
        last.unwrap_or_else(|| format!("{listen:?} resolves to no address")),
    ))
}

/// Whether `listen` names the address `current` (a socket address as the proxy shows it),
/// e.g. `localhost:2001` and `127.0.0.1:2001`.
pub(crate) async fn same_address(listen: &str, current: &str) -> bool {
    if listen == current {
        return true;
    }
    let Ok(current) = current.parse::<SocketAddr>() else {
        return false;
    };
    match tokio::net::lookup_host(listen).await {
        Ok(mut addrs) => addrs.any(|a| a == current),
        Err(_) => false,
    }
}

/// Check that an upstream `host:port` resolves (within 5 s).
pub(crate) async fn check_upstream(upstream: &str) -> Result<(), ApiError> {
    let fail = |why: String| {
        ApiError::bad_field("upstream", format!("cannot resolve {upstream:?}: {why}"))
    };
    match tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host(upstream)).await {
        Err(_) => Err(fail("timed out".into())),
        Ok(Err(e)) => Err(fail(e.to_string())),
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(_) => Ok(()),
            None => Err(fail("no address".into())),
        },
    }
}
