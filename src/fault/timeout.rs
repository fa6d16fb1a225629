//! `timeout {timeout}`: a blackhole that closes the connection after a while.
//!
//! Wire unit: milliseconds. While the toxic affects a connection, data in its
//! direction is read and dropped (not buffered) and a close from the source
//! is held back. `timeout` after the toxic first applied to the connection,
//! the whole connection is closed (FIN on both sides). With `timeout: 0` it
//! never closes: data is dropped until the toxic is removed, after which data
//! flows again (the dropped bytes are gone).

use std::time::Duration;

use tokio::time::Instant;

use super::FaultError;
use super::attrs::{Attributes, as_millis};
use super::catalog::Attr;
use super::kind::{Behaviour, Ending, Kind, after};

/// Drop data; close after `timeout` unless it is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout {
    /// Time until the connection is closed; zero means never.
    pub timeout: Duration,
}

impl Kind for Timeout {
    const NAME: &'static str = "timeout";
    const ATTRIBUTES: &'static [Attr] = &[Attr::millis(
        "timeout",
        "Close the connection this long after the toxic first applied; 0 never closes (data is dropped until the toxic is removed).",
    )];

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            timeout: a.millis("timeout")?,
        })
    }
}

impl Behaviour for Timeout {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![("timeout", as_millis(self.timeout))]
    }

    /// A close (FIN) `timeout` after the toxic first applied; never when 0.
    fn deadline(&self, since: Instant) -> Option<(Instant, Ending)> {
        (!self.timeout.is_zero()).then(|| (after(since, self.timeout), Ending::Fin))
    }

    fn blackholes(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn zero_means_forever() {
        let now = Instant::now();
        let forever = Timeout {
            timeout: Duration::ZERO,
        };
        assert_eq!(forever.deadline(now), None);
        let t = Timeout {
            timeout: Duration::from_secs(2),
        };
        assert_eq!(
            t.deadline(now),
            Some((now + Duration::from_secs(2), Ending::Fin))
        );
    }
}
