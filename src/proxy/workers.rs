//! The threads proxied connections run on: one single-threaded runtime per core.
//!
//! The listener accepts on the main runtime and hands each accepted socket, round-robin, to
//! one worker thread, which runs a `current_thread` tokio runtime with its own epoll and
//! timers. A connection's two directions, its upstream dial and every wake-up of its sockets
//! then stay on one thread: no work stealing, no wake-up of another parked worker through a
//! futex, no socket bouncing between CPUs. The control API, the experiment runner and the
//! HTTP front stay on the main runtime; connections follow configuration changes through the
//! proxy's `watch` channel and end on its kill token, both of which work across runtimes, and
//! the proxy's `TaskTracker` tracks them wherever they run.
//!
//! The number of worker threads is `SHAKEDOWN_PROXY_THREADS` (read once, at `serve` start or
//! when the first connection is accepted); unset, it is the number of CPUs. `0` runs connections on the
//! main runtime, as tasks beside the control API (the layout before these workers). The
//! threads live as long as the process; a worker is idle when it has no connection.

use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_util::task::TaskTracker;

/// The environment variable giving the number of connection worker threads.
pub(crate) const THREADS_VAR: &str = "SHAKEDOWN_PROXY_THREADS";

/// The process's connection workers.
#[derive(Debug)]
struct Workers {
    handles: Vec<Handle>,
    next: AtomicUsize,
}

static WORKERS: OnceLock<Workers> = OnceLock::new();

/// The most worker threads `SHAKEDOWN_PROXY_THREADS` may ask for.
pub(crate) const MAX_THREADS: usize = 1024;

/// The number of worker threads `SHAKEDOWN_PROXY_THREADS` asks for, the number of CPUs when
/// it is unset or empty. Errors: a value that is not a whole number from 0 to [`MAX_THREADS`]
/// written in digits alone (no sign, no spaces), with the variable's name and the value.
pub(crate) fn threads_from_env() -> Result<usize, String> {
    match std::env::var(THREADS_VAR) {
        Ok(text) if !text.is_empty() => parse_threads(&text),
        _ => Ok(std::thread::available_parallelism().map_or(1, NonZeroUsize::get)),
    }
}

fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n <= MAX_THREADS && text.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!(
            "{THREADS_VAR}: expected a number of threads from 0 to {MAX_THREADS} in digits, got {text:?}"
        )),
    }
}

/// Start the connection workers as `SHAKEDOWN_PROXY_THREADS` says (`serve` and `gameday` call
/// this at start, so a bad value is refused before anything listens). Without it they start
/// with the first connection. Errors: as [`threads_from_env`]; nothing is started then.
pub(crate) fn start_from_env() -> Result<(), String> {
    let n = threads_from_env()?;
    WORKERS.get_or_init(|| Workers::start(n));
    Ok(())
}

/// The workers, started now if need be (a bad `SHAKEDOWN_PROXY_THREADS` means the CPU count).
fn workers() -> &'static Workers {
    WORKERS.get_or_init(|| {
        let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        Workers::start(threads_from_env().unwrap_or(cpus))
    })
}

impl Workers {
    /// Start `n` worker threads; a thread or runtime the system refuses is left out (with a
    /// warning), so fewer, or none, may run.
    fn start(n: usize) -> Self {
        let handles = (0..n)
            .filter_map(|i| match spawn_worker(i) {
                Ok(handle) => Some(handle),
                Err(error) => {
                    tracing::warn!(%error, "cannot start proxy worker thread {i}");
                    None
                }
            })
            .collect();
        Self {
            handles,
            next: AtomicUsize::new(0),
        }
    }

    /// The next worker in turn, `None` when there is none.
    fn pick(&self) -> Option<&Handle> {
        if self.handles.is_empty() {
            return None;
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.handles.len();
        self.handles.get(i)
    }
}

/// One worker thread running a `current_thread` runtime until the process exits.
fn spawn_worker(i: usize) -> std::io::Result<Handle> {
    // Sockets and timers only: without the signal and process drivers, each park of the
    // worker goes straight to epoll (the main runtime reaps children and handles signals).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new()
        .name(format!("proxy-worker-{i}"))
        .spawn(move || runtime.block_on(std::future::pending::<()>()))?;
    Ok(handle)
}

/// Run `serve` on an accepted socket, tracked by `tracker`: on the next worker thread when
/// there are workers, otherwise on the current runtime. A socket that cannot be moved to its
/// worker (deregistering or registering it failed) is closed.
pub(crate) fn spawn_connection<F, Fut>(tracker: &TaskTracker, stream: TcpStream, serve: F)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(worker) = workers().pick() else {
        tracker.spawn(serve(stream));
        return;
    };
    let stream = match stream.into_std() {
        Ok(stream) => stream,
        Err(error) => {
            tracing::debug!(%error, "cannot hand the connection to a worker");
            return;
        }
    };
    tracker.spawn_on(
        async move {
            match TcpStream::from_std(stream) {
                Ok(stream) => serve(stream).await,
                Err(error) => tracing::debug!(%error, "worker cannot register the connection"),
            }
        },
        worker,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_count_is_digits_alone_within_the_bound() {
        assert_eq!(parse_threads("0"), Ok(0));
        assert_eq!(parse_threads("2"), Ok(2));
        assert_eq!(parse_threads("1024"), Ok(MAX_THREADS));
        // `+2` and ` 2` were accepted although the docs ask for a whole number.
        for bad in ["+2", " 2", "2 ", "-1", "1025", "2.0", "two"] {
            let e = parse_threads(bad).unwrap_err();
            assert!(
                e.starts_with(THREADS_VAR) && e.contains(&format!("{bad:?}")),
                "{e}"
            );
        }
    }
}
