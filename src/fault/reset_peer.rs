//! `reset_peer {timeout}`: reset the connection with a real TCP RST.
//!
//! Wire unit: milliseconds. `timeout` after the toxic first applied to a
//! connection (at once when 0) both sockets are closed with `SO_LINGER` 0,
//! so each peer receives an RST ("connection reset by peer"), not a FIN.
//! Data flows normally until then. It applies to connections that existed
//! before the toxic was added too; an unaffected connection (toxicity) keeps
//! closing normally with a FIN.

use std::time::Duration;

use tokio::time::Instant;

use super::FaultError;
use super::attrs::{Attributes, as_millis};
use super::catalog::Attr;
use super::kind::{Behaviour, Ending, Kind, after};

/// Reset after `timeout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetPeer {
    /// Time from when the toxic applies until the reset.
    pub timeout: Duration,
}

impl Kind for ResetPeer {
    const NAME: &'static str = "reset_peer";
    const ATTRIBUTES: &'static [Attr] = &[Attr::millis(
        "timeout",
        "Reset the connection this long after the toxic first applied to it (0: at once).",
    )];

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            timeout: a.millis("timeout")?,
        })
    }
}

impl Behaviour for ResetPeer {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![("timeout", as_millis(self.timeout))]
    }

    /// A reset (RST) `timeout` after the toxic first applied.
    fn deadline(&self, since: Instant) -> Option<(Instant, Ending)> {
        Some((after(since, self.timeout), Ending::Rst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn resets_after_the_timeout() {
        let now = Instant::now();
        let t = ResetPeer {
            timeout: Duration::from_millis(500),
        };
        assert_eq!(
            t.deadline(now),
            Some((now + Duration::from_millis(500), Ending::Rst))
        );
    }
}
