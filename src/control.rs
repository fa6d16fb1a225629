//! The Toxiproxy-compatible control API and the proxy store behind it (`shakedown serve`).
//!
//! - [`api`]: HTTP routing, status codes and bodies of Toxiproxy 2.12.
//! - [`wire`]: request bodies validated field by field; JSON views.
//! - [`store`]: proxies by name; edits publish snapshots and never await the data path.
//! - [`error`]: [`ApiError`], rendered as `{"error": …, "status": N}`.
//! - [`config_file`]: `--config FILE` (proxies and their toxics).
//!
//! [`ControlServer`] embeds the whole server: the caller binds the API
//! listener (tests bind `127.0.0.1:0`), and [`ControlServer::shutdown`]
//! closes every proxy listener, every connection and the API listener.

pub mod api;
pub mod config_file;
pub mod error;
pub mod store;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use error::ApiError;
pub use wire::{ProxyRequest, ToxicRequest};

use crate::exit::{InvalidInput, Outcome};
use crate::proxy::Metrics;

/// Arguments of `shakedown serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address the control API listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port the control API listens on (0 picks one).
    #[arg(long, default_value_t = 8474)]
    pub port: u16,
    /// Proxies (and their toxics) to create at start, YAML or JSON; a bad file fails start-up.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed for every random choice (toxicity, jitter, slice sizes); random and logged if absent.
    #[arg(long, env = "SHAKEDOWN_SEED")]
    pub seed: Option<u64>,
}

/// Options of an embedded control server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Seed for every random choice; `None` draws one (logged, and shown by `GET /version`).
    pub seed: Option<u64>,
    /// Largest request body accepted; larger ones get 413. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            seed: None,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// A running control server with its proxies.
#[derive(Debug)]
pub struct ControlServer {
    local_addr: SocketAddr,
    seed: u64,
    store: Arc<store::Store>,
    stop: CancellationToken,
    tracker: TaskTracker,
    http: JoinHandle<()>,
}

impl ControlServer {
    /// Serve the control API on `listener` (must be called inside a tokio runtime).
    pub fn start(listener: TcpListener, options: ServeOptions) -> anyhow::Result<ControlServer> {
        let local_addr = listener
            .local_addr()
            .context("reading the control listener's address")?;
        let seed = options.seed.unwrap_or_else(rand::random);
        let metrics = Arc::new(Metrics::new());
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let store = Arc::new(store::Store::new(
            seed,
            metrics.clone(),
            tracker.clone(),
            stop.clone(),
        ));
        let api = Arc::new(api::Api {
            store: store.clone(),
            metrics,
            max_body_bytes: options.max_body_bytes,
            seed,
        });
        let http = tokio::spawn(serve_http(listener, api, stop.clone()));
        tracing::info!(%local_addr, seed, "control API listening");
        Ok(ControlServer {
            local_addr,
            seed,
            store,
            stop,
            tracker,
            http,
        })
    }

    /// The control API's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The seed in use.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Create (or replace) proxies as `/populate` does.
    pub async fn populate(&self, proxies: Vec<ProxyRequest>) -> Result<(), ApiError> {
        for p in &proxies {
            store::check_upstream(&p.upstream)
                .await
                .map_err(|e| e.within(&format!("proxy {:?}", p.name)))?;
        }
        self.store
            .populate(proxies)
            .await
            .map(|_| ())
            .map_err(|(e, _)| e)
    }

    /// Close every proxy listener and connection and the API listener.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.http.await;
        self.store.close_all().await;
        self.tracker.close();
        // Connections were told to close; give them a bounded time to finish.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tracker.wait()).await;
    }
}

async fn serve_http(listener: TcpListener, api: Arc<api::Api>, stop: CancellationToken) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                let _ = stream.set_nodelay(true);
                let api = api.clone();
                let service = service_fn(move |req| api::handle(api.clone(), req));
                let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            Err(error) => {
                tracing::warn!(%error, "control API accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
}

/// `shakedown serve`.
pub async fn serve_main(args: ServeArgs) -> anyhow::Result<Outcome> {
    let proxies = match &args.config {
        Some(path) => config_file::load(path)?,
        None => Vec::new(),
    };
    let addr = format!("{}:{}", args.host, args.port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let server = ControlServer::start(
        listener,
        ServeOptions {
            seed: args.seed,
            ..ServeOptions::default()
        },
    )?;
    if let Err(e) = server.populate(proxies).await {
        let path = args
            .config
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        server.shutdown().await;
        if e.status < 500 && e.status != 409 {
            return Err(InvalidInput::new(format!("{path}: {}", e.message)).into());
        }
        anyhow::bail!("{path}: {}", e.message);
    }
    println!("listening on {}", server.local_addr());
    wait_for_signal().await?;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(Outcome::Passed)
}

async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
