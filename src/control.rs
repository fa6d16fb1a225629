//! The Toxiproxy-compatible control API and the proxy store behind it (`shakedown serve`).
//!
//! - `api`: HTTP routing, status codes and bodies of Toxiproxy 2.12.
//! - [`wire`]: request bodies validated field by field; JSON views.
//! - `store`: proxies by name; edits are planned, bound, then committed, and never await the
//!   data path.
//! - [`error`]: [`ApiError`], rendered as `{"error": …, "status": N}`.
//! - [`config_file`]: `--config FILE` (proxies and their toxics).
//! - `http`: the API's HTTP server: read timeouts and a cap on connections.
//! - `ui`: the game-day console's embedded page at `/ui` (with [`ServeOptions::console`]).
//! - `guard`: who may use it: bearer token, `Host` and `Origin` checks, JSON for changes.
//! - [`journal`]: the event journal of every change, note and probe (`/journal.json`, `.md`).
//! - [`events`]: the live event stream (`GET /events`) and its hub.
//!
//! [`ControlServer`] embeds the whole server: the caller binds the API
//! listener (tests bind `127.0.0.1:0`), and [`ControlServer::shutdown`]
//! closes every proxy listener, every connection and the API listener.
//! The command-line face (`shakedown serve`) is `crate::cli::serve`.

mod api;
pub mod config_file;
pub mod error;
pub mod events;
pub(crate) mod guard;
mod http;
pub mod journal;
mod store;
mod ui;
pub mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use api::TOXIPROXY_VERSION;
pub use error::ApiError;
pub use events::Events;
pub use journal::{Entry, Event, EventKind, Journal};
pub use wire::{ProxyRequest, ToxicRequest};

use crate::proxy::{FdBudget, Metrics};

/// Options of an embedded control server.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Seed for every random choice; `None` draws one (logged, and shown by `GET /version`).
    pub seed: Option<u64>,
    /// Largest request body accepted; larger ones get 413. Default 1 MiB.
    pub max_body_bytes: usize,
    /// The open-file limit the proxies' descriptor budget is drawn from; `None` reads the
    /// process's soft limit at start (see [`crate::proxy::budget`]).
    pub open_files_limit: Option<u64>,
    /// How long a client may take to send a request's headers, and then its body, before the
    /// connection is closed (headers) or answered `408` (body). Default 10 s.
    pub read_timeout: Duration,
    /// API connections served at once; more are answered `503` and closed. Default 512.
    pub max_api_connections: usize,
    /// Serve the game-day console at `/ui` (`shakedown gameday`). Default false.
    pub console: bool,
    /// The bearer token every request must carry (`Authorization: Bearer …`); `None` for
    /// none, which only a loopback listener may have.
    pub token: Option<String>,
    /// Host names (beside loopback names and addresses and the listen address) a request's
    /// `Host` may give, e.g. the name a team reaches the server by.
    pub allowed_hosts: Vec<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            seed: None,
            max_body_bytes: 1024 * 1024,
            open_files_limit: None,
            read_timeout: Duration::from_secs(10),
            max_api_connections: 512,
            console: false,
            token: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// A running control server with its proxies.
#[derive(Debug)]
pub struct ControlServer {
    local_addr: SocketAddr,
    store: Arc<store::Store>,
    stop: CancellationToken,
    tracker: TaskTracker,
    http: JoinHandle<()>,
    journal: Arc<Journal>,
    events: Events,
}

impl ControlServer {
    /// Serve the control API on `listener` (must be called inside a tokio runtime).
    ///
    /// # Errors
    /// [`crate::exit::InvalidInput`] (exit 2) when the listener is not on a loopback address
    /// and `options.token` is `None` or empty: the API can break production traffic, so it
    /// is never open to a network without a token.
    pub fn start(listener: TcpListener, options: ServeOptions) -> anyhow::Result<ControlServer> {
        let local_addr = listener
            .local_addr()
            .context("reading the control listener's address")?;
        if options.token.as_deref().is_some_and(str::is_empty) {
            return Err(crate::exit::InvalidInput::new("the token is empty").into());
        }
        crate::bearer::require_off_loopback(
            "the control API",
            "break your traffic",
            local_addr,
            options.token.as_deref(),
        )?;
        let seed = options.seed.unwrap_or_else(rand::random);
        let open_files = options
            .open_files_limit
            .unwrap_or_else(crate::proxy::budget::open_files_limit);
        let budget = FdBudget::new(open_files);
        let metrics = Arc::new(Metrics::new());
        let stop = CancellationToken::new();
        let tracker = TaskTracker::new();
        let events = Events::new();
        let journal = Arc::new(Journal::new(events.clone()));
        let store = Arc::new(store::Store::new(
            seed,
            metrics.clone(),
            tracker.clone(),
            stop.clone(),
            budget.clone(),
            journal.clone(),
        ));
        let api = Arc::new(api::Api {
            store: store.clone(),
            metrics,
            max_body_bytes: options.max_body_bytes,
            read_timeout: options.read_timeout,
            seed,
            open_files,
            budget: budget.capacity(),
            console: options.console,
            journal: journal.clone(),
            events: events.clone(),
            guard: guard::Guard::new(
                options.token.clone(),
                local_addr,
                options.allowed_hosts.clone(),
            ),
        });
        tokio::spawn(store::live::sample(
            store.clone(),
            events.clone(),
            journal.clock(),
            stop.clone(),
        ));
        let http = tokio::spawn(http::serve(listener, api, options, stop.clone()));
        tracing::info!(
            %local_addr,
            seed,
            open_files,
            connection_budget = budget.capacity() / crate::proxy::budget::PER_CONNECTION,
            "control API listening"
        );
        Ok(ControlServer {
            local_addr,
            store,
            stop,
            tracker,
            http,
            journal,
            events,
        })
    }

    /// The event journal every change made through this server is recorded in; record
    /// anything else (a probe's state change) with [`Journal::record`].
    pub fn journal(&self) -> Arc<Journal> {
        self.journal.clone()
    }

    /// The hub of `GET /events`: [`Events::publish`] sends a named event (`load`, `probe`)
    /// with JSON data to every subscriber.
    pub fn events(&self) -> Events {
        self.events.clone()
    }

    /// The control API's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Create (or replace) proxies as `/populate` does: all or nothing; recorded in the
    /// journal as made by `shakedown` when there was anything to create. An error's field
    /// leads with the proxy's index in `proxies` (`[1].upstream`).
    pub async fn populate(&self, proxies: Vec<ProxyRequest>) -> Result<(), ApiError> {
        for (i, p) in proxies.iter().enumerate() {
            store::check_upstream(&p.upstream)
                .await
                .map_err(|e| e.within(&format!("[{i}]")))?;
        }
        let names: Vec<String> = proxies.iter().map(|p| p.name.clone()).collect();
        self.store.populate(proxies).await?;
        if !names.is_empty() {
            self.journal
                .record("shakedown", journal::change::populate(&names));
        }
        Ok(())
    }

    /// Remove every toxic and re-enable every proxy, as `POST /reset` does (journaled as made
    /// by `actor`); returns the toxics that were in place, as `proxy/toxic`, in name order.
    pub async fn clear_faults(&self, actor: &str) -> Result<Vec<String>, ApiError> {
        let proxies = self.store.list().await;
        let toxics = proxies
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(proxy, view)| {
                let names = view["toxics"].as_array().cloned().unwrap_or_default();
                names
                    .into_iter()
                    .filter_map(move |t| Some(format!("{proxy}/{}", t["name"].as_str()?)))
            })
            .collect();
        self.store.reset().await?;
        self.journal.record(actor, journal::change::reset());
        Ok(toxics)
    }

    /// Close every proxy listener and connection and the API listener.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.events.close();
        let _ = self.http.await;
        self.store.close_all().await;
        self.tracker.close();
        // Connections were told to close; give them a bounded time to finish.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.tracker.wait()).await;
    }
}
