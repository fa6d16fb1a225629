//! `hold_connections`: open N idle TCP connections to a target and hold them (connection-pool
//! exhaustion: a server that serves a bounded number of connections, or a proxy with a
//! connection cap, has that many fewer for everyone else), counting how many were established
//! and how many refused; all closed at the end.

use std::io::ErrorKind;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;

/// How long one connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Connection attempts in flight at once.
const IN_FLIGHT: usize = 64;

/// The connections held, and what became of the attempts.
pub(super) struct Held {
    target: String,
    wanted: u32,
    open: Vec<TcpStream>,
    refused: u32,
    failed: u32,
    /// The first error other than a refusal (a timeout, out of descriptors).
    first_failure: Option<String>,
}

impl Held {
    /// Try `count` connections to `target` (`host:port`), at most [`IN_FLIGHT`] at a time.
    pub(super) async fn open(target: &str, count: u32) -> Self {
        let attempts = futures_util::stream::iter(0..count)
            .map(|_| async move {
                tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target)).await
            })
            .buffer_unordered(IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        let mut held = Self {
            target: target.to_string(),
            wanted: count,
            open: Vec::new(),
            refused: 0,
            failed: 0,
            first_failure: None,
        };
        for attempt in attempts {
            match attempt {
                Ok(Ok(stream)) => held.open.push(stream),
                Ok(Err(e)) if e.kind() == ErrorKind::ConnectionRefused => held.refused += 1,
                Ok(Err(e)) => held.fail(e.to_string()),
                Err(_) => held.fail(format!("no answer within {CONNECT_TIMEOUT:?}")),
            }
        }
        held
    }

    fn fail(&mut self, why: String) {
        self.failed += 1;
        self.first_failure.get_or_insert(why);
    }

    /// How many are open now.
    #[cfg(test)]
    fn established(&self) -> usize {
        self.open.len()
    }

    /// `held 100 of 100 connections to 127.0.0.1:8080 (0 refused, 0 failed)`.
    pub(super) fn describe(&self) -> String {
        let mut text = format!(
            "held {} of {} connections to {} ({} refused, {} failed",
            self.open.len(),
            self.wanted,
            self.target,
            self.refused,
            self.failed
        );
        if let Some(why) = &self.first_failure {
            text.push_str(&format!(": {why}"));
        }
        text.push(')');
        text
    }

    /// Close them all; says how many the other side had already closed.
    pub(super) fn close(self) -> String {
        let mut buf = [0u8; 1];
        let closed_by_peer = self
            .open
            .iter()
            .filter(|s| match s.try_read(&mut buf) {
                Ok(n) => n == 0,
                Err(e) => e.kind() != ErrorKind::WouldBlock,
            })
            .count();
        format!(
            "closed {} connection(s) to {} ({closed_by_peer} already closed by the other side)",
            self.open.len(),
            self.target
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every attempt to a listening port is established and held open until closed; every
    /// attempt to a closed port is counted as refused.
    #[tokio::test]
    async fn connections_are_counted_held_and_closed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepting = tokio::spawn(async move {
            let mut accepted = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                accepted.push(s);
            }
        });
        let held = Held::open(&addr, 20).await;
        assert_eq!(held.established(), 20);
        assert_eq!(
            held.describe(),
            format!("held 20 of 20 connections to {addr} (0 refused, 0 failed)")
        );
        assert_eq!(
            held.close(),
            format!("closed 20 connection(s) to {addr} (0 already closed by the other side)")
        );
        accepting.abort();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let gone = closed.local_addr().unwrap().to_string();
        drop(closed);
        let refused = Held::open(&gone, 5).await;
        assert_eq!(refused.established(), 0);
        assert_eq!(
            refused.describe(),
            format!("held 0 of 5 connections to {gone} (5 refused, 0 failed)")
        );
    }
}
