//! `slow_close {delay}`: hold back the close after the source has closed.
//!
//! Wire unit: milliseconds. When the side feeding this direction closes its
//! end (FIN), the FIN is passed on `delay` later; data keeps its own timing.

use std::time::Duration;

use tokio::time::Instant;

use super::FaultError;
use super::attrs::{Attributes, as_millis};
use super::catalog::Attr;
use super::kind::{Behaviour, Item, Kind, State, after};

/// Delay the close by `delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlowClose {
    /// How long the close is held back.
    pub delay: Duration,
}

impl Kind for SlowClose {
    const NAME: &'static str = "slow_close";
    const ATTRIBUTES: &'static [Attr] = &[Attr::millis(
        "delay",
        "How long the close (FIN) is held after the source closed.",
    )];

    fn from_attributes(a: &Attributes<'_>) -> Result<Self, FaultError> {
        Ok(Self {
            delay: a.millis("delay")?,
        })
    }
}

impl Behaviour for SlowClose {
    fn to_attributes(&self) -> Vec<(&'static str, u64)> {
        vec![("delay", as_millis(self.delay))]
    }

    /// The source's close leaves `delay` after it arrived; data passes at once.
    fn schedule(&self, _state: &mut State, item: Item, out: &mut Vec<Item>) {
        match item {
            Item::Eof { at } => out.push(Item::Eof {
                at: self.close_at(at),
            }),
            other => out.push(other),
        }
    }
}

impl SlowClose {
    /// When a close seen at `closed` is passed on.
    pub fn close_at(&self, closed: Instant) -> Instant {
        after(closed, self.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn close_is_delayed() {
        let t = SlowClose {
            delay: Duration::from_millis(300),
        };
        let now = Instant::now();
        assert_eq!(t.close_at(now) - now, Duration::from_millis(300));
    }
}
