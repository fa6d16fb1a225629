//! `shakedown serve`: the command-line face of the control server ([`crate::control`]).
//!
//! Raises the soft open-file limit to the hard limit (so the proxies' descriptor budget is as
//! large as the system allows; the figure is logged and shown by `GET /version`), loads
//! `--config`, serves until SIGINT, SIGTERM or SIGHUP, then shuts every proxy down.

use std::path::PathBuf;

use anyhow::Context;
use tokio::signal::unix::{Signal, SignalKind, signal};

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
    let mut stop = Stop::listen()?;
    let server = start(&args, ServeOptions::default()).await?;
    println!("listening on {}", server.local_addr());
    stop.next().await;
    tracing::info!("shutting down");
    server.shutdown().await;
    Ok(Outcome::Passed)
}

/// What `serve` and `gameday` share: raise the open-file limit, bind `--host`:`--port`, start
/// the control server with `options` (its seed and open-file limit taken from `args`) and
/// create `--config`'s proxies (a refused file is [`InvalidInput`], the server shut down).
pub(super) async fn start(
    args: &ServeArgs,
    options: ServeOptions,
) -> anyhow::Result<ControlServer> {
    let options = args.access.apply(options)?;
    crate::proxy::workers::start_from_env().map_err(InvalidInput::new)?;
    let config = args.config.as_deref().map(config_file::load).transpose()?;
    let open_files = budget::raise_open_files_limit();
    tracing::info!(open_files, "open-file limit");
    let addr = format!("{}:{}", args.host, args.port);
    let listener = super::listen::bind("--host/--port", &addr).await?;
    let server = ControlServer::start(
        listener,
        ServeOptions {
            seed: args.seed,
            open_files_limit: Some(open_files),
            ..options
        },
    )?;
    let Some(config) = config else {
        return Ok(server);
    };
    if let Err(e) = server.populate(config.proxies.clone()).await {
        server.shutdown().await;
        // At the field's line: invalid input (exit 2), or an address in use or a failure of
        // this host (exit 3).
        let located = config.locate(&e);
        if e.status < 500 && e.status != 409 {
            return Err(located.into());
        }
        anyhow::bail!("{located}");
    }
    Ok(server)
}

/// The signals that end a server: SIGINT (Ctrl-C), SIGTERM and SIGHUP (a closed terminal),
/// listened to from [`Stop::listen`] on, so one that arrives while the server starts is not lost.
#[derive(Debug)]
pub(super) struct Stop {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Stop {
    /// Listen to the three signals from now on.
    pub(super) fn listen() -> anyhow::Result<Stop> {
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).with_context(|| format!("installing the {name} handler"))
        };
        Ok(Stop {
            int: listen(SignalKind::interrupt(), "SIGINT")?,
            term: listen(SignalKind::terminate(), "SIGTERM")?,
            hup: listen(SignalKind::hangup(), "SIGHUP")?,
        })
    }

    /// The name of the next of them to arrive.
    pub(super) async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.int.recv() => "SIGINT",
            _ = self.term.recv() => "SIGTERM",
            _ = self.hup.recv() => "SIGHUP",
        }
    }
}
