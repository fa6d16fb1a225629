//! The signals that interrupt a command: SIGINT (Ctrl-C), SIGTERM, SIGHUP, SIGQUIT, SIGUSR1,
//! SIGUSR2 and SIGALRM, each handled like SIGTERM (the command tidies up, reports what it has
//! and exits 3, docs/exit-codes.md). Listened to before anything starts, so that one arriving
//! early is kept rather than ending the process unheard; only SIGKILL skips the tidying up.
//! Used by `run` (and `test`) and by `load` (its run and an agent's linger).

/// The interrupting signals, listened to from [`Interrupts::listen`] on.
#[derive(Debug)]
pub struct Interrupts(Vec<(tokio::signal::unix::Signal, &'static str)>);

impl Interrupts {
    /// Listen to every interrupting signal from now on (those that cannot be listened to are
    /// left out). Needs a Tokio runtime.
    pub fn listen() -> Self {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            (SignalKind::interrupt(), "SIGINT (Ctrl-C)"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::quit(), "SIGQUIT"),
            // Their default action also ends the process: unheard, they would skip teardown.
            (SignalKind::user_defined1(), "SIGUSR1"),
            (SignalKind::user_defined2(), "SIGUSR2"),
            (SignalKind::alarm(), "SIGALRM"),
        ];
        Self(
            kinds
                .into_iter()
                .filter_map(|(kind, name)| signal(kind).ok().map(|s| (s, name)))
                .collect(),
        )
    }

    /// The name of the first signal to arrive since [`Interrupts::listen`] (`SIGTERM`, …),
    /// one already received included; pending forever when none could be listened to.
    pub async fn first(&mut self) -> &'static str {
        if self.0.is_empty() {
            return std::future::pending().await;
        }
        let waits = self.0.iter_mut().map(|(s, name)| {
            Box::pin(async move {
                s.recv().await;
                *name
            })
        });
        futures_util::future::select_all(waits).await.0
    }
}
