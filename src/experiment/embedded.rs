//! The embedded control API: an in-process `control::ControlServer` on 127.0.0.1 and a free port,
//! driven over HTTP with the Toxiproxy wire API exactly like an external one.

use crate::control::{ControlServer, ServeOptions};

/// A running embedded control server.
#[derive(Debug)]
pub(super) struct Embedded {
    server: ControlServer,
}

impl Embedded {
    /// Start one; returns it and its base URL.
    pub(super) async fn start(seed: Option<u64>) -> Result<(Self, String), String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("binding 127.0.0.1:0: {e}"))?;
        let options = ServeOptions {
            seed,
            ..Default::default()
        };
        let server = ControlServer::start(listener, options).map_err(|e| format!("{e:#}"))?;
        let base = format!("http://{}", server.local_addr());
        Ok((Self { server }, base))
    }

    /// Close every proxy, connection and the API listener.
    pub(super) async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
