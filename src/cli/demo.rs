//! `shakedown demo-target`: the demo target's flags, and serving it until a signal.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rand::SeedableRng;
use rand::rngs::StdRng;
use tokio::signal::unix::{SignalKind, signal};

use crate::demo::{breaker, http, log, quote, store};
use crate::exit::{InvalidInput, Outcome};

fn duration(text: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(text)
}

/// Arguments of `shakedown demo-target`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:18080")]
    pub listen: SocketAddr,
    /// Append-only log file: replayed at start, written on every acknowledged write.
    /// Without it the store lives in memory only.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Acknowledge writes at once and append each to the log DUR later, in
    /// batches (kill -9 loses the writes of the last DUR; SIGTERM flushes them).
    #[arg(long, value_name = "DUR", value_parser = duration, requires = "data")]
    pub write_behind: Option<Duration>,
    /// fsync the log after every append (survives power loss, not only kill -9).
    #[arg(long, requires = "data")]
    pub fsync: bool,
    /// Base URL of the dependency called by GET /api/quote (GET {backend}/health).
    #[arg(long, value_name = "URL")]
    pub backend: Option<String>,
    /// Timeout of one backend call.
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "200ms")]
    pub backend_timeout: Duration,
    /// Consecutive backend failures that open the circuit breaker.
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker_threshold: u32,
    /// How long an open breaker answers 503 before admitting one trial call.
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "5s")]
    pub breaker_cooldown: Duration,
    /// Base service time added to every /kv request.
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "0s")]
    pub latency: Duration,
    /// Extra service time drawn uniformly from 0..=DUR per /kv request (seeded).
    #[arg(long, value_name = "DUR", value_parser = duration, default_value = "0s")]
    pub jitter: Duration,
    /// Seed of the jitter draws (random when absent; the seed used is logged).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
}

/// `shakedown demo-target`: serve until SIGTERM/SIGINT, then drain and flush.
pub(crate) async fn demo_main(args: DemoArgs) -> anyhow::Result<Outcome> {
    let quote = match &args.backend {
        None => None,
        Some(url) => {
            let breaker = breaker::BreakerConfig {
                threshold: args.breaker_threshold,
                cooldown: args.breaker_cooldown,
            };
            let quote = quote::Quote::new(url, args.backend_timeout, breaker).ok_or_else(|| {
                InvalidInput::new(format!("--backend: {url:?} is not an http://host:port URL"))
            })?;
            Some(Arc::new(quote))
        }
    };
    let store = Arc::new(match &args.data {
        None => store::Store::in_memory(),
        Some(path) => {
            let (log, replay) = log::Log::open(path, args.fsync)
                .await
                .context("--data: cannot open the log")?;
            tracing::info!(records = replay.records, keys = replay.map.len(), path = %path.display(), "log replayed");
            store::Store::with_log(log, replay, args.write_behind)
        }
    });
    let seed = args.seed.unwrap_or_else(rand::random);
    tracing::info!(seed, "demo-target seed");
    let app = Arc::new(http::App {
        store: store.clone(),
        quote,
        service_time: http::ServiceTime {
            base: args.latency,
            jitter: args.jitter,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
        },
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("--listen: cannot bind {}", args.listen))?;
    let mut terminate = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
    let mut interrupt = signal(SignalKind::interrupt()).context("installing SIGINT handler")?;
    let stop_flusher = tokio_util::sync::CancellationToken::new();
    let flusher = args
        .write_behind
        .map(|_| tokio::spawn(store.clone().run_flusher(stop_flusher.clone())));
    let addr = listener.local_addr().context("reading the bound address")?;
    println!("listening on {addr}");

    let shutdown = async {
        tokio::select! {
            _ = terminate.recv() => tracing::info!("SIGTERM: draining and flushing"),
            _ = interrupt.recv() => tracing::info!("SIGINT: draining and flushing"),
        }
    };
    http::serve(listener, app, shutdown).await;
    stop_flusher.cancel();
    if let Some(flusher) = flusher {
        flusher.await.context("the write-behind flusher failed")?;
    }
    let flushed = store
        .flush_all()
        .await
        .context("flushing pending writes at shutdown")?;
    if args.data.is_some() {
        tracing::info!(flushed, "stopped; every acknowledged write is in the log");
    } else {
        tracing::info!("stopped; memory-only store discarded");
    }
    Ok(Outcome::Passed)
}
