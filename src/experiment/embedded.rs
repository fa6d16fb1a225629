//! The embedded control API: an in-process `control::ControlServer` on 127.0.0.1 and a free port,
//! driven over HTTP with the Toxiproxy wire API exactly like an external one.

use super::client::Http;
use super::inject::Injector;
use super::spec::{Control, EXTERNAL_LEASE, Experiment};
use crate::clock::Clock;
use crate::control::{ControlServer, ServeOptions};

/// The control API where `experiment`'s proxies live: an embedded server started now, or the
/// external one it names (whose faults then carry a lease). Returns the injector (no proxy
/// created yet; its clock is a placeholder until the run's starts) and the embedded server.
///
/// # Errors
/// The embedded server could not start.
pub(super) async fn control_for(
    experiment: &Experiment,
    http: &Http,
) -> Result<(Injector, Option<Embedded>), String> {
    let (base, lease, server) = match &experiment.control {
        Control::External(url) => (url.clone(), Some(EXTERNAL_LEASE), None),
        Control::Embedded => {
            let (server, base) = Embedded::start(experiment.seed)
                .await
                .map_err(|e| format!("embedded control server: {e}"))?;
            (base, None, Some(server))
        }
    };
    let injector = Injector::new(base, http.clone(), lease, Clock::start());
    Ok((injector, server))
}

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
