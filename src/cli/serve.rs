//! `shakedown serve`: the command-line face of the control server ([`crate::control`]).
//!
//! Raises the soft open-file limit to the hard limit (so the proxies' descriptor budget is as
//! large as the system allows; the figure is logged and shown by `GET /version`), loads
//! `--config`, serves until SIGINT or SIGTERM, then shuts every proxy down.

use std::path::PathBuf;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::control::{ControlServer, ServeOptions, config_file};
use crate::exit::{InvalidInput, Outcome};
use crate::proxy::budget;

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
    /// Who may use the API: token and allowed host names.
    #[command(flatten)]
    pub access: super::access::AccessArgs,
}

/// `shakedown serve`: exit 0 after a clean shutdown on a signal, 2 for a bad `--config`.
pub(super) async fn serve_main(args: ServeArgs) -> anyhow::Result<Outcome> {
    let options = args.access.apply(ServeOptions::default())?;
    let proxies = match &args.config {
        Some(path) => config_file::load(path)?,
        None => Vec::new(),
    };
    let open_files = budget::raise_open_files_limit();
    tracing::info!(open_files, "open-file limit");
    let addr = format!("{}:{}", args.host, args.port);
    let listener = TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let server = ControlServer::start(
        listener,
        ServeOptions {
            seed: args.seed,
            open_files_limit: Some(open_files),
            ..options
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
