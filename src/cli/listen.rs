//! Binding the address a listening flag names (`serve --host`, `gameday --host`, `load
//! --serve`): an address that does not parse or a name that does not resolve is bad input
//! (exit 2) naming the flag; a port in use or not permitted is the host's state (exit 3).

use anyhow::Context;
use tokio::net::TcpListener;

use crate::exit::InvalidInput;

/// Bind `addr` (`host:port`), given by `flag` (`--host`, `--serve`): a listener on its first
/// resolved address that binds. Errors: [`InvalidInput`] when `addr` does not resolve to any
/// address; otherwise the bind's own error with `flag` and `addr` in its context.
pub(super) async fn bind(flag: &str, addr: &str) -> anyhow::Result<TcpListener> {
    let resolved: Vec<std::net::SocketAddr> = tokio::net::lookup_host(addr)
        .await
        .map_err(|e| InvalidInput::new(format!("{flag}: cannot resolve {addr}: {e}")))?
        .collect();
    if resolved.is_empty() {
        return Err(InvalidInput::new(format!("{flag}: {addr} resolves to no address")).into());
    }
    TcpListener::bind(resolved.as_slice())
        .await
        .with_context(|| format!("{flag}: cannot listen on {addr}"))
}
